"""Behaviour contracts: what any correct chatbot does on each action, checked with no expected text.

A reply from a real model is not known in advance, but what an icon does to the chat is: send adds
the user message and then a reply; retry keeps every message before the last reply and makes a new
one; undo drops the last exchange and puts that message back in the input box; like, dislike and a
feedback option leave the history alone; edit of message i keeps 0..i-1, puts the new text in i and
regenerates after it; clear empties the chat. ``violations`` compares the history before and after
an action (pure: no driver, no raising) and names each broken contract in the author's words.

System messages are left out of every comparison: Gradio's page never shows them, and an app that
keeps one at the top of its history (Gradio's events guide does) may keep it through a clear. A
scenario fits the contracts to its app with ``contracts:`` (``ContractSettings``): a bot that answers
with two messages, an undo that does not refill the input box, a kind of step left unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.drivers.base import ActionRecord
from harness.gradio.history import Message
from harness.spec.model import CONTRACT_KINDS, ContractSettings
from harness.spec.steps import Action, Clear, Dislike, Edit, Feedback, Like, Retry, Send, Undo

__all__ = ["CONTRACT_KINDS", "ContractSettings", "Violation", "applies", "input_text", "violations"]


@dataclass(frozen=True)
class Violation:
    """One broken contract: the headline names it; the detail shows the messages involved."""

    message: str
    detail: str = ""


def applies(step: Action, settings: ContractSettings) -> bool:
    """Whether ``step``'s contract is checked (the scenario's setting, then the step's own)."""
    return settings.enabled and step.kind in CONTRACT_KINDS and step.kind not in settings.off and step.contracts


def input_text(value: Any) -> str | None:
    """The text an input box holds (a MultimodalTextbox holds ``{text, files}``)."""
    if isinstance(value, Mapping):
        value = value.get("text")
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _Shown:
    """A history without its system messages, each message with its index in the whole history."""

    messages: tuple[Message, ...]
    indexes: tuple[int, ...]

    @classmethod
    def of(cls, history: Sequence[Message]) -> _Shown:
        kept = [(i, m) for i, m in enumerate(history) if m.role != "system"]
        return cls(tuple(m for _, m in kept), tuple(i for i, _ in kept))

    def __len__(self) -> int:
        return len(self.messages)

    def name(self, i: int) -> str:
        return f"message {self.indexes[i]}" if i < len(self.indexes) else f"message {i}"

    def last_prompt(self) -> tuple[int, int] | None:
        """Where the last run of user messages starts and ends (end exclusive), or None."""
        end = next((i + 1 for i in range(len(self.messages) - 1, -1, -1) if self.messages[i].role == "user"), None)
        if end is None:
            return None
        start = end - 1
        while start > 0 and self.messages[start - 1].role == "user":
            start -= 1
        return start, end

    def shown_index(self, index: int) -> int | None:
        """The position of the whole history's message ``index`` here (None: a system message)."""
        return self.indexes.index(index) if index in self.indexes else None


def _show(message: Message) -> str:
    return json.dumps(message.as_dict(), ensure_ascii=False, default=str)


def _same(a: Message, b: Message) -> bool:
    return a.as_dict() == b.as_dict()


def _kept(kind: str, before: _Shown, after: _Shown, upto: int) -> list[Violation]:
    """Messages ``0..upto-1`` of ``before`` must be in ``after`` unchanged."""
    for i in range(upto):
        if i >= len(after):
            return [
                Violation(
                    f"{kind} removed {before.name(i)}, which it must keep", f"  it was: {_show(before.messages[i])}"
                )
            ]
        if not _same(before.messages[i], after.messages[i]):
            return [
                Violation(
                    f"{kind} changed {before.name(i)}, which it must keep",
                    f"  before: {_show(before.messages[i])}\n  after:  {_show(after.messages[i])}",
                )
            ]
    return []


def _listing(shown: _Shown, start: int = 0) -> str:
    lines = [f"  {shown.name(i)}: {_show(shown.messages[i])}" for i in range(start, len(shown))]
    return "\n".join(lines) or "  (no message)"


def _answers(messages: Sequence[Message]) -> int:
    """How many messages of a reply answer (a thought or tool step, a message with a metadata title,
    varies from call to call and is not counted)."""
    return sum(1 for m in messages if not m.metadata.get("title"))


def _reply(kind: str, after: _Shown, start: int, settings: ContractSettings, count: int | None) -> list[Violation]:
    """What follows the prompt (``after`` from ``start``) must be a reply: assistant messages only,
    at least one, and ``count`` of them when the count is known."""
    reply = after.messages[start:]
    if any(m.role == "user" for m in reply):
        return [Violation(f"{kind} left a user message after the reply", _listing(after, start))]
    if not reply:
        return [Violation(f"{kind} got no reply: no assistant message follows the prompt", _listing(after))]
    wanted = settings.replies if settings.replies is not None else count
    answers = _answers(reply)
    if wanted is not None and answers != wanted:
        why = "the scenario's contracts say a turn has" if settings.replies is not None else "before, the reply had"
        return [
            Violation(
                f"{kind} left {answers} message(s) after the prompt; {why} {wanted}",
                _listing(after, start),
            )
        ]
    return []


