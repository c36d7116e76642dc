"""The browser driver: a real Chromium, driven with Playwright the way a person uses the chat.

It types into the app's textbox and presses Enter, and clicks the chatbot's own Undo, Retry, Like,
Dislike, Edit (then the edit box and its Submit) and trash icons on the message a step names.
After every action it waits until the app is busy and then idle again (``sync``), takes in what
the app sent the page (``replay``), and checks that the page shows it (same count, same roles);
what each message shows is kept as ``Message.shown``. Component values (a textbox after undo) are
read from the page (``page``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from harness.drivers.base import ActionRecord, Driver, require
from harness.drivers.browser.contexts import WarmContexts
from harness.drivers.browser.opening import load_page, log_in, send_token_to_the_app_only
from harness.drivers.browser.page import (
    EXAMPLE_ROWS,
    ICONS,
    MESSAGES,
    NOT_IN_TRACKER,
    ChatPage,
    group_button,
    read_value,
)
from harness.drivers.browser.replay import Replay
from harness.drivers.browser.sync import Sync
from harness.errors import ActionError, TargetError, first_line
from harness.gradio import message_targets as targets
from harness.gradio.appconfig import AppConfig, Component
from harness.gradio.clientstate import ClientState, shown_value
from harness.gradio.endpoints import call_endpoint, connect
from harness.gradio.endpoints import close as close_client
from harness.gradio.history import Message
from harness.spec import steps
from harness.spec.model import Scenario
from harness.target.app import Target

__all__ = ["BrowserDriver"]

log = logging.getLogger(__name__)

PAGE_SCRIPT = resources.files("harness.drivers.browser").joinpath("page.js").read_text(encoding="utf-8")
POLL_MS = 50  # page-load waits poll at this interval, not on every frame


def prepare_context(context: Any, target: Target) -> None:
    """What every context opening ``target`` needs: the page script, and the token's route."""
    context.add_init_script(script=PAGE_SCRIPT)
    if target.token:
        send_token_to_the_app_only(context, target, target.token)


