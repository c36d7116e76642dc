"""A model script: what the scripted model answers, written in a scenario's ``model:`` block.

A script has *rules*, matched first on the last user message of each call (any matcher: plain
text, ``contains``, ``regex``, ...), and a *queue* of replies taken in order by the calls no rule
covers. A call neither answers is *uncovered*: the server refuses it at once and the runner fails
the step naming it. Nothing here does I/O; the server (``harness.model.server``) plays a script.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.spec.matchers import Matcher, compile_matcher

__all__ = ["DEFAULT_CHUNK_DELAY", "Reply", "Rule", "Script", "ToolCall", "parse_script", "split_chunks"]

DEFAULT_CHUNK_DELAY = 0.0


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the wire protocols carry it

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class Reply:
    """One answer of the model: text (streamed in ``chunks``), tool calls, or a failure."""

    text: str = ""
    chunks: tuple[str, ...] | None = None  # as written; None: split by the script's chunk size
    tool_calls: tuple[ToolCall, ...] = ()
    #: an HTTP error status to answer with instead (429, 500, ...), and its message
    error: int | None = None
    message: str = ""
    #: a stream cut (the connection dropped) after this many chunks
    cut_after: int | None = None
    #: the call never gets an answer (until the run ends)
    hang: bool = False
    #: seconds between streamed chunks (None: the script's)
    chunk_delay: float | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"HTTP {self.error}"
        if self.hang:
            return "no answer (hang)"
        parts = []
        if self.text:
            parts.append(repr(self.text[:60] + ("…" if len(self.text) > 60 else "")))
        if self.tool_calls:
            parts.append("tool calls " + ", ".join(t.name for t in self.tool_calls))
        if self.cut_after is not None:
            parts.append(f"cut after {self.cut_after} chunk(s)")
        return ", ".join(parts) or "an empty reply"


@dataclass(frozen=True)
class Rule:
    when: Matcher
    reply: Reply


@dataclass(frozen=True)
class Script:
    """A ``model:`` block, parsed."""

    rules: tuple[Rule, ...] = ()
    replies: tuple[Reply, ...] = ()
    chunk_size: int | None = None  # characters per chunk; None: a word per chunk
    chunk_delay: float = DEFAULT_CHUNK_DELAY

    def chunks_of(self, reply: Reply) -> list[str]:
        if reply.chunks is not None:
            return list(reply.chunks)
        return split_chunks(reply.text, self.chunk_size)

    def delay_of(self, reply: Reply) -> float:
        return self.chunk_delay if reply.chunk_delay is None else reply.chunk_delay


def split_chunks(text: str, size: int | None) -> list[str]:
    """``text`` as streamed chunks: ``size`` characters each, or a word each (with its space)."""
    if not text:
        return []
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)]
    chunks: list[str] = []
    for word in text.split(" "):
        if chunks:
            chunks[-1] += " "
        chunks.append(word)
    return [c for c in chunks if c]


def _tool_call(spec: Mapping[str, Any]) -> ToolCall:
    arguments = spec.get("arguments", {})
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ValueError(f"tool_calls arguments must be a mapping or the JSON text of one, got {arguments!r}")
        return ToolCall(str(spec["name"]), arguments)
    return ToolCall(str(spec["name"]), json.dumps(arguments, ensure_ascii=False))


def _seconds(value: Any, key: str) -> float | None:
    if value is None:
        return None
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{key} must be a number of seconds from 0 to 60, got {value!r}")
    return seconds


def parse_reply(spec: Any) -> Reply:
    """One reply as written: text, or a mapping (checked against the schema before)."""
    if isinstance(spec, str):
        return Reply(text=spec)
    spec = dict(spec)
    chunks = spec.get("chunks")
    text = spec.get("text")
    if text is None and chunks is not None:
        text = "".join(str(c) for c in chunks)
    return Reply(
        text=str(text or ""),
        chunks=tuple(str(c) for c in chunks) if chunks is not None else None,
        tool_calls=tuple(_tool_call(t) for t in spec.get("tool_calls") or ()),
        error=int(spec["error"]) if spec.get("error") is not None else None,
        message=str(spec.get("message") or ""),
        cut_after=int(spec["cut_after"]) if spec.get("cut_after") is not None else None,
        hang=bool(spec.get("hang", False)),
        chunk_delay=_seconds(spec.get("chunk_delay"), "chunk_delay"),
    )


def parse_script(spec: Any, matcher: Callable[[Any], Matcher] = compile_matcher) -> Script:
    """A ``model:`` block (already checked against the schema) as a ``Script``; ``matcher``
    compiles each rule's ``when``.

    Raises ``MatcherSpecError`` for a malformed ``when`` matcher and ``ValueError`` for a delay that
    is not a number of seconds (the loader adds the place).
    """
    if spec is None:
        return Script()
    if isinstance(spec, str | Sequence):
        spec = {"replies": [spec] if isinstance(spec, str) else list(spec)}
    rules = tuple(Rule(matcher(rule["when"]), parse_reply(rule["reply"])) for rule in spec.get("rules") or ())
    return Script(
        rules=rules,
        replies=tuple(parse_reply(r) for r in spec.get("replies") or ()),
        chunk_size=int(spec["chunk_size"]) if spec.get("chunk_size") is not None else None,
        chunk_delay=_seconds(spec.get("chunk_delay"), "chunk_delay") or DEFAULT_CHUNK_DELAY,
    )


@dataclass
class ScriptState:
    """A script being played: which queued reply comes next."""

    script: Script = field(default_factory=Script)
    position: int = 0

    def answer(self, last_user_text: str) -> Reply | None:
        """The reply to a call whose last user message is ``last_user_text`` (None: uncovered)."""
        for rule in self.script.rules:
            if rule.when.matches(last_user_text):
                return rule.reply
        if self.position < len(self.script.replies):
            self.position += 1
            return self.script.replies[self.position - 1]
        return None

    def coverage(self) -> str:
        """What the script still offers, for the message about an uncovered call."""
        rules = [f"a rule {r.when.describe}" for r in self.script.rules]
        left = len(self.script.replies) - self.position
        queue = (
            f"{len(self.script.replies)} queued repl{'y' if len(self.script.replies) == 1 else 'ies'}, all used"
            if self.script.replies and left == 0
            else "no queued reply"
        )
        return "; ".join([*rules, queue])
