"""Warm browser contexts keep each scenario isolated: a scenario run in a reused context sees no
history, cookie, localStorage entry or saved conversation of the one before, and gets its own
Gradio session. And the check can fail: without the clearing, the leak shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.drivers.browser.contexts import WarmContexts
from harness.drivers.browser.driver import BrowserDriver, prepare_context
from harness.run.runner import run_scenario
from harness.spec.loader import load_text
from harness.spec.model import Scenario
from harness.target.app import Target
from harness.target.inprocess import InProcessApp

SCENARIO = "name: chat\nsteps:\n  - send: first secret\n"


@pytest.fixture(scope="module")
def saved_history() -> Iterator[Target]:
    app = InProcessApp("fixtures.odd_apps:saved_history")
    try:
        yield app.start()
    finally:
        app.close()


def _scenario() -> Scenario:
    (scenario,) = load_text(SCENARIO, "warm.chat.yaml")
    return scenario


def _leave_traces(driver: BrowserDriver, scenario: Scenario) -> None:
    """What a scenario leaves in the browser: a chat (saved by save_history), a cookie, storage."""
    run_scenario(scenario, driver)
    page = driver.chat.page
    page.evaluate("() => { localStorage.setItem('leak', 'yes'); sessionStorage.setItem('leak', 'yes'); }")
    driver.context.add_cookies([{"name": "leak", "value": "yes", "url": driver.target.url}])


def _what_is_left(driver: BrowserDriver) -> dict[str, Any]:
    page = driver.chat.page
    return {
        "history": [m.text for m in driver.history()],
        "cookies": [c["name"] for c in driver.context.cookies()],
        "localStorage": page.evaluate("() => localStorage.getItem('leak')"),
        "sessionStorage": page.evaluate("() => sessionStorage.getItem('leak')"),
        "saved chats": "first secret" in page.locator("body").inner_text(),
    }


def _two_scenarios(
    browser: Any, target: Target, kind: type[WarmContexts] = WarmContexts
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """Two scenarios one after the other in warm contexts of ``kind``: what the first left on its
    page, what the second finds, and whether the second got the first one's context."""
    contexts = kind(browser, {}, prepare_context)
    try:
        scenario = _scenario()
        first = BrowserDriver(target, 30, contexts=contexts)
        first.open(scenario)
        _leave_traces(first, scenario)
        seen_first = _what_is_left(first)
        context = first.context
        first.close()
        second = BrowserDriver(target, 30, contexts=contexts)
        second.open(scenario)
        try:
            reused = second.context is context
            left = _what_is_left(second)
            result = run_scenario(scenario, second)
            left["first reply"] = result.final_history[-1].text
        finally:
            second.close()
    finally:
        contexts.close()
    return seen_first, left, reused


def test_a_reused_context_keeps_nothing_of_the_scenario_before(browser: Any, saved_history: Target) -> None:
    before, after, reused = _two_scenarios(browser, saved_history)
    assert reused, "the second scenario did not get the warm context: the check would prove nothing"
    assert before["history"] == ["first secret", "#1 echo: first secret"] and "leak" in before["cookies"]
    assert before["localStorage"] == "yes" and before["sessionStorage"] == "yes"
    assert after == {
        "history": [],
        "cookies": [],
        "localStorage": None,
        "sessionStorage": None,
        "saved chats": False,
        "first reply": "#1 echo: first secret",  # a new Gradio session, not the one before
    }


class _Forgetful(WarmContexts):
    """Warm contexts that only close the pages: what a leak would look like."""

    def _clear(self, context: Any, target: Target) -> None:
        for page in context.pages:
            page.close()


def test_without_the_clearing_the_leak_shows(browser: Any, saved_history: Target) -> None:
    _, after, reused = _two_scenarios(browser, saved_history, _Forgetful)
    assert reused
    assert "leak" in after["cookies"] and after["localStorage"] == "yes" and after["saved chats"]
    assert after["sessionStorage"] is None  # a new page's own: never shared