def _start_trace(context: Any) -> bool:
    """Record this scenario's trace (actions, network, console) as a chunk of the context's trace;
    False when pytest-playwright's --tracing records the context already."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        # DOM snapshots cost a fifth of the run time, so they come with pytest-playwright's --tracing instead
        context.tracing.start(screenshots=False, snapshots=False)
        return True
    except PlaywrightError:
        pass
    try:
        context.tracing.start_chunk()  # a warm context traces already: a new chunk per scenario
        return True
    except PlaywrightError:  # pytest-playwright's --tracing records this context
        return False


class BrowserDriver(Driver):
    """Drives the app's page in a fresh browser context per scenario."""

    name = "browser"
    needs_browser = True

    def __init__(
        self,
        target: Target,
        timeout: float = 60.0,
        *,
        new_context: Callable[..., Any] | None = None,
        contexts: WarmContexts | None = None,
        trace: bool = True,
    ) -> None:
        """A fresh context per scenario from ``new_context`` (pytest-playwright's, which records its
        own artifacts), or a new page in a warm context of ``contexts``."""
        super().__init__(target, timeout)
        if (new_context is None) == (contexts is None):
            raise ValueError("the browser driver takes new_context or contexts")
        self.new_context = new_context
        self.contexts = contexts
        self.trace = trace
        self.context: Any = None
        self._failed = False
        self._chat: ChatPage | None = None
        self._sync: Sync | None = None
        self._replay: Replay | None = None
        self._tracing = False
        self._api_client: Any = None

    @property
    def chat(self) -> ChatPage:
        if self._chat is None:
            raise RuntimeError("the driver is not open")
        return self._chat

    @property
    def sync(self) -> Sync:
        if self._sync is None:
            raise RuntimeError("the driver is not open")
        return self._sync

    @property
    def replay(self) -> Replay:
        if self._replay is None:
            raise RuntimeError("the driver is not open")
        return self._replay

    # -- session -----------------------------------------------------------------------------------

    def set_timeout(self, seconds: float) -> None:
        self.timeout = seconds
        if self._sync is not None:
            self._sync.timeout = seconds
        if self.context is not None:
            self.context.set_default_timeout(seconds * 1000)

    def open(self, scenario: Scenario) -> None:
        from playwright.sync_api import Error as PlaywrightError

        page = None
        if self.contexts is not None:
            context, page = self.contexts.acquire(self.target)
        else:
            assert self.new_context is not None
            context = self.new_context()
            prepare_context(context, self.target)
        self.context = context
        context.set_default_timeout(self.timeout * 1000)
        if self.trace:
            self._tracing = _start_trace(context)
        if page is None:
            page = context.new_page()
            load_page(page, self.target, self.timeout)
        else:  # a warm tab, loading the app since the last scenario ended
            page.wait_for_load_state("domcontentloaded")
        if self.target.auth is not None:
            log_in(page, self.target, self.target.auth, self.timeout)
        try:
            page.wait_for_function(
                "() => window.gradio_config && Array.isArray(window.gradio_config.components)",
                polling=POLL_MS,
                timeout=self.timeout * 1000,
            )
        except PlaywrightError:
            raise TargetError(
                f"{self.target.url} did not load a Gradio app in the browser within {self.timeout:g}s"
            ) from None
        self.app = app = AppConfig(_read_config(page, self.target))
        require(scenario, app)
        chatbot = app.chatbot(scenario.chatbot)
        self._chat = chat = ChatPage(page, app, ClientState(app), chatbot, app.input_for(chatbot))
        self._replay = Replay(chat, self.target)
        self._sync = Sync(chat, self._replay, self.timeout)
        try:
            chat.chat().wait_for(state="visible")
            if chat.box is not None:
                chat.text_field().wait_for(state="visible")
        except PlaywrightError:
            raise TargetError(
                f"the page at {self.target.url} did not show the chatbot {chatbot.name}"
                f"{' and its textbox' if chat.box is not None else ''} within {self.timeout:g}s"
            ) from None
        # the app's load events start as the page loads: count every call since then
        mark = {"started": 0, "t": 0.0}
        self.sync.settle("the page to finish loading", mark, any(d.backend_fn for d in app.load_events()))
        self.replay.take(None, mark)

    def close(self) -> None:
        if self._api_client is not None:
            close_client(self._api_client)
            self._api_client = None
        if self.context is not None:
            from playwright.sync_api import Error as PlaywrightError

            if self._tracing:
                with contextlib.suppress(PlaywrightError):
                    self.context.tracing.stop_chunk()
                self._tracing = False
            if self.contexts is not None:
                self.contexts.release(self.context, self.target, reuse=not self._failed)
            else:
                with contextlib.suppress(PlaywrightError):
                    self.context.close()
            self.context = None
            self._chat = self._sync = self._replay = None

    def save_artifacts(self, folder: Path) -> dict[str, Path]:
        """Screenshot, trace and the chatbot's visible text of the page as it is now."""
        from playwright.sync_api import Error as PlaywrightError

        saved: dict[str, Path] = {}
        self._failed = True  # a warm context is not reused after this
        page = self.context.pages[0] if self.context is not None and self.context.pages else None
        if page is None:
            return saved
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path = folder / "screenshot.png"
            page.screenshot(path=path, full_page=True, timeout=10_000)
            saved["screenshot"] = path
        except PlaywrightError as exc:
            log.warning("could not take a screenshot: %s", first_line(exc))
        try:
            path = folder / "chat.txt"
            path.write_text(
                self.chat.visible_text() if self._chat is not None else "(no chatbot found on the page)\n",
                encoding="utf-8",
            )
            saved["visible text"] = path
        except PlaywrightError as exc:
            log.warning("could not read the chat's text: %s", first_line(exc))
        if self._tracing and self.context is not None:
            try:
                path = folder / "trace.zip"
                self.context.tracing.stop_chunk(path=path)
                self._tracing = False
                saved["trace"] = path
            except PlaywrightError as exc:
                log.warning("could not save the trace: %s", first_line(exc))
        return saved

    # -- reading -----------------------------------------------------------------------------------

    def history(self) -> list[Message]:
        chat = self.chat
        history = chat.state.history(chat.chatbot)
        shown = chat.messages() or []
        if len(shown) == len(history):
            history = [replace(m, shown=s["text"]) for m, s in zip(history, shown)]
        return history

    def component_value(self, selector: str) -> Any:
        from playwright.sync_api import Error as PlaywrightError

        component = self.chat.app.find(selector)
        if component.type == "chatbot":  # like the chat's own history: the value the app sent the page
            return shown_value(component, self.chat.state.get(component.id))
        try:
            return read_value(component, self.chat.block(component))
        except PlaywrightError as exc:
            raise ActionError(
                f"could not read {component.name} on the page within {self.timeout:g}s: {_playwright_says(exc)}"
            ) from None

    def input_value(self) -> Any:
        self.chat.textbox("reading the input box")
        return self.chat.text_field().input_value()

    def has_component(self, selector: str) -> bool:
        return self.chat.app.has(selector)

    # -- actions -----------------------------------------------------------------------------------

    def perform(self, step: steps.Action) -> ActionRecord:
        from playwright.sync_api import Error as PlaywrightError

        try:
            return self._perform(step)
        except PlaywrightError as exc:  # a control the page never offered, or never let be used
            raise ActionError(
                f"the page did not let the harness do {step.label} within {self.timeout:g}s: {_playwright_says(exc)}"
            ) from None

    def _perform(self, step: steps.Action) -> ActionRecord:
        chat = self.chat
        chatbot = chat.chatbot
        history = chat.state.history(chatbot)
        record = ActionRecord(step.label)
        match step:
            case steps.Send(text=text, files=files, stop_after=stop_after):
                self._send(step, record, text, files, stop_after)
            case steps.Undo(index=index) | steps.Retry(index=index):
                # the icons sit under the last reply, whichever message of the exchange the step names
                target = targets.last_exchange_target(history, step.kind, index)
                self._click(chat.icon(step.kind, target.last), step, record, chatbot.id, step.kind)
            case steps.Like(index=index) | steps.Dislike(index=index):
                targets.thumb_offered(chatbot, step.kind)
                target = targets.feedback_target_for(
                    history, step.kind, index, bool(chatbot.props.get("like_user_message"))
                )
                self._click(chat.icon(step.kind, target.first), step, record, chatbot.id, "like")
            case steps.Feedback(option=option, index=index):
                wanted = targets.feedback_option(chatbot, option)
                target = targets.feedback_target_for(
                    history, "like", index, bool(chatbot.props.get("like_user_message"))
                )
                chat.icon("feedback", target.first).click()
                choice = (
                    chat.chat()
                    .locator("button.extra-feedback-option")
                    .filter(has_text=re.compile(f"^{re.escape(wanted)}$"))
                )
                if choice.count() == 0:
                    raise ActionError(
                        f"the feedback option {wanted!r} is not on the page after clicking the Feedback icon of "
                        f"message {target.first}"
                    )
                self._click(choice.first, step, record, chatbot.id, "like")
            case steps.SelectOption(index=index, value=value, shown_as=label, option=option):
                position, _, offered = targets.option_target(
                    history, index=index, value=value, label=label, option=option
                )
                shown = str(offered.get("label") or offered.get("value"))
                button = (
                    chat.chat().locator("button.option").filter(has_text=re.compile(f"^\\s*{re.escape(shown)}\\s*$"))
                )
                if button.count() == 0:
                    raise ActionError(f"the option {shown!r} of message {position} is not on the page")
                self._click(button.first, step, record, chatbot.id, "option_select")
            case steps.SelectExample(index=index, text=text) if table := targets.table_example(
                chat.app, chatbot, index=index, text=text
            ):
                component, position, _ = table
                rows = chat.block(component).locator(EXAMPLE_ROWS)
                if rows.count() <= position:
                    raise ActionError(f"example {position} is not on the page (the table shows {rows.count()} rows)")
                self._click(rows.nth(position), step, record, component.id, "click")
            case steps.SelectExample(index=index, text=text):
                position, _ = targets.example_target(chatbot, history, index=index, text=text)
                buttons = chat.chat().locator("button.example")
                if buttons.count() <= position:
                    raise ActionError(f"example {position} is not on the page (it shows {buttons.count()} examples)")
                self._click(buttons.nth(position), step, record, chatbot.id, "example_select")
            case steps.Set(values=values):
                for name, value in values.items():
                    self._set_value(step, record, name, value)
            case steps.Click(button=name):
                button = targets.button_target(chat.app, chat.state, name)
                control = chat.block(button)
                if not control.first.is_visible():
                    chat.open_accordions(button)
                self._click(control.first, step, record, button.id, "click")
            case steps.Call(api_name=api_name, args=args):
                record.result, record.error = call_endpoint(self._client(), api_name, args, self.timeout)
            case steps.Edit(index=index, text=text):
                self._edit(step, record, index, text)
            case steps.Clear():
                targets.clear_target(history)
                icon = chat.chat().get_by_role("button", name=ICONS["clear"]).and_(chat.page.locator(NOT_IN_TRACKER))
                if icon.count() == 0:
                    raise ActionError(f"the Clear (trash) icon is not on the page above the chatbot {chatbot.name}")
                chat.state.clear_locally(chatbot)
                self._click(icon.first, step, record, chatbot.id, "clear")
            case _:  # pragma: no cover - the loader only makes known steps
                raise ActionError(f"the browser driver cannot do {step.kind!r}")
        return record

    def _send(
        self, step: steps.Action, record: ActionRecord, text: str, files: tuple[str, ...], stop_after: int | None
    ) -> None:
        chat = self.chat
        field = chat.text_field()
        if not field.is_visible():
            raise ActionError(f"the chat textbox {chat.textbox().name} is not on the page")
        if files:
            self._attach(files)
        field.fill(text)
        mark = self.sync.mark()
        field.press("Enter")
        if stop_after:
            self._press_stop_after(stop_after, mark)
        self._finish(step, record, mark, chat.textbox().id, "submit")

    def _edit(self, step: steps.Action, record: ActionRecord, index: int, text: str) -> None:
        chat = self.chat
        target = targets.edit_target(chat.state.history(chat.chatbot), index)
        chat.icon("edit", target.position).click()
        message = chat.chat().locator(MESSAGES).nth(chat.shown_index(target.position))
        editor = message.locator("textarea.edit-textarea")
        editor.fill(text)
        submit = group_button(message, "submit").first
        self._edit_box_ready(editor, submit, text)
        chat.state.edit_locally(chat.chatbot, target.position, text)
        try:
            self._click(submit, step, record, chat.chatbot.id, "edit")
        except ActionError as exc:
            if editor.count():
                raise ActionError(
                    f"{exc} (the edit box is still open, holding {editor.first.input_value()!r})"
                ) from None
            raise

    def _click(self, control: Any, step: steps.Action, record: ActionRecord, component_id: int, event: str) -> None:
        """Click ``control`` and wait for the app to take up the event and go idle."""
        mark = self.sync.mark()
        control.click()
        self._finish(step, record, mark, component_id, event)

    def _edit_box_ready(self, editor: Any, submit: Any, text: str) -> None:
        """Until the edit box holds ``text`` and its Submit can be pressed (Gradio disables it while
        the chat is generating); a page that never gets there is an error, not a silent no-op."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import expect

        try:
            expect(editor).to_have_value(text, timeout=self.timeout * 1000)
            expect(submit).to_be_enabled(timeout=self.timeout * 1000)
        except (AssertionError, PlaywrightError) as exc:
            raise ActionError(f"the edit box did not get ready within {self.timeout:g}s: {first_line(exc)}") from None

    def _attach(self, files: tuple[str, ...]) -> None:
        """Attach files with the textbox's upload button (its file input) and wait for the uploads."""

        chat = self.chat
        box = chat.textbox()
        if box.type != "multimodaltextbox":
            raise ActionError(
                f"the chat's textbox {box.name} takes no files (it is a gr.Textbox; files need a gr.MultimodalTextbox)"
            )
        picker = chat.block(box).locator("input[type=file]")
        if picker.count() == 0:
            raise ActionError(f"the upload button of {box.name} is not on the page")
        before = chat.page.evaluate("() => window.__chatHarness.uploads")
        picker.first.set_input_files(list(files))
        self.sync.uploaded(before, ", ".join(f.rsplit("/", 1)[-1] for f in files))

    def _press_stop_after(self, updates: int, mark: dict[str, Any]) -> None:
        """Press the app's Stop control once ``updates`` streamed updates have arrived."""
        chat = self.chat
        app = chat.app
        running = [d for dep in app.listeners(chat.textbox().id, "submit") for d in app.chain(dep)]
        _, (component_id, event) = targets.stop_control(app, running)
        # a textbox's own stop button (it replaces the submit button while a reply streams), or the app's Stop control
        control = (
            chat.page.locator("button.stop-button:visible")
            if event == "stop"
            else chat.block(app.components[component_id])
        )
        if not self.sync.streamed(updates, mark):
            raise ActionError(f"the reply finished before {updates} streamed updates, so there was nothing to stop")
        control.first.click()

    def _set_value(self, step: steps.Action, record: ActionRecord, name: str, value: Any) -> None:
        """Type into a textbox, move a slider (its number field), tick a checkbox, as a person does."""
        chat = self.chat
        component = chat.app.find(name)
        block = chat.block(component)
        if not block.first.is_visible():
            chat.open_accordions(component)
        mark = self.sync.mark()
        if component.type == "checkbox":
            block.locator("input[type=checkbox]").first.set_checked(bool(value))
        elif component.type in ("slider", "number"):
            field = block.locator("input[type=number]").first
            field.fill(str(value))
            field.press("Enter")
            field.blur()
        elif component.type == "textbox":
            field = block.locator("textarea, input").first
            field.fill(str(value))
            field.blur()
        elif component.type in ("radio", "dropdown", "checkboxgroup"):
            self._choose(component, block, value)
        else:
            raise ActionError(
                f"the browser driver cannot set a {component.type} ({component.name}); it sets textboxes, sliders, "
                "numbers, checkboxes, radios, dropdowns and checkbox groups"
            )
        self._finish(step, record, mark, component.id, "change")

    def _choose(self, component: Component, block: Any, value: Any) -> None:
        """Pick choices as a person does: click a radio's choice, open a dropdown and click the
        option, tick and untick a checkbox group's boxes. ``value`` is a choice's value or shown text
        (a list of them for a checkbox group)."""
        shown = [text for text, _ in targets.chosen(component, value)]
        exact = [re.compile(f"^\\s*{re.escape(text)}\\s*$") for text in shown]
        if component.type == "radio":
            block.locator("label").filter(has_text=exact[0]).first.click()
        elif component.type == "dropdown":
            block.locator("input[role=combobox]").first.click()
            # an option's text may follow its tick mark (shown on the chosen one)
            ticked = re.compile(f"^\\s*(✓\\s*)?{re.escape(shown[0])}\\s*$")
            option = self.chat.page.locator("[role=listbox] [role=option]").filter(has_text=ticked)
            option.first.click()
            block.locator("input[role=combobox]").first.blur()
        else:
            for text, _ in targets.choices(component):
                box = block.locator("label").filter(has_text=re.compile(f"^\\s*{re.escape(text)}\\s*$"))
                box.first.locator("input[type=checkbox]").set_checked(text in shown)

    def _client(self) -> Any:
        """A gradio_client session for ``call`` steps, opened on first use."""
        if self._api_client is None:
            self._api_client = connect(self.target, self.timeout)
        return self._api_client

    def _finish(
        self, step: steps.Action, record: ActionRecord, mark: dict[str, Any], component_id: int, event: str
    ) -> None:
        """Wait for the app to take up the action and go idle, then take in what it sent."""
        app = self.chat.app
        must_start = any(dep.backend_fn for dep in app.listeners(component_id, event))
        self.sync.settle(step.label, mark, must_start)
        self.replay.take(record, mark)
        # the next step of a chain can start a moment after the one before ended, and on a busy
        # machine the page looks idle in between: wait until every step the graph runs next began
        while waiting := self.replay.next_in_chain(record):
            self.sync.await_start(waiting, mark)
            self.sync.settle(f"{step.label} ({waiting.name}, which runs next)", self.sync.mark(), False)
            self.replay.take(record, mark)
        self.sync.check_page(step.label)


def _playwright_says(exc: Exception) -> str:
    """Playwright's error in one line, with what it was waiting for (its call log names the element)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    waiting = next((line.removeprefix("- ") for line in lines if line.startswith("- waiting for")), None)
    head = first_line(exc).removesuffix(".")
    return f"{head} ({waiting})" if waiting else head


def _read_config(page: Any, target: Target) -> dict[str, Any]:
    """The app's config as the page was given it, or a TargetError saying why it cannot be read."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        # as JSON text: Playwright's own serialisation of the config's object takes half a second
        text = page.evaluate("() => window.__chatHarness.config()")
    except PlaywrightError as exc:
        raise TargetError(f"could not read the app's config from the page at {target.url}: {first_line(exc)}") from None
    config = json.loads(text) if isinstance(text, str) else None
    if not isinstance(config, dict):
        raise TargetError(f"the page at {target.url} gave no app config: window.gradio_config is not an object")
    return config
