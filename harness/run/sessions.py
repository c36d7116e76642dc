"""``--chat-sessions N``: one scenario as N simultaneous sessions through the API driver.

All sessions start together (a barrier), each runs the whole scenario with its own expectations,
and then every session must have ended with the same history as the first: sessions that send the
same messages to an app without shared state see the same chat. A global variable in the app
(a reply counter, a cache keyed by nothing) shows up as expectations failing in some sessions, or
as sessions that disagree. The sessions are compared exactly, text included, whatever the
scenario's ``parity:`` says (a fuzzy expectation is what lets a shared counter through the
sessions' own checks): an app whose replies are random on purpose disagrees with itself here.
Per step, the latency across sessions: p50, p95 and max.

Only against loopback or your own deployment: it is a (small) load test.
"""

from __future__ import annotations

import contextvars
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.drivers.base import Driver
from harness.errors import HarnessError, RequirementsMissing, StepError
from harness.run.parity import compare_runs
from harness.run.runner import RunResult, run_scenario
from harness.spec.model import Scenario

__all__ = ["SessionsOutcome", "latency_table", "run_sessions"]


@dataclass
class SessionsOutcome:
    results: list[RunResult | None] = field(default_factory=list)
    errors: list[HarnessError | None] = field(default_factory=list)
    skipped: str | None = None

    def problems(self) -> list[str]:
        """What went wrong, per session (sessions numbered from 1)."""
        found = [
            f"session {i}: {_describe(error)}" for i, error in enumerate(self.errors, start=1) if error is not None
        ]
        finished = [(i, r) for i, r in enumerate(self.results, start=1) if r is not None]
        if len(finished) > 1:
            first_number, first = finished[0]
            for number, other in finished[1:]:
                names = (f"session {first_number}", f"session {number}")
                found.extend(
                    f"session {number} and session {first_number} disagree: {p}"
                    for p in compare_runs(first, other, names, mode="exact")[:1]
                )
        return found


def _describe(error: HarnessError) -> str:
    """A session's failure: the step and kind, then the detail (expected vs actual) indented."""
    if isinstance(error, StepError):
        body = error.detail or error.message
        return (
            f"{error.message}: {error.kind}\n" + "\n".join(f"    {line}" for line in body.splitlines())
            if error.detail
            else f"{error.message} ({error.kind})"
        )
    step = error.step
    return f"during {step.label} at {step.location}: {error}" if step is not None else str(error)


def run_sessions(scenario: Scenario, make_driver: Callable[[], Driver], count: int, timeout: float) -> SessionsOutcome:
    """Run ``scenario`` as ``count`` simultaneous sessions; every session's outcome is kept."""
    outcome = SessionsOutcome([None] * count, [None] * count)
    drivers = [make_driver() for _ in range(count)]
    start = threading.Barrier(count, timeout=timeout)

    def session(index: int) -> None:
        driver = drivers[index]
        try:
            driver.open(scenario)
            start.wait()
            outcome.results[index] = run_scenario(scenario, driver)
        except RequirementsMissing as exc:
            outcome.skipped = str(exc)
            start.abort()
        except HarnessError as exc:
            outcome.errors[index] = exc
            start.abort()
        except threading.BrokenBarrierError:
            outcome.errors[index] = HarnessError("did not start: another session failed to open")
        except Exception as exc:  # a bug must not vanish with its thread
            outcome.errors[index] = HarnessError(f"unexpected {type(exc).__name__}: {exc}")
        finally:
            driver.close()

    threads = [
        # each in a copy of this thread's context: the judge the similar / judge matchers ask is in it
        threading.Thread(
            target=contextvars.copy_context().run, args=(session, i), name=f"chat-session-{i + 1}", daemon=True
        )
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def latency_table(results: list[RunResult | None]) -> list[dict[str, Any]]:
    """Per step: how long it took across the sessions that ran it (p50, p95, max in seconds)."""
    rows: list[dict[str, Any]] = []
    finished = [r for r in results if r is not None]
    if not finished:
        return rows
    for position, entry in enumerate(finished[0].steps):
        times = sorted(r.steps[position].seconds for r in finished if position < len(r.steps))
        p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]
        rows.append(
            {
                "step": entry.step.label,
                "line": entry.step.location.line,
                "p50": statistics.median(times),
                "p95": p95,
                "max": times[-1],
                "sessions": len(times),
            }
        )
    return rows
