"""A Hugging Face Space id resolved to the host it answers on, once the Hub says it runs.

The Hub is asked through ``huggingface_hub`` (so ``HF_ENDPOINT`` and ``HF_TOKEN`` work as
everywhere else). A Space that is building, starting or sleeping is waited for (a sleeping one is
woken by a first request); one in error, paused or gone fails at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import httpx

from harness.errors import TargetError
from harness.waiting import TryAgain, with_retries

__all__ = ["SPACE_RUNNING", "SPACE_WAITING", "resolve_space", "space_headers"]

REQUEST_TIMEOUT = 10.0  # one question to the Hub
#: Space stages that end by themselves (building, starting, waking on the first request)
SPACE_WAITING = {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING", "SLEEPING"}
SPACE_RUNNING = {"RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}


def space_headers(token: str | None) -> dict[str, str]:
    """The header gradio_client sends a Space; its proxy checks and strips it, the app never sees it."""
    return {"x-hf-authorization": f"Bearer {token}"} if token else {}


def resolve_space(
    space_id: str, token: str | None, bound: float, on_retry: Callable[[str], object] | None = None
) -> str:
    """The root URL of a Hugging Face Space, once the Hub says it is running (or waking up),
    waiting at most ``bound`` seconds."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    if space_id.count("/") != 1 or not all(space_id.split("/")):
        raise TargetError(f"--chat-space takes owner/name (e.g. gradio/chatbot_streaming), got {space_id!r}")
    api = HfApi(token=token or False)
    hint = "" if token else " (if it is private, set HF_TOKEN or pass --chat-token)"
    woken: list[bool] = []
    deadline = time.monotonic() + bound

    def attempt() -> str:
        per_request = min(REQUEST_TIMEOUT, max(deadline - time.monotonic(), 1.0))
        try:
            info = api.space_info(space_id, timeout=per_request)
        except OfflineModeIsEnabled:
            raise TargetError(
                f"HF_HUB_OFFLINE is set, so the Space {space_id} cannot be looked up on the Hub; unset it, or pass "
                "its URL with --chat-url"
            ) from None
        except RepositoryNotFoundError:
            raise TargetError(f"the Hub has no Space {space_id}{hint}") from None
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            if status in (401, 404):
                raise TargetError(f"the Hub has no Space {space_id}{hint}") from None
            raise TargetError(
                f"the Hub answered HTTP {status} about the Space {space_id}: {str(exc).splitlines()[0]}"
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise TargetError(
                f"cannot reach the Hub ({api.endpoint}) to look up the Space {space_id}: {type(exc).__name__}: {exc}"
            ) from None
        host = info.host or (f"https://{info.subdomain}.hf.space" if info.subdomain else None)
        stage = str(info.runtime.stage).split(".")[-1] if info.runtime is not None else "RUNNING"
        if host is None:
            raise TargetError(f"the Hub gives no host for the Space {space_id} (stage {stage}); is it a Gradio Space?")
        if stage in SPACE_RUNNING:
            return host if host.endswith("/") else host + "/"
        if stage not in SPACE_WAITING:
            raise TargetError(
                f"the Space {space_id} is {stage}, so it will not answer; see https://huggingface.co/spaces/{space_id}"
            )
        if stage == "SLEEPING" and not woken:
            woken.append(True)
            with contextlib.suppress(httpx.HTTPError):  # a sleeping Space wakes on its first request
                httpx.get(host, timeout=per_request, headers=space_headers(token))
        raise TryAgain(f"the Space {space_id}: {stage}", f"the Space {space_id} was still {stage} after {bound:g}s")

    what = f"waiting for the Space {space_id}"
    return with_retries(attempt, bound=bound, what=what, first=1.0, cap=5.0, on_retry=on_retry, level=logging.DEBUG)
