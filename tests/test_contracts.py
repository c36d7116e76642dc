"""The behaviour contracts as pure comparisons of the history before and after an action (no app,
milliseconds each): each one holds for what a correct chatbot does and names what a broken one did.
(On real apps, both drivers: test_contract_apps.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from harness.drivers.base import ActionRecord, EventRecord
from harness.errors import Location
from harness.gradio.history import Message
from harness.run.contracts import violations
from harness.spec.model import ContractSettings
from harness.spec.steps import Action, Clear, Dislike, Edit, Feedback, Like, Retry, Send, Undo

HERE = Location("t.chat.yaml", 1)


def _h(*pairs: str) -> list[Message]:
    """Messages from "role: text" strings (u: / a: / s: for user, assistant, system)."""
    roles = {"u": "user", "a": "assistant", "s": "system"}
    return [Message(roles[p.split(":", 1)[0]], p.split(":", 1)[1].strip()) for p in pairs]


def _broken(
    step: Action,
    before: list[Message],
    after: list[Message],
    settings: ContractSettings | None = None,
    streamed: bool = True,
    ran: bool = False,
    **kwargs: Any,
) -> list[str]:
    """What ``step`` broke going from ``before`` to ``after`` (``streamed``: the chat streamed in;
    ``ran``: a handler ran without streaming, as a plain function does)."""
    events = [EventRecord(0, "/retry", 0.01, 0)] if ran else []
    action = ActionRecord(step.label, stream=[after] if streamed else [], events=events)
    return [v.message for v in violations(step, before, after, action, settings or ContractSettings(), **kwargs)]


SEND = Send(number=1, location=HERE, text="hi")
RETRY = Retry(number=1, location=HERE)
UNDO = Undo(number=1, location=HERE)
TWO = _h("u: hello", "a: #1", "u: hi", "a: #2")


def test_send_adds_the_user_message_then_a_reply() -> None:
    assert _broken(SEND, _h("u: hello", "a: #1"), TWO) == []
    assert _broken(SEND, [], _h("u: hi", "a: #1", "a: and more")) == []  # a bot that answers twice
    assert _broken(SEND, _h("u: hello", "a: #1"), _h("u: hello", "a: #1", "u: hi")) == [
        "send got no reply: no assistant message follows the prompt"
    ]
    assert _broken(SEND, _h("u: hello", "a: #1"), _h("u: hello", "a: #1!", "u: hi", "a: #2")) == [
        "send changed message 1, which it must keep"
    ]
    assert _broken(SEND, [], _h("u: HI", "a: #1")) == ["send added the user message 'HI', not the text sent 'hi'"]
    assert _broken(SEND, [], _h("a: #1")) == ["send added no user message after the earlier ones"]


def test_a_stopped_send_may_have_no_reply_yet() -> None:
    stopped = Send(number=1, location=HERE, text="hi", stop_after=1)
    assert _broken(stopped, [], _h("u: hi")) == []


def test_retry_replaces_only_the_last_reply_with_a_new_stream() -> None:
    assert _broken(RETRY, TWO, _h("u: hello", "a: #1", "u: hi", "a: #3")) == []
    assert _broken(RETRY, TWO, [*TWO, *_h("a: #3")]) == [
        "retry appended a reply instead of replacing the last one (1 message(s) after the prompt before, 2 after)"
    ]
    assert _broken(RETRY, TWO, _h("u: hello!", "a: #1", "u: hi", "a: #3")) == [
        "retry changed message 0, which it must keep"
    ]
    assert _broken(RETRY, TWO, TWO, streamed=False) == ["retry made no new reply: no handler of the app ran"]
    assert _broken(RETRY, TWO, _h("u: hello", "a: #1", "u: hi")) == [
        "retry got no reply: no assistant message follows the prompt"
    ]


def test_a_bot_that_answers_twice_is_configured_not_switched_off() -> None:
    twice = _h("u: hi", "a: one", "a: two")
    again = _h("u: hi", "a: three", "a: four")
    assert _broken(RETRY, twice, again) == []
    assert _broken(RETRY, twice, again[:2]) == ["retry left 1 message(s) after the prompt; before, the reply had 2"]
    pinned = ContractSettings(replies=2)
    assert _broken(SEND, [], twice, pinned) == []
    assert _broken(SEND, [], twice[:2], pinned) == [
        "send left 1 message(s) after the prompt; the scenario's contracts say a turn has 2"
    ]


def test_undo_drops_the_last_exchange_and_gives_the_prompt_back() -> None:
    assert _broken(UNDO, TWO, TWO[:2], input_after="hi") == []
    assert _broken(UNDO, TWO, TWO[:2], input_after={"text": "hi", "files": []}) == []  # a MultimodalTextbox
    assert _broken(UNDO, TWO, TWO[:3], input_after="hi") == [
        "undo kept message 2 and what follows it: it must drop the last exchange (from message 2)"
    ]
    assert _broken(UNDO, TWO, TWO[:2], input_after="") == [
        "undo did not put the undone message back in the input box: it holds '', not 'hi'"
    ]
    assert _broken(UNDO, TWO, TWO[:2], ContractSettings(undo_restores_input=False), input_after="") == []


@pytest.mark.parametrize("step", [Like(number=1, location=HERE), Dislike(number=1, location=HERE)])
def test_feedback_leaves_the_history_alone(step: Action) -> None:
    assert _broken(step, TWO, list(TWO)) == []
    assert _broken(step, TWO, _h("u: hello", "a: #1", "u: hi", "a: #2 (liked)")) == [
        f"{step.kind} changed message 3, which it must keep"
    ]
    assert _broken(step, TWO, TWO[:2]) == [f"{step.kind} changed the number of messages from 4 to 2"]
    option = Feedback(number=1, location=HERE, option="Off-topic")
    assert _broken(option, TWO, [*TWO, *_h("a: noted")]) == ["feedback changed the number of messages from 4 to 5"]


def test_edit_keeps_what_comes_before_and_regenerates_after() -> None:
    edit = Edit(number=1, location=HERE, index=0, text="hey")
    assert _broken(edit, TWO, _h("u: hey", "a: #3")) == []
    assert _broken(edit, TWO, _h("u: hey", "a: #3", "u: hi", "a: #2")) == [
        "edit kept message 2 (a later user message): it must drop what came after the edited message and regenerate"
    ]
    assert _broken(edit, TWO, _h("u: hello", "a: #3")) == [
        "edit did not put the new text in message 0: it holds 'hello', not 'hey'"
    ]
    last = Edit(number=1, location=HERE, index=-2, text="hey")
    assert _broken(last, TWO, _h("u: hello", "a: #1", "u: hey", "a: #2", "a: #3")) == [
        "edit left 2 message(s) after the prompt; before, the reply had 1"
    ]


def test_clear_empties_the_chat() -> None:
    clear = Clear(number=1, location=HERE)
    assert _broken(clear, TWO, []) == []
    assert _broken(clear, TWO, TWO[:1]) == ["clear left 1 message(s) in the chat, which it must empty"]


def test_system_messages_are_not_part_of_what_the_contracts_compare() -> None:
    """Gradio's events guide keeps a system message at the top: clear may keep it, and indexes
    still name messages as the whole history counts them."""
    system = _h("s: be nice", "u: hello", "a: #1", "u: hi", "a: #2")
    assert _broken(Clear(number=1, location=HERE), system, system[:1]) == []
    assert _broken(UNDO, system, system[:3], input_after="hi") == []
    assert _broken(RETRY, system, _h("s: be nice", "u: hello!", "a: #1", "u: hi", "a: #3")) == [
        "retry changed message 1, which it must keep"
    ]
    edit = Edit(number=1, location=HERE, index=1, text="hey")
    assert _broken(edit, system, _h("s: be nice", "u: hey", "a: #3")) == []


def test_a_step_or_a_kind_can_be_left_unchecked() -> None:
    from harness.run.contracts import applies

    assert applies(RETRY, ContractSettings())
    assert not applies(RETRY, ContractSettings(enabled=False))
    assert not applies(RETRY, ContractSettings(off=frozenset({"retry"})))
    assert not applies(Retry(number=1, location=HERE, contracts=False), ContractSettings())
    assert applies(UNDO, ContractSettings(off=frozenset({"retry"})))


def test_review_cases_real_apps_meet() -> None:
    """Apps as people write them: a plain (not streaming) retry handler, a retry of a prompt that
    got no answer, a message with files, thoughts that vary in number, a stopped reply, a corrected
    assistant message."""
    new = _h("u: hello", "a: #1", "u: hi", "a: #3")
    assert _broken(RETRY, TWO, new, streamed=False, ran=True) == []
    unanswered = _h("u: hello", "a: #1", "u: hi")
    assert _broken(RETRY, unanswered, new) == []
    with_file = [Message("user", ""), *_h("u: look", "a: a cat")]  # Gradio 5: the file message first
    assert _broken(UNDO, with_file, [], input_after={"text": "look", "files": ["cat.png"]}) == []
    thought = Message("assistant", "thinking", metadata={"title": "Thinking"})
    once = [*_h("u: hi"), thought, *_h("a: answer")]
    assert _broken(RETRY, once, [*_h("u: hi"), thought, thought, *_h("a: again")]) == []
    stopped = Send(number=1, location=HERE, text="hi", stop_after=1)
    assert _broken(stopped, [], _h("u: hi", "a: half"), ContractSettings(replies=2)) == []
    corrected = Edit(number=1, location=HERE, index=1, text="#1, corrected")
    assert _broken(corrected, TWO, _h("u: hello", "a: #1, corrected", "u: hi", "a: #2")) == []
