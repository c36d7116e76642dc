"""Finding things on a Gradio chat page: the chatbot, its textbox, a message's icons, other components.

A component is found by its ``elem_id`` when it has one; otherwise the chatbot and textboxes by
their position among the components of their kind, and other components by label. Icons are
found by their accessible names (Gradio 6 and 5), inside the message's row or the button bar
right after it (bubble layout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.errors import ActionError
from harness.gradio.appconfig import AppConfig, Component, no_textbox
from harness.gradio.clientstate import ClientState
from harness.gradio.message_targets import choices

__all__ = [
    "ICONS",
    "ICON_NAMES",
    "MESSAGES",
    "NOT_IN_TRACKER",
    "ChatPage",
    "bubbles",
    "group_button",
    "read_value",
    "shown_roles",
]

MESSAGES = ".message-row .flex-wrap > .message"
CHAT_LOG = "[role=log][aria-label='chatbot conversation']"
TEXT_INPUT = "textarea[data-testid=textbox], input[data-testid=textbox]"
#: each input kind's text field, to find the n-th one of a kind
KIND_INPUT = {
    "textbox": "textarea[data-testid=textbox]:not(.multimodal-textbox *), "
    "input[data-testid=textbox]:not(.multimodal-textbox *)",
    "multimodaltextbox": ".multimodal-textbox textarea[data-testid=textbox]",
}
#: accessible names of the icons, on Gradio 6 and 5 (5.x relabels a clicked like "clicked like")
ICONS = {
    "undo": re.compile(r"^undo$", re.I),
    "retry": re.compile(r"^retry$", re.I),
    "like": re.compile(r"^(like|liked|clicked like)$", re.I),
    "dislike": re.compile(r"^(dislike|disliked|clicked dislike)$", re.I),
    "edit": re.compile(r"^edit$", re.I),
    "clear": re.compile(r"^clear$", re.I),
    "feedback": re.compile(r"^feedback$", re.I),
    "submit": re.compile(r"^submit$", re.I),
}
ICON_NAMES = {
    "undo": "Undo",
    "retry": "Retry",
    "like": "Like",
    "dislike": "Dislike",
    "feedback": "Feedback (flag)",
    "edit": "Edit",
    "clear": "Clear (trash)",
}
#: a component's block that holds no other (an accordion, a gr.Number wrap blocks of their own)
LEAF_BLOCK = ".block:not(:has(.block))"
#: an element each component of a type has once, to find one with no label or elem_id by position
KIND_MARK = {
    "slider": "input[type=range]",
    "radio": ".wrap > label:first-child > input[type=radio]",
    "dropdown": "input[role=combobox]",
    "checkboxgroup": "[data-testid=checkbox-group]",
    "code": ".cm-editor",
}
#: the rows of a gr.Examples table (a Dataset), in table or gallery layout
EXAMPLE_ROWS = "tr.tr-body, button.gallery-item"
#: a gr.Button (and its kin) on the page: Gradio gives each its size as a class
APP_BUTTON = "button.lg, button.md, button.sm"
#: a progress indicator left showing an error has its own "Clear" button: not the trash icon
NOT_IN_TRACKER = "button:not([data-testid=status-tracker] *)"
BLOCK = "xpath=ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' block ')][1]"
ROW = "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' message-row ')][1]"
ROW_BUTTONS = "xpath=following-sibling::*[1][contains(concat(' ', normalize-space(@class), ' '), ' message-buttons ')]"


@dataclass
class ChatPage:
    """The open page of an app: Playwright's page, the app's config, the values the page holds,
    and the chatbot and textbox a scenario talks to."""

    page: Any
    app: AppConfig
    state: ClientState
    chatbot: Component
    box: Component | None  # None: a chat driven by buttons, not typed into

    def textbox(self, need: str = "send") -> Component:
        if self.box is None:
            raise no_textbox(self.chatbot, need)
        return self.box

    def block(self, component: Component) -> Any:
        """The component's root element on the page: by elem_id, else by position among its kind."""
        page, app = self.page, self.app
        if component.elem_id:
            return page.locator(f"#{_css_id(component.elem_id)}")
        kind = [
            c
            for c in app.layout_order()
            if app.components[c].type == component.type and app.components[c].props.get("visible", True) is not False
        ]
        nth = kind.index(component.id) if component.id in kind else 0
        if component.type == "chatbot":
            return page.locator(CHAT_LOG).nth(nth).locator(BLOCK)
        if component.type in KIND_INPUT:
            return page.locator(KIND_INPUT[component.type]).nth(nth).locator(BLOCK)
        if component.type == "dataset":  # a gr.Examples table: its label is no form label
            return page.locator(LEAF_BLOCK).filter(has=page.locator(EXAMPLE_ROWS)).nth(nth)
        if component.text:  # a button: the element itself, by its text and position among those reading it
            same = [c for c in kind if app.components[c].text == component.text]
            text = re.compile(f"^\\s*{re.escape(component.text)}\\s*$")
            position = same.index(component.id) if component.id in same else 0
            return page.locator(APP_BUTTON).filter(has_text=text).nth(position)
        if component.label:
            # the innermost block with that label: an accordion or a gr.Number wraps blocks of its own
            title = re.compile(f"^\\s*{re.escape(component.label)}\\s*$")
            named = page.get_by_label(component.label, exact=True).or_(
                page.locator("[data-testid=block-info]").filter(has_text=title)
            )
            return page.locator(LEAF_BLOCK).filter(has=named)
        if component.type in KIND_MARK:  # no label, no elem_id: by position among those of its type
            for other in kind:
                self._open_accordions_of(app.components[other])
            return page.locator(KIND_MARK[component.type]).nth(nth).locator(BLOCK)
        raise ActionError(
            f"the browser driver finds a {component.type} without label or elem_id only for the types "
            f"{', '.join(sorted(KIND_MARK))}; give {component.name} an elem_id"
        )

    def chat(self) -> Any:
        return self.block(self.chatbot)

    def text_field(self) -> Any:
        """The chat's textbox, where a person types."""
        return self.block(self.textbox()).locator(TEXT_INPUT).first

    def messages(self) -> list[dict[str, Any]] | None:
        """The messages the chatbot shows (``{role, text}``), read by the page script."""
        handle = self.chat().element_handle(timeout=5_000)
        return self.page.evaluate("(scope) => window.__chatHarness.messages(scope)", handle)  # type: ignore[no-any-return]

    def icon(self, action: str, position: int) -> Any:
        """The icon for ``action`` on the message group holding message ``position``; ActionError if absent."""
        message = (
            self.chat().locator(MESSAGES).nth(self.shown_index(position))
        )  # the page shows the history: checked after every action
        message.hover()
        icon = group_button(message, action)
        if icon.count() == 0:
            raise ActionError(
                f"the {ICON_NAMES[action]} icon is not on the page for message "
                f"{position}{self._why_no_icon(action, position)}"
            )
        return icon.first

    def shown_index(self, position: int) -> int:
        """Where history message ``position`` is on the page: system messages are not shown, and
        consecutive messages of one role may share a bubble."""
        roles = [m.role for m in self.state.history(self.chatbot)]
        before = shown_roles(roles[: position + 1])
        if len(self.messages() or []) == len(shown_roles(roles)):
            return len(before) - 1
        return len(bubbles(before)) - 1

    def _why_no_icon(self, action: str, position: int) -> str:
        chatbot = self.chatbot
        event = "like" if action in ("like", "dislike") else action
        if action in ("undo", "retry", "like", "dislike") and not self.app.listeners(chatbot.id, event):
            return f" (the app has no .{event}() handler on the chatbot {chatbot.name})"
        if action == "edit":
            editable = chatbot.props.get("editable")
            if not editable:
                return f" (the chatbot {chatbot.name} is not editable: no editable= setting)"
            if editable == "user" and self.state.history(chatbot)[position].role != "user":
                return " (the chatbot lets people edit only their own messages: editable='user')"
        if action in ("undo", "retry"):
            return " (Undo and Retry are shown only under the last reply)"
        return ""

    def open_accordions(self, component: Component) -> None:
        """Open the closed accordions a component sits in (e.g. ChatInterface's "Additional Inputs")."""
        self._open_accordions_of(component)
        self.block(component).first.wait_for(state="visible")

    def _open_accordions_of(self, component: Component) -> None:
        """Click the header of each closed accordion around ``component`` (Gradio renders a closed
        accordion's content only once it is opened)."""
        for accordion in self.app.ancestors(component.id, "accordion"):
            label = accordion.label or ""
            header = self.page.locator("button.label-wrap").filter(has_text=label)
            if header.count() and header.first.get_attribute("aria-expanded") != "true":
                header.first.click()

    def visible_text(self) -> str:
        """The chat as the page shows it, one message a line (for a failure's artifacts)."""
        lines = [f"{i}. {m['role']}: {m['text']}" for i, m in enumerate(self.messages() or [])]
        return "\n".join(lines) + "\n" if lines else "(the chat is empty)\n"


