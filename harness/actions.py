"""What a chatbot action acts on, decided from the history alone, the way the frontend decides.

Both drivers use these: the API driver to build the event data, the browser driver to find the
icon to click. Each function raises ``ActionError`` when a person could not do the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import ActionError
from harness.history import Message, feedback_target, last_exchange_index, resolve_index

__all__ = ["Target", "clear_target", "edit_target", "feedback_target_for", "last_exchange_target"]


@dataclass(frozen=True)
class Target:
    """The message an action applies to (``position``) and the group it belongs to."""

    position: int
    first: int
    last: int


def last_exchange_target(history: Sequence[Message], action: str, index: int | None) -> Target:
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
                f"the {action} icon only acts on the last exchange (messages {position}..{len(history) - 1}); "
                f"index {index} is message {wanted}"
            )
    return Target(position, position, len(history) - 1)


def feedback_target_for(history: Sequence[Message], action: str, index: int | None, like_user_message: bool = False) -> Target:
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
    return Target(position, first, last)


def edit_target(history: Sequence[Message], index: int) -> Target:
    position = resolve_index(index, len(history))
    if position is None:
        raise ActionError(f"index {index} is outside the history ({len(history)} messages)")
    return Target(position, position, position)


def clear_target(history: Sequence[Message]) -> None:
    """The trash icon is shown only above a chat that has messages."""
    if not history:
        raise ActionError("nothing to clear: the chat is empty (the trash icon is shown only when the chat has messages)")
