"""The suite pointed at deployed apps: a separate server by URL behind nginx under a path prefix,
Gradio 5.50, an app with ``auth=``, a Space resolved through the Hub with a token; how each way of
not being ready ends (and how fast); the token and the password in no output or artifact.
"""

from __future__ import annotations

import json
import re
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.errors import TargetError
from harness.output.secrets import MASK
from harness.spec.loader import load_file
from harness.target.credentials import Credentials
from harness.target.remote import prepare
from tests.helpers.bundled import assert_all_pass, run_bundled
from tests.helpers.deployed import FakeHub, behind_nginx, fake_hub, gradio5_python, recording_server
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT, served

SUBMIT = str(ROOT / "scenarios" / "submit.chat.yaml")
PASSWORD = "s3cret-pw-5XQ2"  # the auth app's password: must appear in no output
TOKEN = "hf_testtoken_9JkQ2vX7pL"  # a fake Hugging Face token: must appear in no output or artifact


def _run(runner: pytest.Pytester, *args: str, fresh_interpreter: bool = False) -> pytest.RunResult:
    """A pytest run of ``args``; ``fresh_interpreter`` for a run whose environment is read on import."""
    args = ("-p", "no:cacheprovider", "-rs", "--rootdir", str(ROOT), *args)
    return runner.runpytest_subprocess(*args) if fresh_interpreter else runpytest_forked(runner, *args)


# -- the bundled scenarios against each deployed shape --------------------------------------------


@pytest.mark.slow
def test_bundled_pass_behind_nginx_under_a_path_prefix(runner: pytest.Pytester, tmp_path: Path) -> None:
    with (
        served("fixtures.reference_app", args=["--root-path", "/apps/chat"]) as upstream,
        behind_nginx(upstream, "/apps/chat", tmp_path / "nginx") as url,
    ):
        assert httpx.get(url + "config").json()["root"].rstrip("/").endswith("/apps/chat")
        result = run_bundled(runner, "--driver", "all", "--chat-url", url)
    assert_all_pass(result, "reference")
    result.stdout.fnmatch_lines([f"chat-harness target: {url} (Gradio *, mode blocks)"])


@pytest.mark.slow
@pytest.mark.parametrize("app", ["reference", "chat_interface"])
def test_bundled_pass_on_gradio_5(runner: pytest.Pytester, app: str) -> None:
    python = gradio5_python()
    with served(f"fixtures.{app}_app", python=python) as url:
        config = httpx.get(url + "config").json()
        assert config["version"].startswith("5.50")
        result = run_bundled(runner, "--driver", "all", "--chat-url", url)
    assert_all_pass(result, app, served_config=config)
    result.stdout.fnmatch_lines(["chat-harness target: * (Gradio 5.50.*, mode *)"])


# what a login can break: the page's session, uploads (their cookie), a gradio_client call, the
# event graph of edit and clear; the other bundled files add nothing a login touches
LOGIN_FILES = ("submit.chat.yaml", "files.chat.yaml", "edit.chat.yaml", "endpoint.chat.yaml", "clear.chat.yaml")


