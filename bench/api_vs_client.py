"""Benchmark: a 10-step scenario through the API driver vs a hand-written gradio_client script.

Both do the same ten actions on the same in-process reference app (send, send, retry, like,
dislike, undo, send, edit, clear, send), each in a fresh session, and read the final history.
Prints a markdown table and writes bench/results/api_vs_client.json.

    .venv/bin/python bench/api_vs_client.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
from threading import Lock
from typing import Any

from _common import app_floor, harness_run, measure, reference_app_url, report
from gradio_client import Client
from gradio_client import utils as client_utils

from harness.drivers.api import ApiDriver
from harness.target import Target


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with reference_app_url() as url:
        final = hand_written_run(url)
        assert final[-1]["content"][0]["text"] == "#6 echo: last", final
        harness = measure(lambda: harness_run(ApiDriver(Target(url, url))), args.runs)
        hand = measure(lambda: hand_written_run(url), args.runs)
    ratio = statistics.median(harness) / statistics.median(hand)
    report(
        "api_vs_client",
        args.runs,
        {"harness API driver": harness, "hand-written gradio_client": hand, "app's own time (sum of delays)": app_floor()},
        {"harness / hand-written": (ratio, "<= 1.15")},
    )


if __name__ == "__main__":
    main()
