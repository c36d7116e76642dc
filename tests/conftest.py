"""Shared test helpers: serving a fixture app in its own process, on a loopback port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.target import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def served(module: str, timeout: float = 60.0) -> Iterator[str]:
    """Run ``python -m <module> --port N`` and yield its URL; the process is stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**__import__("os").environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_ready(url, timeout, process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project folder whose pytest runs can import the harness and the fixture apps."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    return pytester


@pytest.fixture(scope="session")
def reference_url() -> Iterator[str]:
    with served("fixtures.reference_app") as url:
        yield url


@pytest.fixture(scope="session")
def chat_interface_url() -> Iterator[str]:
    with served("fixtures.chat_interface_app") as url:
        yield url
