"""The API driver: replays each UI action through gradio_client exactly as the browser would.

For an action it finds the dependencies bound to ``(component, event)`` in the app's config and
runs each with its ``.then`` / ``.success`` / ``.failure`` chain, sending the same inputs,
``event_data`` and ``trigger_id`` the frontend sends. It keeps the client-side component values,
applies outputs (including update dicts) and fires ``change`` listeners of changed components and
States. State lives on the server per session; every streamed intermediate value is kept.

Not replayed: frontend-only ``js`` functions (reported in the action record) and concurrency
between listeners of one event (they run one after the other, in id order).
"""

from __future__ import annotations

import concurrent.futures
import copy
import json
import logging
import mimetypes
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from gradio_client import Client
from httpx_sse import connect_sse

from harness.drivers.base import ActionRecord, Driver, EventRecord, require
from harness.errors import ActionError, TargetError
from harness.gradio.appconfig import AppConfig, Component, Dependency
from harness.gradio.clientstate import ClientState, chat_values, error_text, next_stream_values, shown_value
from harness.gradio.endpoints import call_endpoint, connect, http_timeout, ssl_context
from harness.gradio.endpoints import close as close_client
from harness.gradio.history import Message
from harness.gradio.message_targets import clear_target, edit_target, example_target, feedback_option, feedback_target_for, last_exchange_target, option_target, stop_control
from harness.spec.model import Scenario, Step
from harness.target.app import Target
from harness.waiting import RETRY_STATUSES, Backoff

__all__ = ["ApiDriver"]

log = logging.getLogger(__name__)

MAX_EVENT_DEPTH = 32  # change listeners that keep triggering each other are an app bug, not a hang


