"""Benchmark: a 10-step scenario through the API driver vs a hand-written gradio_client script.

Both do the same ten actions on the same in-process reference app (send, send, retry, like,
dislike, undo, send, edit, clear, send), each in a fresh session, and read the final history.
Prints a markdown table and writes bench/results/api_vs_client.json.

    .venv/bin/python bench/api_vs_client.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from threading import Lock
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import Client  # noqa: E402
from gradio_client import utils as client_utils  # noqa: E402

from fixtures import reference_app  # noqa: E402
from harness.drivers.api import ApiDriver  # noqa: E402
from harness.loader import load_text  # noqa: E402
from harness.runner import run_scenario  # noqa: E402
from harness.target import InProcessApp  # noqa: E402

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


def harness_run(url: str) -> list[dict[str, Any]]:
    (scenario,) = load_text(SCENARIO, "bench")
    from harness.target import Target

    driver = ApiDriver(Target(url, url))
    try:
        driver.open(scenario)
        result = run_scenario(scenario, driver)
    finally:
        driver.close()
    return [m.as_dict() for m in result.final_history]


def hand_written_run(url: str) -> list[Any]:
    """What a user writes with gradio_client: call each handler, keep the history yourself."""
    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)

    def call(fn_index: int, *data: Any, event_data: Any = None) -> list[Any]:
        helper = client_utils.Communicator(Lock(), client_utils.JobStatus(), lambda *o: o, client.reset_url)
        predict = client.endpoints[fn_index].make_predict(helper)
        return list(predict(*data, event_data=event_data, trigger_id=None))

    def send(text: str, history: list[Any]) -> list[Any]:
        _, history = call(0, text, history)
        history, _ = call(1, history, None)
        return history

    history: list[Any] = []
    history = send("hello", history)
    history = send("hi", history)
    history, _ = call(3, history, None, event_data={"index": 2, "value": history[2]["content"]})
    call(4, "", event_data={"index": 3, "value": [history[3]["content"]], "liked": True})
    call(4, "", event_data={"index": 1, "value": [history[1]["content"]], "liked": False})
    history, _ = call(2, history, event_data={"index": 2, "value": history[2]["content"]})
    history = send("again", history)
    previous = history[0]["content"]
    history[0] = {**history[0], "content": [{"type": "text", "text": "hey"}]}
    history, _ = call(5, history, None, event_data={"index": 0, "value": "hey", "previous_value": previous, "_dispatch_value": [{"type": "text", "text": "hey"}]})
    call(6, None)
    history = send("last", [])
    client._kill_heartbeat.set()
    return history


def measure(fn: Any, url: str, runs: int) -> list[float]:
    fn(url)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(url)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    app = InProcessApp("fixtures.reference_app:demo")
    url = app.start().url
    try:
        final = hand_written_run(url)
        assert final[-1]["content"][0]["text"] == "#6 echo: last", final
        harness = measure(harness_run, url, args.runs)
        hand = measure(hand_written_run, url, args.runs)
    finally:
        app.close()
    floor = 4 * reference_app.CHUNK_DELAY * 6  # six replies streamed in four delayed chunks
    rows = {
        "harness API driver": statistics.median(harness),
        "hand-written gradio_client": statistics.median(hand),
        "app's own time (sum of delays)": floor,
    }
    ratio = rows["harness API driver"] / rows["hand-written gradio_client"]
    print(f"10-step scenario, median of {args.runs} runs\n")
    print("| run | seconds |\n|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value:.3f} |")
    print(f"\nharness / hand-written = {ratio:.3f} (target <= 1.15)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_vs_client.json").write_text(json.dumps({"runs": args.runs, "harness": harness, "hand_written": hand, "floor": floor, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
