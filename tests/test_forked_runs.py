"""The suite's forked pytest runs (tests/helpers/forked.py) behave as ``runpytest_subprocess``'s:
the caller's folder and environment, the run's own outcome and exit code, nothing preloaded that a
run would import itself."""

from __future__ import annotations

import os

import pytest

from tests.helpers.forked import runpytest_forked

PROBE = """
import os, sys

def test_folder_and_environment():
    assert os.getcwd() == os.environ["EXPECTED_CWD"]
    assert os.environ["FORKED_PROBE"] == "seen"

def test_no_fixture_app_imported_before_the_run():
    assert "fixtures.reference_app" not in sys.modules

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
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*assert 1 == 2*"])  # the run's own assertion rewriting
