"""What the app sent to the model: one ``ModelCall`` per request the scripted model received.

A call keeps the request body as sent (``request``) and its messages normalised as chat messages
(``messages``), so ``expect: model:`` compares them with the same matchers and diffs as a history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.gradio.history import Message, normalise_history

__all__ = ["ModelCall", "last_user_text", "request_messages"]


@dataclass
class ModelCall:
    """One request to the model and how the script answered it."""

    number: int  # 1-based, in the run
    protocol: str  # "openai" (Chat Completions, also Hugging Face's route) or "ollama"
    route: str  # the path it was sent to, with the host it was meant for
    request: dict[str, Any]
    step: int | None = None  # the step that was running when it came
    #: what the script answered ("'Hello'", "HTTP 429", ...); None while it is being answered
    answer: str | None = None
    #: why the script could not answer it (an uncovered call, a request that differs from the cassette)
    problem: str | None = None
    seconds: float = 0.0
    #: seconds from the request to the first streamed chunk
    first_chunk: float | None = None
    messages: list[Message] = field(default_factory=list)

    @property
    def stream(self) -> bool:
        return bool(self.request.get("stream", self.protocol == "ollama"))

    def describe(self) -> str:
        """One line naming the call: where it went and its last user message."""
        last = last_user_text(self.messages)
        shown = repr(last[:80] + ("…" if len(last) > 80 else ""))
        model = self.request.get("model")
        about = f"model {model!r}, " if model else ""
        return (
            f"model call {self.number} ({self.route}, {about}{len(self.messages)} message(s), last user message "
            f"{shown}{', streamed' if self.stream else ''})"
        )

    def as_dict(self) -> dict[str, Any]:
        """The readable form for transcripts and reports."""
        fields = {k: v for k, v in self.request.items() if k != "messages"}
        return {
            "number": self.number,
            "route": self.route,
            "step": self.step,
            "messages": [m.as_dict() for m in self.messages],
            "fields": fields,
            "answer": self.answer,
            "problem": self.problem,
            "seconds": round(self.seconds, 4),
            "first_chunk": round(self.first_chunk, 4) if self.first_chunk is not None else None,
        }


def request_messages(body: dict[str, Any]) -> list[Message]:
    """The messages of a Chat Completions / Ollama request as chat messages (tool messages too)."""
    found = []
    for entry in body.get("messages") or ():
        if not isinstance(entry, dict):
            continue
        content = entry.get("content")
        if content is None and entry.get("tool_calls"):
            content = ""
        try:
            (message,) = normalise_history([{**entry, "role": "user", "content": content}])
        except Exception:  # a content no chat message has: shown as its text
            message = Message(role="user", text=str(content))
        extra = {k: v for k, v in entry.items() if k in ("tool_calls", "tool_call_id", "name")}
        found.append(
            Message(role=str(entry.get("role")), text=message.text, files=message.files, metadata=extra, raw=entry)
        )
    return found


def last_user_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text
    return ""
