"""Faulty apps (fixtures/faulty.py): each fault is a clear failure naming the step and the cause,
within the configured time, on both drivers; a slow or rate-limited start is waited out."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import served

FAULTS = """\
name: gr.Error
steps:
  - send: error
---
name: hidden exception
steps:
  - send: crash
---
name: never returns
steps:
  - send: hang
---
name: history is not a list
steps:
  - send: not a list
---
name: unknown role
steps:
  - send: robot
  - expect:
      history: {length: 2}
"""

HELLO = (
    "name: hello\nsteps:\n  - send: hi\n  - expect:\n      history:\n"
    "        - {role: user, content: hi}\n        - {role: assistant, content: 'echo: hi'}\n"
)

#: per scenario: the text its failure must contain, and the most seconds its failing step may take:
#: an error is reported before the run's 3 s step timeout, never waited out; the never-returning
#: handler is held to that timeout, plus the page's margin. (The step's own time: the item's also
#: holds opening the page, which a busy machine stretches.)
EXPECTED = {
    "gr.Error": (
        "step 1 (send) at faults.chat.yaml:3: the app raised an error\n"
        "  the app raised an error during step 1 (send): the model is overloaded",
        3,
    ),
    "hidden exception": (
        "the app raised an error during step 1 (send): "
        "an exception the app does not show (launch it with show_error=True to see it)",
        3,
    ),
    "never returns": ("during step 1 (send) at faults.chat.yaml:11: timed out after 3s waiting for ", 5),
    "history is not a list": (
        "the app raised an error during step 1 (send): Data incompatible with messages format.",
        3,
    ),
    "unknown role": (
        "the app sent a message with role 'robot' (message 1); a Gradio chatbot shows only user, assistant, system",
        3,
    ),
}


@pytest.fixture(scope="module")
def faulty_url() -> Iterator[str]:
    with served("fixtures.faulty", env={"FIXTURE_HIDE_ERRORS": "1"}) as url:
        yield url


def _cases(junit: Path) -> dict[str, tuple[str, str]]:
    """name -> (outcome, failure text) from a JUnit XML report."""
    cases = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        outcome = "failed" if failure is not None else "skipped" if case.find("skipped") is not None else "passed"
        cases[case.get("name", "")] = (outcome, (failure.text or "") if failure is not None else "")
    return cases


def _failing_step_seconds(reports: Path) -> dict[str, float]:
    """name -> how long its failing step took, from the run's transcripts."""
    seconds = {}
    for path in (reports / "transcripts").glob("*.json"):
        transcript = json.loads(path.read_text())
        failed = [step for step in transcript["steps"] if step["status"] == "failed"]
        if failed:
            seconds[transcript["nodeid"].split("::", 1)[1]] = failed[0]["seconds"]
    return seconds


@pytest.mark.slow
def test_each_fault_fails_clearly_and_in_time_on_both_drivers(project: pytest.Pytester, faulty_url: str) -> None:
    (project.path / "faults.chat.yaml").write_text(FAULTS)
    junit = project.path / "junit.xml"
    result = runpytest_forked(
        project,
        "-p",
        "no:cacheprovider",
        "faults.chat.yaml",
        "--rootdir",
        str(project.path),
        "--driver",
        "all",
        "--chat-url",
        faulty_url,
        "--chat-timeout",
        "3",
        "--junitxml",
        str(junit),
        "--chat-report",
        str(project.path / "reports"),
    )
    out = result.stdout.str()
    cases, step_seconds = _cases(junit), _failing_step_seconds(project.path / "reports")
    for name, (text, bound) in EXPECTED.items():
        for driver in ("api", "browser"):
            outcome, failure = cases[f"{name}[{driver}]"]
            assert outcome == "failed", f"{name}[{driver}] {outcome}"
            assert text in failure, f"{name}[{driver}]: {failure}"
            seconds = step_seconds[f"{name}[{driver}]"]
            assert seconds < bound, f"{name}[{driver}]: its failing step took {seconds:.1f}s"
    assert "hunter2" not in out and "hunter2" not in junit.read_text()  # the hidden exception's text stays hidden
    result.assert_outcomes(failed=10, skipped=5)  # the parity items have nothing to compare


@pytest.mark.parametrize("driver", ["api", "browser"])
def test_a_server_that_dies_mid_stream_is_reported_at_once(driver: str, project: pytest.Pytester) -> None:
    (project.path / "die.chat.yaml").write_text("name: dies\nsteps:\n  - send: die\n")
    with served("fixtures.faulty") as url:
        started = time.monotonic()
        result = runpytest_forked(
            project,
            "-p",
            "no:cacheprovider",
            "die.chat.yaml",
            "--rootdir",
            str(project.path),
            "--driver",
            driver,
            "--chat-url",
            url,
        )
        took = time.monotonic() - started
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "the app under test during step 1 (send) at die.chat.yaml:3: "
            f"lost the connection to the app at {url} during /reply: *"
        ]
    )
    assert took < 20  # pytest's start and a browser's included; the step timeout (30 s) is not waited for


