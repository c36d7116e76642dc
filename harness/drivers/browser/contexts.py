"""Warm browser contexts: a fresh Gradio session per scenario without a cold page load each time.

Opening a page in a new browser context costs about a second: some sixty requests, and every
script parsed and compiled again. ``WarmContexts`` keeps one context per app (its origin and
token) for the whole test session. Each scenario gets a new page in it — so a new Gradio session
(the page makes a new session hash), a new ``sessionStorage`` — while the context's HTTP cache and
compiled scripts stay warm. When the scenario ends, everything the app could have kept is removed
before the next one: cookies, and all storage of the app's origin (``localStorage``, IndexedDB,
Cache Storage, service workers) through the DevTools protocol. A context whose scenario failed is
closed rather than reused.

Chromium only (the DevTools protocol); other browsers get a fresh context per scenario.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from harness.target.app import Target

__all__ = ["WarmContexts"]

log = logging.getLogger(__name__)


class WarmContexts:
    """One browser context per app, reused scenario after scenario with nothing left behind."""

    def __init__(self, browser: Any, context_args: dict[str, Any], prepare: Callable[[Any, Target], None]) -> None:
        self.browser = browser
        self.context_args = dict(context_args)
        self.prepare = prepare  # what every context of an app needs once (the page script, the token's route)
        self._idle: dict[tuple[str, str | None], Any] = {}

    @staticmethod
    def usable(browser: Any) -> bool:
        return getattr(getattr(browser, "browser_type", None), "name", None) == "chromium"

    def acquire(self, target: Target) -> Any:
        """A context for ``target`` with no page open: a kept one, else a new one."""
        key = (target.origin, target.token)
        context = self._idle.pop(key, None)
        if context is None:
            context = self.browser.new_context(**self.context_args)
            self.prepare(context, target)
        return context

    def release(self, context: Any, target: Target, *, reuse: bool) -> None:
        """The scenario is over: its pages closed and the app's storage cleared, and the context kept
        for the next scenario (closed instead when ``reuse`` is false or clearing fails)."""
        from playwright.sync_api import Error as PlaywrightError

        key = (target.origin, target.token)
        if reuse and key not in self._idle:
            try:
                self._clear(context, target)
                self._idle[key] = context
                return
            except PlaywrightError as exc:
                log.info("a browser context could not be cleared for reuse (%s); a new one is made", exc)
        with contextlib.suppress(PlaywrightError):
            context.close()

    def _clear(self, context: Any, target: Target) -> None:
        pages = list(context.pages)
        page = pages[0] if pages else context.new_page()
        session = context.new_cdp_session(page)
        try:
            session.send("Storage.clearDataForOrigin", {"origin": target.origin, "storageTypes": "all"})
        finally:
            session.detach()
        context.clear_cookies()
        for open_page in context.pages:
            open_page.close()

    def close(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        for context in self._idle.values():
            with contextlib.suppress(PlaywrightError):
                context.close()
        self._idle.clear()
