"""Parity: one scenario run on two drivers must reach the same state.

After both runs finished, the history and the asserted component values each ``expect`` step saw
are compared step by step, then the final history. The first difference is reported with the
scenario's step and both values, so "the browser shows something the API does not" is a failure
of its own, separate from the scenario's expectations.

How message text is compared is the scenario's ``parity:`` (or ``--chat-parity``):

- ``checked`` (default): roles, number of messages, files, metadata, options, the input box and
  component values exactly, and a message's text exactly, unless the scenario checked that
  message's text with a fuzzy or semantic matcher (a regex, ``similar``, ``differs_from``...): then
  both runs must satisfy that matcher. A bot whose replies are random passes when its scenario says
  what a reply must look like. A component or input box checked with such a matcher is compared the
  same way. The latest ``expect`` that checked a message decides, and the final history keeps it.
- ``exact``: every text equal too.
- ``structure``: no message text at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.gradio.history import Message
from harness.run.runner import RunResult
from harness.spec.matchers import SAVED, Matcher
from harness.spec.model import PARITY_MODES, Expectation, MessageExpectation
from harness.spec.steps import Expect

__all__ = ["PARITY_MODES", "compare_runs"]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class _Texts:
    """How each message's text is compared, as the scenario's ``expect`` steps so far say."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.by_matcher: dict[int, Matcher] = {}  # message index -> the fuzzy matcher that last checked it

    def learn(self, expectation: Expectation, length: int) -> None:
        """Note which messages ``expectation`` checked, and how, on a history of ``length`` messages."""
        checks: list[tuple[int, MessageExpectation]] = []
        if expectation.history is not None:
            checks.extend(enumerate(expectation.history))
        if expectation.history_last is not None:
            offset = length - len(expectation.history_last)
            checks.extend((offset + i, e) for i, e in enumerate(expectation.history_last))
        for index, check in checks:
            if check.content is None:
                continue
            if check.content.exact:
                self.by_matcher.pop(index, None)
            else:
                self.by_matcher[index] = check.content

    def differences(
        self,
        a: Sequence[Message],
        b: Sequence[Message],
        names: tuple[str, str],
        saved: tuple[Mapping[str, Any], Mapping[str, Any]] = ({}, {}),
    ) -> str | None:
        """The first way the histories differ, or None (``saved``: each run's saved values, for
        ``same_as`` / ``differs_from``)."""
        if len(a) != len(b):
            return f"{names[0]} has {len(a)} messages, {names[1]} has {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            dx, dy = x.as_dict(), y.as_dict()
            tx, ty = dx.pop("content"), dy.pop("content")
            if dx != dy:
                keys = [k for k in sorted(set(dx) | set(dy)) if dx.get(k) != dy.get(k)]
                return f"message {i} differs in {', '.join(keys)}"
            if tx == ty or self.mode == "structure":
                continue
            matcher = self.by_matcher.get(i) if self.mode == "checked" else None
            if matcher is None:
                return f"message {i} differs in content"
            for name, text, values in zip(names, (tx, ty), saved):
                if why := _mismatch(matcher, text, values):
                    return f"message {i}: the {name} run's text does not satisfy {matcher.describe}: {why}"
        return None


def _mismatch(matcher: Matcher, value: Any, saved: Mapping[str, Any]) -> str | None:
    """``matcher`` on one run's ``value``, with that run's saved values."""
    token = SAVED.set(saved)
    try:
        return matcher.mismatch(value)
    finally:
        SAVED.reset(token)


def _same_value(va: Any, vb: Any, matcher: Matcher | None, mode: str, saved: tuple[Any, Any]) -> bool:
    if va == vb:
        return True
    if matcher is None or matcher.exact or mode == "exact":
        return False
    return _mismatch(matcher, va, saved[0]) is None and _mismatch(matcher, vb, saved[1]) is None


def compare_runs(
    first: RunResult, second: RunResult, names: tuple[str, str] | None = None, mode: str = "checked"
) -> list[str]:
    """Where ``first`` and ``second`` (two runs of one scenario) disagree; empty = parity.

    ``names`` label the runs in the report (default: their drivers); ``mode`` is one of ``PARITY_MODES``."""
    if mode not in PARITY_MODES:
        raise ValueError(f"parity mode {mode!r}: choose one of {', '.join(PARITY_MODES)}")
    names = names or (first.driver, second.driver)
    width = max(len(n) for n in names)
    texts = _Texts(mode)
    saved = (first.saved, second.saved)
    problems: list[str] = []

    def both(what: str, va: Any, vb: Any) -> str:
        return f"{what}\n  {names[0]:<{width}}: {_show(va)}\n  {names[1]:<{width}}: {_show(vb)}"

    seen_second = {s.step.number: s for s in second.steps if s.observation is not None}
    for entry in (s for s in first.steps if s.observation is not None):
        other = seen_second.get(entry.step.number)
        if other is None or other.observation is None or entry.observation is None:
            continue
        expectation = entry.step.expectation if isinstance(entry.step, Expect) else None
        if expectation is not None:
            texts.learn(expectation, len(entry.observation.history))
        where = f"at {entry.step.label} ({entry.step.location})"
        a, b = entry.observation.history, other.observation.history
        if why := texts.differences(a, b, names, saved):
            problems.append(both(f"history {where}: {why}", [m.as_dict() for m in a], [m.as_dict() for m in b]))
        for name in sorted(set(entry.observation.components) | set(other.observation.components)):
            va, vb = entry.observation.components.get(name), other.observation.components.get(name)
            matcher = expectation.components.get(name) if expectation is not None else None
            if not _same_value(va, vb, matcher, mode, saved):
                problems.append(both(f"component {name!r} {where}:", va, vb))
        if expectation is not None and expectation.input is not None:
            va, vb = entry.observation.input, other.observation.input
            if not _same_value(va, vb, expectation.input, mode, saved):
                problems.append(both(f"input box {where}:", va, vb))
        if problems:
            return problems
    if why := texts.differences(first.final_history, second.final_history, names, saved):
        problems.append(
            both(
                f"final history: {why}",
                [m.as_dict() for m in first.final_history],
                [m.as_dict() for m in second.final_history],
            )
        )
    return problems