# progress lines come every 5 s, so each start keeps the harness waiting longer than that (and
# longer than pytest's own start, which eats into a start delay)
@pytest.mark.parametrize(
    ("env", "ready", "waiting"),
    [
        ({"FIXTURE_START_DELAY": "9"}, None, "ConnectError"),
        ({"FIXTURE_BUSY_REQUESTS": "7"}, False, "HTTP 429: Too many requests"),
    ],
    ids=["slow start", "429 first"],
)
def test_a_slow_start_and_a_rate_limited_start_are_waited_out(
    env: dict[str, str], ready: bool | None, waiting: str, project: pytest.Pytester
) -> None:
    (project.path / "hello.chat.yaml").write_text(HELLO)
    with served("fixtures.faulty", env=env, ready=ready) as url:
        result = runpytest_forked(
            project,
            "-p",
            "no:cacheprovider",
            "hello.chat.yaml",
            "--driver",
            "all",
            "--chat-url",
            url,
            "--chat-ready-timeout",
            "60",
        )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"chat-harness: waiting for {url}: {waiting}*"])


def test_timeouts_from_the_file_the_ini_and_the_command_line(project: pytest.Pytester, faulty_url: str) -> None:
    (project.path / "hang.chat.yaml").write_text(
        "name: step budget from the file\ntimeout: {step: 1s}\nsteps:\n  - send: hang\n"
        "---\nname: scenario budget from the file\ntimeout: {step: 20s, scenario: 2s}\n"
        "steps:\n  - send: hi\n  - send: hang\n"
        "---\nname: budgets from the ini\nsteps:\n  - send: hang\n"
    )
    (project.path / "pytest.ini").write_text("[pytest]\nchat_timeout = 1.5\nchat_scenario_timeout = 100\n")
    args = ["-p", "no:cacheprovider", "hang.chat.yaml", "--chat-url", faulty_url]
    started = time.monotonic()
    result = runpytest_forked(project, *args)
    assert time.monotonic() - started < 25
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*step 1 (send) at hang.chat.yaml:4: timed out after 1s waiting for the app's /reply handler to finish",
            "step 2 (send) at hang.chat.yaml:10: out of time",
            "  cut off when the scenario's time budget of 2s ran out: "
            "timed out after 1.*s waiting for the app's /reply handler to finish",
            "*step 1 (send) at hang.chat.yaml:14: timed out after 1.5s waiting for the app's /reply handler to finish",
        ]
    )
    # the command line wins over the file and the ini
    result = runpytest_forked(project, *args, "--chat-timeout", "0.5", "-k", "ini or step")
    result.assert_outcomes(failed=2)
    assert result.stdout.str().count("timed out after 0.5s") == 2
    result = runpytest_forked(project, *args, "--chat-timeout", "0")
    assert "chat_timeout must be a finite number of seconds more than 0, got 0" in result.stderr.str()


def test_opening_a_session_rides_out_429_and_503_but_only_within_a_bound(project: pytest.Pytester) -> None:
    """gradio_client gets 429 twice, the page 503 twice and the first two replies' queue joins 429
    after the run began: each retried (logged), and the run passes.
    A page that never stops answering 503 fails once the bound (the step timeout, 3 s) is used up."""
    (project.path / "hello.chat.yaml").write_text(HELLO)
    live_log = ["-o", "log_cli=true", "--log-cli-level=WARNING"]
    with served(
        "fixtures.faulty", env={"FIXTURE_BUSY_CLIENTS": "2", "FIXTURE_BUSY_PAGES": "2", "FIXTURE_BUSY_JOINS": "2"}
    ) as url:
        result = runpytest_forked(
            project, "-p", "no:cacheprovider", "hello.chat.yaml", "--driver", "all", "--chat-url", url, *live_log
        )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"*connecting to {url}: HTTP 429 (too many requests); trying again in *s*"])
    result.stdout.fnmatch_lines([f"*loading {url} in the browser: HTTP 503; trying again in *s*"])
    result.stdout.fnmatch_lines(["*queueing /reply: HTTP 429; trying again in 0.5s*"])  # Retry-After honoured
    with served("fixtures.faulty", env={"FIXTURE_BUSY_PAGES": "1000"}) as url:
        started = time.monotonic()
        result = runpytest_forked(
            project,
            "-p",
            "no:cacheprovider",
            "hello.chat.yaml",
            "--driver",
            "browser",
            "--chat-url",
            url,
            "--chat-timeout",
            "3",
        )
        took = time.monotonic() - started
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"the app under test: {url} answered HTTP 503 to the browser (tried * times)"])
    assert took < 25
