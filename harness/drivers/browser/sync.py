"""Waiting for the app through its page: until an action reached the app, until the app is idle
again, and checking that the page shows what the app sent.

The app counts as idle when every call the page made has finished, no progress indicator or stop
button is shown, the textbox and the Retry / Undo icons are enabled, and that has held for a few
consecutive frames (the page script's ``idle``). Every wait is bounded by the step's timeout and
its failure says what was still busy.
"""

from __future__ import annotations

import re
import time
from typing import Any

from harness.drivers.browser.page import ChatPage, bubbles
from harness.drivers.browser.replay import Replay
from harness.errors import ActionError, PageMismatch, TargetError, first_line
from harness.gradio.appconfig import Dependency

__all__ = ["IDLE_POLLS", "START_TIMEOUT", "Sync"]

IDLE_POLLS = 2  # consecutive idle frames before the app counts as idle
START_TIMEOUT = 10.0  # longest a click may take to reach the app before "nothing happened"


class Sync:
    """The waits of one open page; ``timeout`` is the current step's."""

    def __init__(self, chat: ChatPage, replay: Replay, timeout: float) -> None:
        self.chat = chat
        self.replay = replay
        self.timeout = timeout

    def mark(self) -> dict[str, Any]:
        """Where the page's call counter and clock stand just before an action (plus this process's clock)."""
        mark: dict[str, Any] = self.chat.page.evaluate("() => window.__chatHarness.mark()")
        mark["clock"] = time.perf_counter()
        return mark

    def settle(self, what: str, mark: dict[str, Any], must_start: bool) -> None:
        """Wait until the action reached the app (if it must) and the app is idle."""
        from playwright.sync_api import Error as PlaywrightError

        page = self.chat.page
        scope, box = self.chat.chat().element_handle(), self.chat.text_field().element_handle()
        started = page.evaluate(
            "(n) => { window.__chatHarness.quiet = 0; return window.__chatHarness.started > n; }", mark["started"]
        )
        start_within = min(self.timeout, START_TIMEOUT)
        if must_start and not started:
            try:
                page.wait_for_function(
                    "(n) => window.__chatHarness.started > n", arg=mark["started"], timeout=start_within * 1000
                )
            except PlaywrightError:
                raise ActionError(
                    f"{what} did not reach the app: the page sent no request within {start_within:g}s"
                ) from None
        try:
            page.wait_for_function(
                "([scope, box, n, must, polls]) => window.__chatHarness.idle(scope, box, n, must, polls)",
                arg=[scope, box, mark["started"], must_start, IDLE_POLLS],
                polling="raf",
                timeout=self.timeout * 1000,
            )
        except PlaywrightError as exc:
            if "Timeout" not in str(exc):
                raise TargetError(f"the page stopped answering while waiting for {what}: {first_line(exc)}") from None
            reasons = page.evaluate("([scope, box]) => window.__chatHarness.busy(scope, box)", [scope, box])
            reasons = [re.sub(r"\(fn (\d+)\)", lambda m: f"({self.replay.call_name(int(m[1]))})", r) for r in reasons]
            busy = "; ".join(reasons) or "it kept starting new work"
            raise TargetError(
                f"timed out after {self.timeout:g}s waiting for the app to finish {what}: {busy}"
            ) from None

    def await_start(self, dep: Dependency, mark: dict[str, Any]) -> None:
        """Until the page started ``dep`` (the next step of a chain)."""
        from playwright.sync_api import Error as PlaywrightError

        before = int((mark.get("startedFn") or {}).get(str(dep.id), 0))
        start_within = min(self.timeout, START_TIMEOUT)
        try:
            self.chat.page.wait_for_function(
                "([fn, n]) => (window.__chatHarness.startedFn[fn] || 0) > n",
                arg=[dep.id, before],
                timeout=start_within * 1000,
            )
        except PlaywrightError:
            raise ActionError(
                f"{dep.name} should run next in the chain, but the page did not start it within {start_within:g}s"
            ) from None

    def streamed(self, updates: int, mark: dict[str, Any]) -> bool:
        """Until ``updates`` streamed updates arrived since ``mark``, or the app went idle; whether they arrived."""
        from playwright.sync_api import Error as PlaywrightError

        page = self.chat.page
        try:
            scope, field = self.chat.chat().element_handle(), self.chat.text_field().element_handle()
            page.evaluate("() => { window.__chatHarness.quiet = 0; }")
            page.wait_for_function(
                "([n, want, scope, box, started, polls]) => window.__chatHarness.updates >= n + want || "
                "window.__chatHarness.idle(scope, box, started, true, polls)",
                arg=[mark["updates"], updates, scope, field, mark["started"], IDLE_POLLS],
                polling="raf",
                timeout=self.timeout * 1000,
            )
        except PlaywrightError:
            raise TargetError(
                f"timed out after {self.timeout:g}s waiting for {updates} streamed updates to press Stop"
            ) from None
        return bool(
            page.evaluate("([n, want]) => window.__chatHarness.updates >= n + want", [mark["updates"], updates])
        )

    def check_page(self, label: str) -> None:
        """The chatbot on the page must show the history the app sent: same count, same roles."""
        from playwright.sync_api import Error as PlaywrightError

        chat = self.chat
        roles = [m.role for m in chat.state.history(chat.chatbot)]
        try:
            # one bubble per message, or one per run of messages of one role (Gradio's default grouping)
            chat.page.wait_for_function(
                "([scope, ways]) => { const m = window.__chatHarness.messages(scope) || [];"
                " return ways.some((roles) => m.length === roles.length && m.every((x, i) => x.role === roles[i])); }",
                arg=[chat.chat().element_handle(), [roles, bubbles(roles)]],
                timeout=5_000,
            )
        except PlaywrightError:
            shown = chat.messages() or []
            sent = ", ".join(roles) or "none"
            seen = ", ".join(m["role"] for m in shown) or "none"
            summary = (
                f"after {label} the app sent {len(roles)} messages ({sent}) but the page shows {len(shown)} ({seen})"
            )
            raise PageMismatch(summary, f"{summary}\npage shows:\n{chat.visible_text()}") from None
