"""What a chatbot action acts on, decided from the history alone, the way the frontend decides.

Both drivers use these: the API driver to build the event data, the browser driver to find the
icon to click. Each function raises ``ActionError`` when a person could not do the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import ActionError
from harness.gradio.appconfig import AppConfig, Component, Dependency
from harness.gradio.clientstate import ClientState
from harness.gradio.history import Message, feedback_target, last_exchange_index, resolve_index

__all__ = [
    "MessageTarget",
    "button_target",
    "choices",
    "chosen",
    "clear_target",
    "edit_target",
    "example_target",
    "feedback_option",
    "feedback_target_for",
    "last_exchange_target",
    "option_target",
    "stop_control",
    "table_example",
    "thumb_offered",
]

#: the two feedback options the chatbot shows as thumbs; any other is a custom option
THUMBS = ("Like", "Dislike")


@dataclass(frozen=True)
class MessageTarget:
    """The message an action applies to (``position``) and the group it belongs to."""

    position: int
    first: int
    last: int


def last_exchange_target(history: Sequence[Message], action: str, index: int | None) -> MessageTarget:
    """Undo / retry: the last user message, as the icons under the last reply send it."""
    position = last_exchange_index(history)
    if position is None:
        raise ActionError(f"nothing to {action}: the chat has no user message yet")
    if index is not None:
        wanted = resolve_index(index, len(history))
        if wanted is None:
            raise ActionError(f"index {index} is outside the history ({len(history)} messages)")
        if wanted < position:
            raise ActionError(
                f"the {action} icon only acts on the last exchange (messages {position}..{len(history) - 1}); index "
                f"{index} is message {wanted}"
            )
    return MessageTarget(position, position, len(history) - 1)


def feedback_target_for(
    history: Sequence[Message], action: str, index: int | None, like_user_message: bool = False
) -> MessageTarget:
    """Like / dislike: the bubble holding message ``index`` (default: the last reply)."""
    if index is None:
        positions = [i for i, m in enumerate(history) if m.role == "assistant"]
        if not positions:
            raise ActionError(f"nothing to {action}: the chat has no reply yet")
        position = positions[-1]
    else:
        found = resolve_index(index, len(history))
        if found is None:
            raise ActionError(f"index {index} is outside the history ({len(history)} messages)")
        position = found
    if history[position].role != "assistant" and not like_user_message:
        raise ActionError(f"message {position} is a {history[position].role} message; {action} is only on replies")
    first, last = feedback_target(history, position)
    return MessageTarget(position, first, last)


def edit_target(history: Sequence[Message], index: int) -> MessageTarget:
    position = resolve_index(index, len(history))
    if position is None:
        raise ActionError(f"index {index} is outside the history ({len(history)} messages)")
    return MessageTarget(position, position, position)


def clear_target(history: Sequence[Message]) -> None:
    """The trash icon is shown only above a chat that has messages."""
    if not history:
        raise ActionError(
            "nothing to clear: the chat is empty (the trash icon is shown only when the chat has messages)"
        )


def feedback_option(chatbot: Component, option: str) -> str:
    """A custom feedback option the chatbot offers (``feedback_options`` / ``flagging_options``)."""
    offered = [str(o) for o in chatbot.props.get("feedback_options") or THUMBS]
    custom = [o for o in offered if o not in THUMBS]
    if option in THUMBS:
        raise ActionError(f"{option!r} is a thumbs icon: use the {option.lower()} step")
    if option not in custom:
        listed = ", ".join(map(repr, custom)) if custom else "none (feedback_options has only Like and Dislike)"
        raise ActionError(
            f"the chatbot {chatbot.name} offers no feedback option {option!r}; its custom options: {listed}"
        )
    return option


def thumb_offered(chatbot: Component, kind: str) -> None:
    """``ActionError`` when the chatbot shows no icon for a like / dislike step: the page shows a
    thumb only for the options in ``feedback_options`` (ChatInterface: ``flagging_options``)."""
    offered = [str(o) for o in chatbot.props.get("feedback_options") or THUMBS]
    wanted = "Like" if kind == "like" else "Dislike"
    if wanted not in offered:
        raise ActionError(
            f"the chatbot {chatbot.name} shows no {wanted} icon: its feedback options are "
            f"{', '.join(map(repr, offered))} (gr.Chatbot feedback_options / ChatInterface flagging_options)"
        )


def option_target(
    history: Sequence[Message],
    *,
    index: int | None = None,
    value: str | None = None,
    label: str | None = None,
    option: str | None = None,
) -> tuple[int, int, dict[str, Any]]:
    """The message offering the option and the option: ``(message position, option position, option)``.

    The option is named by its ``value``, its ``label``, or either (``option``); the message by
    ``index`` (default: the last message that offers options)."""
    if index is not None:
        position = resolve_index(index, len(history))
        if position is None:
            raise ActionError(f"index {index} is outside the history ({len(history)} messages)")
        if not history[position].options:
            raise ActionError(f"message {position} offers no options")
    else:
        offering = [i for i, m in enumerate(history) if m.options]
        if not offering:
            raise ActionError("no message offers options")
        position = offering[-1]
    options = list(history[position].options)
    for i, offered in enumerate(options):
        shown_value, shown_label = str(offered.get("value")), offered.get("label")
        if (
            value == shown_value
            or (label is not None and label == shown_label)
            or (option is not None and option in (shown_value, shown_label))
        ):
            return position, i, offered
    wanted = value or label or option
    shown = ", ".join(f"{o.get('label') or o.get('value')!r}" for o in options)
    raise ActionError(f"message {position} offers no option {wanted!r}; it offers {shown}")


def example_target(
    chatbot: Component, history: Sequence[Message], *, index: int | None = None, text: str | None = None
) -> tuple[int, dict[str, Any]]:
    """The example a ``select_example`` step clicks, by position or text: ``(position, example)``."""
    examples = [e for e in chatbot.props.get("examples") or [] if isinstance(e, dict)]
    if not examples:
        raise ActionError(
            f"the chatbot {chatbot.name} offers no examples (gr.Chatbot(examples=...) or "
            "gr.ChatInterface(examples=...))"
        )
    if history:
        raise ActionError("examples are shown only while the chat is empty")
    if index is not None:
        if not 0 <= index < len(examples):
            raise ActionError(f"example {index} does not exist; the chatbot offers {len(examples)}")
        return index, examples[index]
    for i, example in enumerate(examples):
        if text in (example.get("text"), example.get("display_text")):
            return i, example
    shown = ", ".join(repr(e.get("display_text") or e.get("text")) for e in examples)
    raise ActionError(f"no example {text!r}; the chatbot offers {shown}")


def button_target(app: AppConfig, state: ClientState, selector: str) -> Component:
    """The button a ``click`` step presses; ``ActionError`` if a person could not press it, or if
    pressing it would do nothing (no listener: both drivers refuse, with these words)."""
    button = app.button(selector)
    props = {**button.props, **state.props.get(button.id, {})}
    if props.get("visible", True) in (False, "hidden"):
        raise ActionError(f"{button.name} is hidden, so a person cannot press it")
    if props.get("interactive") is False:
        raise ActionError(f"{button.name} is disabled (interactive=False), so pressing it does nothing")
    if not app.listeners(button.id, "click"):
        raise ActionError(f"pressing {button.name} does nothing: no event of the app listens to its click")
    return button


def choices(component: Component) -> list[tuple[str, Any]]:
    """A radio's, dropdown's or checkbox group's choices as ``(shown text, value)``."""
    return [
        (str(c[0]), c[1]) if isinstance(c, list | tuple) else (str(c), c) for c in component.props.get("choices") or []
    ]


