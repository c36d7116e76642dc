"""Reaching a deployed app: a Space id resolved to its host, a login, and waiting until it answers.

``prepare`` turns what the command line names (a URL, or a Space id) into a ready ``Target``:

* a Space id is looked up on the Hub (``huggingface_hub``, so ``HF_ENDPOINT`` and ``HF_TOKEN``
  work as everywhere else) and waited for while it builds, starts or wakes up;
* the app's ``config`` is then polled until it answers 200: connection errors, timeouts and 5xx
  answers (a proxy whose app is not up yet, a waking Space) are waited out until ``timeout``;
  401/403, 404, a refused login and an answer that is not a Gradio config fail at once;
* while it waits it reports progress every ``interval`` seconds through ``progress``.

Every failure is a ``TargetError`` that names the URL and what it answered; no secret (token,
password) is ever part of a message.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from harness.errors import TargetError
from harness.target.app import AppInfo, Target

__all__ = ["DEFAULT_READY_TIMEOUT", "Credentials", "parse_login", "prepare", "reach", "resolve_space", "split_login", "token_for"]

DEFAULT_READY_TIMEOUT = 300.0  # a Space that wakes up or rebuilds takes minutes
PROGRESS_INTERVAL = 5.0
REQUEST_TIMEOUT = 10.0  # one poll: a server that accepts and never answers costs at most this

#: Space stages that end by themselves (building, starting, waking on the first request)
SPACE_WAITING = {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING", "SLEEPING"}
SPACE_RUNNING = {"RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Credentials:
    """Secrets for the target; never printed (``repr`` hides them)."""

    token: str | None = None
    auth: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Credentials(token={'***' if self.token else None}, auth={'***' if self.auth else None})"


NO_CREDENTIALS = Credentials()


def _excerpt(response: httpx.Response, limit: int = 160) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _answer(response: httpx.Response) -> str:
    body = _excerpt(response)
    return f"HTTP {response.status_code}" + (f": {body}" if body else "")


class _Clock:
    """A deadline, and a progress line at most every ``interval`` seconds."""

    def __init__(self, timeout: float, progress: Progress | None, interval: float) -> None:
        self.start = time.monotonic()
        self.timeout = timeout
        self.progress = progress
        self.interval = interval
        self.next_report = self.start + interval

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.timeout - self.elapsed()

    def report(self, what: str) -> None:
        now = time.monotonic()
        if self.progress is not None and now >= self.next_report:
            self.progress(f"{what} ({self.elapsed():.0f}s of {self.timeout:g}s)")
            self.next_report = now + self.interval

    def pause(self, delay: float) -> None:
        time.sleep(max(0.0, min(delay, self.left())))  # polling with a bounded deadline


def resolve_space(space_id: str, token: str | None, clock: _Clock) -> str:
    """The root URL of a Hugging Face Space, once the Hub says it is running (or waking up)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    if space_id.count("/") != 1 or not all(space_id.split("/")):
        raise TargetError(f"--chat-space takes owner/name (e.g. gradio/chatbot_streaming), got {space_id!r}")
    api = HfApi(token=token or False)
    delay = 1.0
    woken = False
    while True:
        try:
            info = api.space_info(space_id, timeout=min(REQUEST_TIMEOUT, max(clock.left(), 1.0)))
        except OfflineModeIsEnabled:
            raise TargetError(f"HF_HUB_OFFLINE is set, so the Space {space_id} cannot be looked up on the Hub; unset it, or pass its URL with --chat-url") from None
        except RepositoryNotFoundError:
            hint = "" if token else " (if it is private, set HF_TOKEN or pass --chat-token)"
            raise TargetError(f"the Hub has no Space {space_id}{hint}") from None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            if status in (401, 404):
                hint = "" if token else " (if it is private, set HF_TOKEN or pass --chat-token)"
                raise TargetError(f"the Hub has no Space {space_id}{hint}") from None
            raise TargetError(f"the Hub answered HTTP {status} about the Space {space_id}: {str(exc).splitlines()[0]}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise TargetError(f"cannot reach the Hub ({api.endpoint}) to look up the Space {space_id}: {type(exc).__name__}: {exc}") from None
        host = info.host or (f"https://{info.subdomain}.hf.space" if info.subdomain else None)
        stage = str(info.runtime.stage) if info.runtime is not None else "RUNNING"
        stage = stage.split(".")[-1]
        if host is None:
            raise TargetError(f"the Hub gives no host for the Space {space_id} (stage {stage}); is it a Gradio Space?")
        if stage in SPACE_RUNNING:
            return host if host.endswith("/") else host + "/"
        if stage not in SPACE_WAITING:
            raise TargetError(f"the Space {space_id} is {stage}, so it will not answer; see https://huggingface.co/spaces/{space_id}")
        if stage == "SLEEPING" and not woken:
            woken = True
            with contextlib.suppress(httpx.HTTPError):  # a sleeping Space wakes on its first request
                httpx.get(host, timeout=min(REQUEST_TIMEOUT, max(clock.left(), 1.0)), headers=_space_headers(token))
        if clock.left() <= 0:
            raise TargetError(f"the Space {space_id} was still {stage} after {clock.timeout:g}s")
        clock.report(f"waiting for the Space {space_id}: {stage}")
        clock.pause(delay)
        delay = min(delay * 2, 5.0)


def _space_headers(token: str | None) -> dict[str, str]:
    # the header gradio_client sends; the Space proxy checks and strips it, the app never sees it
    return {"x-hf-authorization": f"Bearer {token}"} if token else {}


def _login(client: httpx.Client, url: str, auth: tuple[str, str]) -> None:
    response = client.post(url + "login", data={"username": auth[0], "password": auth[1]})
    if response.status_code in (302, 303, 307):
        raise TargetError(f"{url} has no login (it was not launched with auth=), but --chat-auth was given")
    if response.status_code in (400, 401, 403):
        raise TargetError(f"{url} refused the user name and password given with --chat-auth ({_answer(response)})")
    if response.status_code >= 500:
        raise _Retry(response)
    response.raise_for_status()


class _Retry(Exception):
    """An answer worth waiting out (5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(_answer(response))


def _wait(url: str, credentials: Credentials, clock: _Clock) -> dict[str, Any]:
    headers = _space_headers(credentials.token)
    last = "no answer yet"
    delay = 0.05
    while True:
        per_request = min(REQUEST_TIMEOUT, max(clock.left(), 0.5))
        try:
            with httpx.Client(headers=headers, timeout=httpx.Timeout(per_request), follow_redirects=False) as client:
                if credentials.auth is not None:
                    _login(client, url, credentials.auth)
                response = client.get(url + "config")
                if response.status_code == 200:
                    return _config(url, response)
                if response.status_code in (401, 403):
                    if credentials.auth is None and "Not authenticated" in response.text:
                        raise TargetError(f"{url} asks for a login ({_answer(response)}); give it with --chat-auth user:password")
                    what = "token" if credentials.token else "token (set HF_TOKEN or pass --chat-token)"
                    raise TargetError(f"{url}config answered {_answer(response)}: not allowed in; check the {what}")
                if response.status_code == 404:
                    raise TargetError(f"{url}config answered HTTP 404: nothing there; check the URL (and the path prefix behind a proxy)")
                if response.status_code == 429:
                    delay = max(delay, _retry_after(response))
                elif response.status_code < 500:
                    raise TargetError(f"{url}config answered {_answer(response)}, not a Gradio app's config")
                last = _answer(response)
        except _Retry as exc:
            last = str(exc)
        except httpx.TimeoutException:
            last = f"no answer within {per_request:g}s"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if clock.left() <= 0:
            raise TargetError(f"{url} was not ready within {clock.timeout:g}s; last: {last}")
        clock.report(f"waiting for {url}: {last}")
        clock.pause(delay)
        delay = min(delay * 2, 1.0)


def _retry_after(response: httpx.Response) -> float:
    """The seconds a 429 asks to wait (Retry-After in seconds; at most 30; 1 when it does not say)."""
    try:
        return min(max(float(response.headers.get("retry-after", "1")), 0.0), 30.0)
    except ValueError:
        return 1.0


def _config(url: str, response: httpx.Response) -> dict[str, Any]:
    try:
        config = response.json()
    except ValueError:
        config = None
    if not isinstance(config, dict) or "components" not in config:
        raise TargetError(f"{url}config answered 200 but not with a Gradio app's config ({_excerpt(response, 80)!r})")
    return config


def token_for(url: str | None, explicit: str | None, environment: str | None) -> str | None:
    """The token a target gets: one given explicitly always; ``HF_TOKEN`` only for a Space
    (``url`` None: a Space id) or a URL on a Space host."""
    if explicit:
        return explicit
    host = (urlsplit(url).hostname or "") if url is not None else ".hf.space"
    return environment if environment and host.endswith(".hf.space") else None


def split_login(url: str) -> tuple[str, tuple[str, str] | None, str | None]:
    """A URL without the ``user:password@`` it may carry; that login (percent-decoding undone), and
    the password as written in the URL (a secret to mask too). A URL without a password is
    returned as it is."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url, None, None
    if password is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), (unquote(parts.username or ""), unquote(password)), password


