"""The one small interface every driver implements, and what a driver reports back.

A driver opens a fresh session on a target app, performs a scenario's action steps the way a
person would, and reads what the chat shows. It knows nothing of YAML or matchers; the runner
checks expectations against what it reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.errors import RequirementsMissing
from harness.gradio.appconfig import AppConfig
from harness.gradio.history import Message
from harness.model.calls import ModelCall
from harness.spec.model import HasParts, Scenario
from harness.spec.steps import Action
from harness.target.app import Target

__all__ = ["ActionRecord", "Driver", "EventRecord"]


@dataclass
class EventRecord:
    """One backend call made for an action (a dependency of the app)."""

    dependency: int
    name: str
    seconds: float
    updates: int
    error: str | None = None


@dataclass
class ActionRecord:
    """What happened when an action step ran: the calls, the streamed chat values and timings."""

    step: str
    seconds: float = 0.0
    events: list[EventRecord] = field(default_factory=list)
    #: the chat's value after each streamed update, normalised, in arrival order
    stream: list[list[Message]] = field(default_factory=list)
    #: seconds from the start of the action to the first streamed update, if any
    first_update: float | None = None
    #: the app's error message, if it raised one (the runner decides whether that fails the step)
    error: str | None = None
    #: what the app's validator said when it refused the action (``validator=``, ``gr.validate``): the
    #: messages the page shows on the refused inputs, one a line; nothing ran after it
    validation: str | None = None
    #: what a ``call`` step's endpoint returned
    result: Any = None
    #: what the app sent to the scripted model during the action (None: the scripted model is off)
    model_calls: list[ModelCall] | None = None


class Driver(ABC):
    """Runs one scenario's actions against one app session.

    ``app`` is the app's config once ``open`` has read it. A driver that can save what it saw
    when a scenario fails (a screenshot, a trace) overrides ``save_artifacts``. A driver that
    needs a browser context from pytest-playwright says so with ``needs_browser``; it is then
    given ``new_context`` (and ``trace``) as keyword arguments.
    """

    name: ClassVar[str]
    needs_browser: ClassVar[bool] = False
    app: AppConfig | None = None

    def __init__(self, target: Target, timeout: float = 60.0, **options: Any) -> None:
        self.target = target
        self.timeout = timeout

    @abstractmethod
    def open(self, scenario: Scenario) -> None:
        """Start a fresh session (no history shared with any other scenario)."""

    @abstractmethod
    def perform(self, step: Action) -> ActionRecord:
        """Do an action step and wait until the app is idle again."""

    @abstractmethod
    def history(self) -> list[Message]:
        """The chat history as it is now, normalised."""

    @abstractmethod
    def component_value(self, selector: str) -> Any:
        """The current value of a component named by label or elem_id."""

    @abstractmethod
    def input_value(self) -> Any:
        """The current value of the chat's input box."""

    @abstractmethod
    def has_component(self, selector: str) -> bool:
        """Whether the app has a component with this label or elem_id."""

    def has_endpoint(self, api_name: str) -> bool:
        """Whether the app has a named API endpoint (``/chat``)."""
        return self.app is not None and self.app.has_endpoint(api_name)

    @property
    def gradio_version(self) -> str:
        """The Gradio version the app runs (from its config; "unknown" before ``open``)."""
        return str(self.app.version) if self.app is not None else "unknown"

    def save_artifacts(self, folder: Path) -> dict[str, Path]:
        """Save what the driver sees now (kind -> file) into ``folder``; nothing by default."""
        return {}

    def close(self) -> None:
        """End the session and free what it holds."""

    def set_timeout(self, seconds: float) -> None:
        """How long each wait of the next step may take (the runner sets it before every step)."""
        self.timeout = seconds


def require(scenario: Scenario, app: HasParts) -> None:
    """Skip (``RequirementsMissing``) a scenario whose ``requires`` the app lacks.

    Drivers call it in ``open`` as soon as they have the app's config, before they look for the
    scenario's chatbot, which such an app may not have either.
    """
    if missing := scenario.missing_requirements(app):
        raise RequirementsMissing(f"the app lacks what the scenario requires: {missing}")
