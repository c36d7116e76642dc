"""Record chatbot values exactly as a Gradio server sends them, for ``tests/test_history_payloads.py``.

Run it under each Gradio major version; it rewrites ``tests/data/histories/gradio<major>/*.json``::

    # Gradio 6 (the project's virtualenv), from the repository root
    .venv/bin/python tests/data/histories/record.py

    # Gradio 5.50 (a separate virtualenv outside the repository)
    python3 -m venv /work/g5venv && /work/g5venv/bin/pip install gradio==5.50.0
    /work/g5venv/bin/python tests/data/histories/record.py

It needs only ``gradio`` and ``httpx`` (a gradio dependency), not the harness. It builds one ``gr.Blocks``
app with a chatbot per scenario, serves it on 127.0.0.1 on a free port and, per scenario, does what the
browser does when a button is clicked: ``POST {root}/gradio_api/queue/join``, then reads
``GET {root}/gradio_api/queue/data?session_hash=...`` (SSE) until ``process_completed``, and saves the
chatbot's output from that message. ``initial.json`` (and ``tuples_initial.json`` on Gradio 5) hold a
chatbot's initial value from ``GET {root}/config``. The multimodal scenario first uploads its image
through ``POST {root}/gradio_api/upload`` like the MultimodalTextbox does.

Each file is ``{"gradio": version, "scenario": name, "source": "process_completed" | "config",
"value": <chatbot value>}``. The value keeps its structure as sent; only machine-specific strings
are replaced by placeholders: ``<root>`` (http://127.0.0.1:port), ``<cache>`` (Gradio's upload/cache
dir), ``<hash>`` (the hash directory Gradio puts each cached file in) and ``<src>`` (the temp dir the
handlers write their files to).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import sys
import tempfile
import uuid
import wave
import zlib
from pathlib import Path
from typing import Any

# set before gradio is imported: no analytics / version check, and a known cache directory
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
WORK = Path(tempfile.mkdtemp(prefix="histories-"))
CACHE = WORK / "cache"
SRC = WORK / "src"
CACHE.mkdir()
SRC.mkdir()
os.environ["GRADIO_TEMP_DIR"] = str(CACHE)

import gradio as gr  # noqa: E402
import httpx  # noqa: E402

MAJOR = int(gr.__version__.split(".")[0])
OUT = Path(__file__).resolve().parent / f"gradio{MAJOR}"
MESSAGES: dict[str, Any] = {"type": "messages"} if MAJOR == 5 else {}


# -- small deterministic files -----------------------------------------------------------------


def write_png(path: Path, rgb: tuple[int, int, int] = (220, 30, 30), size: int = 4) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    )
    return path


def write_wav(path: Path, frames: int = 800) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", (i % 40 - 20) * 500) for i in range(frames)))
    return path


PNG = write_png(SRC / "red.png")
WAV = write_wav(SRC / "beep.wav")
TXT = SRC / "notes.txt"
TXT.write_text("line one\nline two\n")
PDF = SRC / "report.pdf"
PDF.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
MP4 = SRC / "clip.mp4"
MP4.write_bytes(struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00isommp41")  # a header only; nothing plays it
UPLOAD = write_png(SRC / "cat.png", (40, 90, 200))


# -- handlers: what a chatbot app returns ------------------------------------------------------


def text(history: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi there! **bold** and `code`"},
        {"role": "user", "content": "Two lines?"},
        {"role": "assistant", "content": "first line\n    second line (indented)"},
    ]


def multimodal(message: dict[str, Any], history: list[Any]) -> list[Any]:
    # the usual multimodal pattern: one user message per file, then one for the text
    history = list(history or [])
    for path in message["files"]:
        history.append({"role": "user", "content": {"path": path}})
    history.append({"role": "user", "content": message["text"]})
    history.append({"role": "assistant", "content": f"You sent {len(message['files'])} file(s) and some text."})
    return history


def files(history: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "Send me files"},
        {"role": "assistant", "content": {"path": str(PNG), "alt_text": "a red square"}},
        {"role": "assistant", "content": {"path": str(WAV)}},
        {"role": "assistant", "content": {"path": str(TXT)}},
        {"role": "assistant", "content": {"path": str(PDF)}},
    ]


def components(history: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "Show me components"},
        {"role": "assistant", "content": gr.Image(str(PNG))},
        {"role": "assistant", "content": gr.Audio(str(WAV))},
        {"role": "assistant", "content": gr.File(str(TXT))},
        {"role": "assistant", "content": gr.Video(str(MP4))},
        {"role": "assistant", "content": gr.Gallery([str(PNG), (str(UPLOAD), "a blue square")])},
        {"role": "assistant", "content": gr.HTML("<b>html</b>")},
    ]


def thoughts(history: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "Plan a trip"},
        {
            "role": "assistant",
            "content": "Looking at options",
            "metadata": {"title": "Planning", "id": "plan", "status": "done", "duration": 1.5, "log": "2 steps"},
        },
        {
            "role": "assistant",
            "content": "Searching flights",
            "metadata": {"title": "Search", "id": 7, "parent_id": "plan", "status": "pending"},
        },
        {
            "role": "assistant",
            "content": "Checking hotels",
            "metadata": {"title": "Hotels", "parent_id": "plan", "log": "3 found"},
        },
        gr.ChatMessage(content="Trip planned.", metadata={"title": "Done", "status": "done"}),
        {"role": "assistant", "content": "Here is the plan."},
    ]


def options(history: list[Any]) -> list[Any]:
    return [
        {"role": "user", "content": "Pick one"},
        {
            "role": "assistant",
            "content": "Which size?",
            "options": [{"value": "s", "label": "Small"}, {"value": "m", "label": "Medium"}, {"value": "l"}],
        },
        gr.ChatMessage(content="Or a colour?", options=[{"value": "red"}, {"value": "blue", "label": "Blue!"}]),
    ]


def content_list(history: list[Any]) -> list[Any]:
    # Gradio 6 only: one message holding several parts
    return [
        {"role": "user", "content": ["Look at this", {"path": str(PNG)}]},
        {"role": "assistant", "content": ["Here you go:", {"path": str(WAV)}, gr.Image(str(PNG)), "and done."]},
        gr.ChatMessage(
            content=["thinking ", "hard"], metadata={"title": "Thought", "status": "done"}, options=[{"value": "more"}]
        ),
    ]


def tuples(history: list[Any]) -> list[Any]:
    # Gradio 5 only: a type="tuples" chatbot
    return [
        ["Hello", "Hi there"],
        [(str(UPLOAD),), None],
        ["What is it?", (str(PNG), "a red square")],
        [None, (str(WAV),)],
        ["Text file?", (str(TXT),)],
        ["A component?", gr.Image(str(PNG))],
    ]


INITIAL = [
    {"role": "user", "content": "Initial question"},
    {"role": "assistant", "content": {"path": str(PNG)}},
    {"role": "assistant", "content": "An initial thought", "metadata": {"title": "Thinking", "status": "done"}},
    {"role": "assistant", "content": "Initial answer", "options": [{"value": "again", "label": "Ask again"}]},
]
TUPLES_INITIAL = [["Initial question", "Initial answer"], [None, (str(PNG),)]]

SCENARIOS = {"text": text, "files": files, "components": components, "thoughts": thoughts, "options": options}
if MAJOR >= 6:
    SCENARIOS["content_list"] = content_list


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Chatbot(INITIAL, elem_id="initial", **MESSAGES)
        for name, fn in SCENARIOS.items():
            chatbot = gr.Chatbot(elem_id=name, **MESSAGES)
            gr.Button(name).click(fn, chatbot, chatbot, api_name=name)
        box = gr.MultimodalTextbox(elem_id="multimodal_box")
        chatbot = gr.Chatbot(elem_id="multimodal", **MESSAGES)
        box.submit(multimodal, [box, chatbot], chatbot, api_name="multimodal")
        if MAJOR == 5:
            gr.Chatbot(TUPLES_INITIAL, elem_id="tuples_initial", type="tuples")
            chatbot = gr.Chatbot(elem_id="tuples", type="tuples")
            gr.Button("tuples").click(tuples, chatbot, chatbot, api_name="tuples")
    return demo


# -- the browser's side ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(client: httpx.Client, config: dict[str, Any], api_name: str, values: dict[int, Any]) -> Any:
    """Run one dependency like the browser: join the queue, read the session's stream, return the output."""
    prefix = config.get("api_prefix", "")
    dep = next(d for d in config["dependencies"] if d.get("api_name") == api_name)
    chatbot_id = dep["outputs"][0]
    session = uuid.uuid4().hex[:11]
    body = {
        "data": [values.get(i) for i in dep["inputs"]],
        "event_data": None,
        "fn_index": dep["id"],
        "trigger_id": dep["targets"][0][0],
        "session_hash": session,
    }
    joined = client.post(f"{prefix}/queue/join", json=body, headers={"x-gradio-user": "app"})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    with client.stream("GET", f"{prefix}/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("event_id") not in (None, event_id):
                continue
            if msg.get("msg") == "process_completed":
                if not msg.get("success"):
                    raise RuntimeError(f"{api_name} failed: {msg}")
                return msg["output"]["data"][dep["outputs"].index(chatbot_id)]
            if msg.get("msg") == "unexpected_error":
                raise RuntimeError(f"{api_name}: {msg}")
    raise RuntimeError(f"{api_name}: stream ended without process_completed")


def upload(client: httpx.Client, config: dict[str, Any], path: Path) -> dict[str, Any]:
    """Upload a file like the MultimodalTextbox and return the FileData the browser then sends."""
    prefix = config.get("api_prefix", "")
    with path.open("rb") as fh:
        response = client.post(
            f"{prefix}/upload",
            params={"upload_id": uuid.uuid4().hex[:11]},
            files={"files": (path.name, fh, "image/png")},
        )
    response.raise_for_status()
    (server_path,) = response.json()
    return {
        "path": server_path,
        "orig_name": path.name,
        "size": path.stat().st_size,
        "mime_type": "image/png",
        "is_stream": False,
        "meta": {"_type": "gradio.FileData"},
    }


def scrub(value: Any, root: str) -> Any:
    """Replace machine-specific strings with placeholders, keeping the structure."""
    text = json.dumps(value)
    for real, placeholder in ((root, "<root>"), (str(CACHE), "<cache>"), (str(SRC), "<src>")):
        text = text.replace(real, placeholder).replace(json.dumps(real)[1:-1], placeholder)
    text = re.sub(r"<cache>/[0-9a-f]{16,}/", "<cache>/<hash>/", text)
    return json.loads(text)


def save(name: str, source: str, value: Any, root: str) -> None:
    record = {"gradio": gr.__version__, "scenario": name, "source": source, "value": scrub(value, root)}
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {OUT.name}/{name}.json", file=sys.stderr)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    demo = build()
    port = free_port()
    demo.queue().launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=True
    )
    root = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=root, timeout=30) as client:
            config = client.get("/config").json()
            by_elem = {c.get("props", {}).get("elem_id"): c for c in config["components"]}
            for name in ("initial", "tuples_initial"):
                if name in by_elem:
                    save(name, "config", by_elem[name]["props"]["value"], root)
            for name in SCENARIOS:
                save(name, "process_completed", call(client, config, name, {}), root)
            box = {"text": "What is in this picture?", "files": [upload(client, config, UPLOAD)]}
            save(
                "multimodal",
                "process_completed",
                call(
                    client,
                    config,
                    "multimodal",
                    {by_elem["multimodal_box"]["id"]: box, by_elem["multimodal"]["id"]: []},
                ),
                root,
            )
            if MAJOR == 5:
                save("tuples", "process_completed", call(client, config, "tuples", {}), root)
    finally:
        demo.close()
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
