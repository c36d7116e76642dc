"""What the nightly run against a real model relies on, end to end on real apps: the random-reply
app's scenarios hold on both drivers with parity; the behaviour contracts alone catch each broken
variant on both drivers; ``chat-harness check`` passes the good apps and names what a broken one
violates; ``similar`` / ``judge`` ask a judge endpoint (the scripted model plays it, offline);
``repeat`` reports pass rates in the terminal, JUnit and the report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness.spec.loader import load_file
from harness.target.inprocess import free_port
from tests.helpers.bundled import RUNS, SCENARIOS
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT, model_serve

RANDOM = SCENARIOS / "random"
JUDGE_SCRIPT = ROOT / "tests" / "data" / "judge_script.yaml"

#: each variant of fixtures/random_app.py, the step of CONTRACTS_ONLY that shows it, and what it broke
VARIANTS = {
    "retry_appends": (4, "retry appended a reply instead of replacing the last one"),
    "retry_changes_earlier": (4, "retry changed message 0, which it must keep"),
    "undo_forgets_prompt": (7, "undo did not put the undone message back in the input box: it holds '', not"),
    "like_alters_history": (3, "like changed message 3, which it must keep"),
    "edit_keeps_later": (5, "edit kept message 2 (a later user message)"),
    "clear_leaves_message": (8, "clear left 1 message(s) in the chat, which it must empty"),
}

CONTRACTS_ONLY = """\
name: contracts only on {variant}
app: fixtures.random_app:{variant}
steps:
  - send: hello
  - send: how are you
  - like: {{}}
  - retry: {{}}
  - edit: {{index: 0, text: hi again}}
  - send: one more
  - undo: {{}}
  - clear: {{}}
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return runpytest_forked(pytester, "-p", "no:cacheprovider", "-rs", "--rootdir", str(ROOT), *args)


@pytest.mark.slow
def test_random_replies_pass_with_parity_and_the_contracts_alone_catch_each_broken_variant(
    runner: pytest.Pytester, tmp_path: Path
) -> None:
    """One run, both drivers: scenarios/random/ on the random app (parity by their matchers), and a
    scenario with no expected text per broken variant, which fails on both drivers at the step
    that shows the break, naming the contract."""
    folder = ROOT / "scenarios" / ".contracts-test"  # inside the project: a scenario's app: must be
    folder.mkdir(exist_ok=True)
    try:
        for variant in VARIANTS:
            (folder / f"{variant}.chat.yaml").write_text(CONTRACTS_ONLY.format(variant=variant))
        (folder / "demo.chat.yaml").write_text(CONTRACTS_ONLY.format(variant="demo"))
        result = _run(runner, str(RANDOM), str(folder), "--driver", "all", "-n", "2")
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
    good = sum(len(load_file(path)) for path in RANDOM.glob("*.chat.yaml")) + 1
    # each variant: its api and browser runs fail, its parity item is skipped (no parity of failed runs)
    result.assert_outcomes(passed=RUNS * good, failed=2 * len(VARIANTS), skipped=len(VARIANTS))
    out = result.stdout.str()
    for variant, (step, broken) in VARIANTS.items():
        for driver in ("api", "browser"):
            section = out.split(f"scenario 'contracts only on {variant}' [{driver}]")[1].split("\n___")[0]
            assert f"step {step} (" in section and "behaviour contract violated" in section, section
            assert broken in section, section


def _check(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "check", target, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "driver", "not_wired"),
    [
        ("fixtures.reference_app:demo", "all", []),
        ("fixtures.chat_interface_app:demo", "api", []),
        ("fixtures.chatbot_events_app:demo", "api", []),
        ("fixtures.openai_chat_app:demo", "api", ["like", "dislike", "edit"]),
    ],
)
def test_check_passes_every_good_app(target: str, driver: str, not_wired: list[str]) -> None:
    done = _check(target, "--driver", driver)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split(f"chat-harness check {target}")[1].splitlines()
    drivers = "api, browser, parity" if driver == "all" else "api"
    for action in ("send", "retry", "undo", "like", "dislike", "edit", "clear"):
        wanted = "not wired" if action in not_wired else f"passed ({drivers})"
        assert any(re.fullmatch(rf"  {action} +{re.escape(wanted)}", line) for line in lines), (action, lines)
    assert lines[-1] == "all wired actions keep their contracts"


