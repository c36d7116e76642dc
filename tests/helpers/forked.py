"""Pytest runs a test starts, each in a process of its own forked from one that has already imported
Gradio and Playwright.

``runpytest_forked(pytester, *args)`` is ``pytester.runpytest_subprocess(*args)`` without the cost
of a new interpreter: the run gets its own process, working folder, environment, ``--basetemp``,
output and exit code as a subprocess run does, but it starts from a fork of multiprocessing's fork
server, which imported Gradio (5 s on a 2-core machine), gradio_client and Playwright once per pytest
process. No fixture app, conftest or scenario is imported before the fork.

Where a forked run differs from a fresh interpreter:

* what the preloaded modules read from the environment when imported, they read once, from the
  session's environment: a run whose test changes one of ``IMPORT_TIME_SETTINGS`` is refused (use
  ``runpytest_subprocess``: the Space test does, for ``HF_ENDPOINT``);
* ``sys.path`` is the session's with the run's folder and ``PYTHONPATH`` put first, and ``tests``
  and its helpers are already imported;
* exit handlers run right after pytest returns, then the process ends.

This module is also a pytest plugin (``tests/conftest.py``): it notes the session's environment at
its start, and stops the fork server (and its resource tracker) at its end, before the leak check
looks for processes left running.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _pytest.pathlib import make_numbered_dir

__all__ = ["IMPORT_TIME_SETTINGS", "runpytest_forked"]

# not the pytest plugins (the harness, pytest-playwright, xdist): pytest rewrites the asserts of a
# plugin it imports itself, and warns about one imported before it
PRELOAD = ["gradio", "gradio_client", "playwright.sync_api"]
# Gradio imports anyio, which is also a pytest plugin (its entry point): the one warning left
ANYIO_WARNING = "ignore:Module already imported so cannot be rewritten; anyio:pytest.PytestAssertRewriteWarning"
#: variables the preloaded modules read when imported (huggingface_hub's constants, Gradio's server
#: defaults and temporary folder): a forked run would not see a test's change to them
IMPORT_TIME_SETTINGS = (
    "HF_ENDPOINT",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "HF_HUB_CACHE",
    "GRADIO_SERVER_NAME",
    "GRADIO_SERVER_PORT",
    "GRADIO_ROOT_PATH",
    "GRADIO_TEMP_DIR",
)

_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(PRELOAD)
_session_environ: dict[str, str] = {}


def runpytest_forked(pytester: pytest.Pytester, *args: str | os.PathLike[str]) -> pytest.RunResult:
    """Run pytest with ``args`` in a forked process, as ``runpytest_subprocess`` runs it in a new one."""
    __tracebackhide__ = True
    basetemp = make_numbered_dir(root=pytester.path, prefix="runpytest-", mode=0o700)
    argv = [f"--basetemp={basetemp}", "-W", ANYIO_WARNING, *map(str, args)]
    out, err = pytester.path / "stdout", pytester.path / "stderr"
    for path in (out, err):  # an earlier run's output never passes for this one's
        path.write_bytes(b"")
    cwd = os.getcwd()
    environ = dict(os.environ)
    changed = [name for name in IMPORT_TIME_SETTINGS if environ.get(name) != _session_environ.get(name)]
    if _session_environ and changed:
        names = ", ".join(changed)
        pytest.fail(f"a forked run cannot see a change to {names} (read on import): use runpytest_subprocess")
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [cwd, environ.get("PYTHONPATH", "")]))  # as pytester's
    print("running (forked):", *argv)
    print("     in:", cwd)
    started = time.monotonic()
    with _session_environment():  # the fork server, if this starts it, imports Gradio in the session's environment
        process = _forks.Process(target=_pytest_main, args=(argv, cwd, environ, str(out), str(err)), name="pytest run")
        process.start()
    try:
        process.join()
    finally:
        if process.is_alive():  # the test was interrupted: the run goes with it
            process.kill()
            process.join()
    duration = time.monotonic() - started
    outlines, errlines = _lines(out), _lines(err)
    if outlines:
        print("\n".join(outlines))
    if errlines:
        print("\n".join(errlines), file=sys.stderr)
    if process.exitcode != 0 and not outlines and not errlines:
        pytest.fail(f"the forked pytest run ended with exit code {process.exitcode} before it wrote anything")
    # a negative code: the run was killed by that signal (RunResult makes a known code an ExitCode)
    return pytest.RunResult(process.exitcode, outlines, errlines, duration)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


@contextmanager
def _session_environment() -> Iterator[None]:
    current = dict(os.environ)
    if _session_environ:
        os.environ.clear()
        os.environ.update(_session_environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(current)


def _pytest_main(argv: list[str], cwd: str, environ: dict[str, str], out: str, err: str) -> None:
    """In the forked process: take the run's folder, environment, import path and output files, run
    pytest, and end as an interpreter does (exit handlers, then the exit code)."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:0] = [cwd, *filter(None, environ["PYTHONPATH"].split(os.pathsep))]
    for fd, path in ((1, out), (2, err)):
        sys.stdout.flush()
        sys.stderr.flush()
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    try:
        code = pytest.main(argv)
    finally:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(int(code))


def pytest_sessionstart() -> None:
    _session_environ.update(os.environ)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    """Stop the fork server (and the resource tracker it started) if this process started one; a run
    still going would keep the server waiting, so it is killed first (the leak check reports it)."""
    for process in multiprocessing.active_children():
        process.kill()
        process.join()
    multiprocessing.forkserver._forkserver._stop()
    multiprocessing.resource_tracker._resource_tracker._stop()
