"""What a user would write by hand instead of the harness: a gradio_client script and a Playwright
test, for the reference app (fixtures/reference_app.py).

Each bench scenario's actions are listed once (``Action``) and both scripts play them with the
helpers a user would write: call each event's handler with the values the page would send (event
data included), or type, press Enter, click the icon and wait for the text one knows will appear.
Both return the history they ended with, so the benchmark can check they did what the harness did.
"""

from __future__ import annotations

import re
from threading import Lock
from typing import Any

from gradio_client import Client
from gradio_client import utils as client_utils

from fixtures.reference_app import DEFAULT_TEMPERATURE

#: (verb, *args): ("send", text, reply), ("retry", reply), ("undo",), ("like", index),
#: ("dislike", index), ("edit", index, text, reply), ("clear",) — reply: the text the page will show
Action = tuple[Any, ...]


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


class ClientScript:
    """The actions through gradio_client, on one session, keeping the history as the page would."""

    def __init__(self, url: str) -> None:
        self.client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        self.fn = {dep["api_name"]: dep["id"] for dep in self.client.config["dependencies"]}
        self.history: list[dict[str, Any]] = []
        self.feedback = ""

    def _call(self, name: str, *data: Any, event_data: Any = None) -> list[Any]:
        helper = client_utils.Communicator(Lock(), client_utils.JobStatus(), lambda *o: o, self.client.reset_url)
        predict = self.client.endpoints[self.fn[name]].make_predict(helper)
        return list(predict(*data, event_data=event_data, trigger_id=None))

    def _last_user(self) -> int:
        return max(i for i, m in enumerate(self.history) if m["role"] == "user")

    def play(self, actions: list[Action]) -> list[tuple[str, str]]:
        for verb, *args in actions:
            if verb == "send":
                _, self.history = self._call("add_user_message", {"text": args[0], "files": []}, self.history)
                self.history = self._call("stream_reply", self.history, None, "", DEFAULT_TEMPERATURE)[0]
            elif verb == "retry":
                i = self._last_user()
                self.history = self._call(
                    "retry",
                    self.history,
                    None,
                    "",
                    DEFAULT_TEMPERATURE,
                    event_data={"index": i, "value": self.history[i]["content"]},
                )[0]
            elif verb == "undo":
                i = self._last_user()
                self.history, _ = self._call(
                    "undo", self.history, event_data={"index": i, "value": self.history[i]["content"]}
                )
            elif verb in ("like", "dislike"):
                i = args[0] % len(self.history)
                data = {"index": i, "value": [_text(self.history[i])], "liked": verb == "like"}
                self.feedback = self._call("record_feedback", self.feedback, event_data=data)[0]
            elif verb == "edit":
                i, text = args[0], args[1]
                previous = self.history[i]["content"]
                self.history = [
                    *self.history[:i],
                    {**self.history[i], "content": [{"type": "text", "text": text}]},
                    *self.history[i + 1 :],
                ]
                data = {
                    "index": i,
                    "value": text,
                    "previous_value": previous,
                    "_dispatch_value": [{"type": "text", "text": text}],
                }
                self.history = self._call("edit", self.history, None, "", DEFAULT_TEMPERATURE, event_data=data)[0]
            elif verb == "clear":
                self._call("new_conversation", None)
                self.history = []
        return [(m["role"], _text(m)) for m in self.history]

    def close(self) -> None:
        self.client.close()


def client_run(url: str, actions: list[Action]) -> list[tuple[str, str]]:
    script = ClientScript(url)
    try:
        return script.play(actions)
    finally:
        script.close()


def playwright_run(browser: Any, url: str, actions: list[Action]) -> list[tuple[str, str]]:
    """The actions in a fresh context and page, with Playwright's own waiting (``expect``)."""
    from playwright.sync_api import expect

    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        chat = page.locator("#chatbot")
        box = page.locator("#message textarea")
        bots = chat.locator("[data-testid=bot]")
        users = chat.locator("[data-testid=user]")
        feedback = page.locator("#feedback textarea")
        count = 0  # messages in the chat
        for verb, *args in actions:
            if verb == "send":
                box.fill(args[0])
                box.press("Enter")
                expect(bots.nth(count // 2)).to_have_text(args[1])
                count += 2
            elif verb == "retry":
                chat.get_by_role("button", name="Retry").click()
                expect(bots.last).to_have_text(args[0])
            elif verb == "undo":
                chat.get_by_role("button", name="Undo").click()
                count -= 2
                expect(bots).to_have_count(count // 2)
            elif verb in ("like", "dislike"):
                i = args[0] % count
                buttons = chat.get_by_role("button", name=verb.title())
                (buttons.last if i == count - 1 else buttons.nth(i // 2)).click()
                expect(feedback).to_have_value(re.compile(rf"{verb} index={i}\b[^\n]*$"))
            elif verb == "edit":
                i, text, reply = args
                users.nth(i // 2).hover()
                chat.get_by_role("button", name="Edit").nth(i).click()
                chat.locator("textarea.edit-textarea").fill(text)
                chat.get_by_role("button", name="Submit").click()
                count = i + 2
                expect(bots).to_have_count(count // 2)
                expect(bots.last).to_have_text(reply)
            elif verb == "clear":
                chat.get_by_role("button", name="Clear").click()
                count = 0
                expect(bots).to_have_count(0)
        shown = chat.locator("[data-testid=user], [data-testid=bot]")
        return [
            ("user" if m.get_attribute("data-testid") == "user" else "assistant", m.inner_text().strip())
            for m in shown.all()
        ]
    finally:
        context.close()
