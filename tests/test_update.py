"""--update-expectations and chat-harness record: observed values written back into YAML."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.drivers.base import ActionRecord
from harness.gradio.history import FileRef, Message
from harness.output.update import Edit, Updates, write_edits
from harness.run.checks import Observation
from harness.spec.loader import load_file, load_text
from tests.helpers.forked import runpytest_forked

ROOT = Path(__file__).resolve().parent.parent

WRONG = """\
# yaml-language-server: $schema=../harness/spec/scenario.schema.json
# a comment at the top stays
name: wrong text
steps:
  - send: hello   # say hi
  - expect:
      history:
        - {role: user, content: hello}
        # the reply is numbered per session
        - {role: assistant, content: "#1 echo: WRONG"}
  - send: again
  - expect:
      history:
        last:
          - {role: assistant, content: {contains: "echo: again"}}   # fuzzy, kept
      components:
        Tokens: {equals: 999}
---
name: too short
steps:
  - send: x
  - expect:
      history: {length: 5}
"""


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), after
    return [(a, b) for a, b in zip(old, new) if a != b]


def test_update_fixes_wrong_values_and_keeps_the_rest(runner: pytest.Pytester) -> None:
    path = runner.path / "wrong.chat.yaml"
    path.write_text(WRONG)
    result = runpytest_forked(runner, str(path), "--rootdir", str(ROOT), "--driver", "all", "--update-expectations")
    result.assert_outcomes(passed=6)
    after = path.read_text()
    # only the three wrong values changed: comments, key order, quoting, the fuzzy matcher and the
    # equals wrapper are as they were
    assert _changed_lines(WRONG, after) == [
        (
            '        - {role: assistant, content: "#1 echo: WRONG"}',
            '        - {role: assistant, content: "#1 echo: hello"}',
        ),
        ("        Tokens: {equals: 999}", "        Tokens: {equals: 3}"),
        ("      history: {length: 5}", "      history: {length: 2}"),
    ]
    out = result.stdout.str()
    assert "3 expected value(s) updated in 1 file(s); review with git diff:" in out
    assert (
        """wrong.chat.yaml:6 'wrong text' step 2 (expect) history[1].content: "#1 echo: WRONG" -> "#1 echo: hello\""""
        in out
    )
    assert "wrong.chat.yaml:12 'wrong text' step 4 (expect) components.Tokens: 999 -> 3" in out
    # and now the file passes as it is, with nothing left to update
    again = runpytest_forked(runner, str(path), "--rootdir", str(ROOT), "--update-expectations")
    again.assert_outcomes(passed=2)
    assert "no expected value needed a change" in again.stdout.str()
    assert path.read_text() == after


def test_a_fuzzy_matcher_that_fails_is_kept_and_still_fails(runner: pytest.Pytester) -> None:
    text = WRONG.replace('{contains: "echo: again"}', '{contains: "nope"}')
    path = runner.path / "fuzzy.chat.yaml"
    path.write_text(text)
    result = runpytest_forked(runner, str(path), "--rootdir", str(ROOT), "--update-expectations")
    result.assert_outcomes(passed=1, failed=1)
    assert "expected text that contains 'nope', got '#2 echo: again'" in result.stdout.str()
    after = path.read_text()
    assert '{contains: "nope"}' in after and '"#1 echo: hello"' in after and "{equals: 3}" in after


def test_updates_from_xdist_workers_are_merged(runner: pytest.Pytester) -> None:
    files = []
    for n in range(3):
        path = runner.path / f"w{n}.chat.yaml"
        reply = "        - {role: assistant, content: x}\n"
        path.write_text(
            f"name: file {n}\nsteps:\n  - send: hi {n}\n  - expect:\n      history:\n"
            f"        - {{role: user, content: hi {n}}}\n" + reply
        )
        files.append(path)
    result = runpytest_forked(runner, *map(str, files), "--rootdir", str(ROOT), "-n", "2", "--update-expectations")
    result.assert_outcomes(passed=3)
    assert "3 expected value(s) updated in 3 file(s)" in result.stdout.str()
    for n, path in enumerate(files):
        assert f"- {{role: assistant, content: '#1 echo: hi {n}'}}" in path.read_text()


def _seen(*messages: Message, error: str | None = None, components: dict[str, object] | None = None) -> Observation:
    return Observation(
        history=list(messages), components=components or {}, last_action=ActionRecord("step 1 (send)", error=error)
    )


