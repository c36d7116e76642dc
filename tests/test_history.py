"""History normalisation on recorded payloads of Gradio 6 and Gradio 5 servers."""

from __future__ import annotations

import pytest

from harness.errors import ActionError
from harness.gradio.history import Message, normalise_history
from harness.gradio.message_targets import edit_target, feedback_target_for, last_exchange_target

FILE = {
    "path": "/tmp/gradio/abc/cat.png",
    "url": "http://127.0.0.1:7860/gradio_api/file=/tmp/gradio/abc/cat.png",
    "size": 100,
    "orig_name": "cat.png",
    "mime_type": "image/png",
    "is_stream": False,
    "meta": {"_type": "gradio.FileData"},
}

# recorded from a Gradio 6.31 server (content parts)
GRADIO6 = [
    {"role": "user", "metadata": None, "content": [{"type": "text", "text": "hello"}], "options": None},
    {
        "role": "assistant",
        "metadata": None,
        "content": [{"type": "text", "text": "#1 echo: "}, {"type": "text", "text": "hello"}],
        "options": None,
    },
    {"role": "user", "metadata": None, "content": [{"type": "file", "file": FILE, "alt_text": None}], "options": None},
    {
        "role": "assistant",
        "metadata": {"title": "Thinking", "status": "done", "id": None},
        "content": [{"type": "text", "text": "hm"}],
        "options": [{"value": "yes"}],
    },
]
# the same conversation from a Gradio 5.50 server (one item per message)
GRADIO5 = [
    {"role": "user", "metadata": None, "content": "hello", "options": None},
    {"role": "assistant", "metadata": None, "content": "#1 echo: hello", "options": None},
    {"role": "user", "metadata": None, "content": {"file": FILE, "alt_text": None}, "options": None},
    {
        "role": "assistant",
        "metadata": {"title": "Thinking", "status": "done"},
        "content": "hm",
        "options": [{"value": "yes"}],
    },
]


@pytest.mark.parametrize("payload", [GRADIO6, GRADIO5], ids=["gradio6", "gradio5"])
def test_versions_normalise_alike(payload: list[dict[str, object]]) -> None:
    history = normalise_history(payload)
    assert [m.as_dict() for m in history] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "#1 echo: hello"},
        {"role": "user", "content": "", "files": [{"name": "cat.png", "mime_type": "image/png"}]},
        {
            "role": "assistant",
            "content": "hm",
            "metadata": {"title": "Thinking", "status": "done"},
            "options": [{"value": "yes"}],
        },
    ]


def test_tuples_app() -> None:
    history = normalise_history([["hi", "hello"], [("/tmp/x/a.wav",), None]])
    assert [(m.role, m.text) for m in history] == [("user", "hi"), ("assistant", "hello"), ("user", "")]
    assert history[2].files[0].name == "a.wav"
    assert history[2].files[0].mime_type in ("audio/x-wav", "audio/wav")


def test_component_message() -> None:
    part = {"type": "component", "component": "image", "value": FILE, "constructor_args": {}, "props": {}}
    (message,) = normalise_history([{"role": "assistant", "content": [part]}])
    assert message.components == ("image",)
    assert message.files[0].name == "cat.png"


@pytest.mark.parametrize("bad", ["not a list", [{"content": "no role"}], [42]])
def test_malformed_history(bad: object) -> None:
    with pytest.raises(TypeError):
        normalise_history(bad)


def _h(*roles: str) -> list[Message]:
    return [Message(role, f"m{i}") for i, role in enumerate(roles)]


def test_undo_acts_on_last_user_message() -> None:
    history = _h("user", "assistant", "user", "assistant", "assistant")
    assert last_exchange_target(history, "undo", None).position == 2
    assert last_exchange_target(history, "undo", -1).position == 2
    with pytest.raises(ActionError, match="only acts on the last exchange"):
        last_exchange_target(history, "undo", 0)
    with pytest.raises(ActionError, match="outside the history"):
        last_exchange_target(history, "undo", 9)
    with pytest.raises(ActionError, match="no user message"):
        last_exchange_target([], "retry", None)


def test_feedback_uses_first_message_of_the_bubble() -> None:
    history = _h("user", "assistant", "assistant", "user", "assistant")
    assert feedback_target_for(history, "like", None).first == 4
    target = feedback_target_for(history, "like", 2)
    assert (target.first, target.last) == (1, 2)
    with pytest.raises(ActionError, match="only on replies"):
        feedback_target_for(history, "like", 0)
    assert feedback_target_for(history, "like", 0, like_user_message=True).first == 0
    with pytest.raises(ActionError, match="no reply yet"):
        feedback_target_for(_h("user"), "dislike", None)


def test_edit_index() -> None:
    assert edit_target(_h("user", "assistant"), -1).position == 1
    with pytest.raises(ActionError, match="outside the history"):
        edit_target(_h("user"), 3)
