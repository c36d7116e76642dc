"""The app's own description (``GET /config``): components and the event graph.

Drivers use it to find the chatbot and its input box, and the API driver uses the dependency graph
to replay a UI action the way the browser does. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError
from harness.spec.matchers import did_you_mean

__all__ = ["BUTTON_TYPES", "NOT_NAMED", "AppConfig", "Component", "Dependency", "no_textbox"]

INPUT_TYPES = ("textbox", "multimodaltextbox")
SERVER_STATE_TYPES = ("state",)
#: components a person presses; the text on one is its value
BUTTON_TYPES = ("button", "clearbutton", "downloadbutton", "duplicatebutton", "loginbutton", "uploadbutton")


@dataclass(frozen=True)
class Component:
    id: int
    type: str
    props: dict[str, Any]

    @property
    def label(self) -> str | None:
        label = self.props.get("label")
        if not isinstance(label, str) or not label or label.startswith("__i18n__"):
            return None
        return label

    @property
    def elem_id(self) -> str | None:
        elem_id = self.props.get("elem_id")
        return elem_id if isinstance(elem_id, str) and elem_id else None

    @property
    def text(self) -> str | None:
        """The text on a button (its value), None for other components."""
        value = self.props.get("value")
        return value if self.type in BUTTON_TYPES and isinstance(value, str) and value else None

    @property
    def name(self) -> str:
        """How to refer to the component in messages."""
        if self.label:
            return repr(self.label)
        if self.text:
            return f"the button {self.text!r}"
        if self.elem_id:
            return f"#{self.elem_id}"
        return _type_name(self.type)  # as a scenario names it (with #N when the app shows several)


@dataclass(frozen=True)
class Dependency:
    """One event listener of the app (an entry of ``config.dependencies``; ``id`` is the fn_index)."""

    id: int
    targets: tuple[tuple[int | None, str], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    backend_fn: bool
    js: str | None
    trigger_after: int | None
    only_on_success: bool
    only_on_failure: bool
    collects_event_data: bool
    api_name: str | None
    raw: dict[str, Any]

    @classmethod
    def from_config(cls, index: int, raw: dict[str, Any]) -> Dependency:
        api_name = raw.get("api_name")
        return cls(
            id=int(raw.get("id", index)),
            targets=tuple((t[0], str(t[1])) for t in raw.get("targets", [])),
            inputs=tuple(raw.get("inputs", [])),
            outputs=tuple(raw.get("outputs", [])),
            backend_fn=bool(raw.get("backend_fn", True)),
            js=raw.get("js") or None,
            trigger_after=raw.get("trigger_after"),
            only_on_success=bool(raw.get("trigger_only_on_success", False)),
            only_on_failure=bool(raw.get("trigger_only_on_failure", False)),
            collects_event_data=bool(raw.get("collects_event_data", False)),
            api_name=api_name if isinstance(api_name, str) else None,
            raw=raw,
        )

    @property
    def name(self) -> str:
        """How to refer to the dependency in messages: its API name, else its fn_index."""
        return f"/{self.api_name}" if self.api_name else f"fn {self.id}"

    def runs_after(self, parent_succeeded: bool) -> bool:
        """Whether this chained step runs after its parent ended this way (.then/.success/.failure).

        As the page does it (seen on Gradio 6.31): after an error only ``.failure`` steps run, not
        ``.then`` ones; a cancelled (stopped) step counts as a success.
        """
        if self.only_on_failure:
            return not parent_succeeded
        return parent_succeeded


class AppConfig:
    """Read-only view of a Gradio app's config."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.raw = config
        self.version: str = str(config.get("version", "unknown"))
        self.mode: str = str(config.get("mode", "blocks"))
        self.components: dict[int, Component] = {
            int(c["id"]): Component(int(c["id"]), str(c.get("type", "")), dict(c.get("props") or {}))
            for c in config.get("components", [])
        }
        self.dependencies: list[Dependency] = [
            Dependency.from_config(i, d) for i, d in enumerate(config.get("dependencies", []))
        ]
        self._listeners: dict[tuple[int | None, str], list[Dependency]] = defaultdict(list)
        self._children: dict[int, list[Dependency]] = defaultdict(list)
        for dep in self.dependencies:
            if dep.trigger_after is not None:
                self._children[dep.trigger_after].append(dep)
            for target in dep.targets:
                if target[0] is not None:
                    self._listeners[target].append(dep)

    @property
    def major_version(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 0

    def listeners(self, component_id: int, event: str) -> list[Dependency]:
        """The dependencies a UI event starts, in id order (the order the frontend runs them)."""
        return self._listeners.get((component_id, event), [])

    def load_events(self) -> list[Dependency]:
        """The dependencies the page runs when it loads (``demo.load`` and friends), in id order."""
        return [
            d for d in self.dependencies if d.trigger_after is None and any(event == "load" for _, event in d.targets)
        ]

    def children(self, dependency_id: int) -> list[Dependency]:
        """The ``.then`` / ``.success`` / ``.failure`` steps chained after a dependency."""
        return self._children.get(dependency_id, [])

    def chain(self, dependency: Dependency) -> list[Dependency]:
        """A dependency and everything chained after it, depth first."""
        result = [dependency]
        for child in self.children(dependency.id):
            result.extend(self.chain(child))
        return result

    def layout_order(self) -> list[int]:
        """Component ids in the order the page lays them out (depth first through ``config.layout``)."""
        order: list[int] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("id"), int) and node["id"] in self.components:
                    order.append(node["id"])
                for child in node.get("children") or []:
                    walk(child)

        walk(self.raw.get("layout"))
        return order

    def ancestors(self, component_id: int, kind: str) -> list[Component]:
        """The layout blocks of type ``kind`` (e.g. accordion) that contain a component, outermost first."""

        def path(node: Any, trail: list[int]) -> list[int] | None:
            if not isinstance(node, dict):
                return None
            here = [*trail, node["id"]] if isinstance(node.get("id"), int) else trail
            if node.get("id") == component_id:
                return here
            for child in node.get("children") or []:
                if (found := path(child, here)) is not None:
                    return found
            return None

        trail = path(self.raw.get("layout"), []) or []
        return [self.components[i] for i in trail if i in self.components and self.components[i].type == kind]

    def is_server_state(self, component_id: int) -> bool:
        component = self.components.get(component_id)
        return component is not None and component.type in SERVER_STATE_TYPES

    # -- finding components ------------------------------------------------------------------------

    def chatbots(self) -> list[Component]:
        return [c for c in self.components.values() if c.type == "chatbot"]

    def chatbot(self, selector: str | None) -> Component:
        """The chatbot a scenario talks to: the only one, or the one ``selector`` names."""
        bots = self.chatbots()
        if selector is not None:
            return self.find(selector, among=bots, what="chatbot")
        if not bots:
            raise TargetError("the app has no gr.Chatbot component, so there is no chat to test")
        if len(bots) > 1:
            names = ", ".join(b.name for b in bots)
            raise TargetError(
                f"the app has {len(bots)} chatbots ({names}); say which one with 'chatbot:' in the scenario (label or "
                "elem_id)"
            )
        return bots[0]

    def find(self, selector: str, among: list[Component] | None = None, what: str = "component") -> Component:
        """A component by label or elem_id (``#id`` also accepted), or, for one with neither, by its
        type (``Radio``, ``Slider``) with its position among the shown components of that type when
        there are several (``Slider#2``, counted from 1 in page order)."""
        pool = among if among is not None else [c for c in self.components.values() if c.label or c.elem_id]
        key = selector[1:] if selector.startswith("#") else selector
        found = [c for c in pool if c.elem_id == key] or [c for c in pool if c.label == selector]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise TargetError(
                f"{len(found)} components are labelled {selector!r}; give them distinct elem_ids and use one"
            )
        if among is None and (by_type := self._by_type(selector)) is not None:
            return by_type
        # what a person sees: a hidden component (ChatInterface's Response and Examples) is no hint
        names = self.selectors() if among is None else sorted({n for c in pool for n in (c.label, c.elem_id) if n})
        hint = did_you_mean(selector, names)
        listed = f"; the app has: {', '.join(names)}" if names else ""
        ways = "label or elem_id" if among is not None else "label, elem_id or type"
        raise TargetError(f"no {what} with {ways} {selector!r}{hint}{listed}")

    def shown_of_type(self, kind: str) -> list[Component]:
        """The shown components of one type, in page order."""
        return [
            self.components[i]
            for i in self.layout_order()
            if self.components[i].type == kind and _shown(self.components[i])
        ]

    def _by_type(self, selector: str) -> Component | None:
        """``Radio`` / ``Slider#2``: a shown component by type (and position); None if the selector is no type."""
        match = re.fullmatch(r"([A-Za-z]+)(?:#(\d+))?", selector)
        if match is None:
            return None
        kind, number = match.group(1).lower(), match.group(2)
        same = self.shown_of_type(kind)
        if not same:
            return None
        if number is None:
            if len(same) > 1:
                raise TargetError(
                    f"the app shows {len(same)} {match.group(1)} components; say which with "
                    f"{', '.join(self.selector(c) for c in same)}"
                )
            return same[0]
        if not 1 <= int(number) <= len(same):
            raise TargetError(
                f"the app shows {len(same)} {match.group(1)} component(s), so there is no {selector!r} "
                "(counted from 1 in page order)"
            )
        return same[int(number) - 1]

    def selector(self, component: Component) -> str:
        """How a scenario names ``component``: its label, else ``#elem_id``, else its type (with
        its position in page order when the app shows several of that type)."""
        if component.label:
            return component.label
        if component.elem_id:
            return f"#{component.elem_id}"
        same = self.shown_of_type(component.type)
        kind = _type_name(component.type)
        return f"{kind}#{same.index(component) + 1}" if len(same) > 1 and component in same else kind

    def selectors(self) -> list[str]:
        """How a scenario can name each shown component: labels, elem_ids, and the type selectors of
        components with neither (not layout, not state)."""
        shown = [c for c in self.components.values() if _shown(c) and c.type not in NOT_NAMED]
        named = {n for c in shown for n in (c.label, c.elem_id) if n}
        unnamed = {
            self.selector(c)
            for c in shown
            if not (c.label or c.elem_id)
            and c.type not in BUTTON_TYPES  # a button is pressed by its text: click
            and not self.is_server_state(c.id)
        }
        return sorted(named | unnamed)

    def button(self, selector: str) -> Component:
        """A button by the text on it or its elem_id (``#id`` also accepted)."""
        buttons = [c for c in self.components.values() if c.type in BUTTON_TYPES]
        key = selector[1:] if selector.startswith("#") else selector
        found = [c for c in buttons if c.elem_id == key] or [c for c in buttons if c.text == selector]
        if len(found) > 1:  # a hidden twin is no button a person presses
            found = [c for c in found if _shown(c)] or found
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise TargetError(f"{len(found)} buttons read {selector!r}; give them distinct elem_ids and use one")
        names = sorted({n for c in buttons if _shown(c) for n in (c.text, c.elem_id and f"#{c.elem_id}") if n})
        listed = f"; the app's buttons: {', '.join(names)}" if names else "; the app has no button"
        raise TargetError(f"no button reads {selector!r} or has that elem_id{did_you_mean(selector, names)}{listed}")

    def has(self, selector: str) -> bool:
        try:
            self.find(selector)
        except TargetError:
            return False
        return True

    has_component = has

    @property
    def gradio_version(self) -> str:
        """The Gradio version the app runs (its config says)."""
        return self.version

    def has_endpoint(self, api_name: str) -> bool:
        """Whether the app has a named API endpoint (``/chat``)."""
        return any(d.api_name == api_name.lstrip("/") for d in self.dependencies)

    def input_for(self, chatbot: Component) -> Component | None:
        """The textbox a person types into to talk to ``chatbot``: its submit chain writes the chatbot.

        None for a chat driven by other means (a button, the page's load event, another component's
        change): only ``send`` and the input box's expectations need a textbox.
        """
        for component in sorted(self.components.values(), key=lambda c: c.id):
            if component.type not in INPUT_TYPES:
                continue
            for dep in self.listeners(component.id, "submit"):
                if any(chatbot.id in d.outputs for d in self.chain(dep)):
                    return component
        return None


#: components a scenario never names: layout, state
NOT_NAMED = ("row", "column", "group", "form", "tabs", "tabitem", "accordion", "browserstate", "state", "html")


def _shown(component: Component) -> bool:
    return component.props.get("visible", True) not in (False, "hidden")


def _type_name(kind: str) -> str:
    """A component type as a scenario writes it: ``slider`` -> ``Slider``, ``checkboxgroup`` -> ``CheckboxGroup``."""
    return TYPE_NAMES.get(kind, kind.capitalize())


TYPE_NAMES = {
    "checkboxgroup": "CheckboxGroup",
    "colorpicker": "ColorPicker",
    "multimodaltextbox": "MultimodalTextbox",
    "datetime": "DateTime",
    "imageeditor": "ImageEditor",
    "uploadbutton": "UploadButton",
    "downloadbutton": "DownloadButton",
    "clearbutton": "ClearButton",
}


def no_textbox(chatbot: Component, need: str) -> TargetError:
    """The error of a step that needs the chat's textbox on a chat that has none."""
    return TargetError(
        f"no textbox of the app submits to the chatbot {chatbot.name}, so there is nowhere to type a message "
        f"({need} needs one; a chat filled by a button is driven with click: LABEL)"
    )
