"""The scripted model server: a Starlette app on a free 127.0.0.1 port, served by uvicorn in a thread.

It answers every Chat Completions route (``.../chat/completions``: OpenAI, Hugging Face's
router, any OpenAI-compatible server) and Ollama's ``/api/chat`` from the script of the run
in progress (``begin`` ... ``end``), and records every call. A call the script does not cover is
refused at once (HTTP 400, which no client library retries); the runner then fails the step
naming it. In record mode it forwards each call to the provider it was meant for and keeps the
exchange in a cassette; in replay mode it answers from the cassette.

Scripted errors carry ``x-should-retry: false`` so that the OpenAI SDK hands them to the app at
once instead of retrying with back-off.

It also answers OpenAI's embeddings route (``POST .../embeddings``), with no script: each input's
embedding is a fixed function of its words (``protocols.embedding``), the same in every process and
run, so that the ``similar`` matcher's judge can be this server, offline. An embeddings request is
answered whether or not a run is in progress, in every mode (script, record, replay: it is never
forwarded nor taken from a cassette), and it is not a model call: it takes no reply of the script,
is not recorded in the run's ``calls``, and ``expect: model:`` does not count it. Any other route
(legacy completions, GET) is refused with HTTP 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.model.calls import ModelCall, last_user_text, request_messages
from harness.model.cassette import Cassette, Exchange
from harness.model.protocols import (
    embeddings_body,
    error_body,
    is_embeddings,
    protocol_of,
    stream_media_type,
    stream_parts,
    whole,
)
from harness.model.script import Reply, Script, ScriptState

__all__ = ["UPSTREAM_HEADER", "ModelRun", "ScriptedModel"]

log = logging.getLogger(__name__)

#: the header the in-process routing adds: where the request was meant to go (scheme://host[:port])
UPSTREAM_HEADER = "x-chat-harness-upstream"
#: how long a scripted ``hang`` lasts at most when nothing ends the run
HANG_LIMIT = 600.0
_NO_RETRY = {"x-should-retry": "false"}
#: what record mode passes on to the provider: the credentials and the account, no other header
FORWARDED_HEADERS = ("authorization", "content-type", "api-key", "openai-organization", "openai-project")


class _CutStream(Exception):
    """Raised inside a streamed body to drop the connection halfway (a scripted ``cut_after``)."""


class _QuietCuts(logging.Filter):
    """Keeps a scripted cut out of uvicorn's error log (the apps' servers share that logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _CutStream))


_QUIET_CUTS = _QuietCuts()


class ModelRun:
    """One run's script (or cassette) and the calls it answered; thread-safe."""

    def __init__(self, script: Script | None = None, cassette: Cassette | None = None, mode: str = "script") -> None:
        self.mode = mode  # "script", "record" or "replay"
        self.state = ScriptState(script or Script())
        self.cassette = cassette
        self.calls: list[ModelCall] = []
        self.step: int | None = None
        self.ended = False
        self._lock = threading.Lock()
        self._reported: set[int] = set()
        self._forwards = 0  # record mode: exchanges still being relayed
        self._forwarded = threading.Condition(self._lock)

    def use(self, script: Script) -> None:
        """Play ``script`` from now on (a ``model`` step): its queue starts from the first reply."""
        with self._lock:
            self.state = ScriptState(script)

    def begin_step(self, number: int | None) -> None:
        """Calls from now on belong to step ``number`` (None: between steps)."""
        with self._lock:
            self.step = number

    def calls_of(self, step: int) -> list[ModelCall]:
        with self._lock:
            return [c for c in self.calls if c.step == step]

    def unreported_problems(self) -> list[ModelCall]:
        """The calls the script could not answer that nobody has been told of yet, whenever they
        came (during a step, while the session opened, between steps); they count as told now."""
        with self._lock:
            found = [c for c in self.calls if c.problem is not None and c.number not in self._reported]
            self._reported.update(c.number for c in found)
            return found

    def wait_for_forwards(self, timeout: float) -> None:
        """Until the exchanges being relayed from the provider are recorded (record mode)."""
        with self._forwarded:
            self._forwarded.wait_for(lambda: self._forwards == 0, timeout)

    def _forward_started(self) -> None:
        with self._lock:
            self._forwards += 1

    def _forward_done(self) -> None:
        with self._forwarded:
            self._forwards -= 1
            self._forwarded.notify_all()

    def end(self) -> None:
        self.ended = True

    def _new_call(self, protocol: str, route: str, body: dict[str, Any]) -> ModelCall:
        with self._lock:
            call = ModelCall(len(self.calls) + 1, protocol, route, body, self.step, messages=request_messages(body))
            self.calls.append(call)
            return call

    def _answer(self, call: ModelCall) -> tuple[Reply | None, Script]:
        with self._lock:
            return self.state.answer(last_user_text(call.messages)), self.state.script

    def _coverage(self) -> str:
        with self._lock:
            return self.state.coverage()


