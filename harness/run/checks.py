"""What an ``expect`` step checks, as a pure comparison: an ``Expectation`` against what a driver
observed, returning the readable sections of every difference (empty: it holds). Nothing here
raises on a mismatch; the runner does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.drivers.base import ActionRecord
from harness.gradio.history import Message
from harness.run.diff import format_history, history_diff
from harness.spec.model import Expectation, MessageExpectation

__all__ = ["Observation", "check_expectation"]


@dataclass
class Observation:
    """What an ``expect`` step saw."""

    history: list[Message]
    components: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    last_action: ActionRecord | None = None


def _message_problem(expected: MessageExpectation, actual: Message) -> str | None:
    reasons = []
    if expected.role is not None and (why := expected.role.mismatch(actual.role)):
        reasons.append(f"role: {why}")
    if expected.content is not None and (why := expected.content.mismatch(actual.text)):
        reasons.append(f"content: {why}")
    if expected.files is not None:
        if len(expected.files) != len(actual.files):
            reasons.append(
                f"files: expected {len(expected.files)}, got {len(actual.files)} "
                f"({', '.join(f.name for f in actual.files) or 'none'})"
            )
        else:
            for i, (want, have) in enumerate(zip(expected.files, actual.files)):
                if want.name is not None and (why := want.name.mismatch(have.name)):
                    reasons.append(f"file {i} name: {why}")
                if want.mime_type is not None and (why := want.mime_type.mismatch(have.mime_type)):
                    reasons.append(f"file {i} mime_type: {why}")
    if expected.options is not None:
        offered = actual.option_labels
        if len(offered) != len(expected.options):
            reasons.append(
                f"options: expected {len(expected.options)}, got {len(offered)} "
                f"({', '.join(map(repr, offered)) or 'none'})"
            )
        else:
            for i, (wanted, label) in enumerate(zip(expected.options, offered)):
                if why := wanted.mismatch(label):
                    reasons.append(f"option {i}: {why}")
    if expected.metadata is not None:
        for key, matcher in expected.metadata.items():
            if key not in actual.metadata:
                reasons.append(f"metadata.{key}: missing (metadata is {actual.metadata or 'empty'})")
            elif why := matcher.mismatch(actual.metadata[key]):
                reasons.append(f"metadata.{key}: {why}")
    return "; ".join(reasons) or None


def _describe(expected: MessageExpectation) -> str:
    parts = []
    if expected.role is not None:
        parts.append(f"role {expected.role.describe}")
    if expected.content is not None:
        parts.append(f"content {expected.content.describe}")
    if expected.files is not None:
        parts.append(f"{len(expected.files)} file(s)")
    if expected.options is not None:
        parts.append("options " + ", ".join(o.describe for o in expected.options))
    if expected.metadata is not None:
        parts.append("metadata " + ", ".join(f"{k} {m.describe}" for k, m in expected.metadata.items()))
    return ", ".join(parts) or "any message"


def _compare_messages(
    expected: Sequence[MessageExpectation], actual: Sequence[Message], offset: int, title: str, whole: bool
) -> str | None:
    problems: dict[int, str] = {}
    for i in range(max(len(expected), len(actual))):
        if i >= len(expected):
            problems[i] = "unexpected message"
        elif i >= len(actual):
            problems[i] = "missing message"
        elif why := _message_problem(expected[i], actual[i]):
            problems[i] = why
    if not problems:
        return None
    size = f" ({len(expected)} messages expected, {len(actual)} found)" if len(expected) != len(actual) else ""
    lead = f"{title} differs{size}:" if whole or not size else f"{title} differs:"
    return lead + "\n" + history_diff([_describe(e) for e in expected], actual, problems, offset)


def check_expectation(expectation: Expectation, seen: Observation) -> list[str]:
    """Every way ``seen`` differs from ``expectation``, as readable sections (empty = it holds)."""
    sections: list[str] = []
    history = seen.history
    if expectation.history is not None:
        if section := _compare_messages(expectation.history, history, 0, "history", True):
            sections.append(section)
    if expectation.history_length is not None and len(history) != expectation.history_length:
        sections.append(
            f"history length: expected {expectation.history_length}, got {len(history)}:\n{format_history(history)}"
        )
    if expectation.history_last is not None:
        want = expectation.history_last
        if len(history) < len(want):
            sections.append(
                f"history.last: expected at least {len(want)} messages, got {len(history)}:\n{format_history(history)}"
            )
        else:
            offset = len(history) - len(want)
            if section := _compare_messages(want, history[offset:], offset, "history.last", False):
                sections.append(section)
    for name, matcher in expectation.components.items():
        if why := matcher.mismatch(seen.components.get(name)):
            sections.append(f"component {name!r}: {why}")
    if expectation.input is not None and (why := expectation.input.mismatch(seen.input)):
        sections.append(f"input box: {why}")
    if expectation.checks_stream:
        sections.extend(_check_stream(expectation, seen.last_action))
    if expectation.error is not None:
        action = seen.last_action
        if action is None or action.error is None:
            sections.append(
                f"error: expected the app to raise an error {expectation.error.describe}, but "
                f"{action.step if action else 'no action'} ran without one"
            )
        elif why := expectation.error.mismatch(action.error):
            sections.append(f"error: the app raised an error during {action.step}, but not the expected one: {why}")
    return sections


def _check_stream(expectation: Expectation, action: ActionRecord | None) -> list[str]:
    if action is None:
        return ["stream: no action ran before this expect"]
    texts = [h[-1].text if h else "" for h in action.stream]
    sections = []
    if expectation.stream_min_updates is not None and len(texts) < expectation.stream_min_updates:
        sections.append(
            f"stream: expected at least {expectation.stream_min_updates} streamed updates of the chat during "
            f"{action.step}, got {len(texts)}: {texts!r}"
        )
    if expectation.stream_growing:
        for before, after in zip(texts, texts[1:]):
            if not after.startswith(before):
                sections.append(
                    f"stream: the reply did not grow during {action.step}: {before!r} was followed by {after!r}"
                )
                break
    if expectation.stream_final is not None:
        if not texts:
            sections.append(f"stream.final: nothing streamed during {action.step}")
        elif why := expectation.stream_final.mismatch(texts[-1]):
            sections.append(f"stream.final: the last streamed update of {action.step}: {why}")
    first, budget = action.first_update, expectation.stream_first_update_within
    if budget is not None:
        if first is None:
            sections.append(f"stream.first_update_within: nothing streamed during {action.step}")
        elif first > budget:
            sections.append(
                f"stream.first_update_within: the first update of {action.step} came after {first:.2f}s (budget "
                f"{budget:g}s)"
            )
    if expectation.stream_within is not None and action.seconds > expectation.stream_within:
        sections.append(
            f"stream.within: {action.step} took {action.seconds:.2f}s (budget {expectation.stream_within:g}s)"
        )
    return sections