def parse_login(text: str) -> tuple[str, str]:
    """``user:password`` as a pair; a ValueError (which does not repeat the text) when it is not one."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise ValueError("a login is user:password (a colon between them)")
    return user, password


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
    clock = _Clock(timeout, progress, interval)
    if url is not None:
        url, login, _ = split_login(url)
        if login is not None and credentials.auth is None:
            credentials = Credentials(credentials.token, login)
    if space is not None:
        root = resolve_space(space, credentials.token, clock)
        described = f"Space {space} at {root}"
    elif url is not None:
        root = Target.from_url(url).url
        described = root
    else:  # pragma: no cover - callers pass one
        raise ValueError("reach needs a url or a space")
    config = _wait(root, credentials, clock)
    info = AppInfo.from_config(config)
    return Target(root, described, token=credentials.token, auth=credentials.auth, info=info), config


def prepare(
    *,
    url: str | None = None,
    space: str | None = None,
    credentials: Credentials = NO_CREDENTIALS,
    timeout: float = DEFAULT_READY_TIMEOUT,
    progress: Progress | None = None,
    interval: float = PROGRESS_INTERVAL,
) -> Target:
    """The target a URL or a Space id names, once it answers; with its Gradio version and mode."""
    target, _ = reach(url=url, space=space, credentials=credentials, timeout=timeout, progress=progress, interval=interval)
    return target
