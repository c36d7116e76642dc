"""Retrying what is not the app's answer, within a bound.

Only opening a session is retried — connecting gradio_client, loading the page — and only for
infrastructure trouble: no connection, a timeout, 429 (honouring ``Retry-After``), 502/503/504.
A step is never retried: what the app answers is what the scenario checks.
"""

from __future__ import annotations

import contextlib
import logging
import time

__all__ = ["RETRY_STATUSES", "Backoff"]

log = logging.getLogger("harness.waiting")

#: answers worth waiting out: rate limited, or a proxy whose app is (re)starting
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: the longest one session's opening is retried (also at most the step timeout)
OPEN_BOUND = 30.0


class Backoff:
    """Exponential backoff (0.25 s doubling to 5 s, or what ``Retry-After`` asks) until ``bound`` seconds."""

    def __init__(self, bound: float, what: str) -> None:
        self.deadline = time.monotonic() + min(bound, OPEN_BOUND)
        self.delay = 0.25
        self.what = what
        self.tries = 0

    def wait(self, why: str, retry_after: str | None = None) -> bool:
        """Sleep before the next try and return True; False when the bound does not allow one more."""
        pause = self.delay
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                pause = max(pause, min(float(retry_after), OPEN_BOUND))
        if time.monotonic() + pause > self.deadline:
            return False
        self.tries += 1
        log.warning("%s: %s; trying again in %.2gs", self.what, why, pause)
        time.sleep(pause)  # backoff between tries, bounded by the deadline
        self.delay = min(self.delay * 2, 5.0)
        return True

    def gave_up(self) -> str:
        return f" (tried {self.tries + 1} times)" if self.tries else ""
