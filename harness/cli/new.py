"""``chat-harness new TARGET [-o FILE]``: a starting scenario file for an app, from what ``inspect`` found.

One step per action the app wires (send, retry, like, undo, edit, clear), each followed by an
``expect`` that any reasonably behaved chatbot meets (who said what, how many messages), so the
file passes as written and the author tightens the expectations from there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.cli.inspect import AppReport, ChatbotReport, read_app
from harness.cli.run import shown_target, target_options
from harness.spec.loader import schema_path

__all__ = ["new", "new_scenario"]


def _q(text: str) -> str:
    """A YAML scalar for ``text`` (JSON strings are valid YAML)."""
    return json.dumps(text)


def _step(action: str, expectation: list[str]) -> list[str]:
    """An action step and the ``expect`` after it (``expectation``: its lines, unindented)."""
    return [f"  - {action}", "  - expect:", *(f"      {line}" for line in expectation)]


def _last_exchange(user_text: str) -> list[str]:
    return ["history:", "  last:", f"    - {{role: user, content: {user_text}}}", "    - {role: assistant}"]


def new_scenario(report: AppReport, schema: str, chatbot: ChatbotReport | None = None) -> str:
    """The YAML text of a scenario for ``chatbot`` (default: the app's only, or first, chatbot)."""
    if not report.chatbots:
        raise ValueError("the app has no gr.Chatbot, so there is nothing to write a chat scenario for")
    bot = chatbot or report.chatbots[0]
    if bot.textbox is None:
        raise ValueError("no textbox submits to the chatbot, so a scenario cannot send a message")
    events = bot.events
    lines = [
        f"# yaml-language-server: $schema={schema}",
        f"# Written by `chat-harness new` for {report.target} (Gradio {report.gradio_version}, mode {report.mode}).",
        "# The expectations only say who speaks and how many messages there are: tighten them",
        "# (content: {contains: ...}, components: ...) to what your app must answer.",
        f"name: {_q('a conversation with ' + (bot.label or bot.elem_id or 'the chatbot'))}",
    ]
    if len(report.chatbots) > 1:
        lines.append(f"chatbot: {_q(bot.elem_id or bot.label or '')}")
    steps = _step("send: hello", ["history:", "  - {role: user, content: hello}", "  - {role: assistant}"])
    if events.get("retry"):
        steps += _step("retry: {}  # the Retry icon: the reply is generated again", ["history: {length: 2}"])
    if events.get("like"):
        steps += _step("like: {index: -1}  # the thumbs-up under the last reply", ["history: {length: 2}"])
    if events.get("undo"):
        steps += _step("undo: {}  # the Undo icon: the last exchange goes", ["history: []"])
    steps += _step("send: how are you?", _last_exchange("how are you?"))
    if events.get("edit"):
        steps += _step(
            "edit: {index: -2, text: how old are you?}  # Edit on the last user message",
            _last_exchange("how old are you?"),
        )
    if events.get("clear"):
        steps += _step("clear: {}  # the trash icon", ["history: []"])
    return "\n".join([*lines, "steps:", *steps]) + "\n"


def new(target: str, output: Path, force: bool, ready_timeout: float) -> int:
    if output.exists() and not force:
        print(f"chat-harness new: {output} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    report = read_app("new", target, ready_timeout)
    if report is None:
        return 1
    try:
        text = new_scenario(report, schema_path())
    except ValueError as exc:
        print(f"chat-harness new: {shown_target(target)}: {exc}", file=sys.stderr)
        return 1
    output.write_text(text)
    print(
        f"wrote {output}; run it with: chat-harness run {output} --driver all "
        f"{' '.join(target_options(shown_target(target)))}"
    )
    return 0
