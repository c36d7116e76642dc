"""Apps on hosted models, as Gradio's guides write them, tested offline with the scripted model: the
bundled ``scenarios/llm/`` pass on both drivers, variants that send the model stale context are
caught by ``expect: model:`` alone, an uncovered call fails fast naming it, and a recording replays
with no call to the provider."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.spec.loader import load_file
from tests.helpers.bundled import LLM_SCENARIOS, RUNS
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT, model_serve

EVENTS = str(LLM_SCENARIOS / "chatbot_events.chat.yaml")
OPENAI = str(LLM_SCENARIOS / "openai_chat.chat.yaml")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return runpytest_forked(pytester, "-p", "no:cacheprovider", "-rs", "--rootdir", str(ROOT), *args)


@pytest.mark.slow
def test_the_model_backed_apps_pass_their_scenarios_on_both_drivers_offline(runner: pytest.Pytester) -> None:
    files = sorted(LLM_SCENARIOS.glob("*.chat.yaml"))
    result = _run(runner, *map(str, files), "--driver", "all")
    result.assert_outcomes(passed=RUNS * sum(len(load_file(f)) for f in files))


@pytest.mark.parametrize(
    ("variant", "scenarios", "selected", "sent_instead"),
    [
        (
            "retry_sends_old_reply",
            EVENTS,
            "retry and asks",
            "+ [2] assistant: 'Paris is the capital of France.'",
        ),
        ("undo_keeps_exchange", EVENTS, "undo and takes", "+ [1] user: 'Capital of France?'"),
        ("system_prompt_ignored", OPENAI, "system and prompt and person", "+ [0] system: 'You are helpful AI.'"),
    ],
)
def test_stale_context_sent_to_the_model_is_caught_by_expect_model_alone(
    runner: pytest.Pytester, variant: str, scenarios: str, selected: str, sent_instead: str
) -> None:
    """The chat of each variant looks right: its scenario fails on both drivers only where it checks
    what the model was sent, showing the difference in the messages."""
    result = _run(
        runner, scenarios, "-k", selected, "--driver", "all", "--chat-app", f"fixtures.broken_model_context:{variant}"
    )
    result.assert_outcomes(failed=2, skipped=1)  # the api and browser runs; no parity of failed runs
    out = result.stdout.str()
    for driver in ("api", "browser"):
        section = out.split(f"[{driver}] (scenarios/llm/")[1].split("\n___")[0]
        assert "model.last.messages (sent in model call" in section and sent_instead in section, section
        assert not any(other in section for other in ("history differs", "input box", "stream:", "history.last"))


@pytest.fixture
def openai_scenario(project: pytest.Pytester) -> Path:
    path = project.path / "chat.chat.yaml"
    path.write_text(
        "name: a greeting\nsteps:\n  - send: Hi\n"
        "  - expect:\n      history:\n        last: [{role: assistant, content: Hello from the provider stub.}]\n"
    )
    return path


def test_an_uncovered_model_call_fails_its_step_at_once_naming_the_call(
    project: pytest.Pytester, openai_scenario: Path
) -> None:
    report = project.path / "report"
    result = _run(
        project,
        str(openai_scenario),
        "--driver",
        "all",
        "--chat-app",
        "fixtures.openai_chat_app:demo",
        "--chat-report",
        str(report),
    )
    result.assert_outcomes(failed=2, skipped=1)
    out = result.stdout.str()
    assert out.count("step 1 (send) at chat.chat.yaml:3: the scripted model has no answer for a call the app made") == 2
    assert (
        out.count(
            "model call 1 (https://api.openai.com/v1/chat/completions, model 'gpt-4o-mini', 2 message(s), last user "
            "message 'Hi', streamed)\n  no rule or queued reply covers it (the script has no queued reply)"
        )
        == 2
    )
    shown = (report / "report.html").read_text()
    assert "model call 1: 2 message(s) sent to https://api.openai.com/v1/chat/completions" in shown
    assert "(no rule or queued reply covers it" in shown
    for transcript in (report / "transcripts").glob("*.json"):
        data = json.loads(transcript.read_text())
        if data["driver"] in ("api", "browser"):
            step = data["steps"][0]
            assert step["status"] == "failed" and step["seconds"] < 2.0, (data["driver"], step["seconds"])
            assert step["model_calls"][0]["problem"].startswith("no rule or queued reply covers it")


@pytest.fixture
def provider() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A stand-in for the real provider: ``chat-harness model serve`` in a process of its own."""
    with model_serve(Path(__file__).parent / "data" / "provider_stub.yaml") as served:
        yield served


def test_a_recording_replays_without_the_provider_and_reports_a_changed_request(
    project: pytest.Pytester,
    openai_scenario: Path,
    provider: tuple[str, subprocess.Popen[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, stub = provider
    secret = "sk-provider-secret-0123456789abcdef"
    monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")  # the app's provider, as a team would point it
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    app = ["--chat-app", "fixtures.openai_chat_app:demo"]
    _run(project, str(openai_scenario), "--chat-model", "record", *app).assert_outcomes(passed=1)
    cassette = project.path / "cassettes" / "chat.chat" / "a-greeting.json"
    saved = cassette.read_text()
    (exchange,) = json.loads(saved)["exchanges"]
    assert exchange["request"]["messages"][-1] == {"role": "user", "content": "Hi"}
    assert "data: [DONE]" in exchange["body"] and '"content": "stub."' in exchange["body"]
    assert secret not in saved and "uthorization" not in saved  # no credentials, no headers

    _run(project, str(openai_scenario), "--driver", "all", *app).assert_outcomes(passed=3)  # replayed
    stub.terminate()
    out, _ = stub.communicate(timeout=10)
    assert out.count("model call ") == 1, out  # only the recording run reached the provider

    openai_scenario.write_text(openai_scenario.read_text().replace("send: Hi", "send: Hi there"))
    changed = _run(project, str(openai_scenario), *app)
    changed.assert_outcomes(failed=1)
    text = changed.stdout.str()
    assert "differs from the request recorded in" in text and "record it again if the change is meant" in text
    assert '-      "content": "Hi"' in text and '+      "content": "Hi there"' in text


def test_a_scenario_that_scripts_the_model_is_skipped_on_an_app_with_its_own_model(
    runner: pytest.Pytester, reference_url: str
) -> None:
    result = _run(runner, OPENAI, "-k", "default and system", "--chat-url", reference_url)
    result.assert_outcomes(skipped=1)
    assert "the scenario scripts the model, and" in result.stdout.str()
    assert "answers with its own model" in result.stdout.str()
