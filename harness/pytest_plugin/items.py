"""The pytest items a scenario file becomes.

* ``ScenarioFile``: one YAML file; each scenario in it becomes a ``ScenarioItem`` per driver
  (``<name>[api]``, ``<name>[browser]``), a ``ParityItem`` when several drivers run it, and a
  ``SessionsItem`` with ``--chat-sessions N``. A file that does not load becomes one
  ``InvalidScenarioFile`` item, so the other files still run.
* Every item carries the ``chat_harness`` mark, so its reports say it is one of the harness's.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.drivers import Driver, driver_class
from harness.errors import (
    HarnessBug,
    HarnessError,
    Location,
    ParityFailed,
    RequirementsMissing,
    ScenarioError,
    SessionsFailed,
)
from harness.output import transcript
from harness.output.failure import describe_failure, shown_path
from harness.output.secrets import redact, scrub_tree
from harness.output.update import Edit, Updates
from harness.pytest_plugin.settings import Settings, settings
from harness.pytest_plugin.targets import targets_key
from harness.run.parity import compare_runs
from harness.run.repeats import RepeatsFailed, RepeatTally
from harness.run.runner import Limits, RunResult, run_scenario
from harness.spec.loader import load_file
from harness.spec.model import Scenario
from harness.target.app import Target

__all__ = [
    "ITEM_MARK",
    "InvalidScenarioFile",
    "ParityItem",
    "ScenarioFile",
    "ScenarioItem",
    "SessionsItem",
    "targets_key",
    "updates_key",
]

ITEM_MARK = "chat_harness"  # on every item of the harness: its reports carry it as a keyword

updates_key = pytest.StashKey[list[Edit]]()


def _secrets(config: pytest.Config) -> list[str]:
    return settings(config).secrets()


def model_secrets() -> list[str]:
    """The model providers' keys in the environment (kept out of a recorded cassette)."""
    return [v for k, v in os.environ.items() if v and len(v) >= 8 and k.endswith(("_API_KEY", "_TOKEN", "_KEY"))]


@contextlib.contextmanager
def bugs_reported(config: pytest.Config) -> Iterator[None]:
    """An exception the harness does not raise on purpose becomes a ``HarnessBug``: one paragraph
    in the terminal and the report, its traceback written to a file (an artifact), secrets masked."""
    try:
        yield
    except HarnessError:
        raise
    except Exception as exc:
        folder = Path(tempfile.mkdtemp(prefix="chat-harness-bug-"))
        path = folder / "traceback.txt"
        text = "".join(traceback.format_exception(exc))
        path.write_text(redact(text, _secrets(config)), encoding="utf-8")
        raise HarnessBug(exc, path) from exc


class ScenarioFile(pytest.File):
    """A YAML file of scenarios."""

    def collect(self) -> list[pytest.Item]:
        try:
            scenarios = load_file(shown_path(self.path), settings(self.config).sandbox)
        except ScenarioError as exc:
            # an item, not a collection error, so that the other files still run
            return [InvalidScenarioFile.from_parent(self, name="invalid scenario file", error=exc)]
        except Exception as exc:  # load_file makes every problem a ScenarioError; this is the last net
            error = ScenarioError(
                f"cannot load the file ({type(exc).__name__}: {exc})", Location(str(shown_path(self.path)), 1)
            )
            return [InvalidScenarioFile.from_parent(self, name="invalid scenario file", error=error)]
        run = settings(self.config)
        items: list[pytest.Item] = []
        for scenario in scenarios:
            runs = [
                ScenarioItem.from_parent(self, name=f"{scenario.name}[{driver}]", scenario=scenario, driver_name=driver)
                for driver in run.drivers
            ]
            items.extend(runs)
            if run.sessions > 1:
                items.append(
                    SessionsItem.from_parent(
                        self, name=f"{scenario.name}[{run.sessions} sessions]", scenario=scenario, count=run.sessions
                    )
                )
            if len(runs) > 1:
                # it compares the runs in its own process: under xdist they share a worker (see hooks.pytest_configure)
                items.append(
                    ParityItem.from_parent(self, name=f"{scenario.name}[parity]", scenario=scenario, runs=runs)
                )
        return items


