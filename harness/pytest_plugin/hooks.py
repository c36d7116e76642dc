"""The pytest hooks of the plugin (the ``pytest11`` entry point): settings at start, scenario files
collected, the remote target waited for, transcripts written as items finish, and at the end the
report, the updated expectations and the scrubbing of secrets."""

from __future__ import annotations

import contextvars
import fnmatch
import json
import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TargetError
from harness.judging import Judge, judge_host
from harness.output import transcript
from harness.output.failure import shown_path
from harness.output.html_report import render_report
from harness.output.secrets import scrub_file, scrub_tree
from harness.output.update import write_edits
from harness.pytest_plugin.items import ITEM_MARK, ScenarioFile, set_judge_aside, transcript_of, updates_key
from harness.pytest_plugin.options import add_options
from harness.pytest_plugin.settings import Settings, settings, settings_key
from harness.pytest_plugin.sharding import ShardKeeper
from harness.pytest_plugin.tally import RunTally
from harness.pytest_plugin.targets import Targets, targets_key
from harness.pytest_plugin.xdist import XdistHandOver
from harness.spec.matchers import JUDGE

judge_key = pytest.StashKey[Judge]()
judge_token_key = pytest.StashKey[contextvars.Token[Any]]()

log = logging.getLogger("harness.pytest_plugin")

