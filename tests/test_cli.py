from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

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
    done = subprocess.run([str(exe), "run", str(scenario), "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
