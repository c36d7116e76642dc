"""What the app sent the page, taken in: the page script (``page.js``) keeps a copy of every call
the page makes and every message of its event stream; ``Replay`` applies them, in arrival order,
to the values the page holds (``ClientState``) and to the action's record (calls, streamed
updates, timings, errors). The history a scenario checks is that value: exact text, not re-read
from rendered markdown.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from harness.drivers.base import ActionRecord, EventRecord
from harness.drivers.browser.page import ChatPage
from harness.errors import TargetError
from harness.gradio.appconfig import Dependency
from harness.gradio.clientstate import chat_values, error_text, next_stream_values
from harness.gradio.endpoints import probe
from harness.gradio.queue import refusal
from harness.target.app import Target

__all__ = ["Replay"]

log = logging.getLogger(__name__)


class Replay:
    """Takes in the page's captured traffic for one session."""

    def __init__(self, chat: ChatPage, target: Target) -> None:
        self.chat = chat
        self.target = target
        self.events: dict[str, Dependency] = {}  # event id -> the dependency it runs
        self.started_at: dict[str, float] = {}  # event id -> when it was joined (page clock, ms)
        self._generating: dict[str, list[Any]] = {}
        self._updates: dict[str, int] = {}

    def take(self, record: ActionRecord | None, mark: dict[str, Any]) -> None:
        """Apply what the page received from the app since the last call, in arrival order."""
        errors: list[str] = []
        lost: str | None = None
        for entry in self.chat.page.evaluate("() => window.__chatHarness.take()"):
            kind = entry.get("kind")
            body = entry.get("body") or {}
            if kind in ("join", "predict"):
                dep = self.dependency(body.get("fn_index"))
                if dep is None:
                    continue
                if kind == "join":
                    answer = entry.get("answer") or {}
                    if (said := refusal(int(entry.get("status") or 0), answer)) is not None:
                        if record is not None:  # the page shows it on the inputs and runs nothing after
                            record.validation = said
                    elif entry.get("status") != 200 or "event_id" not in answer:
                        errors.append(
                            f"the app refused the call to {dep.name} (HTTP {entry.get('status')}: {_short(answer)})"
                        )
                    else:
                        self.events[answer["event_id"]] = dep
                        self.started_at[answer["event_id"]] = entry["t"]
                    continue
                self._finished(record, dep, entry.get("answer") or {}, errors, (entry["t"] - mark["t"]) / 1000)
            elif kind == "message":
                self._message(record, entry, mark, errors)
            elif kind == "orphaned":
                name = self.call_name(int(entry.get("fn_index") or -1))
                if (down := self._server_down()) is not None:
                    why = (
                        "the page's event stream ended before the reply finished, "
                        f"and the server no longer answers ({down})"
                    )
                    lost = f"lost the connection to the app at {self.target.url} during {name}: {why}"
                else:
                    log.warning(
                        "the page stopped listening before %s finished; its answer never reached the page", name
                    )
            elif kind in ("join_failed", "predict_failed", "stream_error"):
                errors.append(f"the page lost its connection to the app: {entry.get('error')}")
        if lost is not None:
            raise TargetError(lost)
        if record is not None:
            record.seconds = time.perf_counter() - mark["clock"]
            if errors:
                record.error = "; ".join(errors)
        elif errors:
            raise TargetError("while the page loaded: " + "; ".join(errors))

    def _message(
        self, record: ActionRecord | None, entry: dict[str, Any], mark: dict[str, Any], errors: list[str]
    ) -> None:
        """One message of the event stream."""
        msg = entry["msg"]
        event_id = msg.get("event_id") or ""
        dep = self.events.get(event_id)
        if msg.get("msg") == "unexpected_error":
            errors.append(str(msg.get("message") or "the app's queue reported an unexpected error"))
        if dep is None:
            return
        if msg.get("msg") == "process_generating":
            self._updates[event_id] = self._updates.get(event_id, 0) + 1
            data = self._stream_data(msg)
            if record is not None and data is not None:
                histories = chat_values(dep, self.chat.chatbot, [data])
                record.stream.extend(histories)
                if histories and record.first_update is None:
                    record.first_update = (entry["t"] - mark["t"]) / 1000
        elif msg.get("msg") == "process_completed":
            output = msg.get("output") or {}
            streamed = self._generating.pop(event_id, None)
            if "data" not in output and streamed is not None:
                # stopped, or failed halfway: the page keeps what had streamed in
                output = {**output, "data": streamed}
            seconds = (entry["t"] - self.started_at.pop(event_id, mark["t"])) / 1000
            self._finished(record, dep, output, errors, seconds, updates=self._updates.pop(event_id, 0))

    def _server_down(self) -> str | None:
        """Why the app's server does not answer (None: it does), asked when a reply stream ends early."""
        try:
            probe(self.target, timeout=3.0)
        except httpx.HTTPError as exc:
            return type(exc).__name__ + (f": {exc}" if str(exc) else "")
        return None

    def _finished(
        self,
        record: ActionRecord | None,
        dep: Dependency,
        output: dict[str, Any],
        errors: list[str],
        seconds: float,
        updates: int = 0,
    ) -> None:
        error = error_text(output)
        if record is not None:
            record.events.append(EventRecord(dep.id, dep.name, seconds, updates, error))
        if error is not None:
            errors.append(error)
            if output.get("data"):  # what streamed in before the error stays on the page
                self.chat.state.apply(dep, list(output["data"]))
            return
        self.chat.state.apply(dep, list(output.get("data") or []))

    def _stream_data(self, msg: dict[str, Any]) -> list[Any] | None:
        """A streamed update's full output values."""
        data = (msg.get("output") or {}).get("data")
        if not isinstance(data, list):
            return None
        event_id = msg.get("event_id") or ""
        self._generating[event_id] = next_stream_values(self.chat.app, self._generating.get(event_id), data)
        return self._generating[event_id]

    def next_in_chain(self, record: ActionRecord) -> Dependency | None:
        """A chained step that should run after one this action finished, and has not started yet."""
        seen = {event.dependency for event in record.events} | {
            self.events[e].id for e in self.started_at if e in self.events
        }
        for event in record.events:
            for child in self.chat.app.children(event.dependency):
                if child.backend_fn and child.id not in seen and child.runs_after(event.error is None):
                    return child
        return None

    def call_name(self, fn_index: int) -> str:
        dep = self.dependency(fn_index)
        return dep.name if dep is not None else f"fn {fn_index}"

    def dependency(self, fn_index: Any) -> Dependency | None:
        return next((dep for dep in self.chat.app.dependencies if dep.id == fn_index), None)


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
