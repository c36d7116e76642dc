"""Gradio's HTTP protocol for one session, spoken the way the page speaks it.

* ``predict``: ``POST {prefix}/run/predict`` for a listener with ``queue=False``;
* ``join``: ``POST {prefix}/queue/join`` (a refused join started nothing: 429 and 502-504 are
  tried again within the bound of ``harness.waiting``), which answers an ``event_id``;
* ``messages``: the session's event stream ``GET {prefix}/queue/data?session_hash=...`` (SSE),
  read as it arrives, yielding the messages of one event until it completes;
* ``cancel``: ``POST {prefix}/cancel``, what the Stop button sends;
* ``upload``: ``POST {prefix}/upload``, what the upload button sends.

It knows nothing of chat histories: the API driver gives these calls their meaning.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
from httpx_sse import connect_sse

from harness.errors import TargetError
from harness.waiting import OPEN_BOUND, RETRY_STATUSES, TryAgain, with_retries

__all__ = ["QueueSession"]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Refused(Exception):
    """The app's validator refused a call (``validator=``, ``gr.validate``): what it said, one message a line."""

    def __init__(self, messages: str) -> None:
        super().__init__(messages)
        self.messages = messages


def refusal(status: int, answer: Any) -> str | None:
    """What the app's validator said, if a join's answer is its refusal (HTTP 422 with a list of
    ``{is_valid, message}``, one per input), else None: the messages of the refused inputs, a line each."""
    detail = answer.get("detail") if isinstance(answer, dict) else None
    if status != 422 or not isinstance(detail, list):
        return None
    return "\n".join(str(d.get("message") or "") for d in detail if isinstance(d, dict) and d.get("is_valid") is False)


class QueueSession:
    """One session's calls to the app at ``base`` (its API prefix, ending in ``/``)."""

    def __init__(self, http: httpx.Client, base: str, session_hash: str, timeout: float) -> None:
        self.http = http
        self.base = base
        self.session_hash = session_hash
        self.timeout = timeout

    def body(self, fn_index: int, data: list[Any], event_data: Any, trigger_id: int) -> dict[str, Any]:
        return {
            "data": data,
            "event_data": event_data,
            "fn_index": fn_index,
            "trigger_id": trigger_id,
            "session_hash": self.session_hash,
        }

    def predict(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """A call without the queue; its answer (an ``error`` key when the handler raised)."""
        response = self.http.post(self.base + "run/predict", json=body)
        answer = _json(response)
        if response.status_code != 200 and "error" not in answer:
            raise TargetError(f"the app answered HTTP {response.status_code} to {name}: {response.text[:200]}")
        return answer

    def join(self, body: dict[str, Any], name: str) -> str:
        """Queue a call; its event id."""

        def attempt() -> str:
            joined = self.http.post(self.base + "queue/join", json=body)
            event_id = _json(joined).get("event_id")
            if joined.status_code == 200 and event_id:
                return str(event_id)
            if (said := refusal(joined.status_code, _json(joined))) is not None:
                raise Refused(said)
            failure = f"the app refused to queue {name} (HTTP {joined.status_code}: {joined.text[:200]})"
            if joined.status_code in RETRY_STATUSES:
                raise TryAgain(f"HTTP {joined.status_code}", failure, joined.headers.get("retry-after"))
            raise TargetError(failure)

        return with_retries(attempt, bound=min(self.timeout, OPEN_BOUND), what=f"queueing {name}")

    def messages(self, event_id: str, name: str, cancelled: threading.Event) -> Iterator[dict[str, Any]]:
        """The messages of ``event_id`` on the session's event stream, up to and with
        ``process_completed`` (the stream is opened again if the server closes it first)."""
        while not cancelled.is_set():
            with connect_sse(
                self.http, "GET", self.base + "queue/data", params={"session_hash": self.session_hash}
            ) as source:
                if source.response.status_code != 200:
                    raise TargetError(
                        f"the app's event stream answered HTTP {source.response.status_code} during {name}"
                    )
                for sse in source.iter_sse():
                    if cancelled.is_set():
                        break
                    try:
                        message = json.loads(sse.data)
                    except ValueError:
                        continue
                    if message.get("msg") == "unexpected_error":
                        raise TargetError(f"the app's queue failed during {name}: {message.get('message')}")
                    if message.get("event_id") != event_id:
                        continue
                    yield message
                    if message.get("msg") == "process_completed":
                        return
        raise TargetError(f"{name} was cancelled")

    def cancel(self, event_id: str, fn_index: int, name: str) -> None:
        """What the page sends when Stop is pressed."""
        response = self.http.post(
            self.base + "cancel", json={"event_id": event_id, "session_hash": self.session_hash, "fn_index": fn_index}
        )
        if response.status_code != 200:
            raise TargetError(f"the app refused to stop {name} (HTTP {response.status_code}: {response.text[:200]})")

    def upload(self, name: str, data: bytes) -> str:
        """Upload one file as the upload button does; the path the server keeps it under."""
        response = self.http.post(self.base + "upload", files=[("files", (name, data))])
        if response.status_code != 200:
            raise TargetError(
                f"the app refused the upload of {name} (HTTP {response.status_code}: {response.text[:200]})"
            )
        (server_path,) = response.json()
        return str(server_path)
