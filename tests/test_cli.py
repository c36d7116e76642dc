from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from tests.helpers.forked import runpytest_forked

ROOT = Path(__file__).resolve().parent.parent


def test_validate_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "scenarios")]) == 0
    assert "0 invalid" in capsys.readouterr().out


def test_validate_reports_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.chat.yaml"
    bad.write_text("name: x\nsteps:\n  - undo: {index: last}\n")
    good = tmp_path / "good.chat.yaml"
    good.write_text("name: y\nsteps:\n  - send: hi\n")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:3: step 1 (undo).undo" in out
    assert "1 valid, 1 invalid file(s); 1 scenario(s)" in out
    assert "Traceback" not in out


def test_validate_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.chat.yaml")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_schema_path_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()


def test_console_script_runs_scenarios(tmp_path: Path) -> None:
    scenario = tmp_path / "one.chat.yaml"
    scenario.write_text("name: one\nsteps:\n  - send: hi\n  - expect: {history: {length: 2}}\n")
    exe = Path(sys.executable).parent / "chat-harness"
    done = subprocess.run(
        [str(exe), "run", str(scenario), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_inspect_the_reference_apps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "fixtures.reference_app:demo"]) == 0
    out = capsys.readouterr().out
    assert "chatbot label='Chat' elem_id='chatbot'" in out
    assert "  textbox: Message (multimodaltextbox, takes files)" in out
    assert "  wired: undo, retry, like / dislike / feedback, edit, clear, select_option, select_example" in out
    assert "  other inputs of its reply (set them with `set`): System prompt, Temperature" in out
    assert "  other outputs of its reply (check them with `components`): Tokens\n" in out
    assert "/respond" in out

    assert main(["inspect", "fixtures.chat_interface_app:demo", "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "chat_interface" and report["endpoints"] == ["/flag", "/record_feedback", "/respond"]
    (bot,) = report["chatbots"]
    assert (
        all(bot["events"].values())
        and bot["extra_inputs"] == ["System prompt", "Temperature"]
        and bot["extra_outputs"] == ["Tokens"]
    )


def test_inspect_an_app_without_chatbot_or_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "fixtures.odd_apps:no_chatbot"]) == 0
    assert "chatbots: none -- the app has no gr.Chatbot" in capsys.readouterr().out
    assert main(["inspect", "fixtures.odd_apps:no_handlers"]) == 0
    out = capsys.readouterr().out
    assert (
        "  wired: nothing" in out
        and "  not wired: undo, retry, like / dislike / feedback, edit, clear, select_option, select_example" in out
    )


def test_inspect_a_url_and_a_bad_target(reference_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", reference_url]) == 0
    assert f"target: {reference_url}\nGradio " in capsys.readouterr().out
    assert main(["inspect", "nope"]) == 1
    assert "is not a URL (http://...), a Space id (owner/name) or an app (module:attr)" in capsys.readouterr().err


@pytest.mark.parametrize("app", ["fixtures.reference_app:demo", "fixtures.chat_interface_app:demo"])
def test_new_then_validate_then_run_passes(
    app: str, runner: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    written = runner.path / "mine.chat.yaml"
    assert main(["new", app, "-o", str(written)]) == 0
    assert f"wrote {written}" in capsys.readouterr().out
    text = written.read_text()
    assert (
        text.startswith("# yaml-language-server: $schema=")
        and "  - undo: {}" in text
        and "  - edit: {index: -2" in text
    )
    assert main(["validate", str(written)]) == 0
    result = runpytest_forked(
        runner, "-p", "no:cacheprovider", str(written), "--rootdir", str(ROOT), "--driver", "all", "--chat-app", app
    )
    result.assert_outcomes(passed=3)

    assert main(["new", app, "-o", str(written)]) == 1
    assert "exists; pass --force to overwrite it" in capsys.readouterr().err


def test_new_on_an_app_without_chatbot_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "fixtures.odd_apps:no_chatbot", "-o", str(tmp_path / "x.chat.yaml")]) == 1
    assert "the app has no gr.Chatbot, so there is nothing to write a chat scenario for" in capsys.readouterr().err
    assert not (tmp_path / "x.chat.yaml").exists()
