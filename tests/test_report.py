"""--chat-report: JSON transcripts per run and the HTML report, read in Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.output.transcript import run_name

ROOT = Path(__file__).resolve().parent.parent

SCENARIOS = """\
name: passing chat
description: a greeting and a retry
steps:
  - send: hello
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: "#1 echo: hello"}
  - retry: {}
---
name: failing chat
steps:
  - send: choose
  - send: hello there
  - expect:
      history:
        last:
          - {role: assistant, content: "#2 echo: hello HERE"}
  - undo: {}
  - expect:
      history: []
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run with a passing and a failing scenario on --driver all, two workers."""
    import os
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("report")
    (folder / "chats.chat.yaml").write_text(SCENARIOS)
    (folder / "reports").mkdir()
    (folder / "reports" / "transcripts").mkdir()
    (folder / "reports" / "transcripts" / "stale.json").write_text("{}")  # from an earlier run: must go
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "chats.chat.yaml",
        "--rootdir",
        str(folder),
        "--driver",
        "all",
        "-n",
        "2",
        "--chat-report",
        "reports",
    ]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 3 passed, 1 skipped" in done.stdout
    assert "chat-harness report: reports/report.html (transcripts in reports/transcripts)" in done.stdout
    return folder / "reports"


def _transcript(report: Path, run: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (report / "transcripts" / f"{run_name(f'chats.chat.yaml::{run}')}.json").read_text()
    )
    assert data["nodeid"] == f"chats.chat.yaml::{run}"
    return data


def test_each_run_has_a_transcript(report: Path) -> None:
    names = sorted(p.stem for p in (report / "transcripts").glob("*.json"))
    assert names == sorted(
        run_name(f"chats.chat.yaml::{s} chat[{d}]")
        for s in ("failing", "passing")
        for d in ("api", "browser", "parity")
    )
    assert all(name.startswith("chats.chat.yaml-") for name in names)
    failed = _transcript(report, "failing chat[api]")
    assert failed["outcome"] == "failed" and failed["failed_step"] == 3 and failed["driver"] == "api"
    assert [s["status"] for s in failed["steps"]] == ["passed", "passed", "failed", "not run", "not run"]
    sent = failed["steps"][1]
    assert (
        sent["source"] == "hello there"
        and sent["action"]["updates"] >= 2
        and sent["action"]["stream"][-1] == "#2 echo: hello there"
    )
    assert sent["action"]["events"] and sent["seconds"] > 0 and sent["action"]["first_update"] > 0
    assert failed["steps"][2]["observed"]["history"][-1] == {"role": "assistant", "content": "#2 echo: hello there"}
    assert "- [3] role 'assistant', content '#2 echo: hello HERE'" in failed["failure"]
    assert failed["history"][-1]["content"] == "#2 echo: hello there" and failed["target"]["gradio_version"]
    browser = _transcript(report, "failing chat[browser]")
    assert set(browser["artifacts"]) == {"screenshot", "visible text", "trace"}
    assert all((report / path).is_file() for path in browser["artifacts"].values())
    passed = _transcript(report, "passing chat[browser]")
    assert (
        passed["outcome"] == "passed"
        and passed["failure"] is None
        and passed["history"][-1]["content"] == "#2 echo: hello"
    )
    assert _transcript(report, "passing chat[parity]")["outcome"] == "passed"
    assert "did not" in _transcript(report, "failing chat[parity]")["skip_reason"]


def test_the_html_report_shows_the_conversation_and_the_failing_step(report: Path, page: Any) -> None:
    page.goto((report / "report.html").as_uri())
    assert page.locator("#totals").inner_text().split() == [
        "2",
        "scenario(s)",
        "3",
        "passed",
        "2",
        "failed",
        "1",
        "skipped",
    ]
    failing = page.locator("details.scenario.failed")
    assert failing.count() == 1 and failing.get_attribute("open") is not None
    assert page.locator("details.scenario.passed").get_attribute("open") is None
    run = failing.locator(".run[data-driver=browser]")
    chat = run.locator(".chat")
    assert chat.locator(".msg.user").all_inner_texts() == ["choose", "hello there"]
    assert "#2 echo: hello there" in chat.locator(".msg.assistant").all_inner_texts()
    assert chat.locator(".msg.assistant .chip").all_inner_texts() == ["Tea, please", "coffee"]  # the options offered
    step = run.locator("tr.step.failed")
    assert step.count() == 1 and step.get_attribute("data-step") == "3" and step.is_visible()
    assert run.locator("tr.step.notrun").count() == 2
    assert (
        run.locator("pre.failure .exp").all_inner_texts()[-1].strip()
        == "- [3] role 'assistant', content '#2 echo: hello HERE'"
    )
    assert run.locator("pre.failure .act").all_inner_texts()[-1].strip() == "+ [3] assistant: '#2 echo: hello there'"
    shot = run.locator(".artifacts img")
    shot.scroll_into_view_if_needed()
    assert page.evaluate("img => img.complete && img.naturalWidth > 200", shot.element_handle())
    assert run.locator(".artifacts a.chip").all_inner_texts() == ["screenshot", "visible text", "trace"]
    page.set_viewport_size({"width": 1300, "height": 1000})
    page.screenshot(path=str(report / "report.png"), full_page=True)