summary_key = pytest.StashKey[tuple[list[str], list[str]]]()
tally_key = pytest.StashKey[RunTally]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # a bad command line or ini value stops the run here (a usage error), before anything is collected
    config.stash[settings_key] = run = Settings.read(config)
    config.stash[targets_key] = targets = Targets(run, getattr(config, "workerinput", {}).get("chat_targets"))
    if run.judge is not None:
        config.stash[judge_key] = judge = Judge(run.judge)
        config.stash[judge_token_key] = JUDGE.set(judge)  # items run in this thread: the matchers ask it
        if host := judge_host(run.judge.url):
            targets.models.allowed_hosts.add(host)  # the scripted model's routing lets the judge through
    config.stash[updates_key] = []
    config.stash[tally_key] = tally = RunTally(config)
    config.pluginmanager.register(tally, "chat_harness_tally")
    config.pluginmanager.register(ShardKeeper(), "chat_harness_shards")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHandOver(), "chat_harness_xdist")
        # with --driver all a scenario's driver runs and its parity item must share a worker, so
        # xdist's default "load" becomes "loadfile" (a file's items on one worker). Not
        # "loadgroup" with xdist_group marks: xdist 3.8 tags groups through Item._nodeid, which
        # pytest 9 no longer reads, so the groups are silently ignored
        if (
            getattr(config.option, "dist", None) == "load"
            and not hasattr(config, "workerinput")
            and run.driver == "all"
        ):
            config.option.dist = "loadfile"
    if config.pluginmanager.hasplugin("playwright") and not config.pluginmanager.has_plugin("chat_harness_browser"):
        # registered now, after every plugin, so it overrides pytest-playwright's launch_browser
        # while a project's conftest can still override it in turn
        from harness.pytest_plugin import fixtures

        config.pluginmanager.register(fixtures, "chat_harness_browser")
        # pytest-playwright's own base_url fallback trips a pytest 9 deprecation warning in every run
        config.addinivalue_line(
            "filterwarnings",
            r"ignore:Session-scoped fixtures defined as instance methods are deprecated.\s+Instance attributes set in "
            r"the 'base_url'",
        )
    config.addinivalue_line("markers", "chat_driver(name): the driver a chat scenario item runs on")
    config.addinivalue_line("markers", f"{ITEM_MARK}: an item made by chat-harness from a scenario file")
    # warnings raised inside an app the harness launched are the app's business, not the test's
    config.addinivalue_line("filterwarnings", "ignore:::gradio.queueing")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    patterns = settings(parent.config).patterns
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the report folder; wait for a remote target once, printing progress (main process only)."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    run = settings(config)
    if run.report is not None:
        transcript.reset(run.report)
    if run.remote_key is None:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(f"chat-harness: {line}")

    try:
        config.stash[targets_key].remote(run.remote_key, progress)
    except TargetError as exc:
        progress(f"the target is not usable, every scenario will fail: {exc}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    line = config.stash[targets_key].describe()
    return [f"chat-harness {line}"] if line else []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With --chat-report, each item of the harness leaves its transcript when it is done."""
    report = yield
    folder = settings(item.config).report
    done = report.when == "call" or (report.when == "setup" and not report.passed)
    if folder is None or not done or ITEM_MARK not in item.keywords:
        return report
    try:
        data = transcript_of(item, report, folder)
        if data is not None:
            transcript.write_transcript(folder, item.nodeid, data, settings(item.config).secrets())
    except Exception:  # the report still shows the item, with pytest's outcome and failure text
        log.warning("no transcript for %s", item.nodeid, exc_info=True)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the recorded expectations and the report (main process); scrub secrets from the artifacts."""
    config = session.config
    run = settings(config)
    edits = config.stash[updates_key]
    main = not hasattr(config, "workerinput")
    if not main:
        config.workeroutput["chat_updates"] = [e.as_data() for e in edits]  # type: ignore[attr-defined]
    else:
        if run.update:
            config.stash[summary_key] = write_edits(edits)
        if run.report is not None and run.report.is_dir():
            render_report(run.report, config.stash[tally_key].items)
    secrets = run.secrets()
    if not secrets:
        return
    for folder in (run.report, run.output):
        if folder is not None:
            scrub_tree(folder, secrets)  # the report is written redacted already; this covers what others put there
    junit = getattr(config.option, "xmlpath", None)  # written by pytest's junitxml before this trylast hook
    if junit and main:
        scrub_file(Path(config.invocation_params.dir, junit), secrets)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    latency = config.stash[tally_key].latency
    if any(table != "[]" for _, table in latency):
        terminalreporter.section("chat-harness simultaneous sessions: seconds per step")
        for nodeid, table in latency:
            rows = json.loads(table)
            if not rows:
                continue
            terminalreporter.write_line(nodeid)
            for row in rows:
                terminalreporter.write_line(
                    f"  {row['step']:<24} p50 {row['p50']:.3f}  p95 {row['p95']:.3f}  max {row['max']:.3f}  "
                    f"({row['sessions']} sessions)"
                )
    repeats = config.stash[tally_key].repeats
    if repeats:
        terminalreporter.section("chat-harness repeated scenarios: runs passed")
        for nodeid, rate, steps in repeats:
            terminalreporter.write_line(f"{nodeid}: {rate}")
            for line in filter(None, steps.split("; ")):
                terminalreporter.write_line(f"  {line}")
    folder = settings(config).report
    if folder is not None and (folder / "report.html").is_file():
        terminalreporter.write_line(
            f"chat-harness report: {shown_path(folder / 'report.html')} (transcripts in "
            f"{shown_path(folder / 'transcripts')})"
        )
    if not settings(config).update:
        return
    changes, problems = config.stash.get(summary_key, ([], []))
    files = len({line.split(":", 1)[0] for line in changes})
    terminalreporter.section("chat-harness --update-expectations")
    if changes:
        terminalreporter.write_line(
            f"{len(changes)} expected value(s) updated in {files} file(s); review with git diff:"
        )
        for line in changes:
            terminalreporter.write_line(f"  {line}")
    else:
        terminalreporter.write_line("no expected value needed a change")
    for line in problems:
        terminalreporter.write_line(f"  NOT UPDATED: {line}")


@pytest.hookimpl(trylast=True)  # after -k / -m deselected what is not run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Selected scenarios whose matchers need the judge endpoint, with none configured, become one
    failure naming them and the options to give (not a failure per item)."""
    set_judge_aside(settings(config), items)


def pytest_unconfigure(config: pytest.Config) -> None:
    judge = config.stash.get(judge_key, None)
    if judge is not None:
        judge.close()
        JUDGE.reset(config.stash[judge_token_key])
    targets = config.stash.get(targets_key, None)
    if targets is not None:
        targets.close()