class InvalidScenarioFile(pytest.Item):
    """Stands for a scenario file that does not load: it fails with the loader's one-line message."""

    def __init__(self, *, error: ScenarioError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.add_marker(ITEM_MARK)

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ScenarioError):
            return redact(f"invalid scenario file: {excinfo.value}", _secrets(self.config))
        return super().repr_failure(excinfo, style=style)

    def transcript(self, report: pytest.TestReport) -> dict[str, Any]:
        location = self.error.location
        file, line = (location.path, location.line) if location else (str(shown_path(self.path)), 1)
        failure = report.longreprtext if report.failed else None
        return transcript.summary_record(
            self.nodeid,
            "invalid scenario file",
            file,
            line,
            "invalid",
            report.outcome,
            failure=failure,
            seconds=report.duration,
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.error.location.line - 1 if self.error.location else 0
        return self.path, line, "invalid scenario file"


class JudgeNotConfigured(InvalidScenarioFile):
    """Stands for the selected scenarios whose similar / judge matchers need a judge endpoint that
    is not configured: one failure saying what to give, instead of one per item (a usage error
    would crash pytest-xdist's workers)."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ScenarioError):
            return excinfo.value.message
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "judge endpoint not configured"

    def transcript(self, report: pytest.TestReport) -> dict[str, Any]:
        return {**super().transcript(report), "scenario": "judge endpoint not configured"}


def set_judge_aside(run: Settings, items: list[pytest.Item]) -> None:
    """Replace the items that need an unconfigured judge endpoint by one ``JudgeNotConfigured``."""
    missing = judge_problems(run, items)
    if missing is None:
        return
    needing = [i for i in items if getattr(i, "scenario", None) is not None and i.scenario.services]  # type: ignore[attr-defined]
    first = needing[0]
    assert first.parent is not None
    error = ScenarioError(missing, first.scenario.location)  # type: ignore[attr-defined]
    standing = JudgeNotConfigured.from_parent(first.parent, name="judge endpoint not configured", error=error)
    items[:] = [standing, *(i for i in items if i not in needing)]


def judge_problems(run: Settings, items: list[pytest.Item]) -> str | None:
    """What the judge endpoint's configuration lacks for the collected scenarios (None: nothing)."""
    needs: dict[str, list[str]] = {}
    for item in items:
        if isinstance(item, ScenarioItem):
            for service in item.scenario.services:
                where = f"{item.scenario.name!r} ({item.scenario.location})"
                if where not in needs.setdefault(service, []):
                    needs[service].append(where)
    if not needs:
        return None
    judge = run.judge
    lacking = []
    if judge is None:
        lacking.append("--chat-judge-url (an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1)")
    if "embeddings" in needs and (judge is None or not judge.embedding_model):
        lacking.append("--chat-judge-embedding-model (for similar)")
    if "grading" in needs and (judge is None or not judge.model):
        lacking.append("--chat-judge-model (for judge)")
    if not lacking:
        return None
    users = sorted({w for found in needs.values() for w in found})
    shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
    return (
        f"{len(users)} scenario(s) use the similar / judge matchers, which ask a judge endpoint: {shown}. Give "
        f"{' and '.join(lacking)} (or the ini keys / CHAT_HARNESS_JUDGE_* variables); the key, if the endpoint "
        "needs one, goes in CHAT_HARNESS_JUDGE_API_KEY"
    )


def make_driver(name: str, target: Target, timeout: float, request: pytest.FixtureRequest) -> Driver:
    """The driver ``name`` on ``target``; a browser driver gets pytest-playwright's ``new_context``."""
    cls = driver_class(name)
    if not cls.needs_browser:
        return cls(target, timeout)
    config = request.config
    if not config.pluginmanager.hasplugin("playwright"):
        raise pytest.UsageError(
            f"the {name} driver needs pytest-playwright (pip install pytest-playwright), and it is not loaded"
        )
    # pytest-playwright records traces, videos and screenshots per context it makes: with any of
    # them asked for, each scenario gets such a context; else a new page in a warm, cleared context
    recorded = any(
        config.getoption(option, default="off") != "off" for option in ("--tracing", "--video", "--screenshot")
    )
    marked = next(request.node.iter_markers("browser_context_args"), None) is not None
    if not (recorded or marked or settings(config).fresh_contexts):
        contexts = request.getfixturevalue("chat_browser_contexts")
        if contexts is not None:
            return cls(target, timeout, contexts=contexts)
    # with --tracing on / retain-on-failure pytest-playwright records the trace itself
    tracing = config.getoption("--tracing", default="off")
    return cls(target, timeout, new_context=request.getfixturevalue("new_context"), trace=tracing == "off")


def _run_scenario_item(request: pytest.FixtureRequest) -> None:
    """The test function of every ScenarioItem (fixtures come through ``request``)."""
    node = request.node
    assert isinstance(node, ScenarioItem)
    node.run(request)


class ScenarioItem(pytest.Function):
    """One scenario run by one driver.

    A ``pytest.Function`` so that fixtures work (the browser driver takes pytest-playwright's
    ``new_context`` and ``output_path``), created from the YAML file instead of a Python module.
    """

    def __init__(self, *, scenario: Scenario, driver_name: str, **kwargs: Any) -> None:
        super().__init__(callobj=_run_scenario_item, **kwargs)
        self.scenario = scenario
        self.driver_name = driver_name
        self.result: RunResult | None = None
        self.target: Target | None = None
        self.skip_reason: str | None = None
        self.failure: HarnessError | None = None
        #: the outcome of each run, when the scenario is repeated
        self.repeats: RepeatTally | None = None
        self.add_marker(pytest.mark.chat_driver(driver_name))
        self.add_marker(ITEM_MARK)

    def runtest(self) -> None:
        _run_scenario_item(self._request)

    def run(self, request: pytest.FixtureRequest) -> None:
        """Run the scenario once, or as many times as ``repeat`` says (then fail when fewer than
        ``min_pass`` runs passed)."""
        try:
            with bugs_reported(self.config):
                self._run(request)
        except HarnessBug as bug:
            self.failure = bug
            raise

    def _run(self, request: pytest.FixtureRequest) -> None:
        run = settings(self.config)
        times = run.repeat or self.scenario.repeat or 1
        if times == 1:
            self.attempt(request)
            return
        self.repeats = tally = RepeatTally(self.scenario, times, min(self.scenario.min_pass or times, times))
        passing: RunResult | None = None
        for _ in range(times):
            try:
                self.attempt(request)
            except HarnessError as exc:
                tally.add(exc.result, exc)
            else:
                tally.add(self.result, None)
                passing = self.result
        self.result = passing  # parity compares a passing run, when there is one
        self.user_properties.append(("chat_repeat", tally.rate()))
        self.user_properties.append(("chat_repeat_steps", "; ".join(tally.step_rates())))
        if not tally.held:
            failure = RepeatsFailed(tally)
            self.failure = failure
            raise failure
        self.failure = None

    def attempt(self, request: pytest.FixtureRequest) -> None:
        """One run of the scenario on a fresh session."""
        config = self.config
        run = settings(config)
        limits = Limits.starting_now(
            run.step.seconds(self.scenario.step_timeout), run.scenario.seconds(self.scenario.scenario_timeout)
        )
        first = self.target is None
        self.target = config.stash[targets_key].for_scenario(self.scenario)
        info = self.target.info
        if first:
            self.user_properties.extend(
                [
                    ("chat_target", self.target.description),
                    ("gradio_version", info.version if info else "unknown"),
                    ("app_mode", info.mode if info else "unknown"),
                ]
            )
        models = config.stash[targets_key].model_for(self.target)
        if models is None and self.scenario.scripts_model:
            self.skip_reason = (
                f"the scenario scripts the model, and {self.target.description} answers with its own model (the "
                "scripted model answers apps launched in-process, with --chat-model script or record)"
            )
            pytest.skip(self.skip_reason)
        driver = make_driver(self.driver_name, self.target, min(limits.step, limits.scenario), request)
        used = None
        try:
            # begun before the session opens: a model call of the app's load event is the scenario's
            used = models.begin(self.scenario) if models is not None else None
            try:
                driver.open(self.scenario)
            except RequirementsMissing as exc:
                self.skip_reason = str(exc)
                pytest.skip(self.skip_reason)
            updates = Updates(self.scenario) if run.update else None
            self.result = None
            try:
                self.result = run_scenario(self.scenario, driver, updates, limits, used.run if used else None)
            finally:
                if updates is not None:
                    config.stash[updates_key].extend(updates.edits)
        except HarnessError as exc:
            self.failure = exc
            if driver.needs_browser:
                folder = Path(request.getfixturevalue("output_path"))
                exc.artifacts = driver.save_artifacts(folder)
                scrub_tree(folder, self.target.secrets)
            raise
        finally:
            driver.close()
            if models is not None and used is not None:
                models.end(used, _secrets(config) + model_secrets())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | Any:  # type: ignore[override]
        exc = excinfo.value
        if isinstance(exc, RepeatsFailed):
            return redact(self._describe_repeats(exc), _secrets(self.config))
        if isinstance(exc, HarnessError):
            return redact(describe_failure(self.scenario, self.driver_name, self.target, exc), _secrets(self.config))
        shown = super().repr_failure(excinfo)
        return redact(shown, _secrets(self.config)) if isinstance(shown, str) else shown

    def _describe_repeats(self, exc: RepeatsFailed) -> str:
        tally = exc.tally
        lines = [
            f"scenario {self.scenario.name!r} [{self.driver_name}] ({self.scenario.location}): repeated {tally.runs} "
            f"times, {tally.rate()} (min_pass {tally.needed})",
            "per step:",
            *(f"  {line}" for line in tally.step_rates()),
            "failed runs:",
            *(f"  {line}" for line in tally.failures()),
        ]
        last = tally.last_failure
        if last is not None:
            lines.append("the last failed run:")
            lines.append(describe_failure(self.scenario, self.driver_name, self.target, last))
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [{self.driver_name}]"

    def transcript(self, report: pytest.TestReport, folder: Path) -> dict[str, Any]:
        """This run as a transcript (partial when it failed), its artifacts copied into ``folder``."""
        exc = self.failure
        result = self.result or (exc.result if exc is not None else None)
        step = exc.step if exc is not None else None
        target = None
        if self.target is not None:
            info = self.target.info
            version, mode = (info.version, info.mode) if info else ("unknown", "unknown")
            target = {"description": self.target.description, "gradio_version": version, "app_mode": mode}
        artifacts = transcript.copy_artifacts(folder, self.nodeid, (exc.artifacts if exc is not None else None) or {})
        if exc is not None and self.driver_name == "browser" and "trace" not in artifacts:
            # pytest-playwright's own trace (--tracing on / retain-on-failure) is written after this
            # report, when its context closes: linked where it will be, not copied
            if self.config.getoption("--tracing", default="off") != "off":
                trace = Path(self._request.getfixturevalue("output_path")) / "trace.zip"
                artifacts["trace"] = os.path.relpath(trace, folder)
        return transcript.transcript(
            self.nodeid,
            self.scenario,
            self.driver_name,
            report.outcome,
            result,
            history=exc.history if exc is not None else None,
            failure=report.longreprtext or None if report.failed else None,
            skip_reason=skip_reason(report),
            failed_step=step.number if step is not None else None,
            target=target,
            artifacts=artifacts,
            seconds=report.duration,
            repeats=self.repeats.as_dict() if self.repeats is not None else None,
        )


def skip_reason(report: pytest.TestReport) -> str | None:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


class ParityItem(pytest.Item):
    """Fails when the drivers' runs of one scenario ended in different states."""

    def __init__(self, *, scenario: Scenario, runs: list[ScenarioItem], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.runs = runs
        self.add_marker(ITEM_MARK)

    def runtest(self) -> None:
        with bugs_reported(self.config):
            self._compare()

    def _compare(self) -> None:
        reasons = {run.skip_reason for run in self.runs}
        if len(reasons) == 1 and None not in reasons:
            pytest.skip(f"skipped on every driver: {reasons.pop()}")
        missing = [run.driver_name for run in self.runs if run.result is None]
        if missing:
            pytest.skip(
                f"parity needs every driver's run to finish; {' and '.join(missing)} did not (see its own result)"
            )
        results = [run.result for run in self.runs if run.result is not None]
        mode = settings(self.config).parity or self.scenario.parity or "checked"
        problems = [p for other in results[1:] for p in compare_runs(results[0], other, mode=mode)]
        if problems:
            raise ParityFailed(problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ParityFailed):
            drivers = " and ".join(run.driver_name for run in self.runs)
            head = f"scenario {self.scenario.name!r} ({self.scenario.location}): the {drivers} drivers disagree"
            return redact("\n".join([head, *excinfo.value.problems]), _secrets(self.config))
        if isinstance(excinfo.value, HarnessBug):
            return f"scenario {self.scenario.name!r} [parity] ({self.scenario.location}): {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [parity]"


class SessionsItem(pytest.Item):
    """One scenario as N simultaneous API sessions: no session may see another's state."""

    def __init__(self, *, scenario: Scenario, count: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.count = count
        self.add_marker(ITEM_MARK)

    def runtest(self) -> None:
        with bugs_reported(self.config):
            self._run_sessions()

    def _run_sessions(self) -> None:
        from harness.run.sessions import latency_table, run_sessions

        config = self.config
        timeout = settings(config).step.seconds(self.scenario.step_timeout)
        if self.scenario.scripts_model:
            pytest.skip(
                "--chat-sessions does not run scenarios that script the model (the sessions would share one script)"
            )
        target = config.stash[targets_key].for_scenario(self.scenario)
        api = driver_class("api")
        outcome = run_sessions(self.scenario, lambda: api(target, timeout), self.count, timeout)
        if outcome.skipped:
            pytest.skip(outcome.skipped)
        self.user_properties.append(("chat_latency", json.dumps(latency_table(outcome.results))))
        problems = outcome.problems()
        if problems:
            raise SessionsFailed(
                f"{len(problems)} problem(s) in {self.count} simultaneous sessions against {target}", problems
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, SessionsFailed):
            head = (
                f"scenario {self.scenario.name!r} [{self.count} sessions] ({self.scenario.location}): {excinfo.value}"
            )
            return redact("\n".join([head, *excinfo.value.problems]), _secrets(self.config))
        if isinstance(excinfo.value, HarnessBug):
            where = f"[{self.count} sessions] ({self.scenario.location})"
            return f"scenario {self.scenario.name!r} {where}: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [{self.count} sessions]"


def transcript_of(item: pytest.Item, report: pytest.TestReport, folder: Path) -> dict[str, Any] | None:
    """The transcript an item of the harness leaves for ``report`` (None: not one of ours)."""
    if isinstance(item, ScenarioItem):
        return item.transcript(report, folder)
    if isinstance(item, InvalidScenarioFile):
        return item.transcript(report)
    if isinstance(item, ParityItem | SessionsItem):
        scenario = item.scenario
        driver = "parity" if isinstance(item, ParityItem) else f"{item.count} sessions"
        failure = report.longreprtext if report.failed else None
        return transcript.summary_record(
            item.nodeid,
            scenario.name,
            scenario.location.path,
            scenario.location.line,
            driver,
            report.outcome,
            failure=failure,
            skip_reason=skip_reason(report),
            seconds=report.duration,
            description=scenario.description,
        )
    return None