def shown_roles(roles: list[str]) -> list[str]:
    """The roles of the messages the page shows: Gradio's page never renders system messages
    (``group_messages`` in js/chatbot/shared/utils.ts skips them)."""
    return [role for role in roles if role != "system"]


def bubbles(roles: list[str]) -> list[str]:
    """The roles of the bubbles when consecutive messages of one role share one."""
    return [role for i, role in enumerate(roles) if i == 0 or roles[i - 1] != role]


def group_button(message: Any, action: str) -> Any:
    """The button named for ``action`` in the group of ``message``: inside its row, or in the
    button bar right after the row (bubble layout)."""
    row = message.locator(ROW)
    return row.get_by_role("button", name=ICONS[action]).or_(
        row.locator(ROW_BUTTONS).get_by_role("button", name=ICONS[action])
    )


def read_value(component: Component, block: Any) -> Any:
    """A component's value as the page shows it, typed like the value the API returns."""
    control = block.locator("textarea, input:not([type=hidden]):not([type=file])").first
    kind = component.type
    if kind == "radio":  # the ticked choice's value (None: none ticked)
        ticked = block.locator("input[type=radio]:checked")
        return ticked.first.get_attribute("value") if ticked.count() else None
    if kind == "checkboxgroup":  # the ticked boxes' choices, by the text beside each
        values = {text: value for text, value in choices(component)}
        ticked = block.locator("label").filter(has=block.page.locator("input[type=checkbox]:checked"))
        texts = [label.inner_text().strip() for label in ticked.all()]
        return [values.get(text, text) for text in texts]
    if kind == "code":
        return "\n".join(line.inner_text() for line in block.locator(".cm-line").all())
    if kind == "checkbox":
        return control.is_checked()
    if kind in ("textbox", "multimodaltextbox", "dropdown", "number", "slider", "colorpicker", "datetime"):
        text = control.input_value()
        if kind in ("number", "slider"):
            try:
                number = float(text)
            except ValueError:
                return text
            return int(number) if number.is_integer() and "." not in text else number
        return text
    return block.inner_text()


def _css_id(elem_id: str) -> str:
    return re.sub(r"([^a-zA-Z0-9_-])", r"\\\1", elem_id)
