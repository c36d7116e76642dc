"""The API driver: replays each UI action through the app's HTTP API exactly as the browser would.

For an action it finds the dependencies bound to ``(component, event)`` in the app's config and
runs each with its ``.then`` / ``.success`` / ``.failure`` chain, sending the same inputs,
``event_data`` and ``trigger_id`` the frontend sends. It keeps the client-side component values,
applies outputs (including update dicts) and fires ``change`` listeners of changed components and
States. State lives on the server per session; every streamed intermediate value is kept.
gradio_client opens the session; the calls go through ``harness.gradio.queue``.

Not replayed: frontend-only ``js`` functions (reported in the action record) and concurrency
between listeners of one event (they run one after the other, in id order).
"""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import mimetypes
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from gradio_client import Client

from harness.drivers.base import ActionRecord, Driver, EventRecord, require
from harness.errors import ActionError, TargetError
from harness.gradio import message_targets as targets
from harness.gradio.appconfig import AppConfig, Component, Dependency, no_textbox
from harness.gradio.clientstate import ClientState, chat_values, error_text, next_stream_values, shown_value
from harness.gradio.endpoints import call_endpoint, connect, http_timeout, ssl_context
from harness.gradio.endpoints import close as close_client
from harness.gradio.history import Message
from harness.gradio.queue import QueueSession, Refused
from harness.spec import steps
from harness.spec.model import Scenario
from harness.target.app import Target

__all__ = ["ApiDriver"]

log = logging.getLogger(__name__)

MAX_EVENT_DEPTH = 32  # change listeners that keep triggering each other are an app bug, not a hang

#: one streamed update: when it arrived (perf_counter) and the full output values then
Update = tuple[float, list[Any]]


@dataclass
class _Session:
    """What an open session holds."""

    client: Client
    http: httpx.Client
    queue: QueueSession
    app: AppConfig
    state: ClientState
    chatbot: Component
    box: Component | None  # None: a chat driven by buttons, not typed into

    def textbox(self, need: str) -> Component:
        if self.box is None:
            raise no_textbox(self.chatbot, need)
        return self.box


#: components set by clicking one of their choices
CHOICE_TYPES = ("radio", "dropdown", "checkboxgroup")


