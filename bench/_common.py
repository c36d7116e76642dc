"""Shared by the benchmarks: the in-process reference app and timing."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@contextmanager
def reference_app_url() -> Iterator[str]:
    """The reference app, launched in-process on a loopback port for the benchmark's duration."""
    from harness.target.inprocess import InProcessApp

    app = InProcessApp("fixtures.reference_app:demo")
    try:
        yield app.start().url
    finally:
        app.close()


def measure(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall times of ``runs`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def measure_side_by_side(
    configs: dict[str, Callable[[], Any]], runs: int, meter: CpuMeter | None = None
) -> dict[str, list[float]]:
    """Wall times of ``runs`` calls of each configuration, interleaved (one of each, then again), so
    that a noisy machine slows every configuration alike; one warm-up call each first. With a
    ``meter``, the CPU time of this process's descendants is booked to the configuration running."""
    for fn in configs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(runs):
        for name, fn in configs.items():
            if meter is not None:
                meter.label = name
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            if meter is not None:
                meter.label = None
    return times


_Sampler = TypeVar("_Sampler", bound="TreeSampler")


class TreeSampler:
    """Samples this process's descendants (workers, Playwright's driver, Chromium and its helpers,
    which ``getrusage`` misses when their parent does not wait for them) every 50 ms, in a thread,
    while used as a context manager; subclasses say what ``sample`` takes of them."""

    def __init__(self) -> None:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self, me: Any) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.05):
            self.sample(me)

    def __enter__(self: _Sampler) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class CpuMeter(TreeSampler):
    """CPU seconds of the descendants, booked to whatever ``label`` is set while they are used."""

    def __init__(self) -> None:
        super().__init__()
        self.label: str | None = None
        self.excluded: set[int] = set()  # processes (and their descendants) that are not ours to count
        self.booked: dict[str, float] = {}
        self._last: dict[int, float] = {}

    def sample(self, me: Any) -> None:
        import psutil

        label = self.label
        skip = set(self.excluded)
        for pid in self.excluded:
            try:
                skip.update(p.pid for p in psutil.Process(pid).children(recursive=True))
            except psutil.Error:
                continue
        for child in me.children(recursive=True):
            if child.pid in skip:
                continue
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            now = times.user + times.system
            delta = now - self._last.get(child.pid, now if label is None else 0.0)
            self._last[child.pid] = now
            if label is not None and delta > 0:
                self.booked[label] = self.booked.get(label, 0.0) + delta


class TreeMonitor(TreeSampler):
    """Peak RSS summed over the descendants, and each one's CPU time so far."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = 0
        self.cpu: dict[int, float] = {}

    def sample(self, me: Any) -> None:
        import psutil

        total = 0
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
                times = child.cpu_times()
                self.cpu[child.pid] = times.user + times.system
            except psutil.Error:
                continue
        self.peak = max(self.peak, total)