@pytest.mark.slow
def test_check_reaches_an_app_by_url(reference_url: str) -> None:
    done = _check(reference_url, "--driver", "api")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "  undo     passed (api)" in done.stdout and "  retry    passed (api)" in done.stdout


#: what `check` says of each variant: the actions that break (after its own short set-up) and how
CHECKED = {
    "retry_appends": (["retry"], "retry appended a reply instead of replacing the last one"),
    "retry_changes_earlier": (["retry"], "retry changed message 0, which it must keep"),
    "undo_forgets_prompt": (["undo"], "undo did not put the undone message back in the input box"),
    "like_alters_history": (["like", "dislike"], "changed message 1, which it must keep"),
    "edit_keeps_later": (["edit"], "edit left 2 message(s) after the prompt; before, the reply had 1"),
    "clear_leaves_message": (["clear"], "clear left 1 message(s) in the chat, which it must empty"),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(CHECKED))
def test_check_names_the_contract_a_broken_app_violates(variant: str) -> None:
    driver = "browser" if variant == "undo_forgets_prompt" else "api"  # one of them clicks the icons
    done = _check(f"fixtures.random_app:{variant}", "--driver", driver)
    assert done.returncode == 1, done.stdout + done.stderr
    actions, broken = CHECKED[variant]
    lines = done.stdout.split(f"chat-harness check fixtures.random_app:{variant}")[1].splitlines()
    for action in actions:
        assert any(
            line.startswith(f"  {action} ") and f"{driver}: violated: " in line and broken in line for line in lines
        ), (action, done.stdout)
    passed = [line for line in lines if line.endswith(f"passed ({driver})")]
    assert len(passed) == 7 - len(actions), done.stdout  # every other action held
    assert lines[-1] == "some wired actions break their contracts"


def test_check_of_an_app_that_cannot_be_reached_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = _check("fixtures.no_such_module:demo")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("chat-harness check: "), done.stderr


# -- similar and judge ------------------------------------------------------------------------------

MEANING = """\
name: meaning
steps:
  - send: {said}
  - expect:
      history:
        last:
          - {{role: assistant, content: {{similar: {{to: "echo {said}", min: {similar_min}}}}}}}
  - expect:
      history:
        last:
          - {{role: assistant, content: {{judge: {{rubric: "{rubric}", min: 0.5}}}}}}
"""


def _meaning(project: pytest.Pytester, similar_min: float = 0.5, rubric: str = "answers politely") -> Path:
    # the judge script grades by the first of its words the prompt holds: the reply echoes what was said
    said = "hello politely" if "politely" in rubric else "hello"
    return project.makefile(".chat.yaml", meaning=MEANING.format(said=said, similar_min=similar_min, rubric=rubric))


def _judge_args(url: str) -> list[str]:
    return ["--chat-judge-url", f"{url}/v1", "--chat-judge-model", "grader", "--chat-judge-embedding-model", "bow"]


@pytest.mark.slow
def test_similar_and_judge_pass_and_fail_with_score_threshold_and_reason(project: pytest.Pytester) -> None:
    with model_serve(JUDGE_SCRIPT) as (url, _):
        passing = _meaning(project)
        report = project.path / "report"
        result = _run(project, str(passing), *_judge_args(url), "--chat-report", str(report))
        result.assert_outcomes(passed=1)
        (transcript,) = (report / "transcripts").glob("*.json")
        steps = json.loads(transcript.read_text())["steps"]
        assert steps[1]["scores"][0]["matcher"] == "similar" and steps[1]["scores"][0]["passed"] is True
        assert steps[2]["scores"][0] == {
            "matcher": "judge",
            "rubric": "answers politely",
            "score": 0.9,
            "min": 0.5,
            "reason": "The reply greets the user politely.",
            "passed": True,
        }
        assert "judge: score 0.90 (minimum 0.5): The reply greets the user politely." in re.sub(
            r"\s+", " ", (report / "report.html").read_text()
        )

        failing = _meaning(project, similar_min=0.99, rubric="mentions the refund policy")
        result = _run(project, str(failing), *_judge_args(url))
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        assert re.search(r"similarity 0\.\d\d to 'echo hello' is below the minimum 0\.99", out), out
        lenient = failing.read_text().replace("min: 0.99", "min: 0.1")
        failing.write_text(lenient)
        out = _run(project, str(failing), *_judge_args(url)).stdout.str()
        assert (
            "the judge scored 0.10 against the rubric 'mentions the refund policy' (minimum 0.5): The reply never "
            "mentions the refund policy." in out
        ), out


