"""Shared by the benchmarks: the in-process reference app and timing."""

from __future__ import annotations

import os
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
