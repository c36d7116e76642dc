"""The values the frontend holds for one session, and how backend outputs and local edits change them.

Both drivers keep one ``ClientState``: the API driver feeds it the outputs gradio_client receives,
the browser driver the outputs the page received (captured from its own network traffic). Either
way the chat history a scenario checks is the value the app sent, not a re-reading of rendered
markdown.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from gradio_client import utils as client_utils

from harness.gradio.appconfig import AppConfig, Component, Dependency
from harness.gradio.history import Message, normalise_history

__all__ = ["ClientState", "chat_values", "error_text", "next_stream_values", "shown_value"]


class ClientState:
    """Client-side component values (what the browser would send as inputs) for one session."""

    def __init__(self, app: AppConfig) -> None:
        self.app = app
        self.values: dict[int, Any] = {cid: copy.deepcopy(c.props.get("value")) for cid, c in app.components.items()}
        self.props: dict[int, dict[str, Any]] = {cid: {} for cid in app.components}

    def get(self, component_id: int) -> Any:
        return self.values.get(component_id)

    def set(self, component_id: int, value: Any) -> None:
        self.values[component_id] = value

    def inputs(self, dep: Dependency) -> list[Any]:
        """The data the frontend sends for ``dep``: current values, ``None`` for server-side State."""
        return [None if self.app.is_server_state(i) else self.values.get(i) for i in dep.inputs]

    def apply(self, dep: Dependency, outputs: Sequence[Any]) -> list[int]:
        """Apply a dependency's outputs (values or update dicts); returns the ids whose value changed."""
        changed = []
        for cid, value in zip(dep.outputs, outputs):
            if self.app.is_server_state(cid):
                continue
            before = self.values.get(cid)
            if isinstance(value, dict) and value.get("__type__") == "update":
                props = {k: v for k, v in value.items() if k != "__type__"}
                if "value" in props:
                    self.values[cid] = props.pop("value")
                self.props.setdefault(cid, {}).update(props)
            else:
                self.values[cid] = value
            if self.values.get(cid) != before:
                changed.append(cid)
        return changed

    # -- what the chatbot's own icons do before any handler runs -----------------------------------

    def edit_locally(self, chatbot: Component, position: int, text: str) -> None:
        """The Edit box's Submit rewrites the message in place, then the ``.edit`` listeners run."""
        messages = list(self.values.get(chatbot.id) or [])
        content: Any = [{"text": text, "type": "text"}] if self.app.major_version >= 6 else text
        messages[position] = {**messages[position], "content": content}
        self.values[chatbot.id] = messages

    def clear_locally(self, chatbot: Component) -> None:
        """The trash icon empties the chat, then the ``.clear`` listeners run."""
        self.values[chatbot.id] = []

    def raw_message(self, chatbot: Component, position: int) -> dict[str, Any]:
        entry = (self.values.get(chatbot.id) or [])[position]
        return entry if isinstance(entry, dict) else {"content": entry}

    def history(self, chatbot: Component) -> list[Message]:
        return normalise_history(self.values.get(chatbot.id))


def chat_values(dep: Dependency, chatbot: Component, updates: Iterable[Sequence[Any]]) -> list[list[Message]]:
    """The chat history carried by each of ``updates`` (output lists of ``dep``), normalised.

    Updates that do not touch the chatbot's value (or are not a history) are skipped.
    """
    if chatbot.id not in dep.outputs:
        return []
    slot = dep.outputs.index(chatbot.id)
    histories = []
    for outputs in updates:
        if slot >= len(outputs):
            continue
        value = outputs[slot]
        if isinstance(value, dict) and value.get("__type__") == "update":
            if "value" not in value:
                continue
            value = value["value"]
        try:
            histories.append(normalise_history(value))
        except TypeError:
            continue
    return histories


def next_stream_values(app: AppConfig, previous: list[Any] | None, data: list[Any]) -> list[Any]:
    """The full output values after a streamed update: ``sse_v3`` servers send the first update
    in full and later ones as diffs against it; older protocols send every update in full."""
    if previous is None or str(app.raw.get("protocol", "")) != "sse_v3":
        return list(data)
    return [client_utils.apply_diff(prev, diff) for prev, diff in zip(previous, data)]


def error_text(output: dict[str, Any]) -> str | None:
    """The error a finished event carries (``None`` when it succeeded), as the app's toast shows it."""
    if "error" not in output and output.get("success", True) is not False:
        return None
    message = output.get("error")
    if not message:
        return "an exception the app does not show (launch it with show_error=True to see it)"
    title = output.get("title")
    return f"{title}: {message}" if title and title != "Error" else str(message)


def shown_value(component: Component, value: Any) -> Any:
    """A component's value as its widget shows it, so both drivers report the same thing.

    A textbox or a code editor shows ``None`` as empty, a checkbox group as no box ticked; a
    multimodal textbox's value is compared by its text (its files are part of the message it sends,
    not of what is typed); a chatbot's value is its normalised history, one ``{role, content, ...}``
    mapping per message (as transcripts show it).
    """
    if component.type == "chatbot":
        return [m.as_dict() for m in normalise_history(value)]
    if component.type in ("textbox", "code"):
        if isinstance(value, dict) and component.type == "code":  # a gr.Code(value=..., language=...) update
            value = value.get("value")
        return "" if value is None else value
    if component.type == "checkboxgroup":
        return [] if value is None else value
    if component.type == "multimodaltextbox":
        if isinstance(value, dict):
            return str(value.get("text") or "")
        return "" if value is None else value
    return value
