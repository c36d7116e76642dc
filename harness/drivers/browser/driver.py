"""The browser driver: a real Chromium, driven with Playwright the way a person uses the chat.

It types into the app's textbox and presses Enter, and clicks the chatbot's own Undo, Retry, Like,
Dislike, Edit (then the edit box and its Submit) and trash icons on the message a step names. After
every action it waits until the app is busy and then idle again: the calls the page made to the app
have finished, no progress indicator or stop button is shown, the textbox and the Retry / Undo
icons are enabled, and that has held for a few consecutive frames.

The history it reports is the value the app sent to the page, captured from the page's own network
traffic by a small script (``page.js``) injected before Gradio loads, so a scenario compares exact
text on both drivers. The page must show that history too: after each action the driver checks
that the chatbot displays as many messages, with the same roles; what each message shows is kept
as ``Message.shown``. Component values (a textbox after undo) are read from the page.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from harness.drivers.base import ActionRecord, Driver, EventRecord, require
from harness.errors import ActionError, PageMismatch, TargetError, first_line
from harness.gradio.appconfig import AppConfig, Component, Dependency
from harness.gradio.clientstate import ClientState, chat_values, error_text, next_stream_values, shown_value
from harness.gradio.endpoints import call_endpoint, connect, probe
from harness.gradio.endpoints import close as close_client
from harness.gradio.history import Message
from harness.gradio.message_targets import clear_target, edit_target, example_target, feedback_option, feedback_target_for, last_exchange_target, option_target, stop_control
from harness.spec.model import Scenario, Step
from harness.target.app import Target
from harness.waiting import RETRY_STATUSES, Backoff

__all__ = ["BrowserDriver"]

log = logging.getLogger(__name__)

PAGE_SCRIPT = resources.files("harness.drivers.browser").joinpath("page.js").read_text(encoding="utf-8")
MESSAGES = ".message-row .flex-wrap > .message"
CHAT_LOG = "[role=log][aria-label='chatbot conversation']"
TEXT_INPUT = "textarea[data-testid=textbox], input[data-testid=textbox]"
#: each input kind's text field, to find the n-th one of a kind
KIND_INPUT = {
    "textbox": "textarea[data-testid=textbox]:not(.multimodal-textbox *), input[data-testid=textbox]:not(.multimodal-textbox *)",
    "multimodaltextbox": ".multimodal-textbox textarea[data-testid=textbox]",
}
IDLE_POLLS = 2  # consecutive idle frames before the app counts as idle
START_TIMEOUT = 10.0  # longest a click may take to reach the app before "nothing happened"
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
ICON_NAMES = {"undo": "Undo", "retry": "Retry", "like": "Like", "dislike": "Dislike", "feedback": "Feedback (flag)", "edit": "Edit", "clear": "Clear (trash)"}
#: a progress indicator left showing an error has its own "Clear" button: not the trash icon
NOT_IN_TRACKER = "button:not([data-testid=status-tracker] *)"
BLOCK = "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' block ')][1]"
ROW = "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' message-row ')][1]"
ROW_BUTTONS = "xpath=following-sibling::*[1][contains(concat(' ', normalize-space(@class), ' '), ' message-buttons ')]"


class BrowserDriver(Driver):
    """Drives the app's page in a fresh browser context per scenario."""

    name = "browser"
    needs_browser = True

    def __init__(self, target: Target, timeout: float = 60.0, *, new_context: Callable[..., Any], trace: bool = True) -> None:
        self.target = target
        self.new_context = new_context
        self.timeout = timeout
        self.trace = trace
        self.context: Any = None
        self.page: Any = None
        self.app: AppConfig | None = None
        self.state: ClientState | None = None
        self.chatbot: Component | None = None
        self.input_box: Component | None = None
        self._tracing = False
        self._events: dict[str, Dependency] = {}
        self._generating: dict[str, list[Any]] = {}
        self._started_at: dict[str, float] = {}
        self._updates: dict[str, int] = {}
        self._api_client: Any = None

    # -- session -----------------------------------------------------------------------------------

    def set_timeout(self, seconds: float) -> None:
        self.timeout = seconds
        if self.context is not None:
            self.context.set_default_timeout(seconds * 1000)

    def open(self, scenario: Scenario) -> None:
        from playwright.sync_api import Error as PlaywrightError

        self.context = self.new_context()
        self.context.set_default_timeout(self.timeout * 1000)
        if self.trace:
            try:
                # actions, network and console; DOM snapshots cost a fifth of the run time, so they
                # come with pytest-playwright's --tracing instead
                self.context.tracing.start(screenshots=False, snapshots=False)
                self._tracing = True
            except PlaywrightError:  # pytest-playwright's --tracing already records this context
                self._tracing = False
        self.context.add_init_script(script=PAGE_SCRIPT)
        if self.target.token:
            self._send_token_to_the_app_only(self.target.token)
        self.page = self.context.new_page()
        self._load_page()
        if self.target.auth is not None:
            self._log_in(self.target.auth)
        try:
            self.page.wait_for_function("() => window.gradio_config && Array.isArray(window.gradio_config.components)", timeout=self.timeout * 1000)
        except PlaywrightError:
            raise TargetError(f"{self.target.url} did not load a Gradio app in the browser within {self.timeout:g}s") from None
        config = self.page.evaluate("() => window.gradio_config")
        self.app = AppConfig(config)
        self.state = ClientState(self.app)
        require(scenario, self.app)
        self.chatbot = self.app.chatbot(scenario.chatbot)
        self.input_box = self.app.input_for(self.chatbot)
        try:
            self._chat().wait_for(state="visible")
            self._box().wait_for(state="visible")
        except PlaywrightError:
            raise TargetError(f"the page at {self.target.url} did not show the chatbot {self.chatbot.name} and its textbox within {self.timeout:g}s") from None
        # the app's load events start as the page loads: count every call since then
        mark = {"started": 0, "t": 0.0}
        self._settle("the page to finish loading", mark, any(d.backend_fn for d in self.app.load_events()), self._chat().element_handle())
        self._replay(None, mark)

    def _load_page(self) -> None:
        """Open the app's page; no connection, 429 and 502-504 are retried with backoff (``harness.retry``)."""
        from playwright.sync_api import Error as PlaywrightError

        backoff = Backoff(self.timeout, f"loading {self.target.url} in the browser")
        while True:
            try:
                response = self.page.goto(self.target.url, wait_until="domcontentloaded")
            except PlaywrightError as exc:
                if "ERR_CONNECTION" in str(exc) and backoff.wait(first_line(exc)):
                    continue
                raise TargetError(f"the browser cannot open {self.target.url}: {first_line(exc)}{backoff.gave_up()}") from None
            if response is None or response.ok:
                return
            if response.status in RETRY_STATUSES and backoff.wait(f"HTTP {response.status}", response.headers.get("retry-after")):
                continue
            raise TargetError(f"{self.target.url} answered HTTP {response.status} to the browser{backoff.gave_up()}")

    def _send_token_to_the_app_only(self, token: str) -> None:
        """Add the token to requests for the app's own origin, and to no other (no global header)."""
        origin = self.target.origin + "/"
        header = {"x-hf-authorization": f"Bearer {token}"}  # what gradio_client sends; the Space proxy strips it

        def with_token(route: Any) -> None:
            route.continue_(headers={**route.request.headers, **header})

        assert self.context is not None
        self.context.route(lambda url: url.startswith(origin), with_token)

    def _log_in(self, auth: tuple[str, str]) -> None:
        """Gradio's login page: fill in the user name and password, press Login, wait for the app.

        Tracing, if on, records this (the typed password too); the run's artifacts are scrubbed.
        """
        from playwright.sync_api import Error as PlaywrightError

        page = self.page
        assert page is not None
        wait = self.timeout * 1000
        try:
            page.wait_for_function("() => window.gradio_config !== undefined", timeout=wait)
            if not page.evaluate("() => Boolean(window.gradio_config.auth_required)"):
                return  # no login page: the app has no auth=, or the session is logged in already
            password = page.locator("input[type=password]")
            password.wait_for(state="visible", timeout=wait)
            page.locator("input:not([type=password]):not([type=hidden]):not([type=file])").first.fill(auth[0])
            password.fill(auth[1])
            page.get_by_role("button", name=re.compile(r"^\s*log ?in\s*$", re.I)).first.click()
            # the page reloads as the app once the login is accepted; a refusal shows a message instead
            page.wait_for_function(
                "() => (window.gradio_config && !window.gradio_config.auth_required) || /incorrect|invalid/i.test(document.body.innerText)",
                timeout=wait,
            )
        except PlaywrightError as exc:
            raise TargetError(f"the browser could not log in at {self.target.url}: {first_line(exc)}") from None
        if page.evaluate("() => !window.gradio_config || window.gradio_config.auth_required"):
            raise TargetError(f"{self.target.url} refused the user name and password given with --chat-auth (its login page says so)")

    def close(self) -> None:
        if self._api_client is not None:
            close_client(self._api_client)
            self._api_client = None
        if self.context is not None:
            from playwright.sync_api import Error as PlaywrightError

            if self._tracing:
                with contextlib.suppress(PlaywrightError):
                    self.context.tracing.stop()
            with contextlib.suppress(PlaywrightError):
                self.context.close()
            self.context = None
            self.page = None

    def save_artifacts(self, folder: Path) -> dict[str, Path]:
        """Screenshot, trace and the chatbot's visible text of the page as it is now."""
        from playwright.sync_api import Error as PlaywrightError

        saved: dict[str, Path] = {}
        if self.page is None:
            return saved
        folder.mkdir(parents=True, exist_ok=True)
        try:
            path = folder / "screenshot.png"
            self.page.screenshot(path=path, full_page=True, timeout=10_000)
            saved["screenshot"] = path
        except PlaywrightError as exc:
            log.warning("could not take a screenshot: %s", first_line(exc))
        try:
            path = folder / "chat.txt"
            path.write_text(self._visible_text(), encoding="utf-8")
            saved["visible text"] = path
        except PlaywrightError as exc:
            log.warning("could not read the chat's text: %s", first_line(exc))
        if self._tracing and self.context is not None:
            try:
                path = folder / "trace.zip"
                self.context.tracing.stop(path=path)
                self._tracing = False
                saved["trace"] = path
            except PlaywrightError as exc:
                log.warning("could not save the trace: %s", first_line(exc))
        return saved

    def _visible_text(self) -> str:
        if self.chatbot is None or self.input_box is None:  # the session did not get as far as the chat
            return "(no chatbot found on the page)\n"
        shown = self._page_messages() or []
        lines = [f"{i}. {m['role']}: {m['text']}" for i, m in enumerate(shown)]
        return "\n".join(lines) + "\n" if lines else "(the chat is empty)\n"

    def _require_open(self) -> tuple[Any, AppConfig, ClientState, Component, Component]:
        if self.page is None or self.app is None or self.state is None or self.chatbot is None or self.input_box is None:
            raise RuntimeError("the driver is not open")
        return self.page, self.app, self.state, self.chatbot, self.input_box

    # -- finding things on the page ----------------------------------------------------------------

    def _block(self, component: Component) -> Any:
        """The component's root element on the page: by elem_id, else by position among its kind."""
        page, app, _, _, _ = self._require_open()
        if component.elem_id:
            return page.locator(f"#{_css_id(component.elem_id)}")
        kind = [c for c in app.layout_order() if app.components[c].type == component.type and app.components[c].props.get("visible", True) is not False]
        nth = kind.index(component.id) if component.id in kind else 0
        if component.type == "chatbot":
            return page.locator(CHAT_LOG).nth(nth).locator(BLOCK)
        if component.type in KIND_INPUT:
            return page.locator(KIND_INPUT[component.type]).nth(nth).locator(BLOCK)
        if component.label:
            return page.locator(".block").filter(has=page.get_by_label(component.label, exact=True))
        raise ActionError(f"the browser driver finds a {component.type} without elem_id only by its label; give {component.name} an elem_id")

    def _chat(self) -> Any:
        _, _, _, chatbot, _ = self._require_open()
        return self._block(chatbot)

    def _box(self) -> Any:
        _, _, _, _, box = self._require_open()
        return self._block(box).locator(TEXT_INPUT).first

    def _page_messages(self) -> list[dict[str, Any]] | None:
        page, *_ = self._require_open()
        handle = self._chat().element_handle(timeout=5_000)
        return page.evaluate("(scope) => window.__chatHarness.messages(scope)", handle)  # type: ignore[no-any-return]

    def _icon(self, action: str, position: int) -> Any:
        """The icon for ``action`` on the message group holding message ``position``; ActionError if absent."""
        message = self._chat().locator(MESSAGES).nth(self._shown_index(position))  # the page shows the history: checked after every action
        message.hover()
        icon = _group_button(message, action)
        if icon.count() == 0:
            raise ActionError(f"the {ICON_NAMES[action]} icon is not on the page for message {position}{self._why_no_icon(action, position)}")
        return icon.first

    def _shown_index(self, position: int) -> int:
        """Where history message ``position`` is on the page: consecutive messages of one role may share a bubble."""
        _, _, state, chatbot, _ = self._require_open()
        roles = [m.role for m in state.history(chatbot)]
        if len(self._page_messages() or []) == len(roles):
            return position
        return len(_groups(roles[: position + 1])) - 1

    def _why_no_icon(self, action: str, position: int) -> str:
        _, app, state, chatbot, _ = self._require_open()
        event = "like" if action in ("like", "dislike") else action
        if action in ("undo", "retry", "like", "dislike") and not app.listeners(chatbot.id, event):
            return f" (the app has no .{event}() handler on the chatbot {chatbot.name})"
        if action == "edit":
            editable = chatbot.props.get("editable")
            if not editable:
                return f" (the chatbot {chatbot.name} is not editable: no editable= setting)"
            if editable == "user" and state.history(chatbot)[position].role != "user":
                return " (the chatbot lets people edit only their own messages: editable='user')"
        if action in ("undo", "retry"):
            return " (Undo and Retry are shown only under the last reply)"
        return ""

    # -- reading -----------------------------------------------------------------------------------

    def history(self) -> list[Message]:
        _, _, state, chatbot, _ = self._require_open()
        history = state.history(chatbot)
        shown = self._page_messages() or []
        if len(shown) == len(history):
            history = [replace(m, shown=s["text"]) for m, s in zip(history, shown)]
        return history

    def component_value(self, selector: str) -> Any:
        _, app, state, _, _ = self._require_open()
        component = app.find(selector)
        if component.type == "chatbot":  # like the chat's own history: the value the app sent the page
            return shown_value(component, state.get(component.id))
        return _read_value(component, self._block(component))

    def input_value(self) -> Any:
        return self._box().input_value()

    def has_component(self, selector: str) -> bool:
        _, app, _, _, _ = self._require_open()
        return app.has(selector)

    # -- actions -----------------------------------------------------------------------------------

    def perform(self, step: Step) -> ActionRecord:
        page, _, state, chatbot, box = self._require_open()
        record = ActionRecord(step.label)
        kind = step.kind
        if kind == "send":
            field = self._box()
            if not field.is_visible():
                raise ActionError(f"the chat textbox {box.name} is not on the page")
            if step.args.get("files"):
                self._attach(step.args["files"])
            field.fill(step.args["text"])
            mark = self._mark()
            field.press("Enter")
            if step.args.get("stop_after"):
                self._stop_after(step.args["stop_after"], mark)
            self._finish(step, record, mark, box.id, "submit")
        elif kind in ("undo", "retry"):
            # the icons sit under the last reply, whichever message of the exchange the step names
            target = last_exchange_target(state.history(chatbot), kind, step.index)
            icon = self._icon(kind, target.last)
            self._click(icon, step, record, chatbot.id, kind)
        elif kind in ("like", "dislike"):
            target = feedback_target_for(state.history(chatbot), kind, step.index, bool(chatbot.props.get("like_user_message")))
            icon = self._icon(kind, target.first)
            self._click(icon, step, record, chatbot.id, "like")
        elif kind == "feedback":
            wanted = feedback_option(chatbot, step.args["option"])
            target = feedback_target_for(state.history(chatbot), "like", step.index, bool(chatbot.props.get("like_user_message")))
            self._icon("feedback", target.first).click()
            choice = self._chat().locator("button.extra-feedback-option").filter(has_text=re.compile(f"^{re.escape(wanted)}$"))
            if choice.count() == 0:
                raise ActionError(f"the feedback option {wanted!r} is not on the page after clicking the Feedback icon of message {target.first}")
            self._click(choice.first, step, record, chatbot.id, "like")
        elif kind == "select_option":
            position, _, option = option_target(state.history(chatbot), step.args)
            shown = str(option.get("label") or option.get("value"))
            button = self._chat().locator("button.option").filter(has_text=re.compile(f"^\\s*{re.escape(shown)}\\s*$"))
            if button.count() == 0:
                raise ActionError(f"the option {shown!r} of message {position} is not on the page")
            self._click(button.first, step, record, chatbot.id, "option_select")
        elif kind == "select_example":
            index, _ = example_target(chatbot, state.history(chatbot), step.args)
            buttons = self._chat().locator("button.example")
            if buttons.count() <= index:
                raise ActionError(f"example {index} is not on the page (it shows {buttons.count()} examples)")
            self._click(buttons.nth(index), step, record, chatbot.id, "example_select")
        elif kind == "set":
            for name, value in step.args["values"].items():
                self._set_value(step, record, name, value)
        elif kind == "call":
            record.result, record.error = call_endpoint(self._client(), step.args["api_name"], step.args["args"], self.timeout)
        elif kind == "edit":
            target = edit_target(state.history(chatbot), step.args["index"])
            self._icon("edit", target.position).click()
            message = self._chat().locator(MESSAGES).nth(self._shown_index(target.position))
            editor = message.locator("textarea.edit-textarea")
            editor.fill(step.args["text"])
            submit = _group_button(message, "submit").first
            self._edit_box_ready(editor, submit, step.args["text"])
            state.edit_locally(chatbot, target.position, step.args["text"])
            try:
                self._click(submit, step, record, chatbot.id, "edit")
            except ActionError as exc:
                if editor.count():
                    raise ActionError(f"{exc} (the edit box is still open, holding {editor.first.input_value()!r})") from None
                raise
        elif kind == "clear":
            clear_target(state.history(chatbot))
            icon = self._chat().get_by_role("button", name=ICONS["clear"]).and_(page.locator(NOT_IN_TRACKER))
            if icon.count() == 0:
                raise ActionError(f"the {ICON_NAMES['clear']} icon is not on the page above the chatbot {chatbot.name}")
            state.clear_locally(chatbot)
            self._click(icon.first, step, record, chatbot.id, "clear")
        else:  # pragma: no cover - the loader only lets known kinds through
            raise ActionError(f"the browser driver cannot do {kind!r}")
        return record

    def _click(self, control: Any, step: Step, record: ActionRecord, component_id: int, event: str) -> None:
        """Click ``control`` and wait for the app to take up the event and go idle."""
        mark = self._mark()
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

    def _attach(self, files: list[str]) -> None:
        """Attach files with the textbox's upload button (its file input) and wait for the uploads."""
        from playwright.sync_api import Error as PlaywrightError

        page, _, _, _, box = self._require_open()
        if box.type != "multimodaltextbox":
            raise ActionError(f"the chat's textbox {box.name} takes no files (it is a gr.Textbox; files need a gr.MultimodalTextbox)")
        picker = self._block(box).locator("input[type=file]")
        if picker.count() == 0:
            raise ActionError(f"the upload button of {box.name} is not on the page")
        before = page.evaluate("() => window.__chatHarness.uploads")
        picker.first.set_input_files(files)
        try:
            page.wait_for_function(
                "(n) => window.__chatHarness.uploads > n && ![...window.__chatHarness.pending.values()].some((c) => c.what === 'upload')",
                arg=before,
                timeout=self.timeout * 1000,
            )
        except PlaywrightError:
            raise TargetError(f"the upload of {', '.join(f.rsplit('/', 1)[-1] for f in files)} did not finish within {self.timeout:g}s") from None

    def _stop_after(self, updates: int, mark: dict[str, Any]) -> None:
        """Press the app's Stop control once ``updates`` streamed updates have arrived."""
        from playwright.sync_api import Error as PlaywrightError

        page, app, _, _, box = self._require_open()
        running = [d for dep in app.listeners(box.id, "submit") for d in app.chain(dep)]
        _, (component_id, event) = stop_control(app, running)
        # a textbox's own stop button (it replaces the submit button while a reply streams), or the app's Stop control
        control = page.locator("button.stop-button:visible") if event == "stop" else self._block(app.components[component_id])
        try:
            scope, field = self._chat().element_handle(), self._box().element_handle()
            page.evaluate("() => { window.__chatHarness.quiet = 0; }")
            page.wait_for_function(
                "([n, want, scope, box, started, polls]) => window.__chatHarness.updates >= n + want || window.__chatHarness.idle(scope, box, started, true, polls)",
                arg=[mark["updates"], updates, scope, field, mark["started"], IDLE_POLLS],
                polling="raf",
                timeout=self.timeout * 1000,
            )
        except PlaywrightError:
            raise TargetError(f"timed out after {self.timeout:g}s waiting for {updates} streamed updates to press Stop") from None
        if page.evaluate("([n, want]) => window.__chatHarness.updates < n + want", [mark["updates"], updates]):
            raise ActionError(f"the reply finished before {updates} streamed updates, so there was nothing to stop")
        control.first.click()

    def _set_value(self, step: Step, record: ActionRecord, name: str, value: Any) -> None:
        """Type into a textbox, move a slider (its number field), tick a checkbox, as a person does."""
        _, app, _, _, _ = self._require_open()
        component = app.find(name)
        block = self._block(component)
        if not block.first.is_visible():
            self._open_accordions(component)
        mark = self._mark()
        if component.type == "checkbox":
            block.locator("input[type=checkbox]").first.set_checked(bool(value))
        elif component.type in ("slider", "number"):
            field = block.locator("input[type=number]").first
            field.fill(str(value))
            field.press("Enter")
            field.blur()
        elif component.type in ("textbox", "dropdown"):
            field = block.locator("textarea, input").first
            field.fill(str(value))
            field.blur()
        else:
            raise ActionError(f"the browser driver cannot set a {component.type} ({component.name}); it sets textboxes, sliders, numbers and checkboxes")
        self._finish(step, record, mark, component.id, "change")

    def _open_accordions(self, component: Component) -> None:
        """Open the closed accordions a component sits in (e.g. ChatInterface's "Additional Inputs")."""
        page, app, _, _, _ = self._require_open()
        for accordion in app.ancestors(component.id, "accordion"):
            label = accordion.label or ""
            header = page.locator("button.label-wrap").filter(has_text=label)
            if header.count() and header.first.get_attribute("aria-expanded") != "true":
                header.first.click()
        self._block(component).first.wait_for(state="visible")

    def _client(self) -> Any:
        """A gradio_client session for ``call`` steps, opened on first use."""
        if self._api_client is None:
            self._api_client = connect(self.target, self.timeout)
        return self._api_client

    def _mark(self) -> dict[str, Any]:
        """Where the page's call counter and clock stand just before an action (plus this process's clock)."""
        page, *_ = self._require_open()
        mark: dict[str, Any] = page.evaluate("() => window.__chatHarness.mark()")
        mark["clock"] = time.perf_counter()
        return mark

    def _finish(self, step: Step, record: ActionRecord, mark: dict[str, Any], component_id: int, event: str) -> None:
        """Wait for the app to take up the action and go idle, then take in what it sent."""
        _, app, _, _, _ = self._require_open()
        must_start = any(dep.backend_fn for dep in app.listeners(component_id, event))
        scope = self._chat().element_handle()
        self._settle(step.label, mark, must_start, scope)
        self._replay(record, mark)
        # the next step of a chain can start a moment after the one before ended, and on a busy
        # machine the page looks idle in between: wait until every step the graph runs next began
        while waiting := self._next_in_chain(record):
            self._await_start(waiting, mark)
            self._settle(f"{step.label} ({waiting.name}, which runs next)", self._mark(), False, scope)
            self._replay(record, mark)
        self._check_page(step, scope)

    def _await_start(self, dep: Dependency, mark: dict[str, Any]) -> None:
        from playwright.sync_api import Error as PlaywrightError

        page, *_ = self._require_open()
        before = int((mark.get("startedFn") or {}).get(str(dep.id), 0))
        try:
            page.wait_for_function("([fn, n]) => (window.__chatHarness.startedFn[fn] || 0) > n", arg=[dep.id, before], timeout=min(self.timeout, START_TIMEOUT) * 1000)
        except PlaywrightError:
            raise ActionError(f"{dep.name} should run next in the chain, but the page did not start it within {min(self.timeout, START_TIMEOUT):g}s") from None

    def _next_in_chain(self, record: ActionRecord) -> Dependency | None:
        """A chained step that should run after one this action finished, and has not started yet."""
        _, app, _, _, _ = self._require_open()
        seen = {event.dependency for event in record.events} | {self._events[e].id for e in self._started_at if e in self._events}
        for event in record.events:
            for child in app.children(event.dependency):
                if child.backend_fn and child.id not in seen and child.runs_after(event.error is None):
                    return child
        return None

    def _settle(self, what: str, mark: dict[str, Any], must_start: bool, scope: Any) -> None:
        """Wait until the action reached the app (if it must) and the app is idle; ``scope`` is the chatbot's element."""
        from playwright.sync_api import Error as PlaywrightError

        page, *_ = self._require_open()
        box = self._box().element_handle()
        started = page.evaluate("(n) => { window.__chatHarness.quiet = 0; return window.__chatHarness.started > n; }", mark["started"])
        if must_start and not started:
            try:
                page.wait_for_function("(n) => window.__chatHarness.started > n", arg=mark["started"], timeout=min(self.timeout, START_TIMEOUT) * 1000)
            except PlaywrightError:
                raise ActionError(f"{what} did not reach the app: the page sent no request within {min(self.timeout, START_TIMEOUT):g}s") from None
        try:
            page.wait_for_function(
                "([scope, box, n, must, polls]) => window.__chatHarness.idle(scope, box, n, must, polls)",
                arg=[scope, box, mark["started"], must_start, IDLE_POLLS],
                polling="raf",
                timeout=self.timeout * 1000,
            )
        except PlaywrightError as exc:
            if "Timeout" not in str(exc):
                raise TargetError(f"the page stopped answering while waiting for {what}: {first_line(exc)}") from None
            reasons = page.evaluate("([scope, box]) => window.__chatHarness.busy(scope, box)", [scope, box])
            reasons = [re.sub(r"\(fn (\d+)\)", lambda m: f"({self._call_name(int(m[1]))})", r) for r in reasons]
            raise TargetError(f"timed out after {self.timeout:g}s waiting for the app to finish {what}: {'; '.join(reasons) or 'it kept starting new work'}") from None

    def _check_page(self, step: Step, scope: Any) -> None:
        """The chatbot on the page must show the history the app sent: same count, same roles."""
        from playwright.sync_api import Error as PlaywrightError

        page, _, state, chatbot, _ = self._require_open()
        roles = [m.role for m in state.history(chatbot)]
        try:
            # one bubble per message, or one per run of messages of one role (Gradio's default grouping)
            page.wait_for_function(
                "([scope, ways]) => { const m = window.__chatHarness.messages(scope) || [];"
                " return ways.some((roles) => m.length === roles.length && m.every((x, i) => x.role === roles[i])); }",
                arg=[scope, [roles, _groups(roles)]],
                timeout=5_000,
            )
        except PlaywrightError:
            shown = self._page_messages() or []
            summary = (
                f"after {step.label} the app sent {len(roles)} messages ({', '.join(roles) or 'none'}) but the page shows {len(shown)} "
                f"({', '.join(m['role'] for m in shown) or 'none'})"
            )
            raise PageMismatch(summary, f"{summary}\npage shows:\n{self._visible_text()}") from None

    # -- what the app sent -------------------------------------------------------------------------

    def _replay(self, record: ActionRecord | None, mark: dict[str, Any]) -> None:
        """Apply what the page received from the app since the last call, in arrival order."""
        page, _, _, chatbot, _ = self._require_open()
        errors: list[str] = []
        lost: str | None = None
        for entry in page.evaluate("() => window.__chatHarness.take()"):
            kind = entry.get("kind")
            body = entry.get("body") or {}
            if kind in ("join", "predict"):
                dep = self._dependency(body.get("fn_index"))
                if dep is None:
                    continue
                if kind == "join":
                    answer = entry.get("answer") or {}
                    if entry.get("status") != 200 or "event_id" not in answer:
                        errors.append(f"the app refused the call to {dep.name} (HTTP {entry.get('status')}: {_short(answer)})")
                    else:
                        self._events[answer["event_id"]] = dep
                        self._started_at[answer["event_id"]] = entry["t"]
                    continue
                self._finished(record, dep, entry.get("answer") or {}, errors, (entry["t"] - mark["t"]) / 1000)
            elif kind == "message":
                msg = entry["msg"]
                dep = self._events.get(msg.get("event_id") or "")
                if msg.get("msg") == "unexpected_error":
                    errors.append(str(msg.get("message") or "the app's queue reported an unexpected error"))
                if dep is None:
                    continue
                if msg.get("msg") == "process_generating":
                    self._updates[msg.get("event_id") or ""] = self._updates.get(msg.get("event_id") or "", 0) + 1
                    data = self._stream_data(msg)
                    if record is not None and data is not None:
                        histories = chat_values(dep, chatbot, [data])
                        record.stream.extend(histories)
                        if histories and record.first_update is None:
                            record.first_update = (entry["t"] - mark["t"]) / 1000
                elif msg.get("msg") == "process_completed":
                    event_id = msg.get("event_id") or ""
                    output = msg.get("output") or {}
                    streamed = self._generating.pop(event_id, None)
                    if msg.get("success") is not False and "data" not in output and streamed is not None:
                        output = {**output, "data": streamed}  # stopped: the page keeps what had streamed in
                    seconds = (entry["t"] - self._started_at.pop(event_id, mark["t"])) / 1000
                    self._finished(record, dep, output, errors, seconds, updates=self._updates.pop(event_id, 0))
            elif kind == "orphaned":
                name = self._call_name(int(entry.get("fn_index") or -1))
                if (down := self._server_down()) is not None:
                    why = f"the page's event stream ended before the reply finished, and the server no longer answers ({down})"
                    lost = f"lost the connection to the app at {self.target.url} during {name}: {why}"
                else:
                    log.warning("the page stopped listening before %s finished; its answer never reached the page", name)
            elif kind in ("join_failed", "predict_failed", "stream_error"):
                errors.append(f"the page lost its connection to the app: {entry.get('error')}")
        if lost is not None:
            raise TargetError(lost)
        if record is not None:
            record.seconds = time.perf_counter() - mark["clock"]
            if errors:
                record.error = "; ".join(errors)
        elif errors:
            raise TargetError("while the page loaded: " + "; ".join(errors))

    def _server_down(self) -> str | None:
        """Why the app's server does not answer (None: it does), asked when a reply stream ends early."""
        import httpx

        try:
            probe(self.target, timeout=3.0)
        except httpx.HTTPError as exc:
            return type(exc).__name__ + (f": {exc}" if str(exc) else "")
        return None

    def _finished(self, record: ActionRecord | None, dep: Dependency, output: dict[str, Any], errors: list[str], seconds: float, updates: int = 0) -> None:
        _, _, state, _, _ = self._require_open()
        error = error_text(output)
        if record is not None:
            record.events.append(EventRecord(dep.id, dep.name, seconds, updates, error))
        if error is not None:
            errors.append(error)
            return
        state.apply(dep, list(output.get("data") or []))

    def _stream_data(self, msg: dict[str, Any]) -> list[Any] | None:
        """A streamed update's full output values."""
        output = msg.get("output") or {}
        data = output.get("data")
        if not isinstance(data, list):
            return None
        _, app, _, _, _ = self._require_open()
        event_id = msg.get("event_id") or ""
        self._generating[event_id] = next_stream_values(app, self._generating.get(event_id), data)
        return self._generating[event_id]

    def _call_name(self, fn_index: int) -> str:
        dep = self._dependency(fn_index)
        return dep.name if dep is not None else f"fn {fn_index}"

    def _dependency(self, fn_index: Any) -> Dependency | None:
        _, app, _, _, _ = self._require_open()
        for dep in app.dependencies:
            if dep.id == fn_index:
                return dep
        return None


def _groups(roles: list[str]) -> list[str]:
    """The roles of the bubbles when consecutive messages of one role share one."""
    return [role for i, role in enumerate(roles) if i == 0 or roles[i - 1] != role]


def _group_button(message: Any, action: str) -> Any:
    """The button named for ``action`` in the group of ``message``: inside its row, or in the
    button bar right after the row (bubble layout)."""
    row = message.locator(ROW)
    return row.get_by_role("button", name=ICONS[action]).or_(row.locator(ROW_BUTTONS).get_by_role("button", name=ICONS[action]))


def _read_value(component: Component, block: Any) -> Any:
    """A component's value as the page shows it, typed like the value the API returns."""
    control = block.locator("textarea, input:not([type=hidden]):not([type=file])").first
    kind = component.type
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


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
