"""End to end: the bundled scenarios against both fixture apps, in-process and by URL, and every
broken variant of the reference app caught by at least one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drivers.api import ApiDriver
from harness.errors import HarnessError
from harness.loader import load_file
from harness.runner import run_scenario
from harness.scenario import Scenario
from harness.target import InProcessApp, Target

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ACTIONS = {"send", "undo", "retry", "like", "dislike", "edit", "clear"}


def _bundled() -> list[Scenario]:
    return [s for path in sorted(SCENARIOS.glob("*.chat.yaml")) for s in load_file(path)]


def test_every_action_and_streaming_is_covered() -> None:
    kinds = {step.kind for s in _bundled() for step in s.steps}
    assert kinds >= ACTIONS | {"expect"}
    assert any(step.expectation and step.expectation.stream_min_updates for s in _bundled() for step in s.steps)


def _run_bundled(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", str(SCENARIOS), "--rootdir", str(ROOT), *args)


@pytest.fixture
def runner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.chdir(ROOT)
    return pytester


def test_bundled_pass_on_reference_app_in_process(runner: pytest.Pytester) -> None:
    result = _run_bundled(runner)
    result.assert_outcomes(passed=len(_bundled()))


def test_bundled_pass_on_chat_interface_in_process(runner: pytest.Pytester) -> None:
    result = _run_bundled(runner, "--chat-app", "fixtures.chat_interface_app:demo")
    reference_only = sum(1 for s in _bundled() if s.requires_components)
    result.assert_outcomes(passed=len(_bundled()) - reference_only, skipped=reference_only)


def test_bundled_pass_by_url_against_separate_processes(runner: pytest.Pytester, reference_url: str, chat_interface_url: str) -> None:
    _run_bundled(runner, "--chat-url", reference_url).assert_outcomes(passed=len(_bundled()))
    reference_only = sum(1 for s in _bundled() if s.requires_components)
    _run_bundled(runner, "--chat-url", chat_interface_url).assert_outcomes(
        passed=len(_bundled()) - reference_only, skipped=reference_only
    )


def _failures(target: Target, only: str | None = None) -> list[str]:
    failed = []
    for scenario in _bundled():
        if only is not None and scenario.name != only:
            continue
        driver = ApiDriver(target, timeout=30)
        try:
            driver.open(scenario)
            if all(driver.has_component(c) for c in scenario.requires_components):
                run_scenario(scenario, driver)
        except HarnessError:
            failed.append(scenario.name)
        finally:
            driver.close()
    return failed


@pytest.fixture(scope="module")
def reference_target() -> Target:
    app = InProcessApp("fixtures.reference_app:demo")
    yield app.start()
    app.close()


def test_reference_app_passes_the_library_run(reference_target: Target) -> None:
    assert _failures(reference_target) == []


@pytest.mark.parametrize(
    ("variant", "caught_by"),
    [
        ("undo_keeps_reply", "undo puts the prompt back and drops the reply"),
        ("retry_returns_old_reply", "retry regenerates the last reply"),
        ("like_not_recorded", "likes and dislikes are recorded with index and message"),
        ("edit_ignored", "editing a user message regenerates the reply and drops what came after"),
        ("clear_keeps_id", "clearing starts a new conversation id"),
        ("no_streaming", "a message gets a streamed echo"),
    ],
)
def test_broken_variant_is_caught(variant: str, caught_by: str) -> None:
    from fixtures.broken import VARIANTS

    assert variant in VARIANTS
    app = InProcessApp(f"fixtures.broken:{variant}")
    try:
        failed = _failures(app.start(), only=caught_by)
    finally:
        app.close()
    assert failed == [caught_by]
