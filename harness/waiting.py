"""The one waiting policy of the harness: try again what is not the app's answer, within a bound.

Built on tenacity (a well-kept retry library whose wait strategy can read each failure, which is
what honouring ``Retry-After`` needs). Who uses it:

* opening a session: connecting gradio_client, loading the page, queueing a reply (a refused
  join started nothing) — no connection, 429 (honouring ``Retry-After``), 502/503/504, backoff
  0.25 s doubling to 5 s, for at most the step timeout and never more than ``OPEN_BOUND``;
* waiting for a remote app or a Space to be ready, and for an in-process app to answer, with
  their own first delay, cap and bound, reporting progress as they go.

A step is never retried: what the app answers is what the scenario checks. An attempt signals
trouble worth another try by raising ``TryAgain``; when the bound runs out, the last one's
``failure`` becomes a ``TargetError`` that says how many times it was tried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity

from harness.errors import TargetError

__all__ = ["OPEN_BOUND", "RETRY_STATUSES", "TryAgain", "retry_after", "with_retries"]

log = logging.getLogger("harness.waiting")

T = TypeVar("T")

#: answers worth waiting out: rate limited, or a proxy whose app is (re)starting
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: the longest one session's opening is retried (also at most the step timeout)
OPEN_BOUND = 30.0


class TryAgain(Exception):
    """Raised by an attempt: ``why`` it failed (logged), the ``failure`` to report if no try is
    left, and the ``Retry-After`` the answer asked for, if any."""

    def __init__(self, why: str, failure: str, retry_after: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.failure = failure
        self.retry_after = retry_after


def retry_after(header: str | None, cap: float = OPEN_BOUND) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait (at most ``cap``; None when it says nothing usable)."""
    if header is None:
        return None
    try:
        return min(max(float(header), 0.0), cap)
    except ValueError:
        return None


class _Backoff(tenacity.wait.wait_base):
    """``first`` doubling up to ``cap``; longer when the failure's answer asked for it (Retry-After);
    never past ``bound`` seconds from the first try, where the last try is made."""

    def __init__(self, first: float, cap: float, bound: float) -> None:
        self.first = first
        self.cap = cap
        self.bound = bound

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        pause = min(self.first * 2 ** (retry_state.attempt_number - 1), self.cap)
        failure = retry_state.outcome.exception() if retry_state.outcome is not None else None
        if isinstance(failure, TryAgain) and (asked := retry_after(failure.retry_after)) is not None:
            pause = max(pause, asked)
        return max(0.0, min(pause, self.bound - (retry_state.seconds_since_start or 0.0)))


def with_retries(
    attempt: Callable[[], T],
    *,
    bound: float,
    what: str,
    first: float = 0.25,
    cap: float = 5.0,
    on_retry: Callable[[str], Any] | None = None,
    level: int = logging.WARNING,
) -> T:
    """``attempt()``'s result, calling it again after each ``TryAgain`` with backoff for ``bound``
    seconds (the last try is made at the bound); then a ``TargetError`` with the last failure.
    Each retry is logged at ``level`` (``harness.waiting``) and told to ``on_retry``."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        why = failure.why if isinstance(failure, TryAgain) else str(failure)
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        log.log(level, "%s: %s; trying again in %.2gs", what, why, pause)
        if on_retry is not None:
            on_retry(why)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TryAgain),
        stop=tenacity.stop_after_delay(bound),
        wait=_Backoff(first, cap, bound),
        before_sleep=before_sleep,
        sleep=time.sleep,  # backoff between tries, bounded by the deadline
        reraise=True,
    )
    try:
        return retrying(attempt)
    except TryAgain as exc:
        tries = int(retrying.statistics.get("attempt_number", 1))
        raise TargetError(exc.failure + (f" (tried {tries} times)" if tries > 1 else "")) from None