class ApiDriver(Driver):
    """Drives the app through its HTTP API, one session per scenario."""

    name = "api"

    def __init__(self, target: Target, timeout: float = 60.0, **options: Any) -> None:
        super().__init__(target, timeout)
        self._session: _Session | None = None
        self._feedback: dict[int, bool | str] = {}
        self._record: ActionRecord | None = None
        self._action_start = 0.0
        self._errors: list[str] = []
        self._stop_after: int | None = None
        self._stopped = False
        self._running: set[int] = set()
        self._deferred: set[int] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-harness-api")

    # -- session -----------------------------------------------------------------------------------

    def open(self, scenario: Scenario) -> None:
        client = connect(self.target, self.timeout)
        self.app = app = AppConfig(client.config)
        http = httpx.Client(
            headers={**client.headers, "x-gradio-user": "app"},
            cookies=getattr(client, "cookies", None),
            verify=ssl_context(),
            timeout=http_timeout(self.timeout),
        )
        queue = QueueSession(http, client.src_prefixed, client.session_hash, self.timeout)
        try:
            require(scenario, app)
            chatbot = app.chatbot(scenario.chatbot)
            self._session = _Session(client, http, queue, app, ClientState(app), chatbot, app.input_for(chatbot))
        except BaseException:
            close_client(client)
            http.close()
            raise
        # the page runs the app's load events before a person can type; so does this session
        self._errors = []
        # and on Gradio 6 a chatbot reports a change as soon as it shows its first value (js/chatbot
        # ChatBot.svelte: its old_value starts null), so its change listeners run as the page loads
        if app.major_version >= 6:
            for bot in app.chatbots():
                self._trigger(bot.id, "change", None)
        for dep in app.load_events():
            self._run_chain(dep, None, next((t for t, e in dep.targets if e == "load"), None) or 0, 0)
        if self._errors:
            raise TargetError(f"the app's load event failed: {'; '.join(self._errors)}")

    def close(self) -> None:
        if self._session is not None:
            close_client(self._session.client)
            self._session.http.close()
            self._session = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def session(self) -> _Session:
        if self._session is None:
            raise RuntimeError("the driver is not open")
        return self._session

    # -- reading -----------------------------------------------------------------------------------

    def history(self) -> list[Message]:
        return self.session.state.history(self.session.chatbot)

    def component_value(self, selector: str) -> Any:
        component = self.session.app.find(selector)
        return shown_value(component, self.session.state.get(component.id))

    def input_value(self) -> Any:
        box = self.session.textbox("reading the input box")
        return shown_value(box, self.session.state.get(box.id))

    def has_component(self, selector: str) -> bool:
        return self.session.app.has(selector)

    # -- actions -----------------------------------------------------------------------------------

    def perform(self, step: steps.Action) -> ActionRecord:
        s = self.session
        chatbot = s.chatbot
        self._record = record = ActionRecord(step.label)
        self._errors = []
        self._stop_after = None
        self._action_start = time.perf_counter()
        match step:
            case steps.Send(text=text, files=files, stop_after=stop_after):
                self._send(text, files, stop_after)
            case steps.Undo(index=index) | steps.Retry(index=index):
                self._require_listener(step.kind)
                target = targets.last_exchange_target(self.history(), step.kind, index)
                event_data = {
                    "index": target.position,
                    "value": s.state.raw_message(chatbot, target.position).get("content"),
                }
                self._trigger(chatbot.id, step.kind, event_data)
            case steps.Like(index=index) | steps.Dislike(index=index):
                self._thumbs(step.kind == "like", index)
            case steps.Feedback(option=option, index=index):
                self._feedback_option(option, index)
            case steps.Edit(index=index, text=text):
                self._edit(index, text)
            case steps.Clear():
                # the trash icon empties the chat locally, then the clear listeners run
                targets.clear_target(self.history())
                self._feedback.clear()
                s.state.clear_locally(chatbot)
                self._trigger(chatbot.id, "clear", None)
            case steps.SelectOption(index=index, value=value, shown_as=label, option=option):
                self._require_listener("option_select")
                _, position, offered = targets.option_target(
                    self.history(), index=index, value=value, label=label, option=option
                )
                self._trigger(chatbot.id, "option_select", {"index": position, "value": offered.get("value")})
            case steps.SelectExample(index=index, text=text) if table := targets.table_example(
                s.app, chatbot, index=index, text=text
            ):
                # a gr.Examples table: the page sends the row's position as the table's value
                component, position, _ = table
                s.state.set(component.id, position)
                self._trigger(component.id, "click", None)
            case steps.SelectExample(index=index, text=text):
                self._require_listener("example_select")
                position, example = targets.example_target(chatbot, self.history(), index=index, text=text)
                self._trigger(chatbot.id, "example_select", {"index": position, "value": example})
            case steps.Set(values=values):
                for name, wanted in values.items():
                    component = s.app.find(name)
                    if component.type in CHOICE_TYPES:  # what clicking those choices on the page sends
                        picked = [internal for _, internal in targets.chosen(component, wanted)]
                        wanted = picked if component.type == "checkboxgroup" else picked[0]
                    self._user_sets(component, wanted)
            case steps.Click(button=name):
                self._trigger(targets.button_target(s.app, s.state, name).id, "click", None)
            case steps.Call(api_name=api_name, args=args):
                record.result, error = call_endpoint(s.client, api_name, args, self.timeout)
                if error is not None:
                    self._errors.append(error)
            case _:  # pragma: no cover - the loader only makes known steps
                raise ActionError(f"the api driver cannot do {step.kind!r}")
        record.seconds = time.perf_counter() - self._action_start
        if self._errors:
            record.error = "; ".join(self._errors)
        return record

    def _send(self, text: str, attached: tuple[str, ...], stop_after: int | None) -> None:
        """Type (attach), press Enter: the textbox's submit listeners run."""
        box = self.session.textbox("send")
        files = [self._upload(path) for path in attached]
        if files and box.type != "multimodaltextbox":
            raise ActionError(
                f"the chat's textbox {box.name} takes no files (it is a gr.Textbox; files need a gr.MultimodalTextbox)"
            )
        value: Any = text
        if box.type == "multimodaltextbox":
            # typing replaces the text only: files already in the box (an undone message's, put back
            # by ChatInterface's undo) go with the message, as on the page
            held = self.session.state.get(box.id)
            kept = list(held.get("files") or []) if isinstance(held, dict) else []
            value = {"text": text, "files": kept + files}
        if self.session.state.props.get(box.id, {}).get("interactive") is False:
            raise ActionError(
                f"the chat textbox {box.name} is disabled (the app set interactive=False and nothing enabled it "
                "again), so a person cannot type"
            )
        self._stop_after = stop_after
        self._stopped = False
        self._user_sets(box, value)
        self._trigger(box.id, "submit", None)
        if self._stop_after and not self._stopped:
            raise ActionError(
                f"the reply finished before {self._stop_after} streamed updates, so there was nothing to stop"
            )

    def _feedback_target(self, kind: str, index: int | None) -> tuple[int, list[Any]]:
        """The first message of the bubble a like/dislike/feedback acts on, and the bubble's contents."""
        s = self.session
        self._require_listener("like")
        target = targets.feedback_target_for(
            self.history(), kind, index, bool(s.chatbot.props.get("like_user_message"))
        )
        return target.first, [
            s.state.raw_message(s.chatbot, i).get("content") for i in range(target.first, target.last + 1)
        ]

    def _thumbs(self, like: bool, index: int | None) -> None:
        """Like or dislike, as the page sends them: clicking a liked reply's Like again sends ""."""
        targets.thumb_offered(self.session.chatbot, "like" if like else "dislike")
        first, contents = self._feedback_target("like" if like else "dislike", index)
        liked: bool | str = "" if self._feedback.get(first) == like else like
        self._feedback[first] = liked
        self._trigger(self.session.chatbot.id, "like", {"index": first, "value": contents, "liked": liked})

    def _feedback_option(self, option: str, index: int | None) -> None:
        """A custom feedback option, sent through the like event as the page sends it."""
        chosen = targets.feedback_option(self.session.chatbot, option)
        first, contents = self._feedback_target("feedback", index)
        self._trigger(self.session.chatbot.id, "like", {"index": first, "value": contents, "liked": chosen})

    def _edit(self, index: int, text: str) -> None:
        s = self.session
        editable = s.chatbot.props.get("editable")
        if not editable:
            raise ActionError(
                f"the chatbot {s.chatbot.name} is not editable (no editable= setting), so there is no Edit icon"
            )
        history = self.history()
        target = targets.edit_target(history, index)
        if editable == "user" and history[target.position].role != "user":
            role = history[target.position].role
            raise ActionError(
                f"the chatbot only lets users edit their own messages (editable='user'); message {target.position} is "
                f"a {role} message"
            )
        previous = s.state.raw_message(s.chatbot, target.position).get("content")
        s.state.edit_locally(s.chatbot, target.position, text)
        edit_data: dict[str, Any] = {"index": target.position, "value": text, "previous_value": previous}
        if s.app.major_version >= 6:
            edit_data["_dispatch_value"] = [{"type": "text", "text": text}]
        self._trigger(s.chatbot.id, "edit", edit_data)

    def _upload(self, path: str) -> dict[str, Any]:
        """Upload a file as the page's upload button does; the FileData the textbox then holds."""
        name = path.rsplit("/", 1)[-1]
        try:
            data = Path(path).read_bytes()  # read whole: a file that changes while it is sent cannot break the request
        except OSError as exc:
            raise ActionError(f"cannot read {path} to attach it: {exc.strerror or exc}") from None
        server_path = self.session.queue.upload(name, data)
        return {
            "path": server_path,
            "orig_name": name,
            "size": len(data),
            "mime_type": mimetypes.guess_type(name)[0],
            "meta": {"_type": "gradio.FileData"},
        }

    def _require_listener(self, event: str) -> None:
        chatbot = self.session.chatbot
        if not self.session.app.listeners(chatbot.id, event):
            icon = {"like": "Like and Dislike icons are"}.get(event, f"{event.capitalize()} icon is")
            raise ActionError(
                f"the app has no .{event}() handler on the chatbot {chatbot.name}, so the {icon} not shown"
            )

    def _user_sets(self, component: Component, value: Any) -> None:
        """A person typing: the value changes and ``input`` / ``change`` listeners run."""
        state = self.session.state
        if state.get(component.id) == value:
            return
        state.set(component.id, value)
        self._trigger(component.id, "input", None)
        self._trigger(component.id, "change", None)

    # -- the event graph ---------------------------------------------------------------------------

    def _trigger(self, component_id: int, event: str, event_data: Any, depth: int = 0) -> None:
        if depth > MAX_EVENT_DEPTH:
            raise TargetError(
                f"more than {MAX_EVENT_DEPTH} events triggered each other in a chain; the app's change listeners loop"
            )
        for dep in self.session.app.listeners(component_id, event):
            self._run_chain(dep, event_data, component_id, depth)

    def _run_chain(self, dep: Dependency, event_data: Any, trigger_id: int, depth: int) -> None:
        if dep.id in self._running:
            # as the page does: a listener triggered while it runs is skipped ("once", the default)
            # or run again once it has finished ("always_last")
            if dep.raw.get("trigger_mode") == "always_last":
                self._deferred.add(dep.id)
            if dep.raw.get("trigger_mode") != "multiple":
                return
        self._running.add(dep.id)
        try:
            succeeded = self._run_dependency(dep, event_data, trigger_id, depth)
        finally:
            self._running.discard(dep.id)
        if succeeded is None:  # refused by its validator: the page runs nothing after it
            self._deferred.discard(dep.id)
            return
        if dep.id in self._deferred:
            self._deferred.discard(dep.id)
            self._run_chain(dep, None, trigger_id, depth)
            return
        for child in self.session.app.children(dep.id):
            if child.runs_after(succeeded):
                self._run_chain(child, None, trigger_id, depth)

    def _run_dependency(self, dep: Dependency, event_data: Any, trigger_id: int, depth: int) -> bool | None:
        """Run one listener; whether it succeeded (None: the app's validator refused it)."""
        s = self.session
        record = self._record
        name = dep.name
        if not dep.backend_fn:
            if dep.js:
                log.info("dependency %s runs only in the browser (js); the api driver skips it", name)
            return True
        if dep.js:
            log.info("dependency %s has a js step the api driver cannot run; its inputs are sent as they are", name)
        data = s.state.inputs(dep)
        if s.app.major_version < 6 and not dep.collects_event_data:
            event_data = None
        started = time.perf_counter()
        try:
            result, updates = self._call(dep, data, event_data, trigger_id)
        except Refused as refused:  # as on the page: the validator's messages, and nothing runs after
            if record is not None:
                record.validation = refused.messages
            return None
        seconds = time.perf_counter() - started
        error = error_text(result)
        if record is not None:
            record.events.append(EventRecord(dep.id, name, seconds, len(updates), error))
            self._record_stream(dep, updates)
        if error is not None:
            self._errors.append(error)
            if updates:  # as on the page: what streamed in before the error stays
                s.state.apply(dep, list(updates[-1][1]))
            return False
        changed = s.state.apply(dep, list(result.get("data") or []))
        changed += [int(i) for i in result.get("changed_state_ids") or []]
        for cid in changed:
            self._trigger(cid, "change", None, depth + 1)
        return True

    def _call(
        self, dep: Dependency, data: list[Any], event_data: Any, trigger_id: int
    ) -> tuple[dict[str, Any], list[Update]]:
        """One backend call, made the way the page makes it, within the step's timeout; the final
        output and the streamed updates."""
        queue = self.session.queue
        body = queue.body(dep.id, data, event_data, trigger_id)
        cancelled = threading.Event()

        def run() -> tuple[dict[str, Any], list[Update]]:
            if dep.raw.get("queue") is False:
                answer = queue.predict(body, dep.name)
                # the page fires a gr.State's listeners only for states a queued event changed: the
                # changed_state_ids of a run/predict answer go unheard (seen on Gradio 5.50 and 6.31)
                answer.pop("changed_state_ids", None)
                return answer, []
            return self._follow(queue.join(body, dep.name), dep, cancelled)

        future = self._pool.submit(run)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            cancelled.set()
            raise TargetError(
                f"timed out after {self.timeout:g}s waiting for the app's {dep.name} handler to finish"
            ) from None
        except httpx.HTTPError as exc:
            raise TargetError(f"lost the connection to the app at {self.target.url} during {dep.name}: {exc}") from None

    def _follow(
        self, event_id: str, dep: Dependency, cancelled: threading.Event
    ) -> tuple[dict[str, Any], list[Update]]:
        """The event's streamed values and its final output (pressing Stop on the way if asked)."""
        s = self.session
        updates: list[Update] = []
        current: list[Any] | None = None
        for message in s.queue.messages(event_id, dep.name, cancelled):
            if message.get("msg") == "process_generating":
                current = next_stream_values(s.app, current, list((message.get("output") or {}).get("data") or []))
                updates.append((time.perf_counter(), copy.deepcopy(current)))
                if self._stop_after is not None and not self._stopped and len(updates) >= self._stop_after:
                    self._press_stop(event_id, dep)
            elif message.get("msg") == "process_completed":
                final = dict(message.get("output") or {})
                if message.get("success") is False:
                    final["success"] = False
                elif self._stopped and not final.get("data") and current is not None:
                    final["data"] = current  # a stopped reply keeps what had streamed in
                return final, updates
        raise TargetError(f"{dep.name} was cancelled")

    def _press_stop(self, event_id: str, dep: Dependency) -> None:
        """What the page does when Stop is pressed: cancel the running events the stop listener names."""
        stop, _ = targets.stop_control(self.session.app, [dep])
        if stop.backend_fn:
            log.info("the stop listener %s has a handler the api driver does not run", stop.name)
        self.session.queue.cancel(event_id, dep.id, dep.name)
        self._stopped = True

    def _record_stream(self, dep: Dependency, updates: list[Update]) -> None:
        record = self._record
        if record is None:
            return
        for at, outputs in updates:
            histories = chat_values(dep, self.session.chatbot, [outputs])
            if not histories:
                continue
            record.stream.extend(histories)
            if record.first_update is None:
                record.first_update = at - self._action_start
