"""The browser driver as a user meets it: finding a browser, missing icons, artifacts, parity,
pytest-playwright's options, and the load events both drivers run."""

from __future__ import annotations

import functools
import http.server
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.browser.driver import PAGE_SCRIPT, BrowserDriver
from harness.drivers.browser.launch import QUIET_CHROMIUM_ARGS, launch_with_fallback
from harness.errors import BrowserNotFound, Location, TargetError
from harness.gradio.history import Message
from harness.run.checks import Observation
from harness.run.parity import compare_runs
from harness.run.runner import RunResult, StepResult
from harness.spec.loader import load_file
from harness.spec.model import Expectation, Scenario
from harness.spec.steps import Expect
from harness.target.app import Target
from tests.helpers.deployed import serving
from tests.helpers.forked import runpytest_forked

# -- finding a browser --------------------------------------------------------------------------


class FakeLaunch:
    """Stands for pytest-playwright's launch callable; fails like Playwright when its browser is missing."""

    def __init__(self, installed: bool) -> None:
        self.installed = installed
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> str:
        from playwright.sync_api import Error

        self.calls.append(kwargs)
        if not self.installed and "executable_path" not in kwargs:
            raise Error("BrowserType.launch: Executable doesn't exist at /root/.cache/ms-playwright/chromium-1/chrome")
        return "browser"


def _fake_chromium(folder: Path, name: str = "chromium") -> Path:
    exe = folder / name
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    return exe


def test_playwrights_own_chromium_is_used_when_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    _fake_chromium(tmp_path)
    launch = FakeLaunch(installed=True)
    assert launch_with_fallback(launch, "chromium", {}, None) == "browser"
    assert len(launch.calls) == 1 and "executable_path" not in launch.calls[0]
    assert set(QUIET_CHROMIUM_ARGS) <= set(launch.calls[0]["args"])


@pytest.mark.parametrize("name", ["chromium", "chromium-browser", "google-chrome"])
def test_a_system_chromium_on_path_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    exe = _fake_chromium(tmp_path, name)
    launch = FakeLaunch(installed=False)
    launch_with_fallback(launch, "chromium", {"args": ["--lang=en"]}, None)
    assert launch.calls[-1]["executable_path"] == str(exe)
    assert launch.calls[-1]["args"][0] == "--lang=en" and "--disable-background-networking" in launch.calls[-1]["args"]


def test_an_explicit_path_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "")
    exe = _fake_chromium(tmp_path, "my-chrome")
    launch = FakeLaunch(installed=True)
    launch_with_fallback(launch, "chromium", {}, str(exe))
    assert launch.calls == [{"args": list(QUIET_CHROMIUM_ARGS), "executable_path": str(exe)}]


def test_no_browser_anywhere_says_how_to_install_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserNotFound) as info:
        launch_with_fallback(FakeLaunch(installed=False), "chromium", {}, None)
    message = str(info.value)
    assert "no Chromium found" in message
    assert (
        "playwright install chromium" in message
        and "apt-get install chromium" in message
        and "CHAT_HARNESS_CHROMIUM" in message
    )


def test_a_wrong_explicit_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound, match="does not exist or is not executable"):
        launch_with_fallback(FakeLaunch(installed=True), "chromium", {}, str(tmp_path / "nope"))


def test_other_browsers_and_channels_are_left_to_playwright() -> None:
    launch = FakeLaunch(installed=True)
    launch_with_fallback(launch, "firefox", {}, None)
    launch_with_fallback(launch, "chromium", {"channel": "chrome"}, None)
    assert launch.calls == [{}, {}]
    with pytest.raises(BrowserNotFound, match="playwright install firefox"):
        launch_with_fallback(FakeLaunch(installed=False), "firefox", {}, None)


# -- parity, as a pure comparison -----------------------------------------------------------------