@pytest.mark.slow
def test_bundled_scenarios_pass_on_an_app_with_a_login(
    runner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_HARNESS_AUTH", f"tester:{PASSWORD}")  # the environment, not argv: ps shows argv
    with served("fixtures.reference_app", env={"FIXTURE_AUTH": f"tester:{PASSWORD}"}, ready=False) as url:
        assert httpx.get(url + "config").status_code == 401
        result = run_bundled(runner, "--driver", "all", "--chat-url", url, files=LOGIN_FILES)
    assert_all_pass(result, "reference", files=LOGIN_FILES)
    assert PASSWORD not in result.stdout.str() + result.stderr.str()


def test_the_password_is_in_no_output_or_artifact(runner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both drivers log in (the browser types the password into the login page, which Playwright's
    trace records); a failing scenario leaves every kind of artifact; none holds the password."""
    failing = runner.path / "failing.chat.yaml"
    failing.write_text("name: fails on purpose\nsteps:\n  - send: hello\n  - expect:\n      history: {length: 5}\n")
    monkeypatch.setenv("CHAT_HARNESS_AUTH", f"tester:{PASSWORD}")
    reports = runner.path / "reports"
    with served("fixtures.reference_app", env={"FIXTURE_AUTH": f"tester:{PASSWORD}"}, ready=False) as url:
        result = _run(
            runner, str(failing), "--driver", "all", "--chat-url", url, "--junitxml", str(runner.path / "report.xml"),
            "--tracing", "on", "--output", str(runner.path / "test-results"), "--chat-report", str(reports),
        )  # fmt: skip
    result.assert_outcomes(failed=2, skipped=1)
    assert (reports / "report.html").is_file() and len(list((reports / "transcripts").glob("*.json"))) == 3
    traces = list((runner.path / "test-results").rglob("trace.zip"))
    assert traces, "no trace: the search would prove nothing"
    with zipfile.ZipFile(traces[0]) as archive:  # the login was recorded, and masked
        assert any(MASK.encode() in archive.read(name) for name in archive.namelist())
    _assert_nowhere(PASSWORD, result, runner.path)


def test_parallel_scenarios_against_one_server_keep_their_own_sessions(
    runner: pytest.Pytester, reference_url: str
) -> None:
    """Replies are numbered per session (#1, #2 ...), so any history or state shared between two
    scenarios run at the same time shows up as a wrong number or an extra message."""
    files = [
        str(ROOT / "scenarios" / f) for f in ("retry.chat.yaml", "undo.chat.yaml", "stream.chat.yaml", "edit.chat.yaml")
    ]
    result = _run(runner, *files, "--driver", "all", "-n", "2", "--chat-url", reference_url)
    # every scenario's api, browser and parity items pass: the parity items found both runs in their worker
    result.assert_outcomes(passed=3 * sum(len(load_file(f)) for f in files))


# -- readiness: each way of not being ready, and how long it takes to say so ----------------------


def test_a_wrong_path_fails_at_once_naming_the_url(runner: pytest.Pytester, reference_url: str) -> None:
    url = reference_url + "no/such/prefix/"
    started = time.monotonic()
    with pytest.raises(TargetError, match=re.escape(f"{url}config answered HTTP 404: nothing there; check the URL")):
        prepare(url=url, timeout=30)
    assert time.monotonic() - started < 2

    result = _run(runner, SUBMIT, "--driver", "all", "--chat-url", url)
    result.assert_outcomes(failed=4, skipped=2)
    result.stdout.fnmatch_lines(
        [
            f"chat-harness target: {url} -- NOT READY: {url}config answered HTTP 404*",
            f"the app under test: {url}config answered HTTP 404*",
        ]
    )


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel does, into the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_a_server_that_never_answers_fails_after_the_ready_timeout(runner: pytest.Pytester, silent_server: str) -> None:
    started = time.monotonic()
    with pytest.raises(
        TargetError, match=re.escape(f"{silent_server} was not ready within 3s; last: no answer within")
    ):
        prepare(url=silent_server, timeout=3)
    assert 2.9 <= time.monotonic() - started < 4.5

    result = _run(runner, SUBMIT, "--chat-url", silent_server, "--chat-ready-timeout", "2")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [f"the app under test: {silent_server} was not ready within 2s; last: no answer within*"]
    )


def test_nothing_listening_is_waited_for_then_named(free_url: str) -> None:
    lines: list[str] = []
    started = time.monotonic()
    with pytest.raises(TargetError, match=re.escape(f"{free_url} was not ready within 2.5s; last: ConnectError")):
        prepare(url=free_url, timeout=2.5, progress=lines.append, interval=1)
    assert 2.4 <= time.monotonic() - started < 4
    assert lines and all(line.startswith(f"waiting for {free_url}: ConnectError") for line in lines)


@pytest.fixture
def free_url() -> str:
    from harness.target.inprocess import free_port

    return f"http://127.0.0.1:{free_port()}/"


def test_a_503_that_turns_into_200_is_waited_for_with_progress(runner: pytest.Pytester) -> None:
    # the warm-up counts from the server's start; pytest's own start takes a few seconds of it
    with served("fixtures.reference_app", env={"FIXTURE_WARMUP_SECONDS": "10"}, ready=False) as url:
        assert httpx.get(url + "config").status_code == 503
        started = time.monotonic()
        result = _run(
            runner, SUBMIT, "--driver", "all", "--chat-url", url, "--junitxml", str(runner.path / "report.xml")
        )
        took = time.monotonic() - started
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            f"chat-harness: waiting for {url}: HTTP 503: Space is starting (*s of 300s)",
            f"chat-harness target: {url} (Gradio *, mode blocks)",
        ]
    )
    assert 6 < took < 60
    report = (runner.path / "report.xml").read_text()
    assert '<property name="gradio_version"' in report and '<property name="app_mode" value="blocks"' in report


def test_a_wrong_password_fails_at_once_on_both_drivers(
    runner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with served("fixtures.reference_app", env={"FIXTURE_AUTH": f"tester:{PASSWORD}"}, ready=False) as url:
        started = time.monotonic()
        with pytest.raises(
            TargetError, match=re.escape(f"{url} refused the user name and password given with --chat-auth (HTTP 400")
        ):
            prepare(url=url, credentials=Credentials(auth=("tester", "wrong-pw")), timeout=30)
        assert time.monotonic() - started < 2
        with pytest.raises(TargetError, match=re.escape(f"{url} asks for a login")):
            prepare(url=url, timeout=30)

        monkeypatch.setenv("CHAT_HARNESS_AUTH", "tester:wrong-pw")
        result = _run(runner, SUBMIT, "--driver", "all", "--chat-url", url)
    result.assert_outcomes(failed=4, skipped=2)
    result.stdout.fnmatch_lines(
        [f"the app under test: {url} refused the user name and password given with --chat-auth*"]
    )
    assert "wrong-pw" not in result.stdout.str()


# -- a Space, through a stand-in for the Hub ------------------------------------------------------


def test_a_space_is_resolved_waited_for_and_its_token_goes_to_its_host_only(
    runner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private Space (the app refuses requests without the token, as the Space proxy does) that
    is still building when the run starts; its page also loads a script from a second origin,
    which must not get the token. A failing scenario makes the browser save its artifacts, and
    every output and artifact of the run is searched for the token."""
    failing = runner.path / "failing.chat.yaml"
    failing.write_text("name: fails on purpose\nsteps:\n  - send: hello\n  - expect:\n      history: {length: 5}\n")
    with recording_server() as (elsewhere, seen_elsewhere):
        head = f'<script src="{elsewhere}probe.js"></script>'
        with served(
            "fixtures.reference_app", args=["--head", head], env={"FIXTURE_SPACE_TOKEN": TOKEN}, ready=False
        ) as host:
            assert httpx.get(host + "config").status_code == 404  # private: nothing without the token
            hub = FakeHub(
                "acme/chatbot", host, ["BUILDING", "BUILDING", "APP_STARTING", "RUNNING"], private_token=TOKEN
            )
            with fake_hub(hub) as endpoint:
                monkeypatch.setenv("HF_ENDPOINT", endpoint)
                monkeypatch.setenv("HF_HUB_OFFLINE", "0")
                monkeypatch.setenv("HF_TOKEN", TOKEN)
                result = _run(
                    runner,
                    SUBMIT,
                    str(failing),
                    "--driver",
                    "all",
                    "--chat-space",
                    "acme/chatbot",
                    "--junitxml",
                    str(runner.path / "report.xml"),
                    "--tracing",
                    "retain-on-failure",
                    "--output",
                    str(runner.path / "test-results"),
                    "--chat-report",
                    str(runner.path / "reports"),
                    fresh_interpreter=True,  # huggingface_hub reads HF_ENDPOINT when imported
                )
    result.assert_outcomes(passed=6, failed=2, skipped=1)
    # the report holds transcripts of every run, the page and the failing run's artifacts: all searched below
    assert (
        len(list((runner.path / "reports" / "transcripts").glob("*.json"))) == 9
        and (runner.path / "reports" / "report.html").is_file()
    )
    (transcript,) = (runner.path / "reports" / "transcripts").glob("*fails-on-purpose-browser-*.json")
    failed = json.loads(transcript.read_text())
    assert (
        (runner.path / "reports" / failed["artifacts"]["trace"]).resolve().is_file()
    )  # pytest-playwright's trace, linked
    result.stdout.fnmatch_lines([f"chat-harness target: Space acme/chatbot at {host} (Gradio *, mode blocks)"])
    assert hub.seen_authorization and set(hub.seen_authorization) == {f"Bearer {TOKEN}"}
    assert seen_elsewhere, "the page did not load the second origin's script: the check below would prove nothing"
    assert not [h for h in seen_elsewhere if TOKEN in " ".join(h.values())]
    _assert_nowhere(TOKEN, result, runner.path)


def _assert_nowhere(secret: str, result: pytest.RunResult, folder: Path) -> None:
    """The secret is in no output of the run and in no file it left (inside zip archives too)."""
    assert secret not in result.stdout.str() + result.stderr.str()
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".zip" for p in files), "no trace was saved: the search would prove nothing"
    for path in files:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    assert secret.encode() not in archive.read(name), f"{path}!{name}"
        else:
            assert secret.encode() not in path.read_bytes(), str(path)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (["RUNTIME_ERROR"], "the Space acme/chatbot is RUNTIME_ERROR, so it will not answer"),
        (["PAUSED"], "the Space acme/chatbot is PAUSED, so it will not answer"),
    ],
)
def test_a_broken_space_fails_at_once(stages: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = FakeHub("acme/chatbot", "http://127.0.0.1:9/", stages)
    with fake_hub(hub) as endpoint:
        monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", endpoint)
        monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
        started = time.monotonic()
        with pytest.raises(TargetError, match=re.escape(message)):
            prepare(space="acme/chatbot", timeout=30)
        assert time.monotonic() - started < 3
        with pytest.raises(
            TargetError,
            match=re.escape("the Hub has no Space acme/other (if it is private, set HF_TOKEN or pass --chat-token)"),
        ):
            prepare(space="acme/other", timeout=30)
