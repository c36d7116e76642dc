"""Routing an in-process app's model calls to the scripted model, with no change to the app.

``route_model_calls`` patches, for this process, the transports every HTTP client library of the
Python model SDKs ends in: ``httpx`` and ``httpx2`` (sync and async; the ``openai`` and
``huggingface_hub`` clients, ``ollama``, Gradio's own) and ``requests``. A request to a model route
(``.../chat/completions``, ``/api/chat``) goes to the scripted model, whatever host it named; any
other request to a host that is not loopback is refused before a connection is attempted. The
variables the SDKs need to start without an account (``OPENAI_API_KEY``, ``HF_TOKEN``) are set
when missing, as placeholders the scripted model ignores. ``huggingface_hub``'s offline mode
(``HF_HUB_OFFLINE``, which refuses every request it makes, model calls included) is lifted while
the routing is on: the routing itself keeps every request on this machine.

Not covered: clients on other stacks (``aiohttp``, ``urllib``, gRPC); their requests are not seen.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.model.protocols import protocol_of
from harness.model.server import UPSTREAM_HEADER

__all__ = ["PLACEHOLDER_VARIABLES", "BlockedRequest", "Decision", "decide", "host_of", "route_model_calls"]

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
#: set when missing, so that the SDKs construct their clients; the scripted model ignores them
PLACEHOLDER_VARIABLES = {"OPENAI_API_KEY": "chat-harness-scripted", "HF_TOKEN": "hf_chat_harness_scripted"}


class BlockedRequest(ConnectionError):
    """A request to the outside refused while the scripted model is on."""


@dataclass(frozen=True)
class Decision:
    """What happens to one request: go on as it is, go to the scripted model, or be refused."""

    action: str  # "pass", "model" or "block"
    url: str = ""
    upstream: str = ""
    reason: str = ""


def decide(url: str, model_port: int, outside_allowed: bool = False, allowed_hosts: Collection[str] = ()) -> Decision:
    """Where a request to ``url`` goes while the scripted model (on ``model_port``) is on; the
    ``allowed_hosts`` (the session's remote targets, reached by the harness itself) pass."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK or host.startswith("127.")
    if (loopback and parts.port == model_port) or host in allowed_hosts:
        return Decision("pass")
    if protocol_of(parts.path) is not None:
        upstream = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        target = urlunsplit(("http", f"127.0.0.1:{model_port}", parts.path, parts.query, ""))
        return Decision("model", target, upstream)
    if loopback or outside_allowed:
        return Decision("pass")
    return Decision(
        "block",
        reason=(
            f"chat-harness refused a request to {urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))}: "
            "while the scripted model is on, nothing but model calls leaves this machine, and this is not a "
            "model route (.../chat/completions, /api/chat)"
        ),
    )


def host_of(url: str) -> str:
    """The host name of ``url`` as ``decide`` compares it."""
    return (urlsplit(url if "://" in url else f"//{url}").hostname or "").lower()


def _patch_httpx(module: Any, decide_url: Callable[[str], Decision]) -> Iterator[tuple[Any, str, Any]]:
    """Patch one httpx-like module's default transports; yields what to restore."""

    def rewrite(request: Any) -> None:
        if request.extensions.get("chat_harness_direct"):
            return
        decision = decide_url(str(request.url))
        if decision.action == "block":
            raise module.ConnectError(decision.reason, request=request)
        if decision.action == "model":
            request.url = module.URL(decision.url)
            request.headers[UPSTREAM_HEADER] = decision.upstream
            request.headers["host"] = request.url.netloc.decode("ascii")

    sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
    sync_original, async_original = sync_cls.handle_request, async_cls.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        rewrite(request)
        return sync_original(self, request)

    async def handle_async_request(self: Any, request: Any) -> Any:
        rewrite(request)
        return await async_original(self, request)

    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request
    yield sync_cls, "handle_request", sync_original
    yield async_cls, "handle_async_request", async_original


def _patch_requests(module: Any, decide_url: Callable[[str], Decision]) -> Iterator[tuple[Any, str, Any]]:
    adapter = module.adapters.HTTPAdapter
    original = adapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        decision = decide_url(str(request.url))
        if decision.action == "block":
            raise module.exceptions.ConnectionError(decision.reason, request=request)
        if decision.action == "model":
            request.url = decision.url
            request.headers[UPSTREAM_HEADER] = decision.upstream
            request.headers.pop("Host", None)
        return original(self, request, *args, **kwargs)

    adapter.send = send
    yield adapter, "send", original


def _lift_hub_offline_mode() -> Iterator[tuple[Any, str, Any]]:
    try:
        constants: Any = importlib.import_module("huggingface_hub.constants")
    except ImportError:
        return
    if getattr(constants, "HF_HUB_OFFLINE", False):
        constants.HF_HUB_OFFLINE = False
        yield constants, "HF_HUB_OFFLINE", True


#: the client libraries routed, and how
PATCHES: dict[str, Callable[[Any, Callable[[str], Decision]], Iterator[tuple[Any, str, Any]]]] = {
    "httpx": _patch_httpx,
    "httpx2": _patch_httpx,
    "requests": _patch_requests,
}


@contextmanager
def route_model_calls(
    model_port: int, outside_allowed: bool = False, placeholders: bool = True, allowed_hosts: Collection[str] = ()
) -> Iterator[None]:
    """While inside: this process's model calls go to the scripted model on ``model_port``, and
    no other request leaves the machine (unless ``outside_allowed``, for recording) but to the
    ``allowed_hosts`` (a set the caller may add to while inside)."""
    restore: list[tuple[Any, str, Any]] = []
    set_here: list[str] = []

    def decide_url(url: str) -> Decision:
        return decide(url, model_port, outside_allowed, allowed_hosts)

    try:
        for name, patch in PATCHES.items():
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            restore.extend(patch(module, decide_url))
        restore.extend(_lift_hub_offline_mode())
        if placeholders:
            for variable, value in PLACEHOLDER_VARIABLES.items():
                if not os.environ.get(variable):
                    os.environ[variable] = value
                    set_here.append(variable)
        yield
    finally:
        for owner, attribute, original in reversed(restore):
            setattr(owner, attribute, original)
        for variable in set_here:
            os.environ.pop(variable, None)
