"""The failure text of a scenario run: what failed, where, against which app, and what to open.

It is what pytest prints for a failing scenario item (and what the JUnit XML and the HTML report
hold): the scenario and driver, the target, the step with its file:line, expected vs actual, the
chat at that point, and the artifacts a browser run saved.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError, StepError, TargetError
from harness.run.diff import format_history
from harness.spec.model import Scenario
from harness.target.app import Target

__all__ = ["describe_failure", "shown_path"]


def shown_path(path: str | Path) -> Path:
    """A path as messages show it: relative to the working directory when it is inside it."""
    try:
        return Path(path).relative_to(Path.cwd())
    except ValueError:
        return Path(path)


def describe_failure(scenario: Scenario, driver: str, target: Target | None, exc: HarnessError) -> str:
    lines = [f"scenario {scenario.name!r} [{driver}] ({scenario.location})"]
    if target is not None:
        lines.append(f"target: {target}")
    step = exc.step
    if isinstance(exc, StepError):
        where = f"{step.label} at {step.location}" if step is not None else "a step"
        lines.append(f"{where}: {exc.kind}")
        lines.append(exc.detail if exc.detail else f"  {exc.message}")
    elif isinstance(exc, TargetError):
        where = f" during {step.label} at {step.location}" if step is not None else ""
        lines.append(f"the app under test{where}: {exc}")
    elif step is not None:
        lines.append(f"{step.label} at {step.location}: {exc}")
    else:
        lines.append(str(exc))
    if exc.history is not None and not (isinstance(exc, StepError) and exc.detail):
        lines.append("chat at that point:")
        lines.append(format_history(exc.history))
    if exc.artifacts:
        lines.append("artifacts:")
        lines.extend(f"  {kind}: {shown_path(path)}" for kind, path in exc.artifacts.items())
        if "trace" in exc.artifacts:
            lines.append(f"  (open the trace with: playwright show-trace {shown_path(exc.artifacts['trace'])})")
    return "\n".join(lines)
