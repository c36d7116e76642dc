"""The pytest plugin: YAML scenario files become pytest items, one per scenario per driver.

Options (command line, or ini keys of the same meaning in ``[tool.pytest.ini_options]``):

* ``--chat-app module:attr`` (ini ``chat_app``): launch that Gradio app in-process on a free
  loopback port; default ``fixtures.reference_app:demo``.
* ``--chat-url URL`` (ini ``chat_url``): use an app that is already running (also under a path
  prefix behind a reverse proxy).
* ``--chat-space owner/name`` (ini ``chat_space``): a Hugging Face Space, resolved to its host
  through the Hub (``huggingface_hub``; ``HF_ENDPOINT`` is honoured).
* ``--chat-token TOKEN`` (env ``HF_TOKEN``): a Hugging Face token, sent to the Space's host only
  (and to the Hub to look the Space up). ``HF_TOKEN`` is used for Spaces and ``*.hf.space`` URLs;
  a token given with ``--chat-token`` goes to any target's host. No ini key: secrets stay out of
  files.
* ``--chat-auth user:password`` (env ``CHAT_HARNESS_AUTH``): the login of an app launched with
  ``auth=``; the API driver logs in as gradio_client does, the browser through the login page.
* ``--chat-ready-timeout SECONDS`` (ini ``chat_ready_timeout``): how long to wait for a remote
  target (a building or sleeping Space, a server that is starting); default 300. Progress is
  printed every 5 seconds; 401/403, 404 and a refused login fail at once.
* ``--driver api|browser|all`` (ini ``chat_driver``): which drivers run each scenario; default
  ``api``. ``all`` runs every driver and adds a ``[parity]`` item per scenario that fails when the
  drivers reached different histories or component values.
* ``--chat-timeout SECONDS`` (ini ``chat_timeout``, a scenario's ``timeout: {step: ...}``): how
  long one step may take; default 30.
* ``--chat-scenario-timeout SECONDS`` (ini ``chat_scenario_timeout``, a scenario's
  ``timeout: {scenario: ...}``): how long a whole scenario may take, opening its session
  included; default 300. The command line wins over the scenario file, which wins over the ini.
* ``--chat-chromium PATH`` (ini ``chat_chromium``, env ``CHAT_HARNESS_CHROMIUM``): the Chromium the
  browser driver uses when Playwright's own is not installed (default: found on PATH).
* ``--chat-browser-endpoint ws://HOST:PORT/`` (ini ``chat_browser_endpoint``, env
  ``CHAT_HARNESS_BROWSER_ENDPOINT``): get the browser from a Playwright browser server
  (``playwright run-server``, same Playwright version) instead of launching one; the app must be
  reachable from that machine.

The browser driver sits on pytest-playwright: ``--browser``, ``--headed``, ``--slowmo``,
``--tracing``, ``--video``, ``--screenshot`` and ``--output`` work as documented there. When a
browser scenario fails, a screenshot, a trace and the chat's visible text are saved under
``--output`` (default ``test-results/``) and the failure names them.
* ``--update-expectations``: rewrite the exact values of ``expect`` blocks (and a ``call``'s
  ``result``) from what the run observed, keeping comments, key order and fuzzy matchers; the
  files are written once when the session ends, and a summary of the changes is printed. A
  scenario whose mismatches were all recorded passes; a fuzzy matcher that does not hold still
  fails.
* ``--chat-report DIR`` (ini ``chat_report``): write a JSON transcript per scenario run under
  ``DIR/transcripts/`` (steps, what was sent, what came back, streamed updates, timings) and one
  ``DIR/report.html`` for the run (each scenario as a conversation, the failing step highlighted
  with expected vs actual, screenshots and traces copied beside it). JUnit XML comes from pytest's
  own ``--junitxml``.
* ``--chat-sessions N`` (ini ``chat_sessions``): also run each scenario as N simultaneous sessions
  through the API driver (an item ``<name>[N sessions]``): each session's expectations must hold and
  every session must end with the same history; the latency per step (p50, p95, max) is printed
  at the end and recorded in JUnit (property ``chat_latency``). Only against loopback or your own
  deployment.
* ini ``chat_scenario_patterns``: file name patterns collected when pytest walks a directory
  (default ``*.chat.yaml *.chat.yml``); files named on the command line are always collected.
* ini ``chat_file_roots`` and ``chat_trusted_apps``: widen what a scenario file may reach (its
  ``files:`` read only under its folder and the project, its ``app:`` imports only the project's
  modules; see ``harness.sandbox``).

A scenario's own ``app:`` / ``url:`` is used only when neither is given here.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.drivers import Driver, available_drivers
from harness.drivers.browser.launch import ENDPOINT_ENV_VAR, ENV_VAR
from harness.errors import HarnessError, Location, RequirementsMissing, ScenarioError, StepError, TargetError
from harness.output import transcript
from harness.output.secrets import redact, scrub_file, scrub_tree
from harness.output.update import Edit, Updates, write_edits
from harness.run.diff import format_history
from harness.run.parity import compare_runs
from harness.run.runner import Limits, RunResult, run_scenario
from harness.spec.loader import load_file
from harness.spec.model import Scenario
from harness.spec.sandbox import FILE_ROOTS_INI, TRUSTED_APPS_INI, Sandbox
from harness.target.app import AppInfo, Target
from harness.target.inprocess import DEFAULT_APP, InProcessApp, load_app
from harness.target.remote import DEFAULT_READY_TIMEOUT, Credentials, parse_login, prepare, split_login, token_for

__all__ = ["ParityItem", "ScenarioFile", "ScenarioItem"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_SCENARIO_TIMEOUT = 300.0
DEFAULT_PATTERNS = ["*.chat.yaml", "*.chat.yml"]

targets_key = pytest.StashKey["Targets"]()
updates_key = pytest.StashKey[list[Edit]]()
summary_key = pytest.StashKey[tuple[list[str], list[str]]]()
deselected_key = pytest.StashKey[list[list[pytest.Item]]]()
sandbox_key = pytest.StashKey[Sandbox]()
ITEM_MARK = "chat_harness"  # on every item of the harness: its reports carry it as a keyword


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chat-harness", "Gradio chatbot scenarios (chat-harness)")
    group.addoption("--chat-app", metavar="MODULE:ATTR", default=None, help="Gradio app to launch in-process for the scenarios (default: the bundled reference app).")
    group.addoption("--chat-url", metavar="URL", default=None, help="Root URL of a running Gradio app to test instead.")
    group.addoption("--chat-space", metavar="OWNER/NAME", default=None, help="A Hugging Face Space to test (resolved to its host through the Hub).")
    group.addoption("--chat-token", metavar="TOKEN", default=None, help="Hugging Face token for a private Space (default: env HF_TOKEN); sent to the Space's host only.")
    group.addoption("--chat-auth", metavar="USER:PASSWORD", default=None, help="Login of an app launched with auth= (default: env CHAT_HARNESS_AUTH).")
    group.addoption("--chat-ready-timeout", type=float, metavar="SECONDS", default=None, help=f"How long to wait for a remote app to answer (default: {DEFAULT_READY_TIMEOUT:g}).")
    group.addoption("--driver", dest="chat_driver", default=None, choices=[*available_drivers(), "all"], help="Driver that runs each scenario (default: api).")
    group.addoption("--chat-timeout", type=float, metavar="SECONDS", default=None, help=f"Longest an action may take before the step fails (default: {DEFAULT_TIMEOUT:g}).")
    group.addoption("--chat-scenario-timeout", type=float, metavar="SECONDS", default=None, help=f"Longest a whole scenario may take (default: {DEFAULT_SCENARIO_TIMEOUT:g}).")
    group.addoption("--chat-chromium", metavar="PATH", default=None, help=f"Chromium executable for the browser driver (default: Playwright's, else one on PATH; env {ENV_VAR}).")
    group.addoption(
        "--chat-browser-endpoint",
        metavar="WS_URL",
        default=None,
        help=f"A Playwright browser server (ws://HOST:PORT/) to get the browser from instead of launching one (env {ENDPOINT_ENV_VAR}).",
    )
    parser.addini("chat_browser_endpoint", "Playwright browser server (ws://HOST:PORT/) for the browser driver.", default=None)
    group.addoption("--chat-sessions", type=int, metavar="N", default=None, help="Also run each scenario as N simultaneous API sessions (state leaks, latency).")
    parser.addini("chat_sessions", "Also run each scenario as this many simultaneous API sessions.", default=None)
    group.addoption("--update-expectations", action="store_true", default=False, help="Rewrite exact expected values in the scenario files from what the run observed.")
    group.addoption("--chat-report", metavar="DIR", default=None, help="Write JSON transcripts and an HTML report of the run into DIR.")
    parser.addini("chat_report", "Folder for the JSON transcripts and the HTML report.", default=None)
    parser.addini("chat_app", "Gradio app (module:attr) to launch for the scenarios.", default=None)
    parser.addini("chat_url", "Root URL of a running Gradio app to test.", default=None)
    parser.addini("chat_space", "Hugging Face Space (owner/name) to test.", default=None)
    parser.addini("chat_ready_timeout", "Seconds to wait for a remote app to answer.", default=None)
    parser.addini("chat_driver", "Driver for scenarios: api, browser or all.", default=None)
    parser.addini("chat_chromium", "Chromium executable for the browser driver.", default=None)
    parser.addini("chat_timeout", "Seconds a step may take.", default=None)
    parser.addini("chat_scenario_timeout", "Seconds a whole scenario may take.", default=None)
    parser.addini("chat_scenario_patterns", "Scenario file patterns collected in directories.", type="args", default=DEFAULT_PATTERNS)
    parser.addini(FILE_ROOTS_INI, "Folders (besides the project and each scenario's own) that a scenario's files: may read.", type="paths", default=[])
    parser.addini(TRUSTED_APPS_INI, "Module names (fnmatch patterns) outside the project that a scenario's app: may import.", type="args", default=[])


def setting(config: pytest.Config, name: str) -> Any:
    """An option of this plugin: the command line wins, else the ini key of the same name."""
    value = config.getoption(name)
    if value is None:
        value = config.getini(name) or None
    return value


def time_budget(config: pytest.Config, name: str, from_file: float | None, default: float) -> float:
    """A timeout: the command line, else the scenario file's, else the ini key, else the default."""
    value = config.getoption(name)
    if value is None:
        value = from_file
    if value is None:
        value = config.getini(name) or None
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        raise pytest.UsageError(f"ini {name} = {value!r}: expected a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise pytest.UsageError(f"{name} must be a finite number of seconds more than 0, got {seconds:g}")
    return seconds


def _credentials(config: pytest.Config, url_login: tuple[str, str] | None) -> Credentials:
    """Token and login from the command line or the environment (never from ini files); a login
    written into ``--chat-url`` (``http://user:password@host/``) when no other is given."""
    token = config.getoption("chat_token") or None
    login = config.getoption("chat_auth") or os.environ.get("CHAT_HARNESS_AUTH") or None
    try:
        auth = parse_login(login) if login else url_login
    except ValueError:
        raise pytest.UsageError("--chat-auth takes user:password (a colon between them)") from None
    return Credentials(token=token, auth=auth)


class Targets:
    """Resolves which app a scenario runs against and owns the apps launched for the session.

    A remote target (URL or Space) is waited for once per session, by the main process (which
    prints the progress); xdist workers get the outcome from it instead of waiting again.
    """

    def __init__(self, config: pytest.Config) -> None:
        given_url = setting(config, "chat_url")
        # a password inside the URL is taken out of it: used for the login, masked everywhere
        self.url: str | None = None
        url_login: tuple[str, str] | None = None
        self._url_password: str | None = None
        if given_url:
            self.url, url_login, self._url_password = split_login(given_url)
        self.space: str | None = setting(config, "chat_space")
        if self.url and self.space:
            raise pytest.UsageError("--chat-url and --chat-space name two different targets; give one")
        self.app: str | None = setting(config, "chat_app")
        self.ready_timeout = float(setting(config, "chat_ready_timeout") or DEFAULT_READY_TIMEOUT)
        self.credentials = _credentials(config, url_login)
        self.hf_token = os.environ.get("HF_TOKEN") or None
        self.handed: dict[str, Any] = dict(getattr(config, "workerinput", {}).get("chat_targets", {}))
        self._remote: dict[str, Target | TargetError] = {}
        self._launched: dict[str, InProcessApp] = {}
        self._failed: dict[str, TargetError] = {}

    @property
    def remote_key(self) -> str | None:
        """The remote target the command line names, if any."""
        return f"space:{self.space}" if self.space else (f"url:{self.url}" if self.url else None)

    def secrets(self) -> list[str]:
        """Every secret of the run: the tokens, the password and ``user:password`` (HTTP Basic's)."""
        auth = self.credentials.auth
        found = (self.credentials.token, self.hf_token, self._url_password, auth[1] if auth else None, f"{auth[0]}:{auth[1]}" if auth and auth[1] else None)
        return [s for s in found if s]

    def _credentials_for(self, key: str) -> Credentials:
        """The secrets a target gets. A URL from a scenario file gets neither ``--chat-token`` nor the
        login (a file from a pull request could name any host); ``HF_TOKEN`` only on a Space's host."""
        kind, _, name = key.partition(":")
        if kind == "file-url":
            return Credentials(token_for(name, None, self.hf_token), None)
        return Credentials(token_for(None if kind == "space" else name, self.credentials.token, self.hf_token), self.credentials.auth)

    def remote(self, key: str, progress: Any = None) -> Target:
        """The ready target ``key`` names (``url:...``, ``space:...``, or ``file-url:...`` for a
        scenario file's own ``url:``), waited for once."""
        if key not in self._remote:
            credentials = self._credentials_for(key)
            handed = self.handed.get(key)
            if handed is not None and "error" in handed:
                self._remote[key] = TargetError(handed["error"])
            elif handed is not None:
                info = AppInfo(*handed["info"])
                self._remote[key] = Target(handed["url"], handed["description"], token=credentials.token, auth=credentials.auth, info=info)
            else:
                kind, _, name = key.partition(":")
                try:
                    self._remote[key] = prepare(
                        space=name if kind == "space" else None,
                        url=None if kind == "space" else name,
                        credentials=credentials,
                        timeout=self.ready_timeout,
                        progress=progress,
                    )
                except TargetError as exc:
                    if kind == "file-url" and (self.credentials.token or self.credentials.auth):
                        exc = TargetError(f"{exc} (a scenario file's url: gets no --chat-token and no login; to use them, give the URL with --chat-url)")
                    self._remote[key] = exc
        found = self._remote[key]
        if isinstance(found, TargetError):
            raise found
        return found

    def outcomes(self) -> dict[str, Any]:
        """What the main process found of the remote targets, for the xdist workers (no secrets)."""
        handed: dict[str, Any] = {}
        for key, found in self._remote.items():
            if isinstance(found, TargetError):
                handed[key] = {"error": str(found)}
            else:
                handed[key] = {"url": found.url, "description": found.description, "info": [found.info.version, found.info.mode] if found.info else ["unknown", "unknown"]}
        return handed

    def for_scenario(self, scenario: Scenario) -> Target:
        if self.remote_key:
            return self.remote(self.remote_key)
        if self.app:
            return self._launch(self.app)
        if scenario.url:
            return self.remote(f"file-url:{Target.from_url(scenario.url).url}")
        return self._launch(scenario.app or DEFAULT_APP)

    def describe(self) -> str | None:
        """The header line: what the session tests (None: nothing to say, e.g. a project without scenarios)."""
        if self.remote_key:
            try:
                return f"target: {self.remote(self.remote_key)}"
            except TargetError as exc:
                return f"target: {self.space or self.url} -- NOT READY: {exc}"
        spec = self.app or DEFAULT_APP
        try:
            mode = str(getattr(load_app(spec), "mode", None) or "unknown")
        except TargetError as exc:
            return f"target: {spec} (in-process) -- cannot load: {exc}" if self.app else None
        import gradio as gr

        return f"target: {spec} (launched in-process per worker) ({AppInfo(gr.__version__, mode)})"

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
    # a bad command line or ini value stops the run here, before anything is collected
    for name, default in (("chat_timeout", DEFAULT_TIMEOUT), ("chat_scenario_timeout", DEFAULT_SCENARIO_TIMEOUT)):
        time_budget(config, name, None, default)
    _drivers(config)
    _sessions(config)
    _check_report_folder(config)
    config.stash[targets_key] = Targets(config)
    config.stash[updates_key] = []
    config.stash[sandbox_key] = Sandbox.for_project(config.rootpath, map(str, config.getini(FILE_ROOTS_INI)), config.getini(TRUSTED_APPS_INI))
    config.pluginmanager.register(RunTally(config), "chat_harness_tally")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "chat_harness_xdist")
        # with --driver all a scenario's driver runs and its parity item must share a worker, so
        # xdist's default "load" becomes "loadfile" (a file's items on one worker). Not
        # "loadgroup" with xdist_group marks: xdist 3.8 tags groups through Item._nodeid, which
        # pytest 9 no longer reads, so the groups are silently ignored
        if getattr(config.option, "dist", None) == "load" and not hasattr(config, "workerinput") and setting(config, "chat_driver") == "all":
            config.option.dist = "loadfile"
    if config.pluginmanager.hasplugin("playwright") and not config.pluginmanager.has_plugin("chat_harness_browser"):
        # registered now, after every plugin, so it overrides pytest-playwright's launch_browser
        # while a project's conftest can still override it in turn
        from harness.pytest_plugin import fixtures as browser_fixtures

        config.pluginmanager.register(browser_fixtures, "chat_harness_browser")
        # pytest-playwright's own base_url fallback trips a pytest 9 deprecation warning in every run
        config.addinivalue_line("filterwarnings", r"ignore:Session-scoped fixtures defined as instance methods are deprecated.\s+Instance attributes set in the 'base_url'")
    config.addinivalue_line("markers", "chat_driver(name): the driver a chat scenario item runs on")
    config.addinivalue_line("markers", f"{ITEM_MARK}: an item made by chat-harness from a scenario file")
    # warnings raised inside an app the harness launched are the app's business, not the test's
    config.addinivalue_line("filterwarnings", "ignore:::gradio.queueing")


