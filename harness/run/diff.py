"""Readable failure text: expected vs actual chat history, component values and stream facts.

Diff lines are labelled ``- expected`` / ``+ actual``. No colour: reports end up in CI logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.gradio.history import Message

__all__ = ["format_history", "format_message", "history_diff"]


def format_message(message: Message) -> str:
    text = f"{message.role}: {message.text!r}"
    if message.files:
        text += " files=" + ", ".join(f"{f.name} ({f.mime_type})" for f in message.files)
    if message.metadata:
        text += f" metadata={message.metadata}"
    return text


def format_history(history: Sequence[Message]) -> str:
    if not history:
        return "    (empty chat)"
    return "\n".join(f"    [{i}] {format_message(m)}" for i, m in enumerate(history))


def history_diff(
    expected: Sequence[str | None], actual: Sequence[Message], problems: dict[int, str], offset: int = 0
) -> str:
    """Lines for a history comparison: matching messages plain, mismatches as -/+ pairs.

    ``expected`` holds the description of each expected message (None past the end),
    ``problems`` the mismatch reason per position; ``offset`` shifts the shown indexes.
    """
    lines = ["  - expected", "  + actual"]
    for i in range(max(len(expected), len(actual))):
        shown = i + offset
        want = expected[i] if i < len(expected) else None
        have = actual[i] if i < len(actual) else None
        if i not in problems and have is not None:
            lines.append(f"    [{shown}] {format_message(have)}")
            continue
        lines.append(f"  - [{shown}] {want if want is not None else '(no message)'}")
        lines.append(f"  + [{shown}] {format_message(have) if have is not None else '(no message)'}")
        if problems.get(i):
            lines.append(f"        {problems[i]}")
    return "\n".join(lines)
