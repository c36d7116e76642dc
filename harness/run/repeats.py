"""Repeats: one scenario run several times on one driver, and how often each step held.

A reply from a real model varies from run to run; ``repeat: N`` with ``min_pass: K`` says how often
a scenario must hold. ``RepeatTally`` keeps each run's outcome and says the pass rate of the whole
scenario and of each step ("3/5 passed"), for the failure, the terminal, JUnit and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError, StepError
from harness.run.runner import RunResult
from harness.spec.model import Scenario

__all__ = ["RepeatTally", "RepeatsFailed"]


@dataclass
class RepeatTally:
    """The outcomes of ``runs`` runs of ``scenario``, of which ``needed`` must pass."""

    scenario: Scenario
    runs: int
    needed: int
    #: per run: the failure (None: it passed)
    outcomes: list[HarnessError | None] = field(default_factory=list)
    #: per step number: [runs that reached it, runs in which it held]
    steps: dict[int, list[int]] = field(default_factory=dict)

    def add(self, result: RunResult | None, failure: HarnessError | None) -> None:
        """Count one run: its transcript (``result``, partial when it failed) and its failure."""
        self.outcomes.append(failure)
        failed_step = getattr(failure, "step", None)
        for entry in result.steps if result is not None else ():
            counts = self.steps.setdefault(entry.step.number, [0, 0])
            counts[0] += 1
            if entry.error is None and entry.step is not failed_step:
                counts[1] += 1

    @property
    def passed(self) -> int:
        return sum(1 for failure in self.outcomes if failure is None)

    @property
    def held(self) -> bool:
        return self.passed >= self.needed

    @property
    def last_failure(self) -> HarnessError | None:
        return next((f for f in reversed(self.outcomes) if f is not None), None)

    def rate(self) -> str:
        """``3/5 passed`` (and what was needed, when not every run must pass)."""
        need = f", {self.needed} needed" if self.needed != self.runs else ""
        return f"{self.passed}/{len(self.outcomes)} passed{need}"

    def step_rates(self) -> list[str]:
        """One line per step: how many of the runs that reached it it held in."""
        lines = []
        for step in self.scenario.steps:
            reached, held = self.steps.get(step.number, [0, 0])
            if reached == 0:
                lines.append(f"{step.label}: not reached")
            else:
                lines.append(f"{step.label}: {held}/{reached} passed")
        return lines

    def failures(self) -> list[str]:
        """Each failed run's first line: which run, which step, what kind."""
        lines = []
        for number, failure in enumerate(self.outcomes, start=1):
            if failure is None:
                continue
            if isinstance(failure, StepError):
                step = getattr(failure, "step", None)
                where = f"{step.label}: " if step is not None else ""
                said = (failure.detail or failure.message).strip().splitlines() or [""]
                lines.append(f"run {number}: {where}{failure.kind}: {said[0][:200]}")
            else:
                lines.append(f"run {number}: {str(failure).splitlines()[0][:200]}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        """For the transcript and the report."""
        return {
            "runs": len(self.outcomes),
            "passed": self.passed,
            "needed": self.needed,
            "rate": self.rate(),
            "steps": self.step_rates(),
            "failures": self.failures(),
        }


class RepeatsFailed(HarnessError):
    """Fewer repeated runs of a scenario passed than it needs; ``tally`` says which and where."""

    def __init__(self, tally: RepeatTally) -> None:
        super().__init__(f"{tally.rate()} (min_pass {tally.needed} of {tally.runs})")
        self.tally = tally
        last = tally.last_failure
        self.step = getattr(last, "step", None)
        self.result = getattr(last, "result", None)
        self.history = getattr(last, "history", None)
        self.artifacts = getattr(last, "artifacts", None) or {}
