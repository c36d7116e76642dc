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

Clients on other stacks (``aiohttp``, ``urllib``, gRPC) are not routed: a socket-level guard
refuses their connections to addresses that are not loopback (while the session has no remote
target of its own; see ``_Backstop``).
"""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import os
import sys
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
    loopback = is_loopback(host)
    if loopback and parts.port == model_port:
        return Decision("pass")
    if protocol_of(parts.path) is not None:  # before the allowed hosts: a model call is always the script's
        upstream = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        target = urlunsplit(("http", f"127.0.0.1:{model_port}", parts.path, parts.query, ""))
        return Decision("model", target, upstream)
    if loopback or outside_allowed or host in allowed_hosts:
        return Decision("pass")
    return Decision(
        "block",
        reason=(
            f"chat-harness refused a request to {urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))}: "
            "while the scripted model is on, nothing but model calls leaves this machine, and this is not a "
            "model route (.../chat/completions, /api/chat)"
        ),
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, as a URL gives it) is this machine's loopback."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """The host name of ``url`` as ``decide`` compares it."""
    return (urlsplit(url if "://" in url else f"//{url}").hostname or "").lower()


def _patch_httpx(module: Any, decide_url: Callable[[str], Decision]) -> Iterator[tuple[Any, str, Any]]:
    """Patch one httpx-like module's default transports; yields what to restore."""

    def rewrite(request: Any) -> bool:
        """Whether the request now goes to the scripted model (raises for one that may not go out)."""
        if request.extensions.get("chat_harness_direct"):
            return False
        decision = decide_url(str(request.url))
        if decision.action == "block":
            raise module.ConnectError(decision.reason, request=request)
        if decision.action != "model":
            return False
        request.url = module.URL(decision.url)
        request.headers[UPSTREAM_HEADER] = decision.upstream
        request.headers["host"] = request.url.netloc.decode("ascii")
        return True

    sync_cls, async_cls = module.HTTPTransport, module.AsyncHTTPTransport
    sync_original, async_original = sync_cls.handle_request, async_cls.handle_async_request
    # the client chose its transport by the request's first URL: one with a proxy (HTTPS_PROXY) would
    # carry the rewritten request out through the proxy, so routed requests take a direct one
    direct: dict[Any, Any] = {}

    def direct_transport(key: Any, cls: Any) -> Any:
        """The proxy-free transport for ``key``, made once (made again on every call, each would
        leave its own connection pool behind)."""
        if key not in direct:
            direct[key] = cls()
        return direct[key]

    def handle_request(self: Any, request: Any) -> Any:
        if rewrite(request) and _has_proxy(self):
            return sync_original(direct_transport("sync", sync_cls), request)
        return sync_original(self, request)

    async def handle_async_request(self: Any, request: Any) -> Any:
        if rewrite(request) and _has_proxy(self):
            import asyncio

            # a pool belongs to one event loop
            return await async_original(direct_transport(asyncio.get_running_loop(), async_cls), request)
        return await async_original(self, request)

    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request
    yield sync_cls, "handle_request", sync_original
    yield async_cls, "handle_async_request", async_original


def _has_proxy(transport: Any) -> bool:
    """Whether an httpx transport sends through a proxy (its pool is a proxy pool)."""
    return "Proxy" in type(getattr(transport, "_pool", None)).__name__


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
            kwargs["proxies"] = {}  # straight to the scripted model, never through a proxy
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


class _Backstop:
    """A socket-level guard under the patched clients: while on, a connection this process opens
    to an address that is not loopback is refused (clients the routing does not patch: urllib,
    aiohttp, ...). It stands aside while the session has remote targets, whose addresses a name
    does not pin down. Python's audit hooks cannot be removed: it is installed once, then switched."""

    def __init__(self) -> None:
        self.on = 0
        self.allowed_hosts: Collection[str] = ()
        self.installed = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "socket.connect" or not self.on or self.allowed_hosts:
            return
        address = args[1] if len(args) > 1 else None
        if not isinstance(address, tuple) or not address or is_loopback(str(address[0])):
            return
        raise ConnectionRefusedError(
            f"chat-harness refused a connection to {address[0]}:{address[1] if len(address) > 1 else '?'}: while "
            "the scripted model is on, nothing but model calls leaves this machine"
        )


_BACKSTOP = _Backstop()


@contextmanager
def _socket_backstop(allowed_hosts: Collection[str]) -> Iterator[None]:
    if not _BACKSTOP.installed:
        sys.addaudithook(_BACKSTOP)
        _BACKSTOP.installed = True
    _BACKSTOP.on += 1
    _BACKSTOP.allowed_hosts = allowed_hosts
    try:
        yield
    finally:
        _BACKSTOP.on -= 1


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

    backstop = contextlib.ExitStack()
    try:
        if not outside_allowed:
            backstop.enter_context(_socket_backstop(allowed_hosts))
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
        backstop.close()
        for owner, attribute, original in reversed(restore):
            setattr(owner, attribute, original)
        for variable in set_here:
            os.environ.pop(variable, None)
