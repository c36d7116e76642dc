"""Shared test helpers: serving a fixture app in its own process, on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# imported before any test: httpx imports httpcore lazily and keeps the httpcore exception classes
# it saw first; a pytester test's sys.modules snapshot would drop an httpcore first imported during
# that test, the next import would make new classes, and httpx would then let httpcore.ConnectError
# through unmapped (seen as a readiness poll of served() failing with it)
import httpcore  # noqa: F401

# likewise gradio (and numpy under it): a pytester test that happens to import it first would have
# it dropped from sys.modules afterwards, and numpy cannot be imported a second time in a process
import gradio  # noqa: F401
import pytest

from harness.target.inprocess import free_port
from harness.target.readiness import wait_until_ready

pytest_plugins = ["tests.leaks"]

# scenario files the tests feed to the harness on purpose (tests/data/bad*: malformed), not scenarios of this suite
collect_ignore_glob = ["data/*"]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def served(
    module: str,
    timeout: float = 60.0,
    *,
    python: str = sys.executable,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    ready: bool | None = True,
) -> Iterator[str]:
    """Run ``python -m <module> --port N [args]`` and yield its URL; the process is stopped afterwards.

    ``env`` adds variables (``FIXTURE_AUTH``, ``FIXTURE_SPACE_TOKEN``: see ``fixtures._launch``);
    with ``ready=False`` the URL comes once the port listens, for apps whose config a plain GET
    cannot read; with ``ready=None`` at once (a server that is slow to start).
    """
    port = free_port()
    process = subprocess.Popen(
        [python, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        if ready:
            wait_until_ready(url, timeout, process=process)
        elif ready is not None:
            wait_until_listening(port, timeout, process)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_listening(port: int, timeout: float, process: subprocess.Popen[Any] | None = None) -> None:
    """Until something accepts connections on 127.0.0.1:``port`` (bounded; fails if the process exits)."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server process exited with code {process.returncode} before it listened on {port}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:g}s")
        time.sleep(0.05)  # polling a condition with a deadline


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: with ``-n 2`` each worker then starts on one, and the short ones fill the
    gaps at the end, instead of one worker running the last long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _pytest_output_as_on_a_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest runs the tests start print the same here and on CI: with ``CI`` or ``BUILD_NUMBER``
    set, pytest repeats each whole failure message in its short test summary (elsewhere it cuts it to
    one line), which doubles every count of a message in the output."""
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project folder whose pytest runs can import the harness and the fixture apps."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    return pytester


@pytest.fixture
def runner(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project that runs from the repository root, where the bundled scenarios are."""
    monkeypatch.chdir(ROOT)
    return project


@pytest.fixture(scope="session")
def reference_url() -> Iterator[str]:
    with served("fixtures.reference_app") as url:
        yield url


@pytest.fixture(scope="session")
def chat_interface_url() -> Iterator[str]:
    with served("fixtures.chat_interface_app") as url:
        yield url