def chosen(component: Component, value: Any) -> list[tuple[str, Any]]:
    """The choices a ``set`` picks: ``value`` names each by its value or its shown text (a list of
    them for a checkbox group)."""
    offered = choices(component)
    picked = []
    for one in value if isinstance(value, list | tuple) else [value]:
        match = next((c for c in offered if str(one) in (str(c[1]), c[0])), None)
        if match is None:
            listed = ", ".join(repr(text) for text, _ in offered)
            raise ActionError(f"{component.name} offers no choice {one!r}; it offers {listed}")
        picked.append(match)
    return picked


def table_example(
    app: AppConfig, chatbot: Component, *, index: int | None = None, text: str | None = None
) -> tuple[Component, int, list[Any]] | None:
    """The row of a ``gr.Examples`` table (a Dataset; ChatInterface shows its examples that way when
    they carry additional inputs) a ``select_example`` step clicks: ``(table, position, row)``, or
    None when the chatbot shows examples of its own or the page shows no such table."""
    if chatbot.props.get("examples"):
        return None
    tables = [c for c in app.shown_of_type("dataset") if app.listeners(c.id, "click")]
    if not tables:
        return None
    table = tables[0]
    rows = [r if isinstance(r, list) else [r] for r in table.props.get("samples") or []]
    if index is not None:
        if not 0 <= index < len(rows):
            raise ActionError(f"example {index} does not exist; the examples table offers {len(rows)}")
        return table, index, rows[index]
    for i, row in enumerate(rows):
        if row and text == row[0]:
            return table, i, row
    shown = ", ".join(repr(r[0]) for r in rows if r)
    raise ActionError(f"no example {text!r}; the examples table offers {shown}")


def stop_control(app: AppConfig, running: Sequence[Dependency]) -> tuple[Dependency, tuple[int, str]]:
    """The listener a Stop control fires for one of ``running``, with its trigger ``(component, event)``."""
    ids = {d.id for d in running}
    for dep in app.dependencies:
        cancels = set(dep.raw.get("cancels") or [])
        trigger = next(((c, e) for c, e in dep.targets if c is not None), None)
        if cancels & ids and trigger is not None:
            return dep, trigger
    names = ", ".join(d.name for d in running)
    raise ActionError(
        f"the app has no stop control: no event cancels {names} (wire one with cancels=[...], or stop_btn on the "
        "textbox)"
    )
