"""The pytest plugin: YAML scenario files become pytest items, one per scenario per driver.

Options (command line, or ini keys of the same meaning in ``[tool.pytest.ini_options]``):

* ``--chat-app module:attr`` (ini ``chat_app``): launch that Gradio app in-process on a free
  loopback port; default ``fixtures.reference_app:demo``.
* ``--chat-url URL`` (ini ``chat_url``): use an app that is already running.
* ``--driver api|browser|all`` (ini ``chat_driver``): which drivers run each scenario; default
  ``api``. ``all`` runs every driver and adds a ``[parity]`` item per scenario that fails when the
  drivers reached different histories or component values.
* ``--chat-timeout SECONDS`` (ini ``chat_timeout``): how long one action may take; default 30.
* ``--chat-chromium PATH`` (ini ``chat_chromium``, env ``CHAT_HARNESS_CHROMIUM``): the Chromium the
  browser driver uses when Playwright's own is not installed (default: found on PATH).

The browser driver sits on pytest-playwright: ``--browser``, ``--headed``, ``--slowmo``,
``--tracing``, ``--video``, ``--screenshot`` and ``--output`` work as documented there. When a
browser scenario fails, a screenshot, a trace and the chat's visible text are saved under
``--output`` (default ``test-results/``) and the failure names them.
* ini ``chat_scenario_patterns``: file name patterns collected when pytest walks a directory
  (default ``*.chat.yaml *.chat.yml``); files named on the command line are always collected.

A scenario's own ``app:`` / ``url:`` is used only when neither is given here.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from harness.browser import ENV_VAR
from harness.drivers import Driver, available_drivers
from harness.errors import HarnessError, RequirementsMissing, ScenarioError, StepError, TargetError
from harness.loader import load_file
from harness.parity import compare_runs
from harness.report import format_history
from harness.runner import RunResult, run_scenario
from harness.scenario import Scenario
from harness.target import DEFAULT_APP, InProcessApp, Target

__all__ = ["ParityItem", "ScenarioFile", "ScenarioItem"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_PATTERNS = ["*.chat.yaml", "*.chat.yml"]

targets_key = pytest.StashKey["Targets"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chat-harness", "Gradio chatbot scenarios (chat-harness)")
    group.addoption("--chat-app", metavar="MODULE:ATTR", default=None, help="Gradio app to launch in-process for the scenarios (default: the bundled reference app).")
    group.addoption("--chat-url", metavar="URL", default=None, help="Root URL of a running Gradio app to test instead.")
    group.addoption("--driver", dest="chat_driver", default=None, choices=[*available_drivers(), "all"], help="Driver that runs each scenario (default: api).")
    group.addoption("--chat-timeout", type=float, metavar="SECONDS", default=None, help=f"Longest an action may take before the step fails (default: {DEFAULT_TIMEOUT:g}).")
    group.addoption("--chat-chromium", metavar="PATH", default=None, help=f"Chromium executable for the browser driver (default: Playwright's, else one on PATH; env {ENV_VAR}).")
    parser.addini("chat_app", "Gradio app (module:attr) to launch for the scenarios.", default=None)
    parser.addini("chat_url", "Root URL of a running Gradio app to test.", default=None)
    parser.addini("chat_driver", "Driver for scenarios: api, browser or all.", default=None)
    parser.addini("chat_chromium", "Chromium executable for the browser driver.", default=None)
    parser.addini("chat_timeout", "Seconds an action may take.", default=None)
    parser.addini("chat_scenario_patterns", "Scenario file patterns collected in directories.", type="args", default=DEFAULT_PATTERNS)


def setting(config: pytest.Config, name: str) -> Any:
    """An option of this plugin: the command line wins, else the ini key of the same name."""
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return value


class Targets:
    """Resolves which app a scenario runs against and owns the apps launched for the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.url: str | None = setting(config, "chat_url")
        self.app: str | None = setting(config, "chat_app")
        self._launched: dict[str, InProcessApp] = {}
        self._failed: dict[str, TargetError] = {}

    def for_scenario(self, scenario: Scenario) -> Target:
        if self.url:
            return Target.from_url(self.url)
        if self.app:
            return self._launch(self.app)
        if scenario.url:
            return Target.from_url(scenario.url)
        return self._launch(scenario.app or DEFAULT_APP)

    def _launch(self, spec: str) -> Target:
        if spec in self._failed:
            raise self._failed[spec]
        if spec not in self._launched:
            app = InProcessApp(spec)
            try:
                app.start()
            except TargetError as exc:
                app.close()
                self._failed[spec] = exc
                raise
            self._launched[spec] = app
        target = self._launched[spec].target
        assert target is not None
        return target

    def close(self) -> None:
        for app in self._launched.values():
            app.close()
        self._launched.clear()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[targets_key] = Targets(config)
    if config.pluginmanager.hasplugin("playwright") and not config.pluginmanager.has_plugin("chat_harness_browser"):
        # registered now, after every plugin, so it overrides pytest-playwright's launch_browser
        # while a project's conftest can still override it in turn
        from harness import browser_fixtures

        config.pluginmanager.register(browser_fixtures, "chat_harness_browser")
        # pytest-playwright's own base_url fallback trips a pytest 9 deprecation warning in every run
        config.addinivalue_line("filterwarnings", r"ignore:Session-scoped fixtures defined as instance methods are deprecated.\s+Instance attributes set in the 'base_url'")
    config.addinivalue_line("markers", "chat_driver(name): the driver a chat scenario item runs on")
    # warnings raised inside an app the harness launched are the app's business, not the test's
    config.addinivalue_line("filterwarnings", "ignore:::gradio.queueing")


