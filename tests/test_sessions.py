"""--chat-sessions N: a scenario as N simultaneous API sessions (state leaks, latency per step)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.helpers.forked import runpytest_forked

EXACT = """\
name: numbered replies
steps:
  - send: hello
  - send: again
  - expect:
      history:
        last:
          - {role: assistant, content: "#2 echo: again"}
"""

FUZZY = """\
name: fuzzy replies
steps:
  - send: hello
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: {contains: "echo: hello"}}
"""


def _run(project: pytest.Pytester, text: str, *args: str) -> pytest.RunResult:
    (project.path / "s.chat.yaml").write_text(text)
    return runpytest_forked(project, "-p", "no:cacheprovider", "s.chat.yaml", "--chat-sessions", "4", *args)


def test_sessions_of_a_sound_app_pass_and_report_latency(project: pytest.Pytester) -> None:
    junit = project.path / "junit.xml"
    result = _run(project, EXACT, "--junitxml", str(junit))
    result.assert_outcomes(passed=2)  # the plain api item and the sessions item
    result.stdout.fnmatch_lines(
        [
            "*= chat-harness simultaneous sessions: seconds per step =*",
            "s.chat.yaml::numbered replies[[]4 sessions[]]",
            # seconds, whatever the machine's load: the bounds are checked on the JUnit property below
            "  step 1 (send) * p50 *.* p95 *.* max *.*  (4 sessions)",
            "  step 2 (send) * p50 *.* p95 *.* max *.*  (4 sessions)",
            "  step 3 (expect) * (4 sessions)",
        ]
    )
    (case,) = [c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name") == "numbered replies[4 sessions]"]
    (prop,) = [p for p in case.iter("property") if p.get("name") == "chat_latency"]
    rows = json.loads(prop.get("value") or "[]")
    assert [r["step"] for r in rows] == ["step 1 (send)", "step 2 (send)", "step 3 (expect)"]
    assert all(0 < r["p50"] <= r["p95"] <= r["max"] < 10 for r in rows[:2]) and rows[0]["sessions"] == 4


def test_a_global_counter_is_caught_by_the_expectations(project: pytest.Pytester) -> None:
    result = _run(project, EXACT, "--chat-app", "fixtures.broken:shared_counter", "-k", "sessions")
    result.assert_outcomes(failed=1, deselected=1)
    out = result.stdout.str()
    assert "4 problem(s) in 4 simultaneous sessions against fixtures.broken:shared_counter" in out
    assert out.count("step 3 (expect) at s.chat.yaml:5: expectation failed") == 4
    assert "content: expected '#2 echo: again', got '#" in out


def test_a_global_counter_is_caught_when_the_expectations_are_fuzzy(project: pytest.Pytester) -> None:
    """Every session's own expectations hold; that the sessions saw different chats gives it away."""
    result = _run(project, FUZZY, "--chat-app", "fixtures.broken:shared_counter", "-k", "sessions")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["session 2 and session 1 disagree: history at step 2 (expect) (s.chat.yaml:4): message 1 differs in content"]
    )
    assert "session 4 and session 1 disagree" in result.stdout.str()
    _run(project, FUZZY, "-k", "sessions").assert_outcomes(passed=1, deselected=1)  # the sound app: they agree