def _run(driver: str, histories: list[list[Message]], components: dict[str, Any] | None = None) -> RunResult:
    scenario = Scenario("s", (), location=None)  # type: ignore[arg-type]
    result = RunResult(scenario, driver)
    for number, history in enumerate(histories, start=1):
        step = Expect(number=number, location=Location("s.chat.yaml", number), expectation=Expectation())
        result.steps.append(StepResult(step, 0.0, observation=Observation(history, dict(components or {}))))
    result.final_history = histories[-1] if histories else []
    return result


def test_parity_holds_for_equal_runs_and_ignores_what_the_page_shows() -> None:
    hi = [Message("user", "hi"), Message("assistant", "echo: hi")]
    shown = [Message("user", "hi", shown="hi"), Message("assistant", "echo: hi", shown="echo: hi")]
    assert compare_runs(_run("api", [hi]), _run("browser", [shown])) == []


def test_parity_names_the_step_and_both_values() -> None:
    a = _run("api", [[Message("user", "hi")], [Message("user", "hi"), Message("assistant", "A")]])
    b = _run("browser", [[Message("user", "hi")], [Message("user", "hi"), Message("assistant", "B")]])
    (problem,) = compare_runs(a, b)
    assert problem.startswith("history at step 2 (expect) (s.chat.yaml:2): message 1 differs in content")
    assert '"content": "A"' in problem and '"content": "B"' in problem


def test_parity_compares_asserted_components() -> None:
    (problem,) = compare_runs(_run("api", [[]], {"Feedback": "like"}), _run("browser", [[]], {"Feedback": ""}))
    assert problem.startswith("component 'Feedback' at step 1 (expect)")


# -- end to end, through pytest ------------------------------------------------------------------


def test_a_missing_icon_fails_at_once_saying_so(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", retry="name: retry without a handler\nsteps:\n  - send: hello\n  - retry: {}\n")
    started = time.monotonic()
    result = runpytest_forked(
        project,
        "-p",
        "no:cacheprovider",
        "--driver",
        "browser",
        "--chat-app",
        "fixtures.odd_apps:no_handlers",
        "--chat-timeout",
        "60",
    )
    elapsed = time.monotonic() - started
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "step 2 (retry) at retry.chat.yaml:4: cannot perform step",
            "  the Retry icon is not on the page for message 1 (the app has no .retry() handler on the chatbot 'Chat')",
        ]
    )
    assert "Timeout" not in result.stdout.str()
    assert elapsed < 45, f"took {elapsed:.0f}s: it waited instead of looking"


FAILING = """name: wrong reply
steps:
  - send: hello
  - expect:
      history: {last: [{role: assistant, content: "#1 echo: goodbye"}]}
"""