def test_updates_cover_messages_files_options_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "u.chat.yaml"
    path.write_text(
        "name: u\nsteps:\n  - send: hi\n  - expect:\n"
        "      history:\n"
        "        last:\n"
        "          - {role: user}\n"  # gone: only one message is shown
        "          - {role: assistant, content: old, files: [{name: a.png}], options: [Yes, No]}\n"
        "      components: {Tokens: {any: true}}\n"
    )
    (scenario,) = load_file(path)
    step = scenario.steps[1]
    reply = Message(
        "assistant",
        "new",
        files=(FileRef("b.png", "image/png"), FileRef("c.wav", "audio/wav")),
        options=({"value": "y", "label": "Yes"}, {"value": "m"}),
    )
    updates = Updates(scenario)
    left = updates.expectation(step, _seen(reply, error="bad"), ["(failed)"], errored_just_before=True)
    assert left == []
    changes, problems = write_edits(updates.edits)
    assert problems == []
    assert sorted(c.split(") ", 1)[1] for c in changes) == [
        'error: set to "bad"',
        'history.last[0]: removed {"role": "user"}',
        'history.last[1].content: "old" -> "new"',
        'history.last[1].files: [{"name": "a.png"}] -> '
        '[{"name": "b.png", "mime_type": "image/png"}, {"name": "c.wav", "mime_type": "audio/wav"}]',
        'history.last[1].options[1]: "No" -> "m"',
    ]
    (again,) = load_file(path)
    expectation = again.steps[1].expectation
    assert expectation is not None and expectation.error is not None and expectation.history_last is not None
    assert len(expectation.history_last) == 1 and "{any: true}" in path.read_text()


def test_runs_that_disagree_leave_the_value_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.chat.yaml"
    text = "name: c\nsteps:\n  - send: hi\n  - expect:\n      history: {length: 1}\n"
    path.write_text(text)
    edits = [Edit(str(path), "c", 2, ("history", "length"), "set", n, 1) for n in (2, 3)]
    changes, problems = write_edits(edits)
    assert changes == [] and path.read_text() == text
    assert problems == [f"{path}: 'c' step 2: history.length: the runs saw different values (2, 3); left as it is"]
    gone = Edit(str(path), "renamed", 2, ("history", "length"), "set", 2, 1)
    assert write_edits([gone])[1] == [f"{path}: scenario 'renamed' step 2 is no longer in the file; not updated"]


def _record(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "record", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("app", ["fixtures.reference_app:demo", "fixtures.chat_interface_app:demo"])
def test_record_writes_a_scenario_that_passes_on_both_drivers(app: str, runner: pytest.Pytester) -> None:
    steps = [
        "send: hello",
        "retry",
        "like: {index: -1}",
        "send: choose",
        "select_option: Tea, please",
        "undo",
        "edit: {index: -2, text: hi there}",
        "send: boom",
    ]
    done = _record(runner.path, app, "--steps", *steps, "-o", "mine.chat.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "recorded 8 action(s) into mine.chat.yaml; "
        f"run it with: chat-harness run mine.chat.yaml --driver all --chat-app {app}" in done.stdout
    )
    path = runner.path / "mine.chat.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=") and "name: mine\n" in text
    assert "        - {role: assistant, content: '#2 echo: hello'}\n" in text  # after the retry
    assert (
        "options: ['Tea, please', coffee]" in text and "error: 'boom: the model is overloaded, try again later'" in text
    )
    (scenario,) = load_file(path)
    assert [s.kind for s in scenario.steps] == [k for s in steps for k in (s.split(":")[0], "expect")]
    result = runpytest_forked(runner, str(path), "--rootdir", str(ROOT), "--driver", "all", "--chat-app", app)
    result.assert_outcomes(passed=3)


def test_record_with_a_model_script_writes_what_the_app_sent_the_model(runner: pytest.Pytester) -> None:
    (runner.path / "model.yaml").write_text("replies: [First answer., Second answer.]\n")
    app = "fixtures.openai_chat_app:demo"
    steps = ["send: Tell me a fact", "retry", "undo"]
    done = _record(runner.path, app, "--model", "model.yaml", "--steps", *steps, "-o", "fact.chat.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    text = (runner.path / "fact.chat.yaml").read_text()
    assert "model:\n  replies:\n  - First answer.\n  - Second answer.\n" in text
    sent = "{messages: [{role: system, content: You are helpful AI.}, {role: user, content: Tell me a fact}]}"
    assert text.count(f"model: {{calls: 1, last: {sent}}}") == 2  # the send and the retry
    assert text.count("model: {calls: 0}") == 1  # undo calls no model: its last: went
    result = runpytest_forked(runner, str(runner.path / "fact.chat.yaml"), "--rootdir", str(ROOT), "--chat-app", app)
    result.assert_outcomes(passed=1)
    refused = _record(runner.path, "http://127.0.0.1:9/", "--model", "model.yaml", "--steps", "send: hi")
    assert refused.returncode == 1 and "--model scripts an app launched in-process" in refused.stderr


def test_record_refuses_bad_steps_and_writes_nothing_when_the_run_fails(tmp_path: Path) -> None:
    done = _record(tmp_path, "fixtures.reference_app:demo", "--steps", "send: hi", "choose")
    assert done.returncode == 1 and "step 2: unknown step 'choose'" in done.stderr
    done = _record(tmp_path, "fixtures.reference_app:demo", "--steps", "send: hi", "expect: {history: []}")
    assert done.returncode == 1 and "record takes actions only" in done.stderr
    done = _record(tmp_path, "fixtures.reference_app:demo", "--steps", "send: hi", "undo", "undo")
    assert done.returncode == 1 and "recorded.chat.yaml not written" in done.stderr
    assert "step 5 (undo)" in done.stdout  # the run's own report says why
    assert not (tmp_path / "recorded.chat.yaml").exists()
    load_text("name: x\nsteps:\n  - send: hi\n")  # the loader itself is untouched by the failed runs
