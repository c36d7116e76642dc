"""Serving a fixture app in its own process, on a loopback port, and stopping it."""

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

from harness.target.inprocess import free_port
from harness.target.readiness import wait_until_ready

__all__ = ["ROOT", "model_serve", "serve_model_command", "served", "stop", "wait_until_listening"]

ROOT = Path(__file__).resolve().parents[2]  # the repository


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


def serve_model_command(script: Path) -> list[str]:
    """``chat-harness model serve`` with a script file, as a command line."""
    return [sys.executable, "-m", "harness.cli", "model", "serve", "--script", str(script)]


@contextmanager
def model_serve(script: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``chat-harness model serve`` in a process of its own: its base URL (read from its first line)
    and the process, whose further output the caller may read; stopped afterwards."""
    process = subprocess.Popen(
        serve_model_command(script), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("scripted model at http://127.0.0.1:"), first
        yield first.split()[3], process
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=10)