class _XdistHooks:
    """Hands the main process's remote-target outcome to each xdist worker."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        node.workerinput["chat_targets"] = node.config.stash[targets_key].outcomes()

    @staticmethod
    def pytest_testnodedown(node: Any, error: Any) -> None:
        """A worker's recorded expectations join the main process's, written at session end."""
        edits = getattr(node, "workeroutput", {}).get("chat_updates", [])
        node.config.stash[updates_key].extend(Edit.from_data(e) for e in edits)


def report_folder(config: pytest.Config) -> Path | None:
    folder = setting(config, "chat_report")
    if not folder:
        return None
    path = Path(folder)
    return path if path.is_absolute() else Path(config.invocation_params.dir, path)


def _check_report_folder(config: pytest.Config) -> None:
    """A --chat-report folder that cannot be one stops the run at start (a usage error, exit 4)."""
    folder = report_folder(config)
    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise pytest.UsageError(f"--chat-report {folder}: that is a file, not a folder; give a folder for the report")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"--chat-report {folder}: cannot make the folder: {exc.strerror or exc}") from None


def output_folder(config: pytest.Config) -> Path | None:
    """pytest-playwright's --output folder, as it resolves it (against the working directory)."""
    try:
        output = Path(config.getoption("--output"))
    except ValueError:  # pytest-playwright not loaded
        return None
    return output if output.is_absolute() else Path(config.invocation_params.dir, output)


