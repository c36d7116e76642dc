"""The suite's own leak check (tests/helpers/leaks.py) catches a process a test forgot to stop."""

from __future__ import annotations

import pytest

from tests.helpers.forked import runpytest_forked


def test_a_forgotten_process_fails_the_session(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import subprocess, sys

        def test_forgets_its_server():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        """
    )
    result = runpytest_forked(project, "-p", "tests.helpers.leaks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "processes started by the tests are still running after the session (now killed):",
            "pid *: * -c import time; time.sleep(60)",
        ]
    )


def test_a_tidy_session_passes(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import subprocess, sys

        def test_stops_its_server():
            process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            process.kill()
            process.wait()
        """
    )
    result = runpytest_forked(project, "-p", "tests.helpers.leaks", "-p", "no:cacheprovider")
    assert result.ret == 0
