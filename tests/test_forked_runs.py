"""The suite's forked pytest runs (tests/helpers/forked.py) behave as ``runpytest_subprocess``'s:
the caller's folder and environment, the run's own outcome, exit code and assertion rewriting; a
change they could not see is refused; a run that dies says so."""

from __future__ import annotations

import os

import pytest

from tests.helpers.forked import runpytest_forked

PROBE = """
import os

def test_folder_and_environment():
    assert os.getcwd() == os.environ["EXPECTED_CWD"]
    assert os.environ["FORKED_PROBE"] == "seen"

def test_fails():
    assert 1 == 2
"""


def test_a_forked_run_has_the_callers_folder_environment_and_its_own_outcome(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORKED_PROBE", "seen")
    monkeypatch.setenv("EXPECTED_CWD", os.getcwd())
    pytester.makepyfile(test_probe=PROBE)
    result = runpytest_forked(pytester, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["E  *assert 1 == 2"])  # the explanation only a rewritten assert has


def test_a_change_read_on_import_is_refused(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    with pytest.raises(pytest.fail.Exception, match=r"cannot see a change to HF_ENDPOINT .* use runpytest_subprocess"):
        runpytest_forked(pytester, "-p", "no:cacheprovider")


def test_a_run_killed_before_it_wrote_anything_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with pytest.raises(pytest.fail.Exception, match="ended with exit code -9 before it wrote anything"):
        runpytest_forked(pytester, "-p", "no:cacheprovider")
