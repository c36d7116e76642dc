"""The scenario model: what a YAML scenario means once it has been loaded and checked.

Nothing here knows about YAML, HTTP or browsers; ``loader`` builds these objects (the steps are
in ``steps``) and the runner hands the steps to a driver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from harness.errors import Location
from harness.spec.matchers import Matcher

if TYPE_CHECKING:
    from harness.model.script import Script
    from harness.spec.steps import Step

__all__ = [
    "CONTRACT_KINDS",
    "PARITY_MODES",
    "ContractSettings",
    "Expectation",
    "FileExpectation",
    "HasParts",
    "MessageExpectation",
    "ModelExpectation",
    "Scenario",
]


#: the steps that have a contract, by YAML key
CONTRACT_KINDS: tuple[str, ...] = ("send", "retry", "undo", "like", "dislike", "feedback", "edit", "clear")


@dataclass(frozen=True)
class ContractSettings:
    """A scenario's ``contracts:``: on or off, and what its app does differently from the default."""

    enabled: bool = True
    #: assistant messages one turn adds (None: one or more; a retry leaves as many as there were)
    replies: int | None = None
    #: undo puts the undone message back in the input box
    undo_restores_input: bool = True
    #: step kinds whose contract is off
    off: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, value: Any) -> ContractSettings:
        """From the scenario's ``contracts:`` value (already checked against the schema)."""
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(enabled=False)
        assert isinstance(value, Mapping)
        return cls(
            replies=value.get("replies"),
            undo_restores_input=bool(value.get("undo_restores_input", True)),
            off=frozenset(kind for kind in CONTRACT_KINDS if value.get(kind) is False),
        )


#: how the parity item compares two runs (see ``harness.run.parity``)
PARITY_MODES: tuple[str, ...] = ("checked", "exact", "structure")


@dataclass(frozen=True)
class FileExpectation:
    name: Matcher | None = None
    mime_type: Matcher | None = None


@dataclass(frozen=True)
class MessageExpectation:
    """Checks on one message; a ``None`` field is not checked."""

    role: Matcher | None = None
    content: Matcher | None = None
    files: tuple[FileExpectation, ...] | None = None
    metadata: dict[str, Matcher] | None = None
    options: tuple[Matcher, ...] | None = None
    location: Location | None = None


@dataclass(frozen=True)
class ModelExpectation:
    """Checks on what the app sent to the scripted model during the last action."""

    calls: int | None = None
    #: the last call's messages: all of them, the last few, or how many (as for the history)
    messages: tuple[MessageExpectation, ...] | None = None
    messages_last: tuple[MessageExpectation, ...] | None = None
    messages_length: int | None = None
    #: any other field of the last call's request (temperature, model, tools, ...)
    fields: dict[str, Matcher] = field(default_factory=dict)

    @property
    def checks_last(self) -> bool:
        return (
            self.messages is not None
            or self.messages_last is not None
            or self.messages_length is not None
            or bool(self.fields)
        )


@dataclass(frozen=True)
class Expectation:
    """Everything one ``expect`` step checks."""

    history: tuple[MessageExpectation, ...] | None = None
    history_length: int | None = None
    history_last: tuple[MessageExpectation, ...] | None = None
    components: dict[str, Matcher] = field(default_factory=dict)
    input: Matcher | None = None
    stream_min_updates: int | None = None
    stream_growing: bool = False
    stream_final: Matcher | None = None
    #: latency budgets in seconds: first streamed update, whole action
    stream_first_update_within: float | None = None
    stream_within: float | None = None
    #: the last action made the app raise an error matching this
    error: Matcher | None = None
    #: the app's validator refused the last action with a message matching this
    validation: Matcher | None = None
    #: what the app sent to the scripted model during the last action
    model: ModelExpectation | None = None

    @property
    def checks_stream(self) -> bool:
        return (
            any(
                v is not None
                for v in (
                    self.stream_min_updates,
                    self.stream_final,
                    self.stream_first_update_within,
                    self.stream_within,
                )
            )
            or self.stream_growing
        )


class HasParts(Protocol):
    """An app (or a driver open on one) that can say which components and endpoints it has."""

    def has_component(self, selector: str) -> bool: ...

    def has_endpoint(self, api_name: str) -> bool: ...

    @property
    def gradio_version(self) -> str: ...


@dataclass(frozen=True)
class Scenario:
    """A named list of steps, with the file and line it came from."""

    name: str
    steps: tuple[Step, ...]
    location: Location
    description: str = ""
    app: str | None = None
    url: str | None = None
    chatbot: str | None = None
    #: the scenario's ``model:`` block: what the scripted model answers (None: no script)
    model: Script | None = None
    requires_components: tuple[str, ...] = ()
    requires_endpoints: tuple[str, ...] = ()
    requires_gradio: str | None = None
    #: time budgets in seconds from the file's ``timeout:`` (None: the ini key or the default)
    step_timeout: float | None = None
    scenario_timeout: float | None = None
    #: the behaviour contracts its action steps are checked against
    contracts: ContractSettings = field(default_factory=ContractSettings)
    #: how the parity item compares its runs (None: --chat-parity, or "checked")
    parity: str | None = None
    #: how many times each driver runs it, and how many of those must pass (None: once / all)
    repeat: int | None = None
    min_pass: int | None = None
    #: what its matchers ask of the judge endpoint ("embeddings": similar, "grading": judge)
    services: frozenset[str] = frozenset()

    @property
    def has_script(self) -> bool:
        """Whether the scenario says what the model answers (a ``model:`` block or step): it runs on
        its script, never on a cassette."""
        from harness.spec.steps import ModelStep

        return self.model is not None or any(isinstance(s, ModelStep) for s in self.steps)

    @property
    def scripts_model(self) -> bool:
        """Whether the scenario scripts the model or checks what it was sent (it needs the scripted model)."""
        from harness.spec.steps import Expect, ModelStep

        return self.model is not None or any(
            isinstance(s, ModelStep) or (isinstance(s, Expect) and s.expectation.model is not None) for s in self.steps
        )

    def missing_requirements(self, app: HasParts) -> str | None:
        """What ``app`` lacks of what the scenario ``requires`` (None = it has everything)."""
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        components = [c for c in self.requires_components if not app.has_component(c)]
        endpoints = [e for e in self.requires_endpoints if not app.has_endpoint(e)]
        parts = []
        if self.requires_gradio is not None:
            try:
                fits = Version(app.gradio_version) in SpecifierSet(self.requires_gradio)
            except InvalidVersion:
                fits = False
            if not fits:
                parts.append(f"it runs Gradio {app.gradio_version}, not {self.requires_gradio}")
        if components:
            parts.append(f"no component {', '.join(map(repr, components))}")
        if endpoints:
            parts.append(f"no endpoint {', '.join(endpoints)}")
        return "; ".join(parts) or None
