"""Every exception of the harness, in one tree, so a report can say whose problem it is::

    HarnessError                  (failure context: step, history, result, artifacts)
    ├── ScenarioError             the YAML file is invalid (found at collection, names file:line)
    │   └── MatcherSpecError      a matcher in it is malformed (an invalid regular expression, ...)
    ├── RecordingError            an action given to ``chat-harness record`` is not a step
    ├── StepError                 a step of a valid scenario did not hold
    │   ├── ExpectationFailed     an ``expect`` did not match what the app shows
    │   ├── ActionError           the step cannot be done on this app (no undo handler, index out of range)
    │   ├── AppRaised             the app raised an error while handling the step
    │   ├── MalformedHistory      the app sent a chat value that is not a history
    │   ├── PageMismatch          the page does not show what the app sent (browser driver)
    │   ├── ModelCallUnanswered   the scripted model had no answer for a call the app made
    │   ├── ContractViolated      an action broke a behaviour contract (retry changed an earlier message)
    │   └── OutOfTime             the scenario's time budget ran out
    ├── TargetError               the app under test cannot be reached or used (down, no chatbot, ...)
    ├── RequirementsMissing       the app lacks what the scenario ``requires``: a skip, not a failure
    ├── JudgeError                the judge endpoint of similar / judge gave no usable answer
    ├── HarnessBug                the harness itself failed (its traceback saved as an artifact)
    ├── BrowserNotFound           no browser the browser driver can launch
    ├── BrowserServerUnreachable  the remote Playwright browser server gave no browser
    ├── ParityFailed              the drivers' runs of one scenario ended in different states
    └── SessionsFailed            simultaneous sessions of one scenario failed or disagreed

The runner fills in the failure context of the error a step raises (``step``, ``history``,
``result``); the plugin adds the ``artifacts`` a browser run saved. Reports read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.gradio.history import Message
    from harness.spec.steps import Step

__all__ = [
    "ActionError",
    "AppRaised",
    "BrowserNotFound",
    "BrowserServerUnreachable",
    "ExpectationFailed",
    "HarnessError",
    "Location",
    "MalformedHistory",
    "MatcherSpecError",
    "ModelCallUnanswered",
    "OutOfTime",
    "PageMismatch",
    "ParityFailed",
    "RecordingError",
    "RequirementsMissing",
    "ScenarioError",
    "SessionsFailed",
    "StepError",
    "TargetError",
    "first_line",
]


def first_line(exc: BaseException) -> str:
    """An exception's first line of text (its type's name when it has none): for one-line messages."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class Location:
    """A place in a scenario file; ``line`` is 1-based."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class HarnessError(Exception):
    """Root of every error the harness reports on purpose, with the context of the failure."""

    #: the step during which it happened (set by the runner)
    step: Step | None = None
    #: the chat as it was then (set by the runner when the driver could still read it)
    history: list[Message] | None = None
    #: the run so far, up to this step (``harness.run.runner.RunResult``, set by the runner)
    result: Any = None
    #: what the driver saved of the page when it failed (kind -> path)
    artifacts: dict[str, Path] | None = None


class ScenarioError(HarnessError):
    """A scenario file is invalid; reported with its file and line, never with a traceback."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class MatcherSpecError(ScenarioError, ValueError):
    """A matcher spec is malformed (e.g. an invalid regular expression); the loader adds the place."""


class RecordingError(HarnessError, ValueError):
    """An action given to ``chat-harness record`` is not a valid step."""


class StepError(HarnessError):
    """A step of a valid scenario did not hold. ``detail`` is the readable body of the report."""

    kind = "step failed"

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class ExpectationFailed(StepError):
    """An ``expect`` step found the app in a different state than the scenario says."""

    kind = "expectation failed"


class ActionError(StepError):
    """The step's action cannot be performed on this app as it is now."""

    kind = "cannot perform step"


class AppRaised(StepError):
    """The app raised an error (``gr.Error`` or an exception) while handling the step."""

    kind = "the app raised an error"


class MalformedHistory(StepError, TypeError):
    """The chatbot's value is not a chat history Gradio can show (a ``TypeError`` too, for callers
    that skip such values while a reply streams)."""

    kind = "the app sent a malformed chat history"


class PageMismatch(StepError):
    """The page does not show the history the app sent it (a rendering or frontend problem)."""

    kind = "the page does not show what the app sent"


class ContractViolated(StepError):
    """An action broke a behaviour contract any correct chatbot keeps (retry keeps earlier messages, ...)."""

    kind = "behaviour contract violated"


class ModelCallUnanswered(StepError):
    """The app made a model call that the scenario's script (or cassette) has no answer for."""

    kind = "the scripted model has no answer for a call the app made"


class OutOfTime(StepError):
    """The scenario's time budget ran out (before a step, or cutting one off)."""

    kind = "out of time"


class TargetError(HarnessError):
    """The app under test cannot be reached, or is not a chatbot the scenario can use."""


class HarnessBug(HarnessError):
    """The harness itself failed (an exception none of its checks raises on purpose): reported as
    one paragraph saying so, with the traceback saved as an artifact, never as a traceback."""

    def __init__(self, error: BaseException, traceback_file: Path | None) -> None:
        where = f"; its traceback is in {traceback_file}" if traceback_file else ""
        super().__init__(
            f"chat-harness itself failed here, a bug in the harness and not in your app: "
            f"{type(error).__name__}: {first_line(error)}{where}. Please report it with that file."
        )
        self.artifacts = {"traceback": traceback_file} if traceback_file else {}


class JudgeError(HarnessError):
    """The judge endpoint could not give an answer: unreachable, an HTTP error, a model name missing,
    or an answer that is not what was asked (no JSON, a score outside 0-1)."""


class RequirementsMissing(HarnessError):
    """The app lacks a component or endpoint the scenario ``requires``: the scenario is skipped, not failed.

    Drivers raise it while opening, before they look for the scenario's chatbot (which such an app
    may not have either).
    """


class BrowserNotFound(HarnessError):
    """No browser the driver can launch."""


class BrowserServerUnreachable(HarnessError):
    """The remote Playwright browser server (``--chat-browser-endpoint``) did not give a browser."""


class ParityFailed(HarnessError):
    """The drivers' runs of one scenario reached different histories or component values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SessionsFailed(HarnessError):
    """Simultaneous sessions of one scenario failed their expectations or ended differently."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems
