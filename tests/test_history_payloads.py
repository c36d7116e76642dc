"""History normalisation on chatbot values recorded from real Gradio 5.50 and 6.31 servers.

The payloads in ``tests/data/histories/gradio{5,6}/`` are what the servers sent (``process_completed``
output, or the initial value from ``/config``) for the handlers in ``tests/data/histories/record.py``;
re-record them with that script. Each payload must normalise to the messages spelled out below, and a
handler recorded under both versions must normalise the same on both: a scenario compares alike on any
server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.gradio.history import normalise_history

DATA = Path(__file__).parent / "data" / "histories"


def load(version: int, name: str) -> list[Any]:
    record = json.loads((DATA / f"gradio{version}" / f"{name}.json").read_text())
    assert record["scenario"] == name
    assert record["gradio"].startswith(f"{version}.")
    return record["value"]


def normalised(version: int, name: str) -> list[dict[str, Any]]:
    return [m.as_dict() for m in normalise_history(load(version, name))]


def file(name: str, mime_type: str) -> dict[str, Any]:
    return {"name": name, "mime_type": mime_type}


RED = file("red.png", "image/png")
BLUE = file("cat.png", "image/png")  # the multimodal upload
WAV = file("beep.wav", "audio/wav")
TXT = file("notes.txt", "text/plain")

INITIAL = [
    {"role": "user", "content": "Initial question"},
    {"role": "assistant", "content": "", "files": [RED]},
    {"role": "assistant", "content": "An initial thought", "metadata": {"title": "Thinking", "status": "done"}},
    {"role": "assistant", "content": "Initial answer", "options": [{"value": "again", "label": "Ask again"}]},
]
TEXT = [
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there! **bold** and `code`"},
    {"role": "user", "content": "Two lines?"},
    # both servers dedent text (inspect.cleandoc)
    {"role": "assistant", "content": "first line\nsecond line (indented)"},
]
MULTIMODAL = [
    {"role": "user", "content": "", "files": [BLUE]},
    {"role": "user", "content": "What is in this picture?"},
    {"role": "assistant", "content": "You sent 1 file(s) and some text."},
]
FILES = [
    {"role": "user", "content": "Send me files"},
    {"role": "assistant", "content": "", "files": [RED]},  # alt_text is not compared
    {"role": "assistant", "content": "", "files": [WAV]},
    {"role": "assistant", "content": "", "files": [TXT]},
    {"role": "assistant", "content": "", "files": [file("report.pdf", "application/pdf")]},
]
COMPONENTS = [
    {"role": "user", "content": "Show me components"},
    {"role": "assistant", "content": "", "files": [RED], "components": ["image"]},
    # the server leaves mime_type null in component values: it is guessed the way the server guesses
    {"role": "assistant", "content": "", "files": [WAV], "components": ["audio"]},
    {"role": "assistant", "content": "", "files": [TXT], "components": ["file"]},
    {"role": "assistant", "content": "", "files": [file("clip.mp4", "video/mp4")], "components": ["video"]},
    {"role": "assistant", "content": "", "files": [RED, BLUE], "components": ["gallery"]},
    {"role": "assistant", "content": "", "components": ["html"]},
]
THOUGHTS = [
    {"role": "user", "content": "Plan a trip"},
    {
        "role": "assistant",
        "content": "Looking at options",
        "metadata": {"title": "Planning", "id": "plan", "log": "2 steps", "duration": 1.5, "status": "done"},
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
    {
        "role": "assistant",
        "content": "Trip planned.",
        "metadata": {"title": "Done", "status": "done"},
    },  # a gr.ChatMessage
    {"role": "assistant", "content": "Here is the plan."},
]
OPTIONS = [
    {"role": "user", "content": "Pick one"},
    {
        "role": "assistant",
        "content": "Which size?",
        "options": [{"value": "s", "label": "Small"}, {"value": "m", "label": "Medium"}, {"value": "l"}],
    },
    {
        "role": "assistant",
        "content": "Or a colour?",
        "options": [{"value": "red"}, {"value": "blue", "label": "Blue!"}],
    },
]
# Gradio 6 only: one message holding several parts; texts are concatenated, files kept in order
CONTENT_LIST = [
    {"role": "user", "content": "Look at this", "files": [RED]},
    {"role": "assistant", "content": "Here you go:and done.", "files": [WAV, RED], "components": ["image"]},
    {
        "role": "assistant",
        "content": "thinking hard",
        "metadata": {"title": "Thought", "status": "done"},
        "options": [{"value": "more"}],
    },
]
# Gradio 5 only: type="tuples" chatbots send [[user, bot], ...]; a None side is no message
TUPLES = [
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there"},
    {"role": "user", "content": "", "files": [BLUE]},
    {"role": "user", "content": "What is it?"},
    {"role": "assistant", "content": "", "files": [RED]},
    {"role": "assistant", "content": "", "files": [WAV]},
    {"role": "user", "content": "Text file?"},
    {"role": "assistant", "content": "", "files": [TXT]},
    {"role": "user", "content": "A component?"},
    {"role": "assistant", "content": "", "files": [RED], "components": ["image"]},
]
TUPLES_INITIAL = [
    {"role": "user", "content": "Initial question"},
    {"role": "assistant", "content": "Initial answer"},
    {"role": "assistant", "content": "", "files": [RED]},
]

BOTH = {
    "initial": INITIAL,
    "text": TEXT,
    "multimodal": MULTIMODAL,
    "files": FILES,
    "components": COMPONENTS,
    "thoughts": THOUGHTS,
    "options": OPTIONS,
}
EXPECTED = {
    5: {**BOTH, "tuples": TUPLES, "tuples_initial": TUPLES_INITIAL},
    6: {**BOTH, "content_list": CONTENT_LIST},
}
CASES = [(version, name) for version, names in EXPECTED.items() for name in names]


@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_every_recording_is_checked(version: int) -> None:
    assert {p.stem for p in (DATA / f"gradio{version}").glob("*.json")} == set(EXPECTED[version])


@pytest.mark.parametrize(("version", "name"), CASES, ids=[f"gradio{v}-{n}" for v, n in CASES])
def test_recorded_payload_normalises(version: int, name: str) -> None:
    assert normalised(version, name) == EXPECTED[version][name]


@pytest.mark.parametrize("name", sorted(BOTH))
def test_same_handler_normalises_alike_on_gradio5_and_gradio6(name: str) -> None:
    assert load(5, name) != load(6, name)  # the wire formats differ ...
    assert normalised(5, name) == normalised(6, name)  # ... the comparable form does not


@pytest.mark.parametrize("name", sorted(BOTH))
def test_wire_formats(name: str) -> None:
    """What the recordings show: 6.x sends typed part lists, 5.x one untyped item per message."""
    for message in load(6, name):
        assert set(message) == {"role", "metadata", "content", "options"}
        assert isinstance(message["content"], list)
        assert all(part["type"] in ("text", "file", "component") for part in message["content"])
    for message in load(5, name):
        assert set(message) == {"role", "metadata", "content", "options"}
        assert isinstance(message["content"], (str, dict))
        assert isinstance(message["content"], str) or "type" not in message["content"]


@pytest.mark.parametrize("version", [5, 6])
def test_raw_message_is_kept(version: int) -> None:
    value = load(version, "thoughts")
    assert [m.raw for m in normalise_history(value)] == value


def _component(version: int, name: str) -> dict[str, Any]:
    """The recorded content part of the message showing one component."""
    for message in load(version, "components"):
        part = message["content"][0] if version == 6 else message["content"]
        if isinstance(part, dict) and part.get("component") == name:
            return part
    raise LookupError(name)


def _shape(value: Any) -> str:
    """Where a component value holds its files: ``FileData``, ``[FileData]``, ``{video: FileData}`` ..."""
    if isinstance(value, list):
        return "[" + ", ".join(sorted({_shape(v) for v in value})) + "]"
    if isinstance(value, dict):
        if value.get("meta") == {"_type": "gradio.FileData"}:
            return "FileData"
        return "{" + ", ".join(f"{k}: {_shape(v)}" for k, v in value.items() if isinstance(v, (dict, list))) + "}"
    return type(value).__name__


@pytest.mark.parametrize(
    ("version", "component", "shape", "files"),
    [
        (5, "image", "FileData", [RED]),
        (6, "image", "FileData", [RED]),
        (5, "file", "FileData", [TXT]),
        (6, "file", "[FileData]", [TXT]),
        (5, "video", "{video: FileData}", [file("clip.mp4", "video/mp4")]),
        (6, "video", "FileData", [file("clip.mp4", "video/mp4")]),
        (5, "gallery", "[{image: FileData}]", [RED, BLUE]),
        (6, "gallery", "[{image: FileData}]", [RED, BLUE]),
        (6, "html", "str", []),
    ],
)
def test_component_files_wherever_the_value_holds_them(
    version: int, component: str, shape: str, files: list[dict[str, Any]]
) -> None:
    part = _component(version, component)
    assert _shape(part["value"]) == shape
    (message,) = normalise_history([{"role": "assistant", "content": part}])
    assert message.components == (component,)
    assert [f.as_dict() for f in message.files] == files


@pytest.mark.parametrize(
    ("name", "mime_type"),
    [("beep.wav", "audio/wav"), ("song.flac", "audio/flac"), ("red.png", "image/png"), ("noext", None)],
)
def test_missing_mime_type_is_guessed_like_the_server(name: str, mime_type: str | None) -> None:
    value = {
        "path": f"/cache/abc/{name}",
        "url": None,
        "orig_name": name,
        "mime_type": None,
        "meta": {"_type": "gradio.FileData"},
    }
    (message,) = normalise_history(
        [{"role": "assistant", "content": [{"type": "component", "component": "audio", "value": value}]}]
    )
    assert message.files[0].as_dict() == {"name": name, "mime_type": mime_type}
