"""The steps of a scenario, one class each: what a person does (``Send``, ``Undo``, ``Retry``, ...)
and what a scenario checks (``Expect``).

Each class knows its YAML key (``kind``) and turns its YAML value into its fields (``parse``,
with the loader's help for what needs a file or a line number: attached files, matchers). The
loader finds the class by its key in ``STEP_TYPES``; drivers dispatch on the class with ``match``.
Adding an action is a class here, its entry in the JSON Schema, and a ``case`` in each driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from harness.errors import Location
from harness.spec.matchers import Matcher

if TYPE_CHECKING:
    from harness.model.script import Script
    from harness.spec.model import Expectation

__all__ = [
    "ACTIONS",
    "STEP_TYPES",
    "Action",
    "Call",
    "Clear",
    "Click",
    "Dislike",
    "Edit",
    "Expect",
    "Feedback",
    "Like",
    "ModelStep",
    "OnMessage",
    "Retry",
    "Save",
    "SelectExample",
    "SelectOption",
    "Send",
    "Set",
    "Step",
    "StepValues",
    "Undo",
]


class StepValues(Protocol):
    """What a step's ``parse`` may ask of the loader: the parts that need the file or its lines."""

    def file(self, name: str, index: int) -> str:
        """The attached file ``name`` (the ``index``-th of its list), resolved and checked."""
        ...

    def matcher(self, spec: Any, key: str) -> Matcher:
        """The matcher written under ``key`` of the step's value."""
        ...

    def script(self, spec: Any) -> Script:
        """A ``model:`` block (the scripted model's replies and rules), parsed and checked."""
        ...


STEP_TYPES: dict[str, type[Step]] = {}


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of a scenario: where it is, and its value as written (for reports and updates)."""

    kind: ClassVar[str]
    number: int
    location: Location
    #: the step's value as written (plain data), for --update-expectations and transcripts
    source: Any = field(default=None, compare=False, repr=False)

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:  # a step of its own (``class Undo(OnMessage, kind="undo")``)
            cls.kind = kind
            STEP_TYPES[kind] = cls

    @property
    def label(self) -> str:
        return f"step {self.number} ({self.kind})"

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        """The step's fields from its YAML value (already checked against the schema)."""
        return dict(value or {})


@dataclass(frozen=True, kw_only=True)
class Action(Step):
    """A step that acts on the app the way a person does."""

    #: whether the step's behaviour contract is checked (``contracts: false`` on the step turns it off)
    contracts: bool = True


@dataclass(frozen=True, kw_only=True)
class Send(Action, kind="send"):
    """Type into the chat's textbox (attaching files), press Enter; with ``stop_after``, press Stop
    once that many updates streamed in."""

    text: str
    files: tuple[str, ...] = ()
    stop_after: int | None = None

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        if isinstance(value, str):
            return {"text": value}
        files = tuple(values.file(str(name), i) for i, name in enumerate(value.get("files") or ()))
        stop_after = value.get("stop_after")
        return {
            "text": str(value["text"]),
            "files": files,
            "stop_after": int(stop_after) if stop_after is not None else None,
        }


@dataclass(frozen=True, kw_only=True)
class OnMessage(Action):
    """An icon on a message: ``index`` names it (negative counts from the end; default: see each)."""

    index: int | None = None


class Undo(OnMessage, kind="undo"):
    """The Undo icon under the last reply (``index``, if given, must lie in the last exchange)."""


class Retry(OnMessage, kind="retry"):
    """The Retry icon under the last reply."""


class Like(OnMessage, kind="like"):
    """The thumbs-up icon of a reply (default: the last); again on a liked reply toggles it off."""


class Dislike(OnMessage, kind="dislike"):
    """The thumbs-down icon of a reply (default: the last)."""


@dataclass(frozen=True, kw_only=True)
class Feedback(Action, kind="feedback"):
    """A custom feedback option (the flag icon) of a reply (default: the last)."""

    option: str
    index: int | None = None


@dataclass(frozen=True, kw_only=True)
class Edit(Action, kind="edit"):
    """Edit on a message, type the new text, Submit."""

    index: int
    text: str


@dataclass(frozen=True, kw_only=True)
class Clear(Action, kind="clear"):
    """The trash icon."""


@dataclass(frozen=True, kw_only=True)
class SelectOption(Action, kind="select_option"):
    """Click an option a message offers, by value, label, or either (``option``)."""

    value: str | None = None
    shown_as: str | None = None  # the option's label as shown (``label:`` in YAML)
    option: str | None = None
    index: int | None = None

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        if isinstance(value, str):
            return {"option": value}
        fields = dict(value)
        if "label" in fields:
            fields["shown_as"] = fields.pop("label")
        return fields


@dataclass(frozen=True, kw_only=True)
class SelectExample(Action, kind="select_example"):
    """Click an example of the empty chat, by position or text."""

    index: int | None = None
    text: str | None = None

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        if isinstance(value, bool):  # a YAML boolean is no position (the schema refuses it too)
            return {}
        if isinstance(value, int):
            return {"index": value}
        if isinstance(value, str):
            return {"text": value}
        return dict(value)


@dataclass(frozen=True, kw_only=True)
class Set(Action, kind="set"):
    """Type into other textboxes, move sliders, tick checkboxes, by label or elem_id."""

    values: Mapping[str, Any]

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        return {"values": {str(k): v for k, v in value.items()}}


@dataclass(frozen=True, kw_only=True)
class Click(Action, kind="click"):
    """Press a button of the app (by its text or elem_id); its click listeners and their chains run."""

    button: str

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        return {"button": str(value)}


@dataclass(frozen=True, kw_only=True)
class Call(Action, kind="call"):
    """Call a named endpoint through gradio_client and check what it returns (``result``)."""

    api_name: str
    args: list[Any] | dict[str, Any] = field(default_factory=list)
    result: Matcher | None = None

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        given = value.get("args")
        args: list[Any] | dict[str, Any] = (
            {str(k): v for k, v in given.items()} if isinstance(given, Mapping) else list(given or [])
        )
        result = values.matcher(value["result"], "result") if "result" in value else None
        return {"api_name": str(value["api_name"]), "args": args, "result": result}


@dataclass(frozen=True, kw_only=True)
class ModelStep(Step, kind="model"):
    """Script the model from here on: the scenario's ``model:`` block is replaced by this one."""

    script: Script

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        return {"script": values.script(value)}


@dataclass(frozen=True, kw_only=True)
class Save(Step, kind="save"):
    """Keep a value under ``name`` for later steps (``{same_as: NAME}``, ``${NAME}`` in send text): the
    text of the last reply (default) or of message ``message``, or the value of ``component``."""

    name: str
    message: int | None = None
    component: str | None = None

    @classmethod
    def parse(cls, value: Any, values: StepValues) -> dict[str, Any]:
        if isinstance(value, str):
            return {"name": value}
        return {"name": str(value["as"]), "message": value.get("message"), "component": value.get("component")}

    @property
    def what(self) -> str:
        if self.component is not None:
            return f"the value of {self.component!r}"
        return "the last reply" if self.message is None else f"message {self.message}"


@dataclass(frozen=True, kw_only=True)
class Expect(Step, kind="expect"):
    """Check the chat as it is now (the loader builds the ``Expectation``)."""

    expectation: Expectation


#: the step kinds that act on the app, in the order the documentation lists them
ACTIONS: tuple[str, ...] = tuple(kind for kind, cls in STEP_TYPES.items() if issubclass(cls, Action))
