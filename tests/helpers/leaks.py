"""A pytest plugin for this suite: no process a test started outlives the session.

At the end of the session (in every pytest process: the main one and each xdist worker) the
process's children — fixture servers, nginx, browsers, pytester runs, whatever they started — must
be gone (waited for up to 10 s, as a closing browser takes a moment). Any left are listed and
killed, and the run fails (exit code 1).
"""

from __future__ import annotations

import pytest


def leftovers(grace: float) -> list[str]:
    """The children of this process still running after ``grace`` seconds (killed), described."""
    import psutil

    def running(process: psutil.Process) -> bool:
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    children = [child for child in psutil.Process().children(recursive=True) if running(child)]
    _, alive = psutil.wait_procs(children, timeout=grace)  # processes finishing their shutdown
    described = []
    for child in alive:
        if not running(child):
            continue
        try:
            described.append(f"pid {child.pid}: {' '.join(child.cmdline())[:200]}")
            child.kill()
        except psutil.NoSuchProcess:
            continue
    return described


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    left = leftovers(grace=10.0)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["processes started by the tests are still running after the session (now killed):", *left]
        if reporter is not None:
            reporter.write_line("\n".join(lines), red=True)
        print("\n".join(lines))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
