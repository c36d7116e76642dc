"""Reading the event graph from real configs of the fixture apps."""

from __future__ import annotations

import re

import pytest

from harness.errors import TargetError
from harness.gradio.appconfig import AppConfig


@pytest.fixture(scope="module")
def reference() -> AppConfig:
    from fixtures.reference_app import demo

    return AppConfig(demo.get_config_file())


@pytest.fixture(scope="module")
def chat_interface() -> AppConfig:
    from fixtures.chat_interface_app import demo

    return AppConfig(demo.get_config_file())


def test_reference_graph(reference: AppConfig) -> None:
    chatbot = reference.chatbot(None)
    assert chatbot.label == "Chat"
    box = reference.input_for(chatbot)
    assert box is not None and box.label == "Message"
    (submit,) = reference.listeners(box.id, "submit")
    chain = reference.chain(submit)
    assert [d.raw["api_name"] for d in chain] == ["add_user_message", "stream_reply"]
    for event in ("undo", "retry", "like", "edit", "clear"):
        assert len(reference.listeners(chatbot.id, event)) == 1
    assert reference.find("#conversation").label == "Conversation"
    assert reference.find("Feedback").elem_id == "feedback"


def test_chat_interface_graph(chat_interface: AppConfig) -> None:
    assert chat_interface.mode == "chat_interface"
    chatbot = chat_interface.chatbot(None)
    assert chatbot.label is None  # an i18n label is not a usable selector
    box = chat_interface.input_for(chatbot)
    assert box is not None and box.type == "multimodaltextbox"
    retry = chat_interface.listeners(chatbot.id, "retry")
    assert len(retry) == 2 and retry[0].id < retry[1].id
    (edit,) = chat_interface.listeners(chatbot.id, "edit")
    kinds = [(c.only_on_success, c.only_on_failure) for c in chat_interface.chain(edit)[1:]]
    assert (True, False) in kinds and (False, False) in kinds


def test_an_unknown_component_lists_what_a_person_sees(chat_interface: AppConfig) -> None:
    """ChatInterface's hidden Response and Examples are no hint; a hidden one is still found."""
    with pytest.raises(TargetError) as caught:
        chat_interface.find("System promt")
    assert str(caught.value) == (
        "no component with label, elem_id or type 'System promt' (did you mean 'System prompt'?); the app has: "
        "Chatbot, Feedback, Markdown, MultimodalTextbox, System prompt, Temperature, Tokens, feedback, system, "
        "temperature, tokens"
    )
    assert chat_interface.find("Response").type == "json"


def test_selectors_and_errors() -> None:
    from fixtures.odd_apps import no_chatbot, two_chatbots

    with pytest.raises(TargetError, match=re.escape("no gr.Chatbot component")):
        AppConfig(no_chatbot.get_config_file()).chatbot(None)
    two = AppConfig(two_chatbots.get_config_file())
    with pytest.raises(TargetError, match=r"2 chatbots \('Left', 'Right'\); say which one with 'chatbot:'"):
        two.chatbot(None)
    right = two.chatbot("Right")
    assert getattr(two.input_for(right), "label", None) == "Right message"
    assert two.chatbot("#left").label == "Left"
    with pytest.raises(
        TargetError, match=re.escape("no chatbot with label or elem_id 'Rigth' (did you mean 'Right'?)")
    ):
        two.chatbot("Rigth")


def test_components_with_no_label_are_named_by_type_and_position() -> None:
    import gradio as gr

    with gr.Blocks() as demo:
        gr.Chatbot()
        first = gr.Slider(0, 10)
        with gr.Accordion("More", open=False):
            second = gr.Slider(0, 5)
        gr.Slider(0, 1, label="Temperature")
        gr.Radio(["a", "b"])
        gr.Button("Go")
        gr.Button("Go", visible=False)
    app = AppConfig(demo.get_config_file())
    with pytest.raises(TargetError) as caught:
        app.find("Slider")
    # counted among every slider the page shows, labelled or not: Slider#3 is the one labelled Temperature
    assert str(caught.value) == "the app shows 3 Slider components; say which with Slider#1, Slider#2, Temperature"
    assert app.find("Slider#1").id == first._id and app.find("Slider#2").id == second._id
    assert app.find("radio").type == "radio" and app.find("Temperature").label == "Temperature"
    assert app.find("Slider#3").label == "Temperature"
    with pytest.raises(TargetError, match=re.escape("there is no 'Slider#4' (counted from 1 in page order)")):
        app.find("Slider#4")
    assert app.selectors() == ["Chatbot", "Radio", "Slider#1", "Slider#2", "Temperature"]
    with pytest.raises(TargetError, match=re.escape("the app has: Chatbot, Radio, Slider#1, Slider#2, Temperature")):
        app.find("Sliders")
    assert app.button("Go").props.get("visible") is not False  # the hidden twin is no button a person presses
    with pytest.raises(
        TargetError, match=re.escape("no button reads 'Stop' or has that elem_id; the app's buttons: Go")
    ):
        app.button("Stop")
