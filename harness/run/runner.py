"""Running one scenario on one driver: do the actions, check the expectations, keep a transcript.

The checks themselves are in ``checks`` (pure: what differs, as readable sections);
``run_scenario`` is the only place that raises on a mismatch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from harness.drivers.base import ActionRecord, Driver
from harness.errors import (
    ActionError,
    AppRaised,
    ContractViolated,
    ExpectationFailed,
    HarnessError,
    JudgeError,
    ModelCallUnanswered,
    OutOfTime,
    StepError,
    TargetError,
)
from harness.gradio.appconfig import AppConfig
from harness.gradio.history import Message
from harness.run import contracts
from harness.run.checks import Observation, check_expectation
from harness.run.diff import format_history
from harness.spec.matchers import SAVED, SCORES, substitute
from harness.spec.model import Expectation, Scenario
from harness.spec.steps import Action, Call, Edit, Expect, ModelStep, Save, Send, Step, Undo

if TYPE_CHECKING:
    from harness.model.calls import ModelCall
    from harness.model.server import ModelRun

__all__ = ["Limits", "RunResult", "StepResult", "Updater", "missing_requirements", "run_scenario"]


@dataclass
class StepResult:
    step: Step
    seconds: float
    action: ActionRecord | None = None
    observation: Observation | None = None
    error: str | None = None
    #: what the app sent to the scripted model during the step (None: the scripted model is off)
    model_calls: list[ModelCall] | None = None
    #: what the similar / judge matchers of an expect step scored (score, minimum, the judge's reason)
    scores: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunResult:
    """The transcript of one run: every step, and the final state for parity checks."""

    scenario: Scenario
    driver: str
    steps: list[StepResult] = field(default_factory=list)
    final_history: list[Message] = field(default_factory=list)
    asserted_components: dict[str, Any] = field(default_factory=dict)
    #: what the ``save`` steps kept, by name
    saved: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    seconds: float = 0.0


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

    def expectation(
        self, step: Step, seen: Observation, sections: list[str], errored_just_before: bool
    ) -> list[str]: ...

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


def run_scenario(
    scenario: Scenario,
    driver: Driver,
    update: Updater | None = None,
    limits: Limits | None = None,
    model: ModelRun | None = None,
) -> RunResult:
    """Run every step of ``scenario`` on an opened ``driver``.

    Raises ``StepError`` (with ``.step`` set, and ``.result``: the transcript so far) for the
    first step that does not hold. With ``update``, a mismatch it can fix by recording the
    observed value is no failure. With ``model`` (the scripted model's run for this scenario),
    each action's model calls are recorded, and a call the script cannot answer fails the step.
    """
    result = RunResult(scenario, driver.name)
    started = time.perf_counter()
    last_action: ActionRecord | None = None
    previous: Step | None = None
    saved_token = SAVED.set(result.saved)
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
                    scores: list[dict[str, Any]] = []
                    scoring = SCORES.set(scores)
                    try:
                        sections = check_expectation(step.expectation, seen)
                    finally:
                        SCORES.reset(scoring)
                        entry.scores = scores
                    if update is not None:
                        errored = (
                            isinstance(previous, Action) and last_action is not None and last_action.error is not None
                        )
                        sections = update.expectation(step, seen, sections, errored)
                    if sections:
                        raise ExpectationFailed(f"{step.label} at {step.location}", "\n".join(sections))
                elif isinstance(step, Save):
                    result.saved[step.name] = _saved_value(step, driver)
                elif isinstance(step, ModelStep):
                    if model is None:
                        raise TargetError(f"{step.label} scripts the model, but the scripted model is off for this app")
                    model.use(step.script)
                else:
                    assert isinstance(step, Action)
                    if isinstance(step, Send | Edit) and "${" in step.text:
                        step = replace(step, text=substitute(step.text, result.saved))
                    checked = contracts.applies(step, scenario.contracts)
                    before = driver.history() if checked else None
                    if model is not None:
                        model.begin_step(step.number)
                    try:
                        last_action = entry.action = driver.perform(step)
                    except HarnessError as failed:
                        # a refused model call explains the step's failure better than its symptom
                        if model is not None and (unanswered := _unanswered(model, step.label)) is not None:
                            raise unanswered from failed
                        raise
                    finally:
                        if model is not None:
                            entry.model_calls = model.calls_of(step.number)
                            model.begin_step(None)
                    if model is not None:
                        last_action.model_calls = entry.model_calls
                        if (unanswered := _unanswered(model, step.label)) is not None:
                            raise unanswered
                    _after_action(step, last_action, scenario, update)
                    if before is not None and last_action.error is None and last_action.validation is None:
                        _check_contracts(step, before, last_action, driver, scenario)
            except HarnessError as caught:
                # a step the scenario's budget cut short fails as out of time, its own error as the cause
                cut_short = cut and limits is not None and limits.out() and not isinstance(caught, OutOfTime)
                exc = _out_of_time(caught, limits) if cut_short and limits is not None else caught
                entry.error = str(exc)
                exc.result = result
                if isinstance(exc, StepError | TargetError | JudgeError):
                    exc.step = step
                    exc.history = _safe_history(driver)
                if exc is caught:
                    raise
                raise exc from caught
            finally:
                entry.seconds = time.perf_counter() - t0
            previous = step
        if model is not None and (late := _unanswered(model, "the last step")) is not None:
            late.step, late.result, late.history = scenario.steps[-1], result, _safe_history(driver)
            raise late
        result.final_history = driver.history()
    finally:
        SAVED.reset(saved_token)
        result.seconds = time.perf_counter() - started
    return result


def _saved_value(step: Save, driver: Driver) -> Any:
    """What a ``save`` step keeps: a component's value, or a message's text (default: the last reply)."""
    if step.component is not None:
        return driver.component_value(step.component)
    history = driver.history()
    if step.message is None:
        replies = [m for m in history if m.role == "assistant"]
        if not replies:
            raise ActionError(f"{step.label} at {step.location}: the chat has no reply to save as {step.name!r}")
        return replies[-1].text
    if not -len(history) <= step.message < len(history):
        raise ActionError(
            f"{step.label} at {step.location}: the chat has {len(history)} message(s), no message {step.message} "
            f"to save as {step.name!r}"
        )
    return history[step.message].text


def _check_contracts(
    step: Action, before: list[Message], action: ActionRecord, driver: Driver, scenario: Scenario
) -> None:
    """Raise ``ContractViolated`` when ``step`` broke its behaviour contract."""
    settings = scenario.contracts
    held = None
    if isinstance(step, Undo) and settings.undo_restores_input:
        try:
            held = driver.input_value()
        except HarnessError:  # no input box to read (a chat driven by buttons): nothing to compare
            held = None
    broken = contracts.violations(step, before, driver.history(), action, settings, held)
    if broken:
        body = "\n".join(f"{v.message}\n{v.detail}".rstrip() for v in broken)
        raise ContractViolated(
            f"{step.label} at {step.location}",
            f"{body}\n(a behaviour contract holds for any correct chatbot: turn it off for a step with "
            "contracts: false, or fit the contracts to the app with the scenario's contracts: mapping)",
        )


def missing_requirements(scenario: Scenario, driver: Driver | AppConfig) -> str | None:
    """What the app lacks of what the scenario ``requires`` (None = it has everything)."""
    return scenario.missing_requirements(driver)


def _after_action(step: Action, action: ActionRecord, scenario: Scenario, update: Updater | None) -> None:
    """An app error fails the step unless the next step expects it (or, updating, may record it);
    a call's result is checked here."""
    following = scenario.steps[step.number] if step.number < len(scenario.steps) else None
    if action.error is not None:
        expected_next = isinstance(following, Expect) and (
            following.expectation.error is not None or update is not None
        )
        if not expected_next:
            raise AppRaised(f"the app raised an error during {step.label}: {action.error}")
    if action.validation is not None and not (
        isinstance(following, Expect) and following.expectation.validation is not None
    ):
        raise AppRaised(
            f"the app's validator refused {step.label}: {action.validation or '(no message)'} "
            "(nothing ran after it; expect it with expect: {validation: ...})"
        )
    if isinstance(step, Call) and step.result is not None and (why := step.result.mismatch(action.result)):
        if update is not None and update.result(step, action):
            return
        raise ExpectationFailed(f"{step.label} at {step.location}", f"{step.api_name} returned: {why}")


def _unanswered(model: ModelRun, during: str) -> ModelCallUnanswered | None:
    """The first model call the script could not answer that was not reported yet (made during the
    step, or before it: while the session opened, or late for an earlier step), as a failure."""
    refused = model.unreported_problems()
    if not refused:
        return None
    call = refused[0]
    when = during if call.step is not None else f"{during} (it came between steps, or while the session opened)"
    return ModelCallUnanswered(
        f"the app made a model call during {when} that the scripted model cannot answer",
        f"{call.describe()}\n  {call.problem}\n  messages sent:\n{format_history(call.messages)}",
    )


def _out_of_time(exc: HarnessError, limits: Limits) -> OutOfTime:
    """A step failure caused by the scenario's budget running out (the step had less than its own)."""
    message = exc.message if isinstance(exc, StepError) else str(exc)
    return OutOfTime(f"cut off when the scenario's time budget of {limits.scenario:g}s ran out: {message}")


def _safe_history(driver: Driver) -> list[Message] | None:
    try:
        return driver.history()
    except Exception:  # the history is context for a report; its absence must not hide the failure
        return None