class ApiDriver(Driver):
    """Drives the app through its HTTP API with gradio_client, one session per scenario."""

    name = "api"

    def __init__(self, target: Target, timeout: float = 60.0) -> None:
        self.target = target
        self.timeout = timeout
        self.client: Client | None = None
        self.app: AppConfig | None = None
        self.state: ClientState | None = None
        self.chatbot: Component | None = None
        self.input_box: Component | None = None
        self._feedback: dict[int, bool | str] = {}
        self._record: ActionRecord | None = None
        self._action_start = 0.0
        self._errors: list[str] = []
        self._stop_after: int | None = None
        self._stopped = False
        self._running: set[int] = set()
        self._deferred: set[int] = set()
        self._http: httpx.Client | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-harness-api")

    # -- session -----------------------------------------------------------------------------------

    def open(self, scenario: Scenario) -> None:
        self.client = connect(self.target, self.timeout)
        self.app = AppConfig(self.client.config)
        self.state = ClientState(self.app)
        self._http = httpx.Client(
            headers={**self.client.headers, "x-gradio-user": "app"},
            cookies=getattr(self.client, "cookies", None),
            verify=ssl_context(),
            timeout=http_timeout(self.timeout),
        )
        require(scenario, self.app)
        self.chatbot = self.app.chatbot(scenario.chatbot)
        self.input_box = self.app.input_for(self.chatbot)
        # the page runs the app's load events before a person can type; so does this session
        self._errors = []
        for dep in self.app.load_events():
            self._run_chain(dep, None, next((t for t, e in dep.targets if e == "load"), None) or 0, 0)
        if self._errors:
            raise TargetError(f"the app's load event failed: {'; '.join(self._errors)}")

    def close(self) -> None:
        if self.client is not None:
            close_client(self.client)
            self.client = None
        if self._http is not None:
            self._http.close()
            self._http = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _require_open(self) -> tuple[Client, AppConfig, Component, Component]:
        if self.client is None or self.app is None or self.chatbot is None or self.input_box is None:
            raise RuntimeError("the driver is not open")
        return self.client, self.app, self.chatbot, self.input_box

    @property
    def _state(self) -> ClientState:
        if self.state is None:
            raise RuntimeError("the driver is not open")
        return self.state

    # -- reading -----------------------------------------------------------------------------------

    def history(self) -> list[Message]:
        _, _, chatbot, _ = self._require_open()
        return self._state.history(chatbot)

    def component_value(self, selector: str) -> Any:
        _, app, _, _ = self._require_open()
        component = app.find(selector)
        return shown_value(component, self._state.get(component.id))

    def input_value(self) -> Any:
        _, _, _, box = self._require_open()
        return shown_value(box, self._state.get(box.id))

    def has_component(self, selector: str) -> bool:
        _, app, _, _ = self._require_open()
        return app.has(selector)

    # -- actions -----------------------------------------------------------------------------------

    def perform(self, step: Step) -> ActionRecord:
        _, app, chatbot, box = self._require_open()
        self._record = record = ActionRecord(step.label)
        self._errors = []
        self._stop_after = None
        self._action_start = time.perf_counter()
        kind = step.kind
        args = step.args
        if kind == "send":
            files = [self._upload(path) for path in args.get("files") or []]
            if files and box.type != "multimodaltextbox":
                raise ActionError(f"the chat's textbox {box.name} takes no files (it is a gr.Textbox; files need a gr.MultimodalTextbox)")
            value: Any = {"text": args["text"], "files": files} if box.type == "multimodaltextbox" else args["text"]
            if self._state.props.get(box.id, {}).get("interactive") is False:
                raise ActionError(f"the chat textbox {box.name} is disabled (the app set interactive=False and nothing enabled it again), so a person cannot type")
            self._stop_after = args.get("stop_after")
            self._stopped = False
            self._user_sets(box, value)
            self._trigger(box.id, "submit", None)
            if self._stop_after and not self._stopped:
                raise ActionError(f"the reply finished before {self._stop_after} streamed updates, so there was nothing to stop")
        elif kind in ("undo", "retry"):
            self._require_listener(chatbot, kind)
            target = last_exchange_target(self.history(), kind, step.index)
            self._trigger(chatbot.id, kind, {"index": target.position, "value": self._state.raw_message(chatbot, target.position).get("content")})
        elif kind in ("like", "dislike", "feedback"):
            self._feedback_step(step)
        elif kind == "edit":
            self._edit(step)
        elif kind == "clear":
            # the trash icon empties the chat locally, then the clear listeners run
            clear_target(self.history())
            self._feedback.clear()
            self._state.clear_locally(chatbot)
            self._trigger(chatbot.id, "clear", None)
        elif kind == "select_option":
            self._require_listener(chatbot, "option_select")
            _, index, option = option_target(self.history(), args)
            self._trigger(chatbot.id, "option_select", {"index": index, "value": option.get("value")})
        elif kind == "select_example":
            self._require_listener(chatbot, "example_select")
            index, example = example_target(chatbot, self.history(), args)
            self._trigger(chatbot.id, "example_select", {"index": index, "value": example})
        elif kind == "set":
            for name, wanted in args["values"].items():
                self._user_sets(app.find(name), wanted)
        elif kind == "call":
            client, _, _, _ = self._require_open()
            record.result, error = call_endpoint(client, args["api_name"], args["args"], self.timeout)
            if error is not None:
                self._errors.append(error)
        else:  # pragma: no cover - the loader only lets known kinds through
            raise ActionError(f"the api driver cannot do {kind!r}")
        record.seconds = time.perf_counter() - self._action_start
        if self._errors:
            record.error = "; ".join(self._errors)
        return record

    def _feedback_step(self, step: Step) -> None:
        """Like, dislike or a custom feedback option, sent as the page sends them."""
        _, _, chatbot, _ = self._require_open()
        self._require_listener(chatbot, "like")
        target = feedback_target_for(self.history(), step.kind, step.index, bool(chatbot.props.get("like_user_message")))
        contents = [self._state.raw_message(chatbot, i).get("content") for i in range(target.first, target.last + 1)]
        if step.kind == "feedback":
            option = feedback_option(chatbot, step.args["option"])
            self._trigger(chatbot.id, "like", {"index": target.first, "value": contents, "liked": option})
            return
        wanted: bool | str = step.kind == "like"
        liked: bool | str = "" if self._feedback.get(target.first) == wanted else wanted
        self._feedback[target.first] = liked
        self._trigger(chatbot.id, "like", {"index": target.first, "value": contents, "liked": liked})

    def _edit(self, step: Step) -> None:
        _, app, chatbot, _ = self._require_open()
        editable = chatbot.props.get("editable")
        if not editable:
            raise ActionError(f"the chatbot {chatbot.name} is not editable (no editable= setting), so there is no Edit icon")
        history = self.history()
        target = edit_target(history, step.args["index"])
        if editable == "user" and history[target.position].role != "user":
            raise ActionError(f"the chatbot only lets users edit their own messages (editable='user'); message {target.position} is a {history[target.position].role} message")
        text = step.args["text"]
        previous = self._state.raw_message(chatbot, target.position).get("content")
        self._state.edit_locally(chatbot, target.position, text)
        edit_data: dict[str, Any] = {"index": target.position, "value": text, "previous_value": previous}
        if app.major_version >= 6:
            edit_data["_dispatch_value"] = [{"type": "text", "text": text}]
        self._trigger(chatbot.id, "edit", edit_data)

    def _upload(self, path: str) -> dict[str, Any]:
        """Upload a file as the page's upload button does; the FileData the textbox then holds."""
        client, _, _, _ = self._require_open()
        http = self._http
        if http is None:
            raise RuntimeError("the driver is not open")
        name = path.rsplit("/", 1)[-1]
        try:
            data = Path(path).read_bytes()  # read whole: a file that changes while it is sent cannot break the request
        except OSError as exc:
            raise ActionError(f"cannot read {path} to attach it: {exc.strerror or exc}") from None
        response = http.post(client.src_prefixed + "upload", files=[("files", (name, data))])
        if response.status_code != 200:
            raise TargetError(f"the app refused the upload of {name} (HTTP {response.status_code}: {response.text[:200]})")
        (server_path,) = response.json()
        return {"path": server_path, "orig_name": name, "size": len(data), "mime_type": mimetypes.guess_type(name)[0], "meta": {"_type": "gradio.FileData"}}

    def _require_listener(self, chatbot: Component, event: str) -> None:
        _, app, _, _ = self._require_open()
        if not app.listeners(chatbot.id, event):
            icon = {"like": "Like and Dislike icons are"}.get(event, f"{event.capitalize()} icon is")
            raise ActionError(f"the app has no .{event}() handler on the chatbot {chatbot.name}, so the {icon} not shown")

    def _user_sets(self, component: Component, value: Any) -> None:
        """A person typing: the value changes and ``input`` / ``change`` listeners run."""
        if self._state.get(component.id) == value:
            return
        self._state.set(component.id, value)
        self._trigger(component.id, "input", None)
        self._trigger(component.id, "change", None)

    # -- the event graph ---------------------------------------------------------------------------

    def _trigger(self, component_id: int, event: str, event_data: Any, depth: int = 0) -> None:
        _, app, _, _ = self._require_open()
        if depth > MAX_EVENT_DEPTH:
            raise TargetError(f"more than {MAX_EVENT_DEPTH} events triggered each other in a chain; the app's change listeners loop")
        for dep in app.listeners(component_id, event):
            self._run_chain(dep, event_data, component_id, depth)

    def _run_chain(self, dep: Dependency, event_data: Any, trigger_id: int, depth: int) -> None:
        _, app, _, _ = self._require_open()
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
        if dep.id in self._deferred:
            self._deferred.discard(dep.id)
            self._run_chain(dep, None, trigger_id, depth)
            return
        for child in app.children(dep.id):
            if child.runs_after(succeeded):
                self._run_chain(child, None, trigger_id, depth)

    def _run_dependency(self, dep: Dependency, event_data: Any, trigger_id: int, depth: int) -> bool:
        client, app, _, _ = self._require_open()
        record = self._record
        name = dep.name
        if not dep.backend_fn:
            if dep.js:
                log.info("dependency %s runs only in the browser (js); the api driver skips it", name)
            return True
        if dep.js:
            log.info("dependency %s has a js step the api driver cannot run; its inputs are sent as they are", name)
        data = self._state.inputs(dep)
        if app.major_version < 6 and not dep.collects_event_data:
            event_data = None
        started = time.perf_counter()
        result, updates = self._call(client, dep, data, event_data, trigger_id)
        seconds = time.perf_counter() - started
        error = error_text(result)
        if record is not None:
            record.events.append(EventRecord(dep.id, name, seconds, len(updates), error))
            self._record_stream(dep, updates)
        if error is not None:
            self._errors.append(error)
            return False
        changed = self._state.apply(dep, list(result.get("data") or []))
        changed += [int(s) for s in result.get("changed_state_ids") or []]
        for cid in changed:
            self._trigger(cid, "change", None, depth + 1)
        return True

    def _call(self, client: Client, dep: Dependency, data: list[Any], event_data: Any, trigger_id: int) -> tuple[dict[str, Any], list[tuple[float, list[Any]]]]:
        """One backend call, made the way the page makes it; returns the final output and the streamed updates.

        Queued dependencies are joined (``queue/join``) and followed on the session's event stream
        (``queue/data``), read as it arrives; ``queue=False`` ones are posted to ``run/predict``.
        """
        http = self._http
        if http is None:
            raise RuntimeError("the driver is not open")
        body = {"data": data, "event_data": event_data, "fn_index": dep.id, "trigger_id": trigger_id, "session_hash": client.session_hash}
        name = dep.name
        cancelled = threading.Event()
        base = client.src_prefixed

        def run() -> tuple[dict[str, Any], list[tuple[float, list[Any]]]]:
            if dep.raw.get("queue") is False:
                response = http.post(base + "run/predict", json=body)
                answer = _json(response)
                if response.status_code != 200 and "error" not in answer:
                    raise TargetError(f"the app answered HTTP {response.status_code} to {name}: {response.text[:200]}")
                # the page fires a gr.State's listeners only for states a queued event changed: the
                # changed_state_ids of a run/predict answer go unheard (seen on Gradio 5.50 and 6.31)
                answer.pop("changed_state_ids", None)
                return answer, []
            backoff = Backoff(self.timeout, f"queueing {name}")
            while True:  # a refused join started nothing: 429 and 502-504 are worth another try
                joined = http.post(base + "queue/join", json=body)
                event_id = _json(joined).get("event_id")
                if joined.status_code in RETRY_STATUSES and backoff.wait(f"HTTP {joined.status_code}", joined.headers.get("retry-after")):
                    continue
                break
            if joined.status_code != 200 or not event_id:
                raise TargetError(f"the app refused to queue {name} (HTTP {joined.status_code}: {joined.text[:200]}){backoff.gave_up()}")
            return self._follow(http, base, client.session_hash, str(event_id), dep, cancelled)

        future = self._pool.submit(run)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            cancelled.set()
            raise TargetError(f"timed out after {self.timeout:g}s waiting for the app's {name} handler to finish") from None
        except httpx.HTTPError as exc:
            raise TargetError(f"lost the connection to the app at {self.target.url} during {name}: {exc}") from None

    def _follow(
        self, http: httpx.Client, base: str, session_hash: str, event_id: str, dep: Dependency, cancelled: threading.Event
    ) -> tuple[dict[str, Any], list[tuple[float, list[Any]]]]:
        """Read the session's event stream until ``event_id`` completes (pressing Stop on the way if asked)."""
        name = dep.name
        updates: list[tuple[float, list[Any]]] = []
        current: list[Any] | None = None
        _, app, _, _ = self._require_open()
        while not cancelled.is_set():
            with connect_sse(http, "GET", base + "queue/data", params={"session_hash": session_hash}) as source:
                if source.response.status_code != 200:
                    raise TargetError(f"the app's event stream answered HTTP {source.response.status_code} during {name}")
                for sse in source.iter_sse():
                    if cancelled.is_set():
                        break
                    try:
                        msg = json.loads(sse.data)
                    except ValueError:
                        continue
                    kind = msg.get("msg")
                    if kind == "unexpected_error":
                        raise TargetError(f"the app's queue failed during {name}: {msg.get('message')}")
                    if msg.get("event_id") != event_id:
                        continue
                    if kind == "process_generating":
                        current = next_stream_values(app, current, list((msg.get("output") or {}).get("data") or []))
                        updates.append((time.perf_counter(), copy.deepcopy(current)))
                        if self._stop_after is not None and not self._stopped and len(updates) >= self._stop_after:
                            self._press_stop(http, base, session_hash, event_id, dep)
                    elif kind == "process_completed":
                        final = dict(msg.get("output") or {})
                        if msg.get("success") is False:
                            final["success"] = False
                        elif self._stopped and not final.get("data") and current is not None:
                            final["data"] = current  # a stopped reply keeps what had streamed in
                        return final, updates
        raise TargetError(f"{name} was cancelled")

    def _press_stop(self, http: httpx.Client, base: str, session_hash: str, event_id: str, dep: Dependency) -> None:
        """What the page does when Stop is pressed: cancel the running events the stop listener names."""
        _, app, _, _ = self._require_open()
        stop, _ = stop_control(app, [dep])
        if stop.backend_fn:
            log.info("the stop listener %s has a handler the api driver does not run", stop.name)
        response = http.post(base + "cancel", json={"event_id": event_id, "session_hash": session_hash, "fn_index": dep.id})
        if response.status_code != 200:
            raise TargetError(f"the app refused to stop {dep.name} (HTTP {response.status_code}: {response.text[:200]})")
        self._stopped = True

    def _record_stream(self, dep: Dependency, updates: list[tuple[float, list[Any]]]) -> None:
        _, _, chatbot, _ = self._require_open()
        record = self._record
        if record is None:
            return
        for at, outputs in updates:
            histories = chat_values(dep, chatbot, [outputs])
            if not histories:
                continue
            record.stream.extend(histories)
            if record.first_update is None:
                record.first_update = at - self._action_start


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