def pytest_unconfigure(config: pytest.Config) -> None:
    targets = config.stash.get(targets_key, None)
    if targets is not None:
        targets.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, pattern) for pattern in parent.config.getini("chat_scenario_patterns")):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _drivers(config: pytest.Config) -> list[str]:
    choice = setting(config, "chat_driver") or "api"
    if choice == "all":
        return list(available_drivers())
    if choice not in available_drivers():
        raise pytest.UsageError(f"unknown driver {choice!r}; choose one of {', '.join((*available_drivers(), 'all'))}")
    return [choice]


def make_driver(name: str, target: Target, timeout: float, request: pytest.FixtureRequest) -> Driver:
    if name == "api":
        from harness.drivers.api import ApiDriver

        return ApiDriver(target, timeout=timeout)
    if name == "browser":
        from harness.drivers.browser import BrowserDriver

        if not request.config.pluginmanager.hasplugin("playwright"):
            raise pytest.UsageError("the browser driver needs pytest-playwright (pip install pytest-playwright), and it is not loaded")
        tracing = request.config.getoption("--tracing", default="off")
        # with --tracing on / retain-on-failure pytest-playwright records the trace itself
        return BrowserDriver(target, request.getfixturevalue("new_context"), timeout=timeout, trace=tracing == "off")
    raise pytest.UsageError(f"unknown driver {name!r}")