class RunTally:
    """What pytest reported of each item of the harness, counted as pytest's terminal summary
    counts it; in the main process this sees every xdist worker's reports too. The HTML report is
    rendered from it, so it never disagrees with pytest."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.items: dict[str, transcript.ItemOutcome] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if ITEM_MARK not in report.keywords:
            return
        self._count(report, report.nodeid, report.location[0], (report.location[1] or 0) + 1)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A scenario file that failed to collect (it should become an invalid-file item instead)."""
        if report.failed and report.nodeid.endswith((".yaml", ".yml")):
            self._count(report, report.nodeid, report.nodeid, 1)

    def _count(self, report: pytest.TestReport | pytest.CollectReport, nodeid: str, file: str, line: int) -> None:
        if not getattr(report, "count_towards_summary", True):
            return
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if isinstance(report, pytest.CollectReport):
            category = "error"
        if not category:  # a setup or teardown that passed: pytest counts nothing
            return
        told = self.items.setdefault(nodeid, transcript.ItemOutcome(nodeid, file, line))
        told.categories.append(category)
        if report.failed:
            told.failures.append(redact(report.longreprtext, self.config.stash[targets_key].secrets()))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the report folder; wait for a remote target once, printing progress (main process only)."""
    config = session.config
    targets = config.stash[targets_key]
    if hasattr(config, "workerinput"):
        return
    folder = report_folder(config)
    if folder is not None:
        transcript.reset(folder)
    if targets.remote_key is None:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"chat-harness: {line}")

    try:
        targets.remote(targets.remote_key, progress)
    except TargetError as exc:
        progress(f"the target is not usable, every scenario will fail: {exc}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    line = config.stash[targets_key].describe()
    return [f"chat-harness {line}"] if line else []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the recorded expectations (main process); scrub secrets from the artifacts."""
    config = session.config
    edits = config.stash[updates_key]
    folder = report_folder(config)
    if hasattr(config, "workerinput"):
        config.workeroutput["chat_updates"] = [e.as_data() for e in edits]  # type: ignore[attr-defined]
    else:
        if config.getoption("update_expectations"):
            config.stash[summary_key] = write_edits(edits)
        if folder is not None and folder.is_dir():
            tally = config.pluginmanager.get_plugin("chat_harness_tally")
            transcript.render_report(folder, tally.items if isinstance(tally, RunTally) else None)
    secrets = config.stash[targets_key].secrets()
    if not secrets:
        return
    if folder is not None and folder.is_dir():
        scrub_tree(folder, secrets)  # written redacted already; this also covers what others put there
    output = output_folder(config)
    if output is not None:
        scrub_tree(output, secrets)
    junit = getattr(config.option, "xmlpath", None)  # written by pytest's junitxml before this trylast hook
    if junit and not hasattr(config, "workerinput"):
        scrub_file(Path(config.invocation_params.dir, junit), secrets)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    if any(table != "[]" for _, table in _LATENCY):
        import json

        terminalreporter.section("chat-harness simultaneous sessions: seconds per step")
        for nodeid, table in _LATENCY:
            rows = json.loads(table)
            if not rows:
                continue
            terminalreporter.write_line(nodeid)
            for row in rows:
                terminalreporter.write_line(f"  {row['step']:<24} p50 {row['p50']:.3f}  p95 {row['p95']:.3f}  max {row['max']:.3f}  ({row['sessions']} sessions)")
    folder = report_folder(config)
    if folder is not None and (folder / "report.html").is_file():
        terminalreporter.write_line(f"chat-harness report: {_shown_path(folder / 'report.html')} (transcripts in {_shown_path(folder / 'transcripts')})")
    if not config.getoption("update_expectations"):
        return
    changes, problems = config.stash.get(summary_key, ([], []))
    files = len({line.split(":", 1)[0] for line in changes})
    terminalreporter.section("chat-harness --update-expectations")
    if changes:
        terminalreporter.write_line(f"{len(changes)} expected value(s) updated in {files} file(s); review with git diff:")
        for line in changes:
            terminalreporter.write_line(f"  {line}")
    else:
        terminalreporter.write_line("no expected value needed a change")
    for line in problems:
        terminalreporter.write_line(f"  NOT UPDATED: {line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    targets = config.stash.get(targets_key, None)
    if targets is not None:
        targets.close()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Any:
    config.stash[deselected_key] = []
    result = yield
    # pytest-split (--splits N --group I) deselects last (trylast): its batch is the last one
    batches = config.stash[deselected_key]
    if getattr(config.option, "splits", None) and batches:
        keep_scenarios_whole(config, items, batches[-1])
    return result


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    if items and deselected_key in items[0].config.stash:
        items[0].config.stash[deselected_key].append(list(items))


def keep_scenarios_whole(config: pytest.Config, items: list[pytest.Item], split_off: list[pytest.Item]) -> None:
    """Keep a scenario's driver items and its parity item in one shard: the parity item compares
    runs made in the same process. A scenario goes to the shard its first driver item went to;
    the rest of it follows (or leaves)."""
    selected, split = set(items), set(split_off)
    dropped: list[pytest.Item] = []
    for parity in [i for i in [*items, *split_off] if isinstance(i, ParityItem)]:
        group: list[pytest.Item] = [*parity.runs, parity]
        cut = [i for i in group if i in split]
        kept = [i for i in group if i in selected]
        if not cut or not kept:  # whole, or left out by something else (-k, -m)
            continue
        if next(i for i in group if i in selected or i in split) in selected:
            at = max(items.index(i) for i in kept) + 1
            items[at:at] = cut
            selected.update(cut)
        else:
            dropped.extend(kept)
    if dropped:
        gone = set(dropped)
        items[:] = [i for i in items if i not in gone]
        config.hook.pytest_deselected(items=dropped)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, pattern) for pattern in parent.config.getini("chat_scenario_patterns")):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _sessions(config: pytest.Config) -> int:
    """How many simultaneous sessions --chat-sessions asks for (1: none)."""
    value = setting(config, "chat_sessions")
    if value is None:
        return 1
    try:
        count = int(value)
    except ValueError:
        raise pytest.UsageError(f"chat_sessions = {value!r}: expected a whole number of sessions") from None
    if count < 1:
        raise pytest.UsageError(f"--chat-sessions must be at least 1, got {count}")
    return count


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
        from harness.drivers.browser.driver import BrowserDriver

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
            scenarios = load_file(_shown_path(self.path), self.config.stash[sandbox_key])
        except ScenarioError as exc:
            # an item, not a collection error, so that the other files still run
            return [InvalidScenarioFile.from_parent(self, name="invalid scenario file", error=exc)]
        except Exception as exc:  # load_file makes every problem a ScenarioError; this is the last net
            error = ScenarioError(f"cannot load the file ({type(exc).__name__}: {exc})", Location(str(_shown_path(self.path)), 1))
            return [InvalidScenarioFile.from_parent(self, name="invalid scenario file", error=error)]
        drivers, sessions = _drivers(self.config), _sessions(self.config)
        items: list[pytest.Item] = []
        for scenario in scenarios:
            runs = [ScenarioItem.from_parent(self, name=f"{scenario.name}[{driver}]", scenario=scenario, driver_name=driver) for driver in drivers]
            items.extend(runs)
            if sessions > 1:
                items.append(SessionsItem.from_parent(self, name=f"{scenario.name}[{sessions} sessions]", scenario=scenario, count=sessions))
            if len(runs) > 1:
                # it compares the runs in its own process: under xdist they share a worker (see pytest_configure)
                items.append(ParityItem.from_parent(self, name=f"{scenario.name}[parity]", scenario=scenario, runs=runs))
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
            return redact(f"invalid scenario file: {excinfo.value}", self.config.stash[targets_key].secrets())
        return super().repr_failure(excinfo, style=style)

    def transcript(self, report: pytest.TestReport) -> dict[str, Any]:
        location = self.error.location
        file, line = (location.path, location.line) if location else (str(_shown_path(self.path)), 1)
        failure = report.longreprtext if report.failed else None
        return transcript.summary_record(self.nodeid, "invalid scenario file", file, line, "invalid", report.outcome, failure=failure, seconds=report.duration)

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
        self.failure: HarnessError | None = None
        self.add_marker(pytest.mark.chat_driver(driver_name))
        self.add_marker(ITEM_MARK)

    def runtest(self) -> None:
        _run_scenario_item(self._request)

    def run(self, request: pytest.FixtureRequest) -> None:
        config = self.config
        step_budget = time_budget(config, "chat_timeout", self.scenario.step_timeout, DEFAULT_TIMEOUT)
        limits = Limits.starting_now(step_budget, time_budget(config, "chat_scenario_timeout", self.scenario.scenario_timeout, DEFAULT_SCENARIO_TIMEOUT))
        timeout = min(limits.step, limits.scenario)
        self.target = config.stash[targets_key].for_scenario(self.scenario)
        info = self.target.info
        self.user_properties.extend(
            [("chat_target", self.target.description), ("gradio_version", info.version if info else "unknown"), ("app_mode", info.mode if info else "unknown")]
        )
        driver = make_driver(self.driver_name, self.target, timeout, request)
        try:
            try:
                driver.open(self.scenario)
            except RequirementsMissing as exc:
                self.skip_reason = str(exc)
                pytest.skip(self.skip_reason)
            updates = Updates(self.scenario) if config.getoption("update_expectations") else None
            try:
                self.result = run_scenario(self.scenario, driver, updates, limits)
            finally:
                if updates is not None:
                    config.stash[updates_key].extend(updates.edits)
        except HarnessError as exc:
            self.failure = exc
            save = getattr(driver, "save_artifacts", None)
            if save is not None:
                folder = Path(request.getfixturevalue("output_path"))
                exc.artifacts = save(folder)  # type: ignore[attr-defined]
                scrub_tree(folder, self.target.secrets)
            raise
        finally:
            driver.close()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str | Any:  # type: ignore[override]
        exc = excinfo.value
        secrets = self.config.stash[targets_key].secrets()
        if isinstance(exc, HarnessError):
            return redact(self._describe(exc), secrets)
        shown = super().repr_failure(excinfo)
        return redact(shown, secrets) if isinstance(shown, str) else shown

    def _describe(self, exc: HarnessError) -> str:
        scenario = self.scenario
        lines = [f"scenario {scenario.name!r} [{self.driver_name}] ({scenario.location})"]
        if self.target is not None:
            lines.append(f"target: {self.target}")
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

    def transcript(self, report: pytest.TestReport, folder: Path) -> dict[str, Any]:
        """This run as a transcript (partial when it failed), its artifacts copied into ``folder``."""
        exc = self.failure
        result = self.result or getattr(exc, "result", None)
        step = getattr(exc, "step", None)
        target = None
        if self.target is not None:
            info = self.target.info
            target = {"description": self.target.description, "gradio_version": info.version if info else "unknown", "app_mode": info.mode if info else "unknown"}
        artifacts = transcript.copy_artifacts(folder, self.nodeid, getattr(exc, "artifacts", None) or {})
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
            history=getattr(exc, "history", None),
            failure=report.longreprtext or None if report.failed else None,
            skip_reason=_skip_reason(report),
            failed_step=step.number if step is not None else None,
            target=target,
            artifacts=artifacts,
            seconds=report.duration,
        )


