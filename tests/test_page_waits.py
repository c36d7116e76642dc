"""The page script's waits, on a page that plays a chat's timeline with no app behind it: a chain
of calls (a quick call that shows the message, then the streamed reply) leaves the page idle for
a moment between the two, and that moment is not the end of the reply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.drivers.browser.driver import PAGE_SCRIPT
from harness.drivers.browser.sync import QUIET, Sync

PAGE = '<div id="chat"></div><textarea id="box"></textarea>'

# what the page sees of a ChatInterface send on Gradio 5: the quick call that shows the message
# ends (idle for a moment), the streamed reply's call starts, three updates stream in, it ends
TIMELINE = """([start, gap, step]) => {
  const h = window.__chatHarness;
  const touch = (text) => document.getElementById("chat").append(text);
  setTimeout(() => { h.started += 1; touch("message shown"); }, start);
  setTimeout(() => {
    h.pending.set("reply", { what: 3, since: performance.now() });
    h.started += 1;
    touch("reply started");
  }, start + gap);
  for (let i = 1; i <= 3; i++) setTimeout(() => { h.updates += 1; touch(`update ${i}`); }, start + gap + i * step);
  setTimeout(() => { h.pending.delete("reply"); touch("reply ended"); }, start + gap + 4 * step);
}"""


START_MS = 500  # the wait has begun by then (a few round trips to the browser)


class Chat:
    """The part of a ChatPage the waits use."""

    box = "a textbox"  # the chat has one (ChatPage.box: its component)

    def __init__(self, page: Any) -> None:
        self.page = page

    def chat(self) -> Any:
        return self.page.locator("#chat")

    def text_field(self) -> Any:
        return self.page.locator("#box")


@pytest.fixture
def chat_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.add_init_script(script=PAGE_SCRIPT)
    page = context.new_page()
    page.set_content(PAGE)
    try:
        yield page
    finally:
        context.close()


def _play_timeline(page: Any) -> tuple[Sync, dict[str, Any]]:
    """The waits of ``page``, and the mark taken just before the timeline starts playing."""
    sync = Sync(Chat(page), replay=None, timeout=5.0)  # type: ignore[arg-type]
    mark = sync.mark()
    page.evaluate(TIMELINE, [START_MS, QUIET * 1000 / 3, 30])
    return sync, mark


def test_a_pause_between_two_calls_of_a_chain_is_not_the_end_of_the_reply(chat_page: Any) -> None:
    sync, mark = _play_timeline(chat_page)
    assert sync.streamed(3, mark), "the wait for streamed updates ended on the pause between the calls"


def test_a_reply_that_ends_before_the_updates_is_told_apart(chat_page: Any) -> None:
    sync, mark = _play_timeline(chat_page)
    assert not sync.streamed(5, mark)
    assert chat_page.evaluate("() => window.__chatHarness.updates") == 3


# an app that answers an event before the page has read the event's id from its join's answer
EARLY_ANSWER = """async () => {
  const stream = await fetch("/gradio_api/queue/data?session_hash=s");
  await stream.text();
  await fetch("/gradio_api/queue/join", { method: "POST", body: JSON.stringify({ fn_index: 3 }) });
}"""
SSE = "".join(
    f"data: {message}\n\n"
    for message in (
        '{"msg": "estimation", "event_id": "e1"}',
        '{"msg": "process_starts", "event_id": "e1"}',
        '{"msg": "process_completed", "event_id": "e1", "success": true, "output": {"data": ["hi"]}}',
        '{"msg": "close_stream"}',
    )
)


def test_an_answer_that_comes_before_the_join_is_read_is_not_lost(browser: Any) -> None:
    """Seen on a loaded machine with quick load events: the stream carried the whole event before the
    join's answer was read; the page script then waited for it forever and the history lost it."""
    context = browser.new_context()
    context.add_init_script(script=PAGE_SCRIPT)
    answers = {
        "/": ("text/html", PAGE),
        "/gradio_api/queue/data": ("text/event-stream", SSE),
        "/gradio_api/queue/join": ("application/json", '{"event_id": "e1"}'),
    }
    context.route(
        "http://app.test/**",
        lambda route: route.fulfill(
            content_type=answers[route.request.url.split("app.test", 1)[1].split("?")[0]][0],
            body=answers[route.request.url.split("app.test", 1)[1].split("?")[0]][1],
        ),
    )
    try:
        page = context.new_page()
        page.goto("http://app.test/")
        page.evaluate(EARLY_ANSWER)
        assert page.evaluate("() => window.__chatHarness.pending.size") == 0, "the event still counts as running"
        taken = page.evaluate("() => window.__chatHarness.take()")
        kinds = [e["kind"] if e["kind"] != "message" else e["msg"]["msg"] for e in taken]
        assert kinds.index("join") < kinds.index("process_completed"), kinds
    finally:
        context.close()
