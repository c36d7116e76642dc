"""gradio_client for what both drivers need from it: a session on the target, and named endpoints.

The API driver keeps its client for the whole scenario; the browser driver opens one only when a
``call`` step asks for an endpoint (an API-only check that does not touch the page's chat).
"""

from __future__ import annotations

import concurrent.futures
import functools
import ssl
from typing import Any

import httpx
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError
from gradio_client.utils import TooManyRequestsError

from harness.errors import ActionError, TargetError
from harness.target.app import Target
from harness.waiting import OPEN_BOUND, RETRY_STATUSES, TryAgain, with_retries

__all__ = ["call_endpoint", "connect", "ssl_context"]


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every session: building one (loading the CA bundle) costs ~30 ms each time."""
    return httpx.create_ssl_context()


#: how much longer an HTTP read may wait than the step: the step's own deadline must come first, so
#: a handler that never returns is reported as a timeout, not as a lost connection
READ_MARGIN = 2.0


def http_timeout(timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout + READ_MARGIN, connect=min(timeout, 10.0))


def connect(target: Target, timeout: float) -> Client:
    """A gradio_client session on the target app, or a TargetError saying why there is none.

    The target's token goes to gradio_client (which sends it to the app's host only, as the
    ``x-hf-authorization`` header the Space proxy checks and strips); its login to ``auth``.
    No connection, a timeout, 429 and 502-504 are retried with backoff (``harness.waiting``).
    """

    def attempt() -> Client:
        try:
            return _client(target, timeout)
        except TargetError as exc:
            why, retry_after = _infrastructure(target, exc.__cause__ or exc.__context__)
            if why is None:
                raise TargetError(str(exc)) from None
            raise TryAgain(why, str(exc), retry_after) from None

    return with_retries(attempt, bound=min(timeout, OPEN_BOUND), what=f"connecting to {target.url}")


def _infrastructure(target: Target, error: BaseException | None) -> tuple[str | None, str | None]:
    """Why opening failed, when it is worth another try (None: it is not), and any Retry-After."""
    if isinstance(error, httpx.TransportError | OSError):
        return f"{type(error).__name__}: {error}", None
    if isinstance(error, TooManyRequestsError):
        return "HTTP 429 (too many requests)", None
    if isinstance(error, ValueError):  # gradio_client's "Could not fetch config": ask why
        try:
            answer = probe(target)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", None
        if answer.status_code in RETRY_STATUSES:
            return f"HTTP {answer.status_code}", answer.headers.get("retry-after")
    return None, None


def probe(target: Target, timeout: float = 5.0) -> httpx.Response:
    """The app's answer to a GET of its config (any status); ``httpx.HTTPError`` when nothing answers."""
    headers = {"User-Agent": "chat-harness"}
    if target.token:
        headers["x-hf-authorization"] = f"Bearer {target.token}"  # as gradio_client sends it
    return httpx.get(f"{target.url}config", timeout=timeout, verify=ssl_context(), headers=headers)


def _client(target: Target, timeout: float) -> Client:
    try:
        return Client(
            target.url,
            token=target.token or False,  # type: ignore[arg-type]  # False: never a locally saved token
            auth=target.auth,
            verbose=False,
            download_files=False,
            analytics_enabled=False,
            ssl_verify=ssl_context(),  # type: ignore[arg-type]  # passed on to httpx, which takes a context
            httpx_kwargs={"timeout": http_timeout(timeout)},
        )
    except AuthenticationError:
        raise TargetError(f"{target.url} refused the user name and password given with --chat-auth") from None
    except TooManyRequestsError as exc:
        raise TargetError(f"{target.url} answered 429: too many requests") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise TargetError(f"cannot reach the app at {target.url}: {exc}") from exc
    except ValueError as exc:
        raise TargetError(f"{target.url} does not answer like a Gradio app: {exc}") from exc


def close(client: Client) -> None:
    """End a client without waiting: Client.close() joins its heartbeat thread for up to a second."""
    client._kill_heartbeat.set()
    client.executor.shutdown(wait=False, cancel_futures=True)


def call_endpoint(
    client: Client, api_name: str, args: list[Any] | dict[str, Any], timeout: float
) -> tuple[Any, str | None]:
    """Call a named endpoint as gradio_client's ``predict`` does: ``(result, error message or None)``.

    ``args`` are positional (a list) or by parameter name (a mapping), as the endpoint's API page lists them.

    Tuples in the result become lists, so a YAML list can match them.
    """
    names = sorted(str(e.api_name) for e in client.endpoints.values() if getattr(e, "api_name", None))
    if api_name not in names:
        raise ActionError(f"the app has no endpoint {api_name!r}; its named endpoints: {', '.join(names) or 'none'}")
    try:
        job = (
            client.submit(**args, api_name=api_name)
            if isinstance(args, dict)
            else client.submit(*args, api_name=api_name)
        )
        return _lists(job.result(timeout=timeout)), None
    except AppError as exc:
        return None, str(exc) or type(exc).__name__
    except (TimeoutError, concurrent.futures.TimeoutError):
        raise TargetError(f"timed out after {timeout:g}s waiting for the app's {api_name} endpoint") from None
    except (TypeError, ValueError) as exc:
        raise ActionError(f"cannot call {api_name} with {args!r}: {exc}") from None


def _lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    return value
