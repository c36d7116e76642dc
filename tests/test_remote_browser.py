"""The browser driver on a browser that runs elsewhere: a Playwright browser server
(``playwright run-server``) started here on loopback, reached with ``--chat-browser-endpoint``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.drivers.browser.launch import find_system_chromium
from harness.target.inprocess import free_port
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT, wait_until_listening

SCENARIOS = [str(ROOT / "scenarios" / name) for name in ("submit.chat.yaml", "files.chat.yaml", "edit.chat.yaml")]


def _chromium() -> str:
    """The Chromium the server starts: a system one, else Playwright's own (the set-up installs one)."""
    found = find_system_chromium()
    if found:
        return found
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return str(playwright.chromium.executable_path)


@pytest.fixture
def browser_server(tmp_path: Path) -> Iterator[tuple[str, psutil.Process, Path]]:
    """A browser server on a free loopback port, its process, and a file where every browser it
    launches writes the pid of the process that launched it (a wrapper around Chromium).

    ``--unsafe`` lets clients choose the executable: this machine has no Playwright browser, the
    server in Playwright's Docker image would not need it."""
    launched = tmp_path / "launched-by"
    wrapper = tmp_path / "chromium"
    wrapper.write_text(f'#!/bin/sh\necho "$PPID" >> {launched}\nexec {_chromium()} "$@"\n')
    wrapper.chmod(0o755)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "playwright", "run-server", "--host", "127.0.0.1", "--port", str(port), "--unsafe"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its node process and the browsers it starts go with it
    )
    try:
        wait_until_listening(port, 30, server)
        yield f"ws://127.0.0.1:{port}/", psutil.Process(server.pid), wrapper
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_scenarios_pass_on_a_browser_from_a_remote_browser_server(
    project: pytest.Pytester, browser_server: tuple[str, psutil.Process, Path]
) -> None:
    endpoint, server, wrapper = browser_server
    result = runpytest_forked(project,
        "-p", "no:cacheprovider", "-rs", *SCENARIOS, "--rootdir", str(ROOT), "--driver", "all",
        "--chat-browser-endpoint", endpoint, "--chat-chromium", str(wrapper),
    )  # fmt: skip
    # submit (2), files (2 + 1 for Gradio 5 only), edit (3): api, browser and parity each
    result.assert_outcomes(passed=3 * 7, skipped=3)
    # one browser for the run, launched by the server (its node process), not by the pytest run
    launchers = {int(pid) for pid in (wrapper.parent / "launched-by").read_text().split()}
    assert launchers and launchers <= {p.pid for p in server.children(recursive=True)}


def test_an_unreachable_browser_server_fails_the_browser_items_clearly(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"ws://127.0.0.1:{free_port()}/"  # nothing listens there
    monkeypatch.setenv("CHAT_HARNESS_BROWSER_ENDPOINT", endpoint)
    started = time.monotonic()
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", SCENARIOS[0], "--rootdir", str(ROOT), "--driver", "all"
    )
    assert time.monotonic() - started < 30
    # the api items pass; the browser items fail, and so parity cannot compare
    result.assert_outcomes(passed=2, failed=2, skipped=2)
    result.stdout.fnmatch_lines(
        [
            f"no browser from the Playwright browser server at {endpoint} "
            "(--chat-browser-endpoint / $CHAT_HARNESS_BROWSER_ENDPOINT): *ECONNREFUSED*; "
            "start one with `playwright run-server --port PORT` on a Playwright * installation "
            "(client and server versions must match)"
        ]
    )
    assert "Traceback" not in result.stdout.str()