def _skip_reason(report: pytest.TestReport) -> str | None:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With --chat-report, each scenario (and parity) item leaves its transcript when it is done."""
    report = yield
    folder = report_folder(item.config)
    done = report.when == "call" or (report.when == "setup" and not report.passed)
    if folder is None or not done or ITEM_MARK not in item.keywords:
        return report
    try:
        data = _transcript_of(item, report, folder)
        if data is not None:
            transcript.write_transcript(folder, item.nodeid, data, item.config.stash[targets_key].secrets())
    except Exception:  # the report still shows the item, with pytest's outcome and failure text
        log.warning("no transcript for %s", item.nodeid, exc_info=True)
    return report


def _transcript_of(item: pytest.Item, report: pytest.TestReport, folder: Path) -> dict[str, Any] | None:
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
            skip_reason=_skip_reason(report),
            seconds=report.duration,
            description=scenario.description,
        )
    return None


class ParityItem(pytest.Item):
    """Fails when the drivers' runs of one scenario ended in different states."""

    def __init__(self, *, scenario: Scenario, runs: list[ScenarioItem], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.runs = runs
        self.add_marker(ITEM_MARK)

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
            return redact("\n".join([head, *excinfo.value.problems]), self.config.stash[targets_key].secrets())
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
        import json

        from harness.drivers.api import ApiDriver
        from harness.run.sessions import latency_table, run_sessions

        config = self.config
        timeout = time_budget(config, "chat_timeout", self.scenario.step_timeout, DEFAULT_TIMEOUT)
        target = config.stash[targets_key].for_scenario(self.scenario)
        outcome = run_sessions(self.scenario, lambda: ApiDriver(target, timeout=timeout), self.count, timeout)
        if outcome.skipped:
            pytest.skip(outcome.skipped)
        self.user_properties.append(("chat_latency", json.dumps(latency_table(outcome.results))))
        problems = outcome.problems()
        if problems:
            raise SessionsFailed(f"{len(problems)} problem(s) in {self.count} simultaneous sessions against {target}", problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, SessionsFailed):
            head = f"scenario {self.scenario.name!r} [{self.count} sessions] ({self.scenario.location}): {excinfo.value}"
            return redact("\n".join([head, *excinfo.value.problems]), self.config.stash[targets_key].secrets())
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.location.line - 1, f"scenario: {self.scenario.name} [{self.count} sessions]"


class SessionsFailed(HarnessError):
    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the latency tables of the sessions items (they reach the main process with the report)."""
    for name, value in getattr(report, "user_properties", []):
        if name == "chat_latency" and report.when == "call":
            _LATENCY.append((report.nodeid, value))


_LATENCY: list[tuple[str, str]] = []


class ParityFailed(HarnessError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
