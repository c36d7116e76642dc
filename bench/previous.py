"""The browser driver of an earlier commit, run side by side with today's (bench/run.py --previous REV).

bench/run.py starts this script in its own process with ``PYTHONPATH`` pointing at a copy of that
commit's tree, so ``harness`` is the earlier code, then sends it one line per run: the bundled
scenario file and name to run against the app URL it was given. For each, it prints one JSON line:
the wall time and the CPU seconds of its browser (Chromium and Playwright's driver) during the run.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path

from _common import CpuMeter


def main() -> None:
    tree, url = Path(sys.argv[1]).resolve(), sys.argv[2]
    sys.path.insert(0, str(tree))  # before this repository (which _common put first): the earlier harness
    from playwright.sync_api import sync_playwright

    import harness

    try:  # the layout before harness/ had folders
        from harness.browser import launch_with_fallback  # type: ignore[import-not-found]
        from harness.loader import load_file  # type: ignore[import-not-found]
        from harness.runner import run_scenario  # type: ignore[import-not-found]

        from harness.drivers.browser import BrowserDriver  # type: ignore[attr-defined]
        from harness.target import Target  # type: ignore[attr-defined]
    except ImportError:
        from harness.drivers.browser.driver import BrowserDriver
        from harness.drivers.browser.launch import launch_with_fallback
        from harness.run.runner import run_scenario
        from harness.spec.loader import load_file
        from harness.target.app import Target
    assert Path(harness.__file__).is_relative_to(tree), f"harness comes from {harness.__file__}, not {tree}"
    takes_context_first = list(inspect.signature(BrowserDriver).parameters)[1] == "new_context"
    with sync_playwright() as playwright, CpuMeter() as meter:
        browser = launch_with_fallback(playwright.chromium.launch, "chromium", {}, None)
        target = Target(url, url)
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            file, name = json.loads(line)
            (scenario,) = [s for s in load_file(tree / "scenarios" / file) if s.name == name]
            if takes_context_first:
                driver = BrowserDriver(target, browser.new_context, timeout=30)
            else:
                driver = BrowserDriver(target, 30, new_context=browser.new_context)
            meter.label = "run"
            meter.booked.clear()
            start = time.perf_counter()
            try:
                driver.open(scenario)
                run_scenario(scenario, driver)
            finally:
                driver.close()
            wall = time.perf_counter() - start
            meter.label = None
            print(json.dumps({"wall": wall, "cpu": meter.booked.get("run", 0.0)}), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
