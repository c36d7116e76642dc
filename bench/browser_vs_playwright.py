"""Benchmark: the 10-step scenario through the browser driver vs a hand-written Playwright script,
and the API driver on the same scenario.

All three use the same in-process reference app; the two browser runs share one Chromium (found
the way the harness finds it) and each run opens a fresh context and page. The hand-written script
does what a user would write: type and press Enter, click the same icons, and wait for the text it
knows will appear. The browser driver runs as it does by default (including its trace for failure
artifacts). Prints a markdown table and writes bench/results/browser_vs_playwright.json.

    .venv/bin/python bench/browser_vs_playwright.py [--runs 7]
"""

from __future__ import annotations

import argparse
import re
import statistics
from typing import Any

from _common import app_floor, harness_run, measure, reference_app_url, report
from playwright.sync_api import Browser, expect, sync_playwright

from harness.browser import launch_with_fallback
from harness.drivers.api import ApiDriver
from harness.drivers.browser import BrowserDriver
from harness.target import Target


def hand_written_run(browser: Browser, url: str) -> None:
    """The same ten actions, written by hand with Playwright's own waiting."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    chat = page.locator("#chatbot")
    box = page.locator("#message textarea")
    bots = chat.locator("[data-testid=bot]")
    feedback = page.locator("#feedback textarea")

    def send(text: str, reply: str) -> None:
        box.fill(text)
        box.press("Enter")
        expect(bots.last).to_have_text(reply)

    send("hello", "#1 echo: hello")
    send("hi", "#2 echo: hi")
    chat.get_by_role("button", name="Retry").click()
    expect(bots.last).to_have_text("#3 echo: hi")
    chat.get_by_role("button", name="Like").last.click()
    expect(feedback).to_have_value(re.compile(r"like index=3"))
    chat.get_by_role("button", name="Dislike").first.click()
    expect(feedback).to_have_value(re.compile(r"dislike index=1"))
    chat.get_by_role("button", name="Undo").click()
    expect(bots).to_have_count(1)
    expect(box).to_have_value("hi")
    send("again", "#4 echo: again")
    chat.locator("[data-testid=user]").first.hover()
    chat.get_by_role("button", name="Edit").first.click()
    chat.locator("textarea.edit-textarea").fill("hey")
    chat.get_by_role("button", name="Submit").click()
    expect(bots).to_have_count(1)
    expect(bots.last).to_have_text("#5 echo: hey")
    chat.get_by_role("button", name="Clear").click()
    expect(page.locator("#conversation textarea")).to_have_value("conversation 2")
    expect(bots).to_have_count(0)
    send("last", "#6 echo: last")
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with reference_app_url() as url, sync_playwright() as playwright:
        target = Target(url, url)
        browser = launch_with_fallback(playwright.chromium.launch, "chromium", {}, None)
        times: dict[str, Any] = {
            "harness browser driver": measure(lambda: harness_run(BrowserDriver(target, browser.new_context, timeout=30)), args.runs),
            "hand-written Playwright": measure(lambda: hand_written_run(browser, url), args.runs),
            "harness API driver": measure(lambda: harness_run(ApiDriver(target, timeout=30)), args.runs),
        }
        browser.close()
    times["app's own time (sum of delays)"] = app_floor()
    med = {k: statistics.median(v) for k, v in times.items() if isinstance(v, list)}
    report(
        "browser_vs_playwright",
        args.runs,
        times,
        {
            "browser driver / hand-written Playwright": (med["harness browser driver"] / med["hand-written Playwright"], "<= 1.3"),
            "browser driver / API driver": (med["harness browser driver"] / med["harness API driver"], ">= 5"),
        },
    )


if __name__ == "__main__":
    main()