class ScriptedModel:
    """The server, started once per test session (per xdist worker); ``run`` is the run it plays."""

    def __init__(self) -> None:
        self.run: ModelRun | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> ScriptedModel:
        """Serve on 127.0.0.1:``port`` (0: a free port), in a thread; ``OSError`` if it is taken."""
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # each streamed chunk is its own small write: without this, Nagle's algorithm holds the
        # second one until the client's delayed ACK (40 ms on Linux); accepted sockets inherit it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(self.asgi(), log_level="critical", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_CUTS)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="chat-harness-model", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scripted model server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self.run is not None:
            self.run.end()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def begin(self, script: Script | None = None, cassette: Cassette | None = None, mode: str = "script") -> ModelRun:
        """A new run: the calls from now on are answered by ``script`` (or the cassette)."""
        if self.run is not None:
            self.run.end()
        self.run = ModelRun(script, cassette, mode)
        return self.run

    def end(self, run: ModelRun) -> None:
        run.end()
        if self.run is run:
            self.run = None

    # -- the ASGI app -----------------------------------------------------------------------------

    def asgi(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST", "GET"])])

    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        protocol = protocol_of(path)
        upstream = request.headers.get(UPSTREAM_HEADER)
        route = f"{upstream or self.base_url}{path}"
        if request.method == "POST" and protocol is None and is_embeddings(path):
            return await _embeddings(request)
        if request.method != "POST" or protocol is None:
            message = f"chat-harness: the scripted model answers chat and embeddings routes only, not {request.method} "
            message += route
            return JSONResponse(error_body("openai", 404, message), status_code=404, headers=_NO_RETRY)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(error_body(protocol, 400, "chat-harness: the request is not a JSON object"), 400)
        run = self.run
        if run is None or run.ended:
            message = f"chat-harness: a model call came while no scenario runs ({route})"
            return JSONResponse(error_body(protocol, 400, message), status_code=400, headers=_NO_RETRY)
        started = time.perf_counter()
        call = run._new_call(protocol, route, body)
        if run.mode == "record":
            return await self._forward(run, call, request, upstream, path, started)
        if run.mode == "replay":
            return self._replay(run, call, started)
        reply, script = run._answer(call)
        if reply is None:
            call.problem = f"no rule or queued reply covers it (the script has {run._coverage()})"
            if not script.rules and not script.replies and run.cassette is None:
                call.problem += (
                    "; give the scenario a model: block, record a cassette with --chat-model record, or let the "
                    "app reach its model with --chat-model off"
                )
            call.answer = "refused: uncovered"
            call.seconds = time.perf_counter() - started
            message = f"chat-harness: the model script does not cover {call.describe()}: {call.problem}"
            return JSONResponse(error_body(protocol, 400, message), status_code=400, headers=_NO_RETRY)
        call.answer = reply.describe()
        if reply.hang:
            await _hang(run)
            call.seconds = time.perf_counter() - started
            body = error_body(protocol, 504, "chat-harness: a scripted hang ended")
            return JSONResponse(body, 504, headers=_NO_RETRY)  # not retried into the next scenario
        if reply.error is not None:
            message = reply.message or f"chat-harness: scripted error {reply.error}"
            call.seconds = time.perf_counter() - started
            return JSONResponse(error_body(protocol, reply.error, message), status_code=reply.error, headers=_NO_RETRY)
        if not call.stream:
            call.seconds = time.perf_counter() - started
            return JSONResponse(whole(protocol, body, reply, call.number))
        parts = list(stream_parts(protocol, body, reply, script.chunks_of(reply), call.number))
        delay = script.delay_of(reply)
        # the cut counts text chunks: the role event comes first on the OpenAI stream
        cut = None if reply.cut_after is None else reply.cut_after + (1 if protocol == "openai" else 0)
        return StreamingResponse(_paced(parts, delay, cut, call, started, run), media_type=stream_media_type(protocol))

    def _replay(self, run: ModelRun, call: ModelCall, started: float) -> Response:
        assert run.cassette is not None
        exchange, problem = run.cassette.replay(call.number - 1, call.protocol, call.request)
        call.seconds = time.perf_counter() - started
        if exchange is None:
            call.problem = problem
            call.answer = "refused: not in the cassette"
            body = error_body(call.protocol, 400, f"chat-harness: {call.describe()} {problem}")
            return JSONResponse(body, status_code=400, headers=_NO_RETRY)
        call.answer = f"replayed from {run.cassette.path.name}"
        if not exchange.streamed:
            return Response(exchange.body, status_code=exchange.status, media_type=exchange.content_type)
        return StreamingResponse(
            _paced(exchange.parts(), 0.0, None, call, started, run),
            status_code=exchange.status,
            media_type=exchange.content_type,
        )

    async def _forward(
        self, run: ModelRun, call: ModelCall, request: Request, upstream: str | None, path: str, started: float
    ) -> Response:
        """Record mode: the call goes to the provider it was meant for; the exchange is kept (no headers)."""
        import httpx

        cassette = run.cassette
        assert cassette is not None
        if upstream is None:
            call.problem = "recording needs the provider's address, and this call came without one"
            return JSONResponse(error_body(call.protocol, 400, f"chat-harness: {call.problem}"), 400)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_HEADERS}
        client = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0))
        query = f"?{request.url.query}" if request.url.query else ""
        upstream_request = client.build_request(
            "POST",
            upstream + path + query,
            content=await request.body(),
            headers=headers,
            extensions={"chat_harness_direct": True},
        )
        run._forward_started()
        try:
            response = await client.send(upstream_request, stream=True)
        except httpx.HTTPError as exc:
            await client.aclose()
            run._forward_done()
            call.problem = f"the provider at {upstream} could not be reached: {exc}"
            return JSONResponse(error_body(call.protocol, 502, f"chat-harness: {call.problem}"), 502)
        content_type = response.headers.get("content-type", "application/json")
        call.answer = f"recorded from {upstream} (HTTP {response.status_code})"
        received: list[bytes] = []

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for piece in response.aiter_bytes():
                    if call.first_chunk is None:
                        call.first_chunk = time.perf_counter() - started
                    received.append(piece)
                    yield piece
            finally:
                call.seconds = time.perf_counter() - started
                cassette.record(
                    Exchange.of(
                        call.number - 1,
                        call.protocol,
                        path,
                        call.request,
                        response.status_code,
                        content_type,
                        b"".join(received),
                    )
                )
                run._forward_done()
                await response.aclose()
                await client.aclose()

        return StreamingResponse(relay(), status_code=response.status_code, media_type=content_type)


async def _embeddings(request: Request) -> Response:
    """An embeddings request, answered without a script (see the module's docstring)."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse(error_body("openai", 400, "chat-harness: the request is not a JSON object"), 400)
    try:
        return JSONResponse(embeddings_body(body))
    except ValueError as exc:
        return JSONResponse(error_body("openai", 400, f"chat-harness: {exc}"), 400, headers=_NO_RETRY)


async def _paced(
    parts: list[str], delay: float, cut: int | None, call: ModelCall, started: float, run: ModelRun
) -> AsyncIterator[bytes]:
    try:
        for i, part in enumerate(parts):
            if cut is not None and i >= cut:
                raise _CutStream(f"the script cut the stream after {i} part(s)")
            if run.ended:  # a slow stream does not run on into the next scenario
                raise _CutStream("the scenario ended")
            if i and delay:
                await asyncio.sleep(delay)
            if call.first_chunk is None:
                call.first_chunk = time.perf_counter() - started
            yield part.encode()
    finally:
        call.seconds = time.perf_counter() - started


async def _hang(run: ModelRun) -> None:
    deadline = time.monotonic() + HANG_LIMIT
    while not run.ended and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
