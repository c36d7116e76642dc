"""End to end: the bundled scenarios against both fixture apps, in-process and by URL, on both
drivers with parity, and every broken variant of the reference app caught by at least one of them
on each driver."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from harness.drivers.api import ApiDriver
from harness.drivers.base import Driver
from harness.drivers.browser.driver import BrowserDriver
from harness.errors import HarnessError, RequirementsMissing
from harness.run.runner import run_scenario
from harness.spec.loader import load_file
from harness.spec.steps import Expect
from harness.target.app import Target
from harness.target.inprocess import InProcessApp
from tests.helpers.bundled import RUNS, SCENARIOS, assert_all_pass, bundled, run_bundled
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

ACTIONS = {"send", "undo", "retry", "like", "dislike", "edit", "clear"}


def test_every_action_and_streaming_is_covered() -> None:
    kinds = {step.kind for s in bundled() for step in s.steps}
    assert kinds >= ACTIONS | {"expect"}
    assert any(isinstance(step, Expect) and step.expectation.stream_min_updates for s in bundled() for step in s.steps)


@pytest.mark.slow
def test_bundled_pass_on_reference_app_in_process_with_xdist_and_reports_intact(
    runner: pytest.Pytester, tmp_path: Path
) -> None:
    """``-n auto``: each worker launches its own app and browser; the JUnit XML and the HTML report
    the main process writes hold every item of every worker."""
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    result = run_bundled(
        runner, "--driver", "all", "-n", "auto", "--chat-report", str(reports), "--junitxml", str(junit)
    )
    assert_all_pass(result, "reference")
    outcomes = result.parseoutcomes()
    assert re.search(r"created: \d+/\d+ workers", result.stdout.str())
    names = sorted(case.get("name", "") for case in ElementTree.parse(junit).getroot().iter("testcase"))
    assert names == sorted(f"{s.name}[{run}]" for s in bundled() for run in ("api", "browser", "parity"))
    assert len(list((reports / "transcripts").glob("*.json"))) == len(names)
    html = (reports / "report.html").read_text()
    totals = re.sub(r"<[^>]+>", " ", re.search(r'<p class="totals" id="totals">(.*?)</p>', html, re.S)[1]).split()  # type: ignore[index]
    assert totals == [
        str(len(bundled())),
        "scenario(s)",
        str(outcomes["passed"]),
        "passed",
        "0",
        "failed",
        str(outcomes.get("skipped", 0)),
        "skipped",
    ]


@pytest.mark.slow
def test_bundled_pass_on_chat_interface_in_process(runner: pytest.Pytester) -> None:
    assert_all_pass(
        run_bundled(runner, "--driver", "all", "--chat-app", "fixtures.chat_interface_app:demo"), "chat_interface"
    )


@pytest.mark.slow
def test_bundled_pass_by_url_against_a_separate_process_through_the_api(
    runner: pytest.Pytester, reference_url: str
) -> None:
    """The reference app in its own server process, by URL, through the API. (Both drivers run it
    by URL in tests/test_deployed.py: behind nginx, with a login and under Gradio 5.50; so does the
    ChatInterface app, and a Space.)"""
    result = run_bundled(runner, "--driver", "api", "--chat-url", reference_url)
    assert_all_pass(result, "reference", runs=1)
    result.stdout.fnmatch_lines([f"chat-harness target: {reference_url} (Gradio *, mode blocks)"])


def test_two_chatbots_scenarios_pass_on_the_two_chatbot_app(runner: pytest.Pytester) -> None:
    """The scenarios that pick a chatbot by label or elem_id, on the app they are written for."""
    scenarios = SCENARIOS / "two_chatbots.chat.yaml"
    app = SOUND_APP["chats_crossed"]
    result = runpytest_forked(
        runner, "-p", "no:cacheprovider", str(scenarios), "--rootdir", str(ROOT), "--driver", "all", "--chat-app", app
    )
    result.assert_outcomes(passed=RUNS * len(load_file(scenarios)))


@pytest.fixture(params=["api", "browser"])
def make_driver(request: pytest.FixtureRequest) -> Any:
    """A factory of fresh drivers of one kind (the browser one shares pytest-playwright's browser)."""
    if request.param == "api":
        return lambda target: ApiDriver(target, timeout=30)
    browser = request.getfixturevalue("browser")
    return lambda target: BrowserDriver(target, timeout=30, new_context=browser.new_context, trace=False)


def _failures(target: Target, make: Any, only: str | None = None) -> list[str]:
    failed = []
    for scenario in bundled():
        if only is not None and scenario.name != only:
            continue
        driver: Driver = make(target)
        try:
            driver.open(scenario)
            run_scenario(scenario, driver)
        except RequirementsMissing:
            pass
        except HarnessError:
            failed.append(scenario.name)
        finally:
            driver.close()
    return failed


CAUGHT_BY = {
    "undo_keeps_reply": "undo puts the prompt back and drops the reply",
    "retry_returns_old_reply": "retry regenerates the last reply",
    "like_not_recorded": "likes and dislikes are recorded with index and message",
    "edit_ignored": "editing a user message regenerates the reply and drops what came after",
    "clear_keeps_id": "clearing starts a new conversation id",
    "no_streaming": "a message gets a streamed echo",
    "slow_first_update": "the reply streams in growing chunks within its latency budget",
    "thoughts_not_nested": "thoughts show title, status, log and duration, nested under their parent",
    "options_dropped": "a reply offers options and the chosen one is sent",
    "example_ignored": "examples are picked by position too",
    "option_ignored": "a reply offers options and the chosen one is sent",
    "files_dropped": "files go with the message and the reply lists them",
    "custom_feedback_ignored": "a custom feedback option is recorded",
    "settings_ignored": "the system prompt and temperature reach the model, and tokens are counted",
    "stop_not_wired": "stopping a reply keeps what streamed in, and the chat goes on",
    "error_swallowed": "an app error can be expected",
    "endpoint_ignores_settings": "the named endpoint answers one message",
    "chats_crossed": "the right chat, chosen by label, keeps its conversation to itself",
}
#: variants of another fixture than the reference app, and that fixture
SOUND_APP = {"chats_crossed": "fixtures.odd_apps:two_chatbots"}


def test_the_catching_scenarios_arebundled() -> None:
    """Each catching scenario is a bundled one, so the whole bundled runs above (all passing on the
    sound apps, on both drivers) show that a failure on a broken variant is the variant's doing."""
    assert set(CAUGHT_BY.values()) <= {s.name for s in bundled()}


@pytest.mark.parametrize(("variant", "caught_by"), list(CAUGHT_BY.items()))
def test_broken_variant_is_caught(variant: str, caught_by: str, make_driver: Any) -> None:
    from fixtures.broken import VARIANTS

    assert variant in VARIANTS or variant in SOUND_APP
    app = InProcessApp(f"fixtures.broken:{variant}")
    try:
        failed = _failures(app.start(), make_driver, only=caught_by)
    finally:
        app.close()
    assert failed == [caught_by]
