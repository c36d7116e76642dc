"""The HTML report is the truth: one transcript per item whatever the names, the report's totals
equal pytest's, every failing item and every invalid file is in it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

LONG = "a scenario whose name is long " * 6  # 180 characters in common
NAMES = {
    # name -> passes?
    "返信を確認する": True,
    "返信を確認しない": False,
    "check reply": True,
    "check-reply": False,
    "check.reply": False,
    f"{LONG}and passes": True,
    f"{LONG}and fails": False,
    "teardown trouble": True,  # passes, then a fixture of the project fails in its teardown
}

CONFTEST = """
import pytest

@pytest.fixture(autouse=True)
def troublesome_teardown(request):
    yield
    if "teardown trouble" in request.node.name:
        raise RuntimeError("the project's fixture failed in its teardown")
"""


def _scenario(name: str, passes: bool) -> str:
    reply = "#1 echo: hello" if passes else "#1 echo: goodbye"
    return (
        f"name: {json.dumps(name, ensure_ascii=False)}\nsteps:\n  - send: hello\n  - expect:\n      history:\n"
        f"        last: [{{role: assistant, content: '{reply}'}}]\n"
    )


def _report_runs(report: Path) -> dict[str, str]:
    """node id -> outcome, for every run the HTML report shows."""
    text = report.read_text(encoding="utf-8")
    return {
        html.unescape(nodeid): outcome
        for outcome, nodeid in re.findall(r'<div class="run (\w+)" data-driver="[^"]*" data-nodeid="([^"]*)">', text)
    }


def _report_totals(report: Path) -> dict[str, int]:
    text = report.read_text(encoding="utf-8")
    block = re.search(r'<p class="totals" id="totals">(.*?)</p>', text, re.S)
    assert block is not None
    return {kind: int(count) for count, kind in re.findall(r'<span class="badge \w+">(\d+) (\w+)</span>', block[1])}


def _pytest_outcomes(stdout: str) -> dict[str, str]:
    """node id -> outcome, from pytest's own short summary (-rA)."""
    found = {}
    for word, rest in re.findall(r"^(PASSED|FAILED|ERROR) (.+)$", stdout, re.M):
        nodeid = rest.split(" - ", 1)[0]
        if found.get(nodeid) != "error":  # a teardown error is listed beside its PASSED: the report shows the error
            found[nodeid] = word.lower()
    return found


def test_the_report_holds_every_item_with_pytests_outcome_and_totals(project: pytest.Pytester) -> None:
    (project.path / "names.chat.yaml").write_text(
        "---\n".join(_scenario(n, ok) for n, ok in NAMES.items()), encoding="utf-8"
    )
    (project.path / "good.chat.yaml").write_text(_scenario("the good file", True))
    bad = ROOT / "tests" / "data" / "bad"
    for name in ("39-regex-overflow", "40-deep-nesting"):
        (project.path / f"{name}.chat.yaml").write_text((bad / f"{name}.chat.yaml").read_text())
    (project.path / "conftest.py").write_text(CONFTEST)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "-rA", "--chat-report", "reports")
    outcomes = result.parseoutcomes()
    # the good file and the names ran; the two bad files are invalid items, not a stopped run
    assert outcomes == {"passed": 5, "failed": 6, "errors": 1}, outcomes
    out = result.stdout.str()
    assert (
        "invalid scenario file: 39-regex-overflow.chat.yaml:6: " in out
        and "invalid scenario file: 40-deep-nesting.chat.yaml:6: " in out
    )
    assert "Traceback" not in out and "INTERNALERROR" not in out

    report = project.path / "reports" / "report.html"
    totals = _report_totals(report)
    assert {("errors" if k == "error" else k): n for k, n in totals.items() if n} == outcomes
    expected = _pytest_outcomes(out)
    assert len(expected) == 11 and _report_runs(report) == expected
    assert len(list((project.path / "reports" / "transcripts").glob("*.json"))) == 11
    shown = report.read_text(encoding="utf-8")
    assert "the project&#39;s fixture failed in its teardown" in shown  # the teardown error, not only a red badge
    assert "40-deep-nesting.chat.yaml:6: the file nests mappings and lists more than 50 levels deep" in shown


def test_a_bug_of_the_harness_is_one_paragraph_and_a_traceback_artifact(project: pytest.Pytester) -> None:
    """An exception the harness raises by mistake (injected here into the contracts) reaches
    neither the terminal nor the report as a traceback: one paragraph says it is the harness's,
    and the traceback is a file linked from the report."""
    project.makeconftest(
        """
import harness.run.contracts

def _broken(*args, **kwargs):
    raise ZeroDivisionError("injected for the test")

harness.run.contracts.violations = _broken
"""
    )
    project.makefile(".chat.yaml", bug="name: bug\nsteps:\n  - send: hello\n")
    report = project.path / "report"
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-report", str(report))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert (
        "chat-harness itself failed here, a bug in the harness and not in your app: ZeroDivisionError: injected" in out
    )
    assert "Traceback" not in out and 'File "' not in out, out
    (path,) = re.findall(r"its traceback is in (\S+)\. Please report it", out)
    assert "ZeroDivisionError: injected for the test" in Path(path).read_text()
    html = (report / "report.html").read_text()
    assert "chat-harness itself failed here" in html and "Traceback" not in html
    (transcript,) = (report / "transcripts").glob("*.json")
    linked = json.loads(transcript.read_text())["artifacts"]["traceback"]
    assert (report / linked).read_text().startswith("Traceback") and linked in html