def test_a_failing_browser_scenario_leaves_screenshot_trace_and_text(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", wrong=FAILING)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--driver", "browser", "--output", "artifacts")
    result.assert_outcomes(failed=1)
    shown = "artifacts/wrong-chat-yaml-wrong-reply-browser"  # under --output, relative to the working directory
    folder = project.path / shown
    result.stdout.fnmatch_lines(
        [
            "artifacts:",
            f"  screenshot: {shown}/screenshot.png",
            f"  visible text: {shown}/chat.txt",
            f"  trace: {shown}/trace.zip",
            "  (open the trace with: playwright show-trace *trace.zip)",
        ]
    )
    assert (folder / "screenshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "chat.txt").read_text() == "0. user: hello\n1. assistant: #1 echo: hello\n"
    with zipfile.ZipFile(folder / "trace.zip") as trace:
        assert any(name.endswith(".trace") for name in trace.namelist())


def test_pytest_playwright_options_keep_working(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", wrong=FAILING)
    result = runpytest_forked(
        project,
        "-p",
        "no:cacheprovider",
        "--driver",
        "browser",
        "--output",
        "out",
        "--tracing",
        "retain-on-failure",
        "--screenshot",
        "only-on-failure",
    )
    result.assert_outcomes(failed=1)
    folder = project.path / "out" / "wrong-chat-yaml-wrong-reply-browser"
    names = sorted(p.name for p in folder.iterdir())
    # pytest-playwright's own trace and end-of-test screenshot, beside the harness's failure screenshot
    assert "trace.zip" in names and "test-failed-1.png" in names and "screenshot.png" in names, names


def test_a_wrong_chromium_path_is_one_clear_message(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", good="name: echo\nsteps:\n  - send: hi\n")
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", "--driver", "browser", "--chat-chromium", "/nonexistent/chromium"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the Chromium executable '/nonexistent/chromium' (from --chat-chromium / $CHAT_HARNESS_CHROMIUM) "
            "does not exist or is not executable*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_parity_failure_is_its_own_item(project: pytest.Pytester) -> None:
    project.makefile(
        ".chat.yaml",
        either="""name: either client
parity: exact  # a text checked with a fuzzy matcher is equal on both drivers, not just matched
steps:
  - send: hi
  - expect:
      history: {last: [{role: assistant, content: {startswith: "echo: hi"}}]}
""",
    )
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", "--driver", "all", "--chat-app", "fixtures.odd_apps:client_dependent"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*scenario 'either client' (either.chat.yaml:1): the api and browser drivers disagree",
            "history at step 2 (expect) (either.chat.yaml:5): message 1 differs in content",
            '  api    : *"echo: hi (seen by the api)"*',
            '  browser: *"echo: hi (seen by the browser)"*',
        ]
    )


def test_load_events_run_on_both_drivers(project: pytest.Pytester) -> None:
    project.makefile(
        ".chat.yaml",
        greet="""name: greeting first
steps:
  - expect:
      history: [{role: assistant, content: "Hello! Ask me anything."}]
  - send: hi
  - expect:
      history: {length: 3}
""",
    )
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", "--driver", "all", "--chat-app", "fixtures.odd_apps:greeting"
    )
    result.assert_outcomes(passed=3)


def test_browser_found_on_this_machine(browser: Any) -> None:
    """The set-up installed a browser the harness finds by itself (no option, no variable)."""
    assert os.environ.get("CHAT_HARNESS_CHROMIUM") is None
    assert browser.version


def test_a_slow_app_times_out_naming_what_was_awaited(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", slow="name: too slow\nsteps:\n  - send: hi\n")
    started = time.monotonic()
    result = runpytest_forked(
        project,
        "-p",
        "no:cacheprovider",
        "--driver",
        "all",
        "--chat-app",
        "fixtures.odd_apps:slow",
        "--chat-timeout",  # also the budget of opening the page: 1 s was too tight on a busy machine
        "3",  # the app takes 4 s
    )
    elapsed = time.monotonic() - started
    result.assert_outcomes(failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*the app under test during step 1 (send) at slow.chat.yaml:3: "
            "timed out after 3s waiting for the app's /_slow_reply handler to finish",
            "*the app under test during step 1 (send) at slow.chat.yaml:3: "
            "timed out after 3s waiting for the app to finish step 1 (send): "
            "a call to the app's handler (/_slow_reply) is still running after 3.?s*",
        ]
    )
    assert elapsed < 40


def test_a_page_that_does_not_show_what_the_app_sent_fails(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", shown="name: reply shown\nsteps:\n  - send: hi\n")
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", "--driver", "browser", "--chat-app", "fixtures.odd_apps:page_hides_replies"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "step 1 (send) at shown.chat.yaml:3: the page does not show what the app sent",
            "after step 1 (send) the app sent 2 messages (user, assistant) but the page shows 1 (user)",
            "page shows:",
            "0. user: hi",
        ]
    )


# -- page.js: what counts as work -----------------------------------------------------------------

FAKE_APP = "http://127.0.0.1:9/gradio_api/"  # every request is answered by a route: nothing is contacted


