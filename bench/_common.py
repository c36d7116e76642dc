"""Shared by the benchmarks: the 10-step scenario, timing, and writing results."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: send, send, retry, like, dislike, undo, send, edit, clear, send, then one expect
SCENARIO = """
name: ten steps
steps:
  - send: hello
  - send: hi
  - retry: {}
  - like: {}
  - dislike: {index: 1}
  - undo: {}
  - send: again
  - edit: {index: 0, text: hey}
  - clear: {}
  - send: last
  - expect:
      history:
        - {role: user, content: last}
        - {role: assistant, content: "#6 echo: last"}
"""


#: six replies, each streamed in four chunks with the reference app's delay between them
def app_floor() -> float:
    from fixtures import reference_app

    return reference_app.CHUNKS * reference_app.CHUNK_DELAY * 6


@contextmanager
def reference_app_url() -> Iterator[str]:
    """The reference app, launched in-process on a loopback port for the benchmark's duration."""
    from harness.target import InProcessApp

    app = InProcessApp("fixtures.reference_app:demo")
    try:
        yield app.start().url
    finally:
        app.close()


def harness_run(driver: Any) -> None:
    """The scenario, once, on a fresh session of ``driver`` (a harness Driver)."""
    from harness.loader import load_text
    from harness.runner import run_scenario

    (scenario,) = load_text(SCENARIO, "bench")
    try:
        driver.open(scenario)
        run_scenario(scenario, driver)
    finally:
        driver.close()


def measure(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall times of ``runs`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, runs: int, rows: dict[str, list[float] | float], ratios: dict[str, tuple[float, str]]) -> None:
    """Print a markdown table of medians and the ratios against their targets; write bench/results/<name>.json."""
    medians = {k: statistics.median(v) if isinstance(v, list) else v for k, v in rows.items()}
    print(f"10-step scenario, median of {runs} runs\n")
    print("| run | seconds |\n|---|---|")
    for key, value in medians.items():
        print(f"| {key} | {value:.3f} |")
    print()
    for key, (value, target) in ratios.items():
        print(f"{key} = {value:.2f} (target {target})")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({"runs": runs, "times": rows, "medians": medians, "ratios": {k: v[0] for k, v in ratios.items()}}, indent=2))