def _shown_path(path: Path) -> Path:
    """The path as messages show it: relative to the working directory when it is inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


class ScenarioFile(pytest.File):
    """A YAML file of scenarios."""

    def collect(self) -> list[pytest.Item]:
        try:
            scenarios = load_file(_shown_path(self.path))
        except ScenarioError as exc:
            # an item, not a collection error, so that the other files still run
            return [InvalidScenarioFile.from_parent(self, name="invalid scenario file", error=exc)]
        drivers = _drivers(self.config)
        items: list[pytest.Item] = []
        for scenario in scenarios:
            runs = [ScenarioItem.from_parent(self, name=f"{scenario.name}[{driver}]", scenario=scenario, driver_name=driver) for driver in drivers]
            items.extend(runs)
            if len(runs) > 1:
                items.append(ParityItem.from_parent(self, name=f"{scenario.name}[parity]", scenario=scenario, runs=runs))
        return items


class InvalidScenarioFile(pytest.Item):
    """Stands for a scenario file that does not load: it fails with the loader's one-line message."""

    def __init__(self, *, error: ScenarioError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ScenarioError):
            return f"invalid scenario file: {excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.error.location.line - 1 if self.error.location else 0
        return self.path, line, "invalid scenario file"


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
        self.add_marker(pytest.mark.chat_driver(driver_name))

    def runtest(self) -> None:
        _run_scenario_item(self._request)

    def run(self, request: pytest.FixtureRequest) -> None:
        config = self.config
        timeout = float(setting(config, "chat_timeout") or DEFAULT_TIMEOUT)
        self.target = config.stash[targets_key].for_scenario(self.scenario)
        driver = make_driver(self.driver_name, self.target, timeout, request)
        try:
            try:
                driver.open(self.scenario)
            except RequirementsMissing as exc:
                self.skip_reason = str(exc)
                pytest.skip(self.skip_reason)
            self.result = run_scenario(self.scenario, driver)
        except HarnessError as exc:
            save = getattr(driver, "save_artifacts", None)
            if save is not None:
                exc.artifacts = save(Path(request.getfixturevalue("output_path")))  # type: ignore[attr-defined]
            raise
        finally:
            driver.close()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | Any:  # type: ignore[override]
        exc = excinfo.value
        if isinstance(exc, HarnessError):
            return self._describe(exc)
        return super().repr_failure(excinfo)

    def _describe(self, exc: HarnessError) -> str:
        scenario = self.scenario
        lines = [f"scenario {scenario.name!r} [{self.driver_name}] ({scenario.location})"]
        if self.target is not None:
            lines.append(f"target: {self.target.description}")
        step = getattr(exc, "step", None)
        if isinstance(exc, StepError):
            where = f"{step.label} at {step.location}" if step is not None else "a step"
            lines.append(f"{where}: {exc.kind}")
            if exc.detail:
                lines.append(exc.detail)
            else:
                lines.append(f"  {exc.message}")
        elif isinstance(exc, TargetError):
            where = f" during {step.label} at {step.location}" if step is not None else ""
            lines.append(f"the app under test{where}: {exc}")
        else:
            lines.append(str(exc))
        history = getattr(exc, "history", None)
        if history is not None and not (isinstance(exc, StepError) and exc.detail):
            lines.append("chat at that point:")
            lines.append(format_history(history))
        artifacts = getattr(exc, "artifacts", None)
        if artifacts:
            lines.append("artifacts:")
            lines.extend(f"  {kind}: {_shown_path(path)}" for kind, path in artifacts.items())
            if "trace" in artifacts:
                lines.append(f"  (open the trace with: playwright show-trace {_shown_path(artifacts['trace'])})")
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [{self.driver_name}]"


class ParityItem(pytest.Item):
    """Fails when the drivers' runs of one scenario ended in different states."""

    def __init__(self, *, scenario: Scenario, runs: list[ScenarioItem], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.runs = runs

    def runtest(self) -> None:
        reasons = {run.skip_reason for run in self.runs}
        if len(reasons) == 1 and None not in reasons:
            pytest.skip(f"skipped on every driver: {reasons.pop()}")
        missing = [run.driver_name for run in self.runs if run.result is None]
        if missing:
            pytest.skip(f"parity needs every driver's run to finish; {' and '.join(missing)} did not (see its own result)")
        results = [run.result for run in self.runs if run.result is not None]
        problems = [p for other in results[1:] for p in compare_runs(results[0], other)]
        if problems:
            raise ParityFailed(problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ParityFailed):
            drivers = " and ".join(run.driver_name for run in self.runs)
            head = f"scenario {self.scenario.name!r} ({self.scenario.location}): the {drivers} drivers disagree"
            return "\n".join([head, *excinfo.value.problems])
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [parity]"


class ParityFailed(HarnessError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
