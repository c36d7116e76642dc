"""A scripted, in-memory driver: the reference chat app's behaviour without Gradio, a server or a
browser, so the runner, --update-expectations and parity have unit tests that take milliseconds.

It behaves like ``fixtures.reference_app``: a reply is ``#N echo: TEXT`` (N counts replies in the
session), streamed in four growing updates; undo drops the last exchange and puts its prompt
back in the input; retry answers the last prompt again; edit replaces a message and answers
again after it; clear empties the chat; like/dislike leave the history alone. ``faults`` turns on
a broken variant, as ``fixtures.broken`` does for the real app.
"""

from __future__ import annotations

from typing import Any

from harness.drivers.base import ActionRecord, Driver, EventRecord
from harness.errors import ActionError
from harness.gradio.history import Message
from harness.spec.model import Scenario
from harness.spec.steps import Action, Call, Clear, Dislike, Edit, Like, Retry, Send, Set, Undo
from harness.target.app import Target

__all__ = ["FAULTS", "ScriptedDriver"]

#: broken variants: what each one gets wrong
FAULTS = {
    "undo_keeps_reply": "undo leaves the reply in the chat",
    "retry_appends": "retry adds a reply instead of replacing the last one",
    "shouts": "replies in upper case",
    "raises_on_boom": "raises an error when sent 'boom'",
}


class ScriptedDriver(Driver):
    """A driver whose "app" is a few lines of Python (see the module's docstring)."""

    name = "scripted"

    def __init__(
        self,
        target: Target | None = None,
        timeout: float = 5.0,
        *,
        faults: tuple[str, ...] = (),
        name: str = "scripted",
    ) -> None:
        super().__init__(target or Target("http://scripted/", "scripted app"), timeout)
        self.name = name  # type: ignore[misc]  # parity tests label two of them
        self.faults = set(faults)
        self.chat: list[Message] = []
        self.input = ""
        self.components: dict[str, Any] = {"System prompt": ""}
        self.feedback: dict[int, str] = {}
        self.replies = 0
        self.opened = False
        self.closed = False

    def open(self, scenario: Scenario) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True

    # -- reading

    def history(self) -> list[Message]:
        return list(self.chat)

    def component_value(self, selector: str) -> Any:
        if selector not in self.components:
            raise ActionError(f"no component {selector!r}")
        return self.components[selector]

    def input_value(self) -> Any:
        return self.input

    def has_component(self, selector: str) -> bool:
        return selector in self.components

    # -- acting

    def _reply(self, record: ActionRecord, prompt: str) -> None:
        if "raises_on_boom" in self.faults and prompt == "boom":
            record.error = "boom: the model is overloaded"
            return
        self.replies += 1
        text = f"#{self.replies} echo: {prompt}"
        if "shouts" in self.faults:
            text = text.upper()
        for cut in (len(text) // 4, len(text) // 2, 3 * len(text) // 4, len(text)):
            record.stream.append([*self.chat, Message("assistant", text[:cut])])
        record.first_update = 0.01
        self.chat.append(Message("assistant", text))
        record.events.append(EventRecord(0, "/reply", 0.01, 4))

    def perform(self, step: Action) -> ActionRecord:
        record = ActionRecord(step.label, seconds=0.01)
        match step:
            case Send(text=text):
                self.chat.append(Message("user", text))
                self.input = ""
                self._reply(record, text)
            case Undo():
                last = max((i for i, m in enumerate(self.chat) if m.role == "user"), default=None)
                if last is None:
                    raise ActionError("nothing to undo: the chat has no user message yet")
                self.input = self.chat[last].text
                kept = self.chat[last + 1 :] if "undo_keeps_reply" in self.faults else []
                self.chat = self.chat[:last] + kept
            case Retry():
                last = max((i for i, m in enumerate(self.chat) if m.role == "user"), default=None)
                if last is None:
                    raise ActionError("nothing to retry: the chat has no user message yet")
                if "retry_appends" not in self.faults:
                    self.chat = self.chat[: last + 1]
                self._reply(record, self.chat[last].text)
            case Like(index=index) | Dislike(index=index):
                position = index if index is not None else len(self.chat) - 1
                self.feedback[position % len(self.chat)] = step.kind
            case Edit(index=index, text=text):
                position = index % len(self.chat)
                self.chat = [*self.chat[:position], Message(self.chat[position].role, text)]
                if self.chat[position].role == "user":
                    self._reply(record, text)
            case Clear():
                if not self.chat:
                    raise ActionError("nothing to clear: the chat is empty")
                self.chat = []
            case Set(values=values):
                self.components.update(values)
            case Call(args=args):
                record.result = [f"#0 echo: {args[0] if isinstance(args, list) and args else ''}", 3]
            case _:
                raise ActionError(f"the scripted driver cannot do {step.kind!r}")
        return record