def violations(
    step: Action,
    before: Sequence[Message],
    after: Sequence[Message],
    action: ActionRecord,
    settings: ContractSettings,
    input_after: Any = None,
) -> list[Violation]:
    """Every contract ``step`` broke, going from history ``before`` to ``after`` (empty: it kept them).

    ``input_after`` is the input box's value after an undo (None: not read)."""
    b, a = _Shown.of(before), _Shown.of(after)
    kind = step.kind
    if isinstance(step, Like | Dislike | Feedback):
        if len(a) != len(b):
            return [Violation(f"{kind} changed the number of messages from {len(b)} to {len(a)}", _listing(a))]
        return _kept(kind, b, a, len(b))
    if isinstance(step, Clear):
        if len(a):
            return [Violation(f"clear left {len(a)} message(s) in the chat, which it must empty", _listing(a))]
        return []
    if isinstance(step, Send):
        return _send(step, b, a, settings)
    if isinstance(step, Retry):
        return _retry(b, a, action, settings)
    if isinstance(step, Undo):
        return _undo(b, a, settings, input_after)
    if isinstance(step, Edit):
        return _edit(step, before, b, a, settings)
    return []


def _send(step: Send, b: _Shown, a: _Shown, settings: ContractSettings) -> list[Violation]:
    if problems := _kept("send", b, a, len(b)):
        return problems
    start = len(b)
    end = start
    while end < len(a) and a.messages[end].role == "user":
        end += 1
    if end == start:
        return [Violation("send added no user message after the earlier ones", _listing(a, start))]
    text = step.text.strip()
    if text and not any(m.text.strip() == text for m in a.messages[start:end]):
        sent = [m.text for m in a.messages[start:end]]
        return [
            Violation(f"send added the user message {sent[0]!r}, not the text sent {step.text!r}", _listing(a, start))
        ]
    if step.stop_after is not None:  # stopped: no reply yet, or part of one, is right
        return [] if end == len(a) else _reply("send", a, end, ContractSettings(), None)
    return _reply("send", a, end, settings, None)


def _retry(b: _Shown, a: _Shown, action: ActionRecord, settings: ContractSettings) -> list[Violation]:
    prompt = b.last_prompt()
    if prompt is None:
        return []  # nothing to retry: the driver says so
    _, end = prompt
    if problems := _kept("retry", b, a, end):
        return problems
    old = b.messages[end:]
    new = a.messages[end:]
    if old and len(new) > len(old) and all(_same(x, y) for x, y in zip(old, new)) and settings.replies is None:
        return [
            Violation(
                "retry appended a reply instead of replacing the last one "
                f"({len(old)} message(s) after the prompt before, {len(new)} after)",
                _listing(a, end),
            )
        ]
    if problems := _reply("retry", a, end, settings, _answers(old) or None):
        return problems
    if not action.stream and not action.events:
        return [Violation("retry made no new reply: no handler of the app ran", _listing(a, end))]
    return []


def _undo(b: _Shown, a: _Shown, settings: ContractSettings, input_after: Any) -> list[Violation]:
    prompt = b.last_prompt()
    if prompt is None:
        return []
    start, end = prompt
    if problems := _kept("undo", b, a, start):
        return problems
    if len(a) > start:
        return [
            Violation(
                f"undo kept {a.name(start)} and what follows it: it must drop the last exchange (from {b.name(start)})",
                _listing(a, start),
            )
        ]
    if settings.undo_restores_input:
        # a message with files is several user messages (Gradio 5 puts the files first): its text
        # is the one that is not empty
        texts = [m.text.strip() for m in b.messages[start:end] if m.text.strip()]
        undone = "\n".join(texts)
        held = input_text(input_after)
        if held is not None and held.strip() not in {undone, " ".join(texts), *texts}:
            return [
                Violation(
                    f"undo did not put the undone message back in the input box: it holds {held!r}, not {undone!r}",
                    "  (an app whose undo leaves the box alone says so with contracts: {undo_restores_input: false})",
                )
            ]
    return []


def _edit(step: Edit, before: Sequence[Message], b: _Shown, a: _Shown, settings: ContractSettings) -> list[Violation]:
    index = step.index if step.index >= 0 else len(before) + step.index
    i = b.shown_index(index)
    if i is None:
        return []  # a system message: not on the page, not editable
    if problems := _kept("edit", b, a, i):
        return problems
    if i >= len(a):
        return [Violation(f"edit removed {b.name(i)}, the edited message", _listing(a))]
    if a.messages[i].text.strip() != step.text.strip():
        return [
            Violation(
                f"edit did not put the new text in {b.name(i)}: it holds {a.messages[i].text!r}, not {step.text!r}",
                _listing(a, i),
            )
        ]
    later = [j for j in range(i + 1, len(a)) if a.messages[j].role == "user"]
    if later and b.messages[i].role == "user":  # a corrected reply may keep what follows it
        return [
            Violation(
                f"edit kept {a.name(later[0])} (a later user message): it must drop what came after the edited "
                "message and regenerate",
                _listing(a, i),
            )
        ]
    if b.messages[i].role == "user":
        old_reply = 0  # how many messages answered the edited one: a fresh reply has as many
        while i + 1 + old_reply < len(b) and b.messages[i + 1 + old_reply].role != "user":
            old_reply += 1
        answered = _answers(b.messages[i + 1 : i + 1 + old_reply])
        return _reply("edit", a, i + 1, settings, answered or None)
    return []
