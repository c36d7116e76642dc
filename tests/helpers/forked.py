"""Pytest runs a test starts, each in a process of its own forked from one that has already imported
Gradio and Playwright.

``runpytest_forked(pytester, *args)`` is ``pytester.runpytest_subprocess(*args)`` without the cost
of a new interpreter: the run gets its own process, working folder, environment, ``--basetemp``,
output and exit code as a subprocess run does, but it starts from a fork of multiprocessing's fork
server, which imported Gradio (5 s on a 2-core machine), gradio_client and Playwright once per pytest
process. Nothing the fork server imported reads the environment when imported in a way a run may
change (``import gradio`` starts no thread and reads nothing a test sets), and no fixture app, no
conftest and no scenario is imported before the fork.

Runs that set, before they start, something read only at import time keep
``pytester.runpytest_subprocess``: ``HF_ENDPOINT`` (huggingface_hub reads it on import) and a
``PYTHONPATH`` that must decide which copy of a module is imported.

This module is also a pytest plugin (``tests/conftest.py``): it stops the fork server and its
resource tracker when the session ends, before the leak check looks for processes left running.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.resource_tracker
import os
import sys
import time
from pathlib import Path

import pytest
from _pytest.pathlib import make_numbered_dir

__all__ = ["runpytest_forked"]

# not the pytest plugins (the harness, pytest-playwright, xdist): pytest rewrites the asserts of a
# plugin it imports itself, and warns about one imported before it
PRELOAD = ["gradio", "gradio_client", "playwright.sync_api"]
# Gradio imports anyio, which is also a pytest plugin (its entry point): the one warning left
ANYIO_WARNING = "ignore:Module already imported so cannot be rewritten; anyio:pytest.PytestAssertRewriteWarning"

_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(PRELOAD)


def runpytest_forked(pytester: pytest.Pytester, *args: str | os.PathLike[str]) -> pytest.RunResult:
    """Run pytest with ``args`` in a forked process, as ``runpytest_subprocess`` runs it in a new one."""
    __tracebackhide__ = True
    basetemp = make_numbered_dir(root=pytester.path, prefix="runpytest-", mode=0o700)
    argv = [f"--basetemp={basetemp}", "-W", ANYIO_WARNING, *map(str, args)]
    out, err = pytester.path / "stdout", pytester.path / "stderr"
    cwd = os.getcwd()
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [cwd, environ.get("PYTHONPATH", "")]))  # as pytester's
    print("running (forked):", *argv)
    print("     in:", cwd)
    started = time.monotonic()
    process = _forks.Process(target=_pytest_main, args=(argv, cwd, environ, str(out), str(err)), name="pytest run")
    process.start()
    process.join()
    duration = time.monotonic() - started
    outlines, errlines = _lines(out), _lines(err)
    if outlines:
        print("\n".join(outlines))
    if errlines:
        print("\n".join(errlines), file=sys.stderr)
    # a negative code: the run was killed by that signal (RunResult makes a known code an ExitCode)
    return pytest.RunResult(process.exitcode, outlines, errlines, duration)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


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
    code = pytest.main(argv)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(int(code))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish() -> None:
    """Stop the fork server (and the resource tracker it started) if this process started one."""
    multiprocessing.forkserver._forkserver._stop()
    multiprocessing.resource_tracker._resource_tracker._stop()
