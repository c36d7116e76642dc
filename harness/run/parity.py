"""Parity: one scenario run on two drivers must reach the same state.

After both runs finished, the history and the asserted component values each ``expect`` step saw
are compared step by step, then the final history. The first difference is reported with the
scenario's step and both values, so "the browser shows something the API does not" is a failure
of its own, separate from the scenario's expectations.
"""

from __future__ import annotations

import json
from typing import Any

from harness.gradio.history import Message
from harness.run.runner import RunResult
from harness.spec.steps import Expect

__all__ = ["compare_runs"]


def _history(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.as_dict() for m in messages]


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _first_difference(left: list[dict[str, Any]], right: list[dict[str, Any]], names: tuple[str, str]) -> str:
    if len(left) != len(right):
        return f"{names[0]} has {len(left)} messages, {names[1]} has {len(right)}"
    for i, (a, b) in enumerate(zip(left, right)):
        if a != b:
            keys = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            return f"message {i} differs in {', '.join(keys)}"
    return "they differ"


def compare_runs(first: RunResult, second: RunResult, names: tuple[str, str] | None = None) -> list[str]:
    """Where ``first`` and ``second`` (two runs of one scenario) disagree; empty = parity.

    ``names`` label the runs in the report (default: their drivers)."""
    names = names or (first.driver, second.driver)
    width = max(len(n) for n in names)
    problems: list[str] = []
    seen_first = [s for s in first.steps if s.observation is not None]
    seen_second = {s.step.number: s for s in second.steps if s.observation is not None}
    for entry in seen_first:
        other = seen_second.get(entry.step.number)
        if other is None or other.observation is None or entry.observation is None:
            continue
        where = f"at {entry.step.label} ({entry.step.location})"
        a, b = _history(entry.observation.history), _history(other.observation.history)
        if a != b:
            problems.append(
                f"history {where}: {_first_difference(a, b, names)}\n  {names[0]:<{width}}: {_show(a)}\n  "
                f"{names[1]:<{width}}: {_show(b)}"
            )
        for name in sorted(set(entry.observation.components) | set(other.observation.components)):
            va, vb = entry.observation.components.get(name), other.observation.components.get(name)
            if va != vb:
                problems.append(
                    f"component {name!r} {where}:\n  {names[0]:<{width}}: {_show(va)}\n  {names[1]:<{width}}: "
                    f"{_show(vb)}"
                )
        checks_input = isinstance(entry.step, Expect) and entry.step.expectation.input is not None
        if checks_input and entry.observation.input != other.observation.input:
            problems.append(
                f"input box {where}:\n  {names[0]:<{width}}: {_show(entry.observation.input)}\n  {names[1]:<{width}}: "
                f"{_show(other.observation.input)}"
            )
        if problems:
            return problems
    a, b = _history(first.final_history), _history(second.final_history)
    if a != b:
        problems.append(
            f"final history: {_first_difference(a, b, names)}\n  {names[0]:<{width}}: {_show(a)}\n  "
            f"{names[1]:<{width}}: {_show(b)}"
        )
    return problems
