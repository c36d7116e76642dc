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
from harness.spec.matchers import Matcher
from harness.spec.model import Expectation, MessageExpectation, ModelExpectation

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


def _check_messages(
    title: str,
    messages: Sequence[Message],
    whole: Sequence[MessageExpectation] | None,
    last: Sequence[MessageExpectation] | None,
    length: int | None,
) -> list[str]:
    """A list of messages (the chat's history, or what the app sent the model) against a whole
    list, its last few, or its length."""
    sections: list[str] = []
    if whole is not None:
        if section := _compare_messages(whole, messages, 0, title, True):
            sections.append(section)
    if length is not None and len(messages) != length:
        sections.append(f"{title} length: expected {length}, got {len(messages)}:\n{format_history(messages)}")
    if last is not None:
        if len(messages) < len(last):
            sections.append(
                f"{title}.last: expected at least {len(last)} messages, got {len(messages)}:\n"
                + format_history(messages)
            )
        else:
            offset = len(messages) - len(last)
            if section := _compare_messages(last, messages[offset:], offset, f"{title}.last", False):
                sections.append(section)
    return sections


def check_expectation(expectation: Expectation, seen: Observation) -> list[str]:
    """Every way ``seen`` differs from ``expectation``, as readable sections (empty = it holds)."""
    sections = _check_messages(
        "history", seen.history, expectation.history, expectation.history_last, expectation.history_length
    )
    for name, matcher in expectation.components.items():
        if why := matcher.mismatch(seen.components.get(name)):
            sections.append(f"component {name!r}: {why}")
    if expectation.input is not None and (why := expectation.input.mismatch(seen.input)):
        sections.append(f"input box: {why}")
    if expectation.checks_stream:
        sections.extend(_check_stream(expectation, seen.last_action))
    action = seen.last_action
    step = action.step if action else "no action"
    if expectation.error is not None:
        sections.extend(
            _outcome(
                "error",
                expectation.error,
                action.error if action else None,
                f"expected the app to raise an error {expectation.error.describe}, but {step} ran without one",
                f"the app raised an error during {step}, but not the expected one",
            )
        )
    if expectation.validation is not None:
        sections.extend(
            _outcome(
                "validation",
                expectation.validation,
                action.validation if action else None,
                f"expected the app's validator to refuse {step} with {expectation.validation.describe}, but it "
                "was accepted",
                f"the app's validator refused {step}, but not as expected",
            )
        )
    if expectation.model is not None:
        sections.extend(_check_model(expectation.model, seen.last_action))
    return sections


def _outcome(title: str, matcher: Matcher, said: str | None, absent: str, differs: str) -> list[str]:
    """An outcome of the last action (an app error, a validator's refusal) checked against ``matcher``."""
    if said is None:
        return [f"{title}: {absent}"]
    if why := matcher.mismatch(said):
        return [f"{title}: {differs}: {why}"]
    return []


def _check_model(expectation: ModelExpectation, action: ActionRecord | None) -> list[str]:
    """What the app sent to the scripted model during the last action."""
    if action is None:
        return ["model: no action ran before this expect"]
    calls = action.model_calls
    if calls is None:
        return [f"model: the model calls of {action.step} were not recorded (the scripted model is off for this app)"]
    sections = []
    if expectation.calls is not None and len(calls) != expectation.calls:
        listed = "".join(f"\n    {call.describe()}" for call in calls)
        sections.append(
            f"model.calls: expected {expectation.calls} model call(s) during {action.step}, got {len(calls)}{listed}"
        )
    if not expectation.checks_last:
        return sections
    if not calls:
        return [*sections, f"model.last: {action.step} made no model call"]
    last = calls[-1]
    title = f"model.last.messages (sent in {last.describe()})"
    sections.extend(
        _check_messages(
            title, last.messages, expectation.messages, expectation.messages_last, expectation.messages_length
        )
    )
    for key, matcher in expectation.fields.items():
        if key not in last.request:
            sections.append(
                f"model.last.{key}: model call {last.number} sent no {key} (it sent {', '.join(sorted(last.request))})"
            )
        elif why := matcher.mismatch(last.request[key]):
            sections.append(f"model.last.{key}: {why}")
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
