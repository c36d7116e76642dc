"""``chat-harness inspect TARGET [--json]``: what a scenario can use in an app, read from its config.

For each chatbot: its label and elem_id, the textbox that talks to it, which of the chatbot's
own events are wired (undo, retry, like, edit, clear, option and example select), the other
inputs its reply reads (a system prompt, a slider) and the outputs it writes besides the chat;
then the app's public API endpoints, its Gradio version and mode. An in-process app
(``module:attr``) is only imported, not launched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import TargetError
from harness.gradio.appconfig import BUTTON_TYPES, NOT_NAMED, AppConfig
from harness.target.credentials import NO_CREDENTIALS, Credentials
from harness.target.remote import DEFAULT_READY_TIMEOUT, reach

__all__ = ["CHAT_EVENTS", "AppReport", "inspect", "inspect_config", "inspect_target", "read_app", "render"]

#: the chatbot's own events a scenario step acts through, and the step
CHAT_EVENTS = {
    "undo": "undo",
    "retry": "retry",
    "like": "like / dislike / feedback",
    "edit": "edit",
    "clear": "clear",
    "option_select": "select_option",
    "example_select": "select_example",
}
INPUT_KINDS = {
    "textbox",
    "multimodaltextbox",
    "slider",
    "number",
    "checkbox",
    "dropdown",
    "radio",
    "checkboxgroup",
    "colorpicker",
    "datetime",
}


@dataclass
class ChatbotReport:
    label: str | None
    elem_id: str | None
    textbox: str | None
    textbox_kind: str | None
    events: dict[str, bool]
    extra_inputs: list[str] = field(default_factory=list)
    extra_outputs: list[str] = field(default_factory=list)


@dataclass
class AppReport:
    target: str
    gradio_version: str
    mode: str
    chatbots: list[ChatbotReport]
    endpoints: list[str]
    #: how a scenario names each shown component (``set``, ``components:``), with its type
    components: list[str] = field(default_factory=list)
    #: the buttons a ``click`` step can press, by text or ``#elem_id``
    buttons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def inspect_config(config: dict[str, Any], target: str) -> AppReport:
    app = AppConfig(config)
    chatbots = []
    for bot in app.chatbots():
        box = app.input_for(bot)
        events = {event: bool(app.listeners(bot.id, event)) for event in CHAT_EVENTS}
        extra_inputs: list[str] = []
        extra_outputs: list[str] = []
        if box is not None:
            chain = [d for dep in app.listeners(box.id, "submit") for d in app.chain(dep)]
            for component_id in dict.fromkeys(i for d in chain for i in d.inputs):
                component = app.components.get(component_id)
                if component is not None and component.id not in (bot.id, box.id) and component.type in INPUT_KINDS:
                    extra_inputs.append(app.selector(component))
            for component_id in dict.fromkeys(o for d in chain for o in d.outputs):
                component = app.components.get(component_id)
                if (
                    component is not None
                    and component.id not in (bot.id, box.id)
                    and not app.is_server_state(component.id)
                    and component.type not in ("state", "browserstate")
                ):
                    extra_outputs.append(app.selector(component))
        chatbots.append(
            ChatbotReport(
                bot.label,
                bot.elem_id,
                app.selector(box) if box else None,
                box.type if box else None,
                events,
                extra_inputs,
                extra_outputs,
            )
        )
    endpoints = sorted(
        f"/{d.api_name}"
        for d in app.dependencies
        if d.api_name
        and d.backend_fn
        and d.raw.get("api_visibility", "public") == "public"
        and d.raw.get("show_api", True) is not False
    )
    shown = [app.components[i] for i in app.layout_order() if app.components[i].props.get("visible", True) is not False]
    components = [
        f"{app.selector(c)} ({c.type})"
        for c in shown
        if c.type not in NOT_NAMED + BUTTON_TYPES and not app.is_server_state(c.id)
    ]
    buttons = [c.text or f"#{c.elem_id}" for c in shown if c.type in BUTTON_TYPES and (c.text or c.elem_id)]
    return AppReport(target, app.version, app.mode, chatbots, endpoints, components, buttons)


def inspect_target(
    target: str, credentials: Credentials = NO_CREDENTIALS, timeout: float = DEFAULT_READY_TIMEOUT
) -> AppReport:
    """Inspect a URL, a Space id (owner/name) or an in-process app (module:attr)."""
    if target.startswith(("http://", "https://")):
        reached, config = reach(url=target, credentials=credentials, timeout=timeout)
        return inspect_config(config, reached.url)
    if ":" in target:
        import gradio as gr

        from harness.target.inprocess import load_app

        demo = load_app(target)
        config = dict(demo.get_config_file())
        config.setdefault("version", gr.__version__)
        config["mode"] = getattr(demo, "mode", None) or config.get("mode") or "blocks"
        return inspect_config(config, f"{target} (in-process)")
    if target.count("/") == 1:
        reached, config = reach(space=target, credentials=credentials, timeout=timeout)
        return inspect_config(config, reached.description)
    raise TargetError(f"{target!r} is not a URL (http://...), a Space id (owner/name) or an app (module:attr)")


def render(report: AppReport) -> str:
    """The plain-text report."""
    lines = [f"target: {report.target}", f"Gradio {report.gradio_version}, mode {report.mode}"]
    if not report.chatbots:
        lines.append("chatbots: none -- the app has no gr.Chatbot, so there is no chat for a scenario to test")
    for bot in report.chatbots:
        named = [f"{key}={value!r}" for key, value in (("label", bot.label), ("elem_id", bot.elem_id)) if value]
        lines.append(
            "chatbot "
            + (" ".join(named) or "(no label or elem_id: a scenario needs no `chatbot:` while it is the only one)")
        )
        if bot.textbox is None:
            lines.append("  textbox: none -- no textbox submits to this chatbot, so `send` cannot be used")
        else:
            lines.append(
                f"  textbox: {bot.textbox} "
                f"({bot.textbox_kind}{', takes files' if bot.textbox_kind == 'multimodaltextbox' else ''})"
            )
        wired = [f"{CHAT_EVENTS[e]}" for e, on in bot.events.items() if on]
        missing = [f"{CHAT_EVENTS[e]}" for e, on in bot.events.items() if not on]
        lines.append(f"  wired: {', '.join(wired) or 'nothing'}")
        if missing:
            lines.append(f"  not wired: {', '.join(missing)}")
        if bot.extra_inputs:
            lines.append(f"  other inputs of its reply (set them with `set`): {', '.join(bot.extra_inputs)}")
        if bot.extra_outputs:
            lines.append(f"  other outputs of its reply (check them with `components`): {', '.join(bot.extra_outputs)}")
    lines.append(f"components (for `set` and `components:`): {', '.join(report.components) or 'none'}")
    lines.append(f"buttons (for `click`): {', '.join(report.buttons) or 'none'}")
    lines.append(f"API endpoints (for `call`): {', '.join(report.endpoints) or 'none'}")
    return "\n".join(lines)


def read_app(command: str, target: str, ready_timeout: float) -> AppReport | None:
    """What ``inspect`` finds in the target (token from HF_TOKEN, login from CHAT_HARNESS_AUTH or
    the URL), or None after printing why it could not be read."""
    import os
    import sys

    from harness.cli.run import is_space, shown_target
    from harness.pytest_plugin.scripted_model import ModelService
    from harness.target.credentials import parse_login, token_for

    login = os.environ.get("CHAT_HARNESS_AUTH")
    try:
        auth = parse_login(login) if login else None
    except ValueError as exc:
        print(f"chat-harness {command}: CHAT_HARNESS_AUTH: {exc}", file=sys.stderr)
        return None
    token = token_for(None if is_space(target) else shown_target(target), None, os.environ.get("HF_TOKEN") or None)
    # an app imported here makes its model clients as it would under the plugin (placeholder keys,
    # calls routed to a scripted model that answers none of them): nothing reaches a provider
    models = ModelService("script")
    if "://" not in target and not is_space(target):
        models.route()
    try:
        return inspect_target(target, Credentials(token=token, auth=auth), timeout=ready_timeout)
    except TargetError as exc:
        print(f"chat-harness {command}: {exc}", file=sys.stderr)
        return None
    finally:
        models.close()


def inspect(target: str, as_json: bool, ready_timeout: float) -> int:
    import json

    report = read_app("inspect", target, ready_timeout)
    if report is None:
        return 1
    print(json.dumps(report.as_dict(), indent=2) if as_json else render(report))
    return 0
