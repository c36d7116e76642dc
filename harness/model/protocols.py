"""The wire formats the scripted model speaks: what a reply looks like to each client library.

- **OpenAI Chat Completions** (``POST .../chat/completions``): a JSON completion, or a stream of
  ``data: {chunk}`` server-sent events ending with ``data: [DONE]``; with
  ``stream_options.include_usage`` a last chunk with no choices carries the usage. Hugging Face's
  ``InferenceClient.chat_completion`` and every OpenAI-compatible server use the same route and format.
- **Ollama** (``POST /api/chat``): a JSON object, or one JSON object per line (NDJSON), the last
  with ``done: true``.
- **OpenAI Embeddings** (``POST .../embeddings``): ``{"object": "list", "data": [{"embedding": [...],
  "index": i}, ...]}``, the vectors as floats or, with ``encoding_format: base64`` (the OpenAI SDK's
  default), as little-endian float32 in base64. No script answers it: ``embedding`` is a fixed
  function of the text (see there). It is not a chat protocol: ``protocol_of`` does not name it, so
  the routing of an in-process app does not send an app's embeddings calls to the scripted model.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

from harness.model.script import Reply

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "OLLAMA",
    "OPENAI",
    "embedding",
    "embeddings_body",
    "error_body",
    "is_embeddings",
    "protocol_of",
    "stream_media_type",
    "stream_parts",
    "whole",
]

OPENAI = "openai"
OLLAMA = "ollama"


def protocol_of(path: str) -> str | None:
    """The protocol a request path speaks (None: no route the scripted model answers)."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return OPENAI
    if path.endswith("/api/chat"):
        return OLLAMA
    return None


def is_embeddings(path: str) -> bool:
    """Whether a request path is an OpenAI embeddings route (``.../embeddings``)."""
    return path.rstrip("/").endswith("/embeddings")


#: the length of the scripted model's embeddings (a request's ``dimensions`` may ask for another)
EMBEDDING_DIMENSIONS = 256
_WORD = re.compile(r"\w+")


def embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic embedding of ``text``: its lowercased words hashed (CRC-32, the same in every
    process, unlike ``hash()``) into ``dimensions`` buckets and counted, the vector normalised to
    length 1 (all zeros for a text with no word). The cosine of two such vectors grows with the words
    the texts share: 1 for the same words, 0 for texts with none in common (but for hash collisions)."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        vector[zlib.crc32(word.encode("utf-8")) % dimensions] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


def embeddings_body(request: dict[str, Any]) -> dict[str, Any]:
    """The answer to an embeddings request; ``ValueError`` (its message for the client) for a
    request that is not one: ``input`` must be a string or a list of strings."""
    texts = request.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ValueError(
            "an embeddings request needs input: a string or a non-empty list of strings (token arrays are "
            f"not supported), got {type(texts).__name__}"
        )
    dimensions = request.get("dimensions", EMBEDDING_DIMENSIONS)
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or not 1 <= dimensions <= 4096:
        raise ValueError(f"dimensions must be a whole number from 1 to 4096, got {dimensions!r}")
    encoding = request.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise ValueError(f"encoding_format must be float or base64, got {encoding!r}")
    data = []
    for index, text in enumerate(texts):
        vector: Any = embedding(text, dimensions)
        if encoding == "base64":
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = sum(len(_WORD.findall(t)) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": str(request.get("model") or "scripted"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _usage(request: dict[str, Any], reply: Reply) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in request.get("messages") or () if isinstance(m, dict))
    completion = len(reply.text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{i}", "type": "function", "function": call.as_dict()} for i, call in enumerate(reply.tool_calls)
    ]


def whole(protocol: str, request: dict[str, Any], reply: Reply, number: int) -> dict[str, Any]:
    """A reply that is not streamed, as one JSON body."""
    model = str(request.get("model") or "scripted")
    if protocol == OLLAMA:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"function": {"name": t.name, "arguments": json.loads(t.arguments or "{}")}} for t in reply.tool_calls
            ]
        return {"model": model, "created_at": _now_iso(), "message": message, "done": True, "done_reason": "stop"}
    message = {"role": "assistant", "content": reply.text if reply.text or not reply.tool_calls else None}
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply)
    return {
        "id": f"chatcmpl-harness-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(request, reply),
    }


def stream_media_type(protocol: str) -> str:
    return "application/x-ndjson" if protocol == OLLAMA else "text/event-stream"


def stream_parts(protocol: str, request: dict[str, Any], reply: Reply, chunks: list[str], number: int) -> Iterator[str]:
    """The streamed reply, one wire message per item: first the role, then each chunk of text, then
    the tool calls and the end (the caller may stop early to cut the stream)."""
    model = str(request.get("model") or "scripted")
    if protocol == OLLAMA:
        for text in chunks:
            yield (
                json.dumps(
                    {
                        "model": model,
                        "created_at": _now_iso(),
                        "message": {"role": "assistant", "content": text},
                        "done": False,
                    }
                )
                + "\n"
            )
        last = whole(protocol, request, Reply(tool_calls=reply.tool_calls), number)
        yield json.dumps(last) + "\n"
        return
    base = {
        "id": f"chatcmpl-harness-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        return f"data: {json.dumps(chunk)}\n\n"

    yield event({"role": "assistant", "content": ""})
    for text in chunks:
        yield event({"content": text})
    for i, call in enumerate(_tool_calls(reply)):
        yield event({"tool_calls": [{"index": i, **call}]})
    yield event({}, "tool_calls" if reply.tool_calls else "stop")
    if (request.get("stream_options") or {}).get("include_usage"):
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(request, reply)})}\n\n"
    yield "data: [DONE]\n\n"


def error_body(protocol: str, status: int, message: str) -> dict[str, Any]:
    """An error as the provider would send it."""
    if protocol == OLLAMA:
        return {"error": message}
    kind = "rate_limit_error" if status == 429 else "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "code": status}}


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
