"""Reaching a deployed app: a Space id resolved to its host, a login, and waiting until it answers.

``prepare`` turns what the command line names (a URL, or a Space id) into a ready ``Target``:

* a Space id is looked up on the Hub and waited for while it builds, starts or wakes up (``space``);
* the app's ``config`` is then polled until it answers 200 (``readiness``), within what is left of
  ``timeout``;
* while it waits it reports progress every ``interval`` seconds through ``progress``.

Every failure is a ``TargetError`` that names the URL and what it answered; no secret (token,
password) is ever part of a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.target.app import AppInfo, Target
from harness.target.credentials import NO_CREDENTIALS, Credentials, split_login
from harness.target.readiness import wait_for_config
from harness.target.space import resolve_space

__all__ = ["DEFAULT_READY_TIMEOUT", "Progress", "prepare", "reach"]

DEFAULT_READY_TIMEOUT = 300.0  # a Space that wakes up or rebuilds takes minutes
PROGRESS_INTERVAL = 5.0

Progress = Callable[[str], None]


class _Progress:
    """A progress line at most every ``interval`` seconds, with the time spent of ``timeout``."""

    def __init__(self, timeout: float, progress: Progress | None, interval: float) -> None:
        self.start = time.monotonic()
        self.timeout = timeout
        self.progress = progress
        self.interval = interval
        self.next_report = self.start + interval

    def left(self) -> float:
        return self.timeout - (time.monotonic() - self.start)

    def report(self, what: str) -> None:
        now = time.monotonic()
        if self.progress is not None and now >= self.next_report:
            self.progress(f"{what} ({now - self.start:.0f}s of {self.timeout:g}s)")
            self.next_report = now + self.interval


def reach(
    *,
    url: str | None = None,
    space: str | None = None,
    credentials: Credentials = NO_CREDENTIALS,
    timeout: float = DEFAULT_READY_TIMEOUT,
    progress: Progress | None = None,
    interval: float = PROGRESS_INTERVAL,
) -> tuple[Target, dict[str, Any]]:
    """The target a URL or a Space id names, once it answers (with its Gradio version and mode), and its config."""
    clock = _Progress(timeout, progress, interval)
    if url is not None:
        url, login, _ = split_login(url)
        if login is not None and credentials.auth is None:
            credentials = Credentials(credentials.token, login)
    if space is not None:
        root = resolve_space(
            space, credentials.token, clock.left(), on_retry=lambda why: clock.report(f"waiting for {why}")
        )
        described = f"Space {space} at {root}"
    elif url is not None:
        root = Target.from_url(url).url
        described = root
    else:  # pragma: no cover - callers pass one
        raise ValueError("reach needs a url or a space")
    config = wait_for_config(
        root,
        credentials,
        max(clock.left(), 0.0),
        timeout,
        on_retry=lambda why: clock.report(f"waiting for {root}: {why}"),
    )
    info = AppInfo.from_config(config)
    return Target(root, described, token=credentials.token, auth=credentials.auth, info=info), config


def prepare(**options: Any) -> Target:
    """The target ``reach`` finds (it takes the same keywords), without the app's config."""
    return reach(**options)[0]
