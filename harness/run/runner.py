"""Running one scenario on one driver: do the actions, check the expectations, keep a transcript.

``check_expectation`` is pure: it compares an ``Expectation`` with what was observed and returns
the readable mismatch sections. ``run_scenario`` is the only place that raises on a mismatch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.drivers.base import ActionRecord, Driver
from harness.errors import AppRaised, ExpectationFailed, HarnessError, OutOfTime, StepError, TargetError
from harness.gradio.appconfig import AppConfig
from harness.gradio.history import Message
from harness.run.diff import format_history, history_diff
from harness.spec.model import Expectation, MessageExpectation, Scenario
from harness.spec.steps import Action, Call, Expect, Step

__all__ = ["Limits", "Observation", "RunResult", "StepResult", "Updater", "check_expectation", "missing_requirements", "run_scenario"]


@dataclass
class Observation:
    """What an ``expect`` step saw."""

    history: list[Message]
    components: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    last_action: ActionRecord | None = None


@dataclass
class StepResult:
    step: Step
    seconds: float
    action: ActionRecord | None = None
    observation: Observation | None = None
    error: str | None = None


@dataclass
class RunResult:
    """The transcript of one run: every step, and the final state for parity checks."""

    scenario: Scenario
    driver: str
    steps: list[StepResult] = field(default_factory=list)
    final_history: list[Message] = field(default_factory=list)
    asserted_components: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    seconds: float = 0.0


def _message_problem(expected: MessageExpectation, actual: Message) -> str | None:
    reasons = []
    if expected.role is not None and (why := expected.role.mismatch(actual.role)):
        reasons.append(f"role: {why}")
    if expected.content is not None and (why := expected.content.mismatch(actual.text)):
        reasons.append(f"content: {why}")
    if expected.files is not None:
        if len(expected.files) != len(actual.files):
            reasons.append(f"files: expected {len(expected.files)}, got {len(actual.files)} ({', '.join(f.name for f in actual.files) or 'none'})")
        else:
            for i, (want, have) in enumerate(zip(expected.files, actual.files)):
                if want.name is not None and (why := want.name.mismatch(have.name)):
                    reasons.append(f"file {i} name: {why}")
                if want.mime_type is not None and (why := want.mime_type.mismatch(have.mime_type)):
                    reasons.append(f"file {i} mime_type: {why}")
    if expected.options is not None:
        offered = actual.option_labels
        if len(offered) != len(expected.options):
            reasons.append(f"options: expected {len(expected.options)}, got {len(offered)} ({', '.join(map(repr, offered)) or 'none'})")
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


def _compare_messages(expected: Sequence[MessageExpectation], actual: Sequence[Message], offset: int, title: str, whole: bool) -> str | None:
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
        sections.append(f"history length: expected {expectation.history_length}, got {len(history)}:\n{format_history(history)}")
    if expectation.history_last is not None:
        want = expectation.history_last
        if len(history) < len(want):
            sections.append(f"history.last: expected at least {len(want)} messages, got {len(history)}:\n{format_history(history)}")
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
            sections.append(f"error: expected the app to raise an error {expectation.error.describe}, but {action.step if action else 'no action'} ran without one")
        elif why := expectation.error.mismatch(action.error):
            sections.append(f"error: the app raised an error during {action.step}, but not the expected one: {why}")
    return sections


def _check_stream(expectation: Expectation, action: ActionRecord | None) -> list[str]:
    if action is None:
        return ["stream: no action ran before this expect"]
    texts = [h[-1].text if h else "" for h in action.stream]
    sections = []
    if expectation.stream_min_updates is not None and len(texts) < expectation.stream_min_updates:
        sections.append(f"stream: expected at least {expectation.stream_min_updates} streamed updates of the chat during {action.step}, got {len(texts)}: {texts!r}")
    if expectation.stream_growing:
        for before, after in zip(texts, texts[1:]):
            if not after.startswith(before):
                sections.append(f"stream: the reply did not grow during {action.step}: {before!r} was followed by {after!r}")
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
            sections.append(f"stream.first_update_within: the first update of {action.step} came after {first:.2f}s (budget {budget:g}s)")
    if expectation.stream_within is not None and action.seconds > expectation.stream_within:
        sections.append(f"stream.within: {action.step} took {action.seconds:.2f}s (budget {expectation.stream_within:g}s)")
    return sections


def observe(driver: Driver, expectation: Expectation, last_action: ActionRecord | None) -> Observation:
    """Read from the driver only what ``expectation`` needs (plus the history)."""
    return Observation(
        history=driver.history(),
        components={name: driver.component_value(name) for name in expectation.components},
        input=driver.input_value() if expectation.input is not None else None,
        last_action=last_action,
    )


class Updater(Protocol):
    """What ``--update-expectations`` hooks into the run (``harness.update.Updates``)."""

    def expectation(self, step: Step, seen: Observation, sections: list[str], errored_just_before: bool) -> list[str]: ...

    def result(self, step: Step, action: ActionRecord) -> bool: ...


@dataclass(frozen=True)
class Limits:
    """Time budgets of a run: each step, and the whole scenario up to ``deadline`` (time.monotonic)."""

    step: float
    scenario: float
    deadline: float

    @classmethod
    def starting_now(cls, step: float, scenario: float) -> Limits:
        return cls(step, scenario, time.monotonic() + scenario)

    def for_next_step(self, label: str) -> tuple[float, bool]:
        """The next step's timeout, and whether the scenario's budget (not the step's) sets it."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise OutOfTime(f"the scenario's time budget of {self.scenario:g}s ran out before {label}")
        return min(self.step, round(remaining, 2)), remaining < self.step

    def out(self) -> bool:
        return time.monotonic() >= self.deadline - 0.05


def run_scenario(scenario: Scenario, driver: Driver, update: Updater | None = None, limits: Limits | None = None) -> RunResult:
    """Run every step of ``scenario`` on an opened ``driver``.

    Raises ``StepError`` (with ``.step`` set, and ``.result``: the transcript so far) for the
    first step that does not hold. With ``update``, a mismatch it can fix by recording the
    observed value is no failure.
    """
    result = RunResult(scenario, driver.name)
    started = time.perf_counter()
    last_action: ActionRecord | None = None
    previous: Step | None = None
    try:
        for step in scenario.steps:
            t0 = time.perf_counter()
            entry = StepResult(step, 0.0)
            result.steps.append(entry)
            cut = False
            try:
                if limits is not None:
                    timeout, cut = limits.for_next_step(step.label)
                    driver.set_timeout(timeout)
                if isinstance(step, Expect):
                    seen = observe(driver, step.expectation, last_action)
                    entry.observation = seen
                    result.asserted_components.update(seen.components)
                    if seen.input is not None or step.expectation.input is not None:
                        result.asserted_components["(input box)"] = seen.input
                    sections = check_expectation(step.expectation, seen)
                    if update is not None:
                        errored = isinstance(previous, Action) and last_action is not None and last_action.error is not None
                        sections = update.expectation(step, seen, sections, errored)
                    if sections:
                        raise ExpectationFailed(f"{step.label} at {step.location}", "\n".join(sections))
                else:
                    assert isinstance(step, Action)
                    last_action = entry.action = driver.perform(step)
                    _after_action(step, last_action, scenario, update)
            except HarnessError as caught:
                # a step the scenario's budget cut short fails as out of time, its own error as the cause
                cut_short = cut and limits is not None and limits.out() and not isinstance(caught, OutOfTime)
                exc = _out_of_time(caught, limits) if cut_short and limits is not None else caught
                entry.error = str(exc)
                exc.result = result
                if isinstance(exc, StepError | TargetError):
                    exc.step = step
                    exc.history = _safe_history(driver)
                if exc is caught:
                    raise
                raise exc from caught
            finally:
                entry.seconds = time.perf_counter() - t0
            previous = step
        result.final_history = driver.history()
    finally:
        result.seconds = time.perf_counter() - started
    return result


def missing_requirements(scenario: Scenario, driver: Driver | AppConfig) -> str | None:
    """What the app lacks of what the scenario ``requires`` (None = it has everything)."""
    return scenario.missing_requirements(driver)


def _after_action(step: Action, action: ActionRecord, scenario: Scenario, update: Updater | None) -> None:
    """An app error fails the step unless the next step expects it (or, updating, may record it);
    a call's result is checked here."""
    if action.error is not None:
        following = scenario.steps[step.number] if step.number < len(scenario.steps) else None
        expected_next = isinstance(following, Expect) and (following.expectation.error is not None or update is not None)
        if not expected_next:
            raise AppRaised(f"the app raised an error during {step.label}: {action.error}")
    if isinstance(step, Call) and step.result is not None and (why := step.result.mismatch(action.result)):
        if update is not None and update.result(step, action):
            return
        raise ExpectationFailed(f"{step.label} at {step.location}", f"{step.api_name} returned: {why}")


def _out_of_time(exc: HarnessError, limits: Limits) -> OutOfTime:
    """A step failure caused by the scenario's budget running out (the step had less than its own)."""
    message = exc.message if isinstance(exc, StepError) else str(exc)
    return OutOfTime(f"cut off when the scenario's time budget of {limits.scenario:g}s ran out: {message}")


def _safe_history(driver: Driver) -> list[Message] | None:
    try:
        return driver.history()
    except Exception:  # the history is context for a report; its absence must not hide the failure
        return None
