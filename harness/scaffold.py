"""``chat-harness new``: a starting scenario file for an app, from what ``inspect`` found.

One step per action the app wires (send, retry, like, undo, edit, clear), each followed by an
``expect`` that any reasonably behaved chatbot meets (who said what, how many messages), so the
file passes as written and the author tightens the expectations from there.
"""

from __future__ import annotations

import json

from harness.inspection import AppReport, ChatbotReport

__all__ = ["new_scenario"]


def _q(text: str) -> str:
    """A YAML scalar for ``text`` (JSON strings are valid YAML)."""
    return json.dumps(text)


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
    steps = [
        "  - send: hello",
        "  - expect:",
        "      history:",
        "        - {role: user, content: hello}",
        "        - {role: assistant}",
    ]
    if events.get("retry"):
        steps += ["  - retry: {}  # the Retry icon: the reply is generated again", "  - expect:", "      history: {length: 2}"]
    if events.get("like"):
        steps += ["  - like: {index: -1}  # the thumbs-up under the last reply", "  - expect:", "      history: {length: 2}"]
    if events.get("undo"):
        steps += ["  - undo: {}  # the Undo icon: the last exchange goes", "  - expect:", "      history: []"]
    steps += ["  - send: how are you?", "  - expect:", "      history:", "        last:", "          - {role: user, content: how are you?}", "          - {role: assistant}"]
    if events.get("edit"):
        steps += [
            "  - edit: {index: -2, text: how old are you?}  # Edit on the last user message",
            "  - expect:",
            "      history:",
            "        last:",
            "          - {role: user, content: how old are you?}",
            "          - {role: assistant}",
        ]
    if events.get("clear"):
        steps += ["  - clear: {}  # the trash icon", "  - expect:", "      history: []"]
    return "\n".join([*lines, "steps:", *steps]) + "\n"
