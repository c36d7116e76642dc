"""Warm browser contexts: a fresh Gradio session per scenario without a cold page load each time.

Opening a page in a new browser context costs more than a second: a new renderer process, some
sixty requests, every script parsed and compiled again, then Gradio building the page. So
``WarmContexts`` keeps one context, and one tab in it, per app (its origin and token) for the
whole test session. When a scenario ends, the tab leaves the app (``about:blank``, so the old
page's handlers have run), and everything the app could have kept is removed: cookies, and all
storage of the app's origin (``localStorage``, ``sessionStorage``, IndexedDB, Cache Storage,
service workers) through the DevTools protocol. Then the tab starts loading the app again for
the next scenario, in the background: a new document, so a new Gradio session (the page makes a
new session hash), while the HTTP cache and compiled scripts stay warm. A context whose scenario
failed is closed rather than reused.

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
        self._idle: dict[tuple[str, str | None], tuple[Any, Any | None]] = {}  # -> (context, preloaded tab)

    @staticmethod
    def usable(browser: Any) -> bool:
        return getattr(getattr(browser, "browser_type", None), "name", None) == "chromium"

    def acquire(self, target: Target) -> tuple[Any, Any | None]:
        """A context for ``target``, and its tab already loading the app (None: open one and load it)."""
        key = (target.origin, target.token)
        found = self._idle.pop(key, None)
        if found is not None:
            return found
        context = self.browser.new_context(**self.context_args)
        self.prepare(context, target)
        return context, None

    def release(self, context: Any, target: Target, *, reuse: bool) -> None:
        """The scenario is over: its tab leaves the app, the app's storage is cleared, and the tab
        starts loading the app for the next scenario (the context is closed instead when ``reuse``
        is false or clearing fails)."""
        from playwright.sync_api import Error as PlaywrightError

        key = (target.origin, target.token)
        if reuse and key not in self._idle:
            try:
                self._idle[key] = (context, self._clear(context, target))
                return
            except PlaywrightError as exc:
                log.info("a browser context could not be cleared for reuse (%s); a new one is made", exc)
        with contextlib.suppress(PlaywrightError):
            context.close()

    def _clear(self, context: Any, target: Target) -> Any | None:
        """Clear the app's traces; the tab that is loading the app again (None if it could not start)."""
        pages = list(context.pages)
        tab = pages[0] if pages else context.new_page()
        for other in pages[1:]:
            other.close()
        tab.goto("about:blank")  # the app's page is gone, its unload handlers have run
        session = context.new_cdp_session(tab)
        try:  # "all": cookies, local and session storage, IndexedDB, Cache Storage, service workers
            session.send("Storage.clearDataForOrigin", {"origin": target.origin, "storageTypes": "all"})
        finally:
            session.detach()
        context.clear_cookies()
        response = tab.goto(target.url, wait_until="commit")  # the rest loads while the run goes on
        return tab if response is None or response.ok else None

    def close(self) -> None:
        from playwright.sync_api import Error as PlaywrightError

        for context, _ in self._idle.values():
            with contextlib.suppress(PlaywrightError):
                context.close()
        self._idle.clear()
