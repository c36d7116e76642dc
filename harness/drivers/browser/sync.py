"""Waiting for the app through its page: until an action reached the app, until the app is idle
again, and checking that the page shows what the app sent.

The app counts as idle when every call the page made has finished, no progress indicator or stop
button is shown, the textbox and the Retry / Undo icons are enabled, and that has held with nothing
changing on the page for ``QUIET`` seconds. The page script (``page.js``, ``until``) checks a
condition when something changes (a call starts or ends, a message streams in, the DOM changes)
rather than on every frame, so waiting costs the browser no CPU. Every wait is bounded by the
step's timeout and its failure says what was still busy.
"""

from __future__ import annotations

import re
import time
from typing import Any

from harness.drivers.browser.page import ChatPage, bubbles, shown_roles
from harness.drivers.browser.replay import Replay
from harness.errors import ActionError, PageMismatch, TargetError, first_line
from harness.gradio.appconfig import Dependency

__all__ = ["QUIET", "START_TIMEOUT", "Sync"]

QUIET = 0.05  # how long the app must stay idle, with nothing changing on the page, to count as idle
START_TIMEOUT = 10.0  # longest a click may take to reach the app before "nothing happened"
SHOWS_WITHIN = 5.0  # longest the page may take to show what the app sent, once the app is idle
RECHECK = 0.25  # conditions that turn true with time alone are checked at least this often


class Sync:
    """The waits of one open page; ``timeout`` is the current step's."""

    def __init__(self, chat: ChatPage, replay: Replay, timeout: float) -> None:
        self.chat = chat
        self.replay = replay
        self.timeout = timeout

    def until(self, condition: str, args: list[Any], within: float, quiet: float = 0.0) -> bool:
        """Whether the page's ``condition`` (page.js) came to hold within ``within`` seconds (and
        held, with nothing changing, for ``quiet`` seconds). The page script checks it when
        something changes, so the wait itself costs no CPU."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            held = self.chat.page.evaluate(
                "([name, args, quiet, within, every]) => window.__chatHarness.until(name, args, quiet, within, every)",
                [condition, args, quiet * 1000, within * 1000, RECHECK * 1000],
            )
        except PlaywrightError as exc:
            raise TargetError(f"the page stopped answering while the harness waited on it: {first_line(exc)}") from None
        return bool(held)

    def _scope_and_box(self) -> tuple[Any, Any]:
        """The chatbot's and the textbox's elements, which the page's idle check reads."""
        box = self.chat.text_field().element_handle() if self.chat.box is not None else None
        return self.chat.chat().element_handle(), box

    def mark(self) -> dict[str, Any]:
        """Where the page's call counter and clock stand just before an action (plus this process's clock)."""
        mark: dict[str, Any] = self.chat.page.evaluate("() => window.__chatHarness.mark()")
        mark["clock"] = time.perf_counter()
        return mark

    def settle(self, what: str, mark: dict[str, Any], must_start: bool) -> None:
        """Wait until the action reached the app (if it must) and the app is idle."""
        page = self.chat.page
        scope, box = self._scope_and_box()
        start_within = min(self.timeout, START_TIMEOUT)
        if must_start and not self.until("started", [mark["started"]], start_within):
            raise ActionError(f"{what} did not reach the app: the page sent no request within {start_within:g}s")
        if self.until("idle", [scope, box, mark["started"], must_start], self.timeout, QUIET):
            return
        reasons = page.evaluate("([scope, box]) => window.__chatHarness.busy(scope, box)", [scope, box])
        reasons = [re.sub(r"\(fn (\d+)\)", lambda m: f"({self.replay.call_name(int(m[1]))})", r) for r in reasons]
        busy = "; ".join(reasons) or "it kept starting new work"
        raise TargetError(f"timed out after {self.timeout:g}s waiting for the app to finish {what}: {busy}")

    def await_start(self, dep: Dependency, mark: dict[str, Any]) -> None:
        """Until the page started ``dep`` (the next step of a chain)."""
        before = int((mark.get("startedFn") or {}).get(str(dep.id), 0))
        start_within = min(self.timeout, START_TIMEOUT)
        if not self.until("startedFn", [dep.id, before], start_within):
            raise ActionError(
                f"{dep.name} should run next in the chain, but the page did not start it within {start_within:g}s"
            )

    def streamed(self, updates: int, mark: dict[str, Any]) -> bool:
        """Until ``updates`` streamed updates arrived since ``mark``, or the app went idle; whether they arrived."""
        scope, box = self._scope_and_box()
        args = [mark["updates"], updates, scope, box, mark["started"]]
        if not self.until("updates", args, self.timeout, QUIET):
            raise TargetError(f"timed out after {self.timeout:g}s waiting for {updates} streamed updates to press Stop")
        return bool(self.chat.page.evaluate("([n, want]) => window.__chatHarness.updates >= n + want", args[:2]))

    def uploaded(self, before: int, names: str) -> None:
        """Until the files attached since ``before`` uploads finished have finished uploading."""
        if not self.until("uploaded", [before], self.timeout):
            raise TargetError(f"the upload of {names} did not finish within {self.timeout:g}s")

    def check_page(self, label: str) -> None:
        """The chatbot on the page must show the history the app sent: same count, same roles (but
        for the system messages, which the page never shows)."""
        chat = self.chat
        roles = shown_roles([m.role for m in chat.state.history(chat.chatbot)])
        # one bubble per message, or one per run of messages of one role (Gradio's default grouping)
        if self.until("shows", [chat.chat().element_handle(), [roles, bubbles(roles)]], SHOWS_WITHIN):
            return
        shown = chat.messages() or []
        sent = ", ".join(roles) or "none"
        seen = ", ".join(m["role"] for m in shown) or "none"
        summary = f"after {label} the app sent {len(roles)} messages ({sent}) but the page shows {len(shown)} ({seen})"
        raise PageMismatch(summary, f"{summary}\npage shows:\n{chat.visible_text()}")