def test_similar_and_judge_without_a_judge_endpoint_is_one_failure_naming_what_to_give(
    project: pytest.Pytester,
) -> None:
    """One failure for the run (under xdist too), not one per item; the other scenarios run, and a
    run that deselects the judged scenario needs no endpoint."""
    path = _meaning(project)
    path.write_text(path.read_text().rstrip() + "\n---\nname: plain\nsteps:\n  - send: hi\n")
    result = _run(project, str(path), "-n", "2")
    result.assert_outcomes(failed=1, passed=1)
    out = result.stdout.str()
    assert "1 scenario(s) use the similar / judge matchers" in out and "meaning[api]" not in out, out
    assert "judge endpoint not configured" in out and "--chat-judge-model (for judge)" in out
    assert "INTERNALERROR" not in out
    partial = _run(project, str(path), "--chat-judge-url", "http://127.0.0.1:9/v1", "--chat-judge-model", "m")
    partial.assert_outcomes(failed=1, passed=1)
    assert "--chat-judge-embedding-model (for similar)" in partial.stdout.str()
    assert "--chat-judge-model (for judge)" not in partial.stdout.str()
    _run(project, str(path), "-k", "plain").assert_outcomes(passed=1, deselected=1)


def test_an_unreachable_judge_is_one_clear_message(project: pytest.Pytester) -> None:
    path = _meaning(project)
    result = _run(project, str(path), *_judge_args(f"http://127.0.0.1:{free_port()}"))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "step 2 (expect) at" in out and "cannot be reached" in out and "check --chat-judge-url" in out, out
    assert "Traceback" not in out


def test_update_expectations_never_rewrites_similar_or_judge(project: pytest.Pytester) -> None:
    with model_serve(JUDGE_SCRIPT) as (url, _):
        path = _meaning(project, similar_min=0.99)
        before = path.read_text()
        result = _run(project, str(path), *_judge_args(url), "--update-expectations")
        result.assert_outcomes(failed=1)
        assert path.read_text() == before


# -- repeats ----------------------------------------------------------------------------------------

COUNTED = """\
name: counted
repeat: 4
min_pass: {min_pass}
steps:
  - send: hello
  - expect:
      history:
        last: [{{role: assistant, content: {{regex: "^#[0-9]*[02468] echo: hello$"}}}}]
"""


def _repeated(project: pytest.Pytester, min_pass: int) -> tuple[pytest.RunResult, Path, Path]:
    """The scenario four times on the app whose replies are numbered by one counter for every
    session: every other run gets an even number, so exactly 2 of the 4 runs pass."""
    path = project.makefile(".chat.yaml", counted=COUNTED.format(min_pass=min_pass))
    report, junit = project.path / "report", project.path / "junit.xml"
    app = ["--chat-app", "fixtures.broken:shared_counter"]
    return _run(project, str(path), *app, "--chat-report", str(report), "--junitxml", str(junit)), report, junit


@pytest.mark.slow
def test_a_repeated_scenario_passes_at_min_pass_and_reports_its_rate(project: pytest.Pytester) -> None:
    result, report, junit = _repeated(project, min_pass=2)
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "chat-harness repeated scenarios: runs passed" in out and "counted[api]: 2/4 passed, 2 needed" in out
    assert "  step 1 (send): 4/4 passed" in out and "  step 2 (expect): 2/4 passed" in out
    properties = {p.get("name"): p.get("value") for p in ElementTree.parse(junit).getroot().iter("property")}
    assert properties["chat_repeat"] == "2/4 passed, 2 needed"
    assert properties["chat_repeat_steps"] == "step 1 (send): 4/4 passed; step 2 (expect): 2/4 passed"
    assert "repeated 4 times: <b>2/4 passed, 2 needed</b>" in (report / "report.html").read_text()


@pytest.mark.slow
def test_a_repeated_scenario_below_min_pass_fails_with_the_rate_and_the_failed_runs(project: pytest.Pytester) -> None:
    result, report, _ = _repeated(project, min_pass=3)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "repeated 4 times, 2/4 passed, 3 needed (min_pass 3)" in out, out
    assert re.search(r"run [12]: step 2 \(expect\): expectation failed: history.last differs", out), out
    assert "the last failed run:" in out and "content: expected text that matches" in out
    (transcript,) = (report / "transcripts").glob("*.json")
    assert json.loads(transcript.read_text())["repeats"]["rate"] == "2/4 passed, 3 needed"
