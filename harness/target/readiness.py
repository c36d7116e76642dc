"""Waiting until an app answers with its Gradio config.

* ``wait_for_config``: a remote app (a URL, a Space's host): its ``config`` is polled until it
  answers 200. Connection errors, timeouts, 5xx and 429 (``Retry-After`` honoured) are waited
  out until the bound; 401/403, 404, a refused login and an answer that is not a Gradio config
  fail at once, each with a message naming the URL and what it answered.
* ``wait_until_ready``: an app this process (or a test) started: until its config answers 200,
  or its process exits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from harness.errors import TargetError
from harness.target.credentials import Credentials
from harness.target.space import space_headers
from harness.waiting import TryAgain, with_retries

__all__ = ["wait_for_config", "wait_until_ready"]

REQUEST_TIMEOUT = 10.0  # one poll: a server that accepts and never answers costs at most this


def _excerpt(response: httpx.Response, limit: int = 160) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _answer(response: httpx.Response) -> str:
    body = _excerpt(response)
    return f"HTTP {response.status_code}" + (f": {body}" if body else "")


def _login(client: httpx.Client, url: str, auth: tuple[str, str], failure: str) -> None:
    response = client.post(url + "login", data={"username": auth[0], "password": auth[1]})
    if response.status_code in (302, 303, 307):
        raise TargetError(f"{url} has no login (it was not launched with auth=), but --chat-auth was given")
    if response.status_code in (400, 401, 403):
        raise TargetError(f"{url} refused the user name and password given with --chat-auth ({_answer(response)})")
    if response.status_code >= 500:
        raise TryAgain(_answer(response), failure.format(last=_answer(response)))
    response.raise_for_status()


def _config(url: str, response: httpx.Response) -> dict[str, Any]:
    try:
        config = response.json()
    except ValueError:
        config = None
    if not isinstance(config, dict) or "components" not in config:
        raise TargetError(f"{url}config answered 200 but not with a Gradio app's config ({_excerpt(response, 80)!r})")
    return config


def wait_for_config(
    url: str, credentials: Credentials, bound: float, total: float, on_retry: Callable[[str], object] | None = None
) -> dict[str, Any]:
    """The app's config, once ``url`` answers with it (logging in first with ``credentials.auth``),
    waiting at most ``bound`` seconds of the ``total`` the messages name."""
    headers = space_headers(credentials.token)
    failure = f"{url} was not ready within {total:g}s; last: {{last}}"
    deadline = time.monotonic() + bound

    def attempt() -> dict[str, Any]:
        per_request = min(REQUEST_TIMEOUT, max(deadline - time.monotonic(), 0.5))
        try:
            with httpx.Client(headers=headers, timeout=httpx.Timeout(per_request), follow_redirects=False) as client:
                if credentials.auth is not None:
                    _login(client, url, credentials.auth, failure)
                response = client.get(url + "config")
        except httpx.TimeoutException:
            last = f"no answer within {per_request:g}s"
            raise TryAgain(last, failure.format(last=last)) from None
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise TryAgain(last, failure.format(last=last)) from None
        status = response.status_code
        if status == 200:
            return _config(url, response)
        if status in (401, 403):
            if credentials.auth is None and "Not authenticated" in response.text:
                raise TargetError(
                    f"{url} asks for a login ({_answer(response)}); give it with --chat-auth user:password"
                )
            what = "token" if credentials.token else "token (set HF_TOKEN or pass --chat-token)"
            raise TargetError(f"{url}config answered {_answer(response)}: not allowed in; check the {what}")
        if status == 404:
            raise TargetError(
                f"{url}config answered HTTP 404: nothing there; check the URL (and the path prefix behind a proxy)"
            )
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after", "1") if status == 429 else None
            raise TryAgain(_answer(response), failure.format(last=_answer(response)), retry_after)
        raise TargetError(f"{url}config answered {_answer(response)}, not a Gradio app's config")

    return with_retries(
        attempt, bound=bound, what=f"waiting for {url}", first=0.05, cap=1.0, on_retry=on_retry, level=logging.DEBUG
    )


def wait_until_ready(url: str, timeout: float, *, process: Any = None) -> None:
    """Poll ``{url}config`` until it answers 200, or raise ``TargetError`` after ``timeout`` s
    (at once if ``process``, the app's, exits first)."""
    with httpx.Client(timeout=2.0) as client:

        def attempt() -> None:
            if process is not None and process.poll() is not None:
                raise TargetError(f"the app process exited with code {process.returncode} before {url} answered")
            try:
                status = client.get(url + "config").status_code
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            else:
                if status == 200:
                    return
                last = f"HTTP {status}"
            raise TryAgain(last, f"{url} did not answer within {timeout:g}s (last: {last})")

        with_retries(attempt, bound=timeout, what=f"starting {url}", first=0.02, cap=0.5, level=logging.DEBUG)