@contextmanager
def page_script_page(browser: Any) -> Iterator[Any]:
    """A blank page at FAKE_APP with the driver's page script in it (its context closed afterwards)."""
    context = browser.new_context()
    try:
        context.add_init_script(script=PAGE_SCRIPT)
        page = context.new_page()
        page.route(
            FAKE_APP + "page",
            lambda route: route.fulfill(body="<html><body>app</body></html>", content_type="text/html"),
        )
        yield page
    finally:
        context.close()


def test_an_event_the_page_stops_listening_for_stops_counting_as_work(browser: Any) -> None:
    """The server closes the page's event stream while an event it joined has not finished, or the
    event is joined after the stream closed and the page opens no other (Gradio fires a custom
    feedback option twice; the stream can close between the two): nobody will hear that event's
    end, so once the page has not listened for a while the idle wait must not hang on it."""
    with page_script_page(browser) as page:
        page.route(FAKE_APP + "queue/join", lambda route: route.fulfill(json={"event_id": "e2"}))
        page.route(
            FAKE_APP + "queue/data?**",
            lambda route: route.fulfill(
                body='data: {"msg": "close_stream"}\n\n', headers={"content-type": "text/event-stream"}
            ),
        )
        page.goto(FAKE_APP + "page")
        page.evaluate(
            "(base) => fetch(base + 'queue/join', {method: 'POST', body: JSON.stringify({fn_index: 9})})", FAKE_APP
        )
        (reason,) = page.evaluate("() => window.__chatHarness.busy(null, null)")
        assert "(fn 9) is still running" in reason
        page.evaluate("(base) => fetch(base + 'queue/data?session_hash=s').then((r) => r.text())", FAKE_APP)
        page.wait_for_function("() => window.__chatHarness.busy(null, null).length === 0", timeout=5_000)
        # joined after the stream closed, and the page opens no new one
        page.evaluate(
            "(base) => fetch(base + 'queue/join', {method: 'POST', body: JSON.stringify({fn_index: 9})})", FAKE_APP
        )
        assert len(page.evaluate("() => window.__chatHarness.busy(null, null)")) == 1
        page.wait_for_function("() => window.__chatHarness.busy(null, null).length === 0", timeout=5_000)
        kinds = [e["kind"] for e in page.evaluate("() => window.__chatHarness.take()")]
        assert kinds.count("orphaned") == 2


# -- a page whose config cannot be read -----------------------------------------------------------

# waits like a Gradio page (a config with components) but holds a value JSON cannot write
UNREADABLE = "<html><body><script>window.gradio_config = {components: [], size: 10n};</script></body></html>"


def test_a_config_the_page_cannot_hand_over_is_one_clear_error(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "s.chat.yaml").write_text("name: hello\nsteps:\n  - send: hi\n")
    (scenario,) = load_file(tmp_path / "s.chat.yaml")
    (tmp_path / "index.html").write_text(UNREADABLE)
    with serving(functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))) as url:
        driver = BrowserDriver(Target(url, url), timeout=5, new_context=browser.new_context, trace=False)
        try:
            with pytest.raises(TargetError, match=r"could not read the app's config from the page at .*BigInt"):
                driver.open(scenario)
        finally:
            driver.close()


def test_a_wait_whose_condition_throws_ends_at_once_with_the_error(browser: Any) -> None:
    """The page script's waits run their condition from timers: one that throws there must end the
    wait with its error, not leave the driver's evaluate waiting for good (it has no timeout)."""
    with page_script_page(browser) as page:
        page.goto(FAKE_APP + "page")
        outcome = page.evaluate(
            """() => Promise.race([
                window.__chatHarness.until("idle", [null, "not an element", 0, false], 50, 60000, 100)
                    .then(() => "ended without the error", (e) => "failed: " + e.name),
                new Promise((resolve) => setTimeout(() => resolve("still waiting after 3 s"), 3000)),
            ])"""
        )
        assert outcome == "failed: TypeError"
