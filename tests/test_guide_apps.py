"""Chat apps written the way Gradio's guides and demos write them, end to end on both drivers:
``scenarios/guides/`` passes on each with parity, and a broken variant of each app is caught on
both drivers, with the same words.

* ``fixtures/button_chat_app.py``: no textbox; the load event greets and buttons add messages
  (``click`` steps), as ``demo/chatbot_editable``.
* ``fixtures/prefill_app.py``: a Radio with no label prefills a ChatInterface, a Slider with no label is
  its additional input (named ``Radio``, ``Slider`` by type), as ``demo/chatinterface_prefill``.
* ``fixtures/artifacts_app.py``: a Code artifact with no label beside a ChatInterface, a Dropdown and a
  CheckboxGroup in its closed accordion, as ``demo/chatinterface_artifacts``.
* ``fixtures/validator_app.py``: a validator refuses a message (``expect: {validation: ...}``), as
  ``demo/validator_chatinterface``.
* ``fixtures/chain_error_app.py``: an error in the second step of a submit chain, reported by both.
* ``fixtures/flagging_app.py``: ChatInterface flag options with a Like and no Dislike, as the
  "Creating a Chatbot Fast" guide; ``fixtures/chat_interface_app.py``: the MultimodalTextbox after undo.
"""

from __future__ import annotations

import pytest

from harness.spec.loader import load_file
from tests.helpers.bundled import RUNS, SCENARIOS
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

GUIDES = SCENARIOS / "guides"
BUTTONS = (GUIDES / "buttons.chat.yaml").read_text()
PREFILL = (GUIDES / "prefill.chat.yaml").read_text()
ARTIFACTS = (GUIDES / "artifacts.chat.yaml").read_text()
VALIDATOR = (GUIDES / "validator.chat.yaml").read_text()
CHAIN_ERROR = (GUIDES / "chain_error.chat.yaml").read_text()

#: each broken variant of an app: its scenario file, and what each driver must say
VARIANTS = {
    "fixtures.button_chat_app:forgets_history": (
        BUTTONS,
        "- [0] role 'assistant', content 'Welcome! Press a button to add messages.'\n  + [0] user: \"I'm a user\"",
    ),
    "fixtures.button_chat_app:no_greeting": (
        BUTTONS,
        "history differs (1 messages expected, 0 found)",
    ),
    "fixtures.button_chat_app:add_unwired": (
        BUTTONS,
        "pressing the button 'Add Message' does nothing: no event of the app listens to its click",
    ),
    "fixtures.prefill_app:prefill_ignored": (
        PREFILL,
        "- [0] role 'user', content \"I'm not happy with the service.\"\n  + [0] (no message)",
    ),
    "fixtures.prefill_app:slider_ignored": (
        PREFILL,
        "- [1] role 'assistant', content 'You said: hello there'\n  + [1] assistant: 'You said: '",
    ),
    "fixtures.artifacts_app:code_not_shown": (
        ARTIFACTS,
        "component 'Code': expected text that starts with 'def fib(n):', got ''",
    ),
    "fixtures.artifacts_app:dropdown_ignored": (
        ARTIFACTS,
        "- [1] role 'assistant', content 'Here is fib in Javascript.'\n"
        "  + [1] assistant: 'Please ask about Python or JavaScript.'",
    ),
    "fixtures.validator_app:no_message": (
        VALIDATOR,
        "validation: the app's validator refused step 1 (send), but not as expected: "
        "expected \"Can't be error\", got ''",
    ),
    "fixtures.chain_error_app:swallows_error": (
        CHAIN_ERROR,
        "send got no reply: no assistant message follows the prompt",  # the send contract sees it first
    ),
}
# scenarios of the variants that fail (the others pass): buttons 1 + 2 + 1, prefill 2 + 1, artifacts 2 + 1,
# validator 1, chained error 1
FAILING = 4 + 3 + 3 + 1 + 1

#: what a person cannot do on a chat with no textbox, and on a button that is not there
MISUSE = {
    "typing into a chat with no textbox": (
        "steps:\n  - send: hello\n",
        "no textbox of the app submits to the chatbot 'Chat', so there is nowhere to type a message (send needs one",
    ),
    "reading the input box of a chat with no textbox": (
        "steps:\n  - expect: {input: ''}\n",
        "(reading the input box needs one",
    ),
    "pressing a button that is not there": (
        "steps:\n  - click: Add Messages\n",
        "no button reads 'Add Messages' or has that elem_id (did you mean 'Add Message'?); the app's buttons: "
        "#clear-chat, Add Message, Add User Message, Clear Chat",
    ),
}
PREFILL_MISUSE = {
    "a choice the radio does not offer": (
        "steps:\n  - set: {Radio: Praise}\n",
        "Radio offers no choice 'Praise'; it offers 'Greeting', 'Complaint', 'Blank'",
    ),
    "a second slider of an app with one": (
        "steps:\n  - set: {Slider#2: 50}\n",
        "the app shows 1 Slider component(s), so there is no 'Slider#2' (counted from 1 in page order)",
    ),
}
FLAGGING_MISUSE = {
    "a dislike where the flag options offer no thumbs-down": (
        "steps:\n  - send: hello\n  - dislike: {}\n",
        "the chatbot Chatbot shows no Dislike icon: its feedback options are 'Like', 'Spam', 'Inappropriate', "
        "'Other' (gr.Chatbot feedback_options / ChatInterface flagging_options)",
    ),
}
VALIDATOR_MISUSE = {
    "a refused message the scenario does not expect": (
        "steps:\n  - send: error\n  - expect: {history: []}\n",
        "the app's validator refused step 1 (send): Can't be error (nothing ran after it; expect it with "
        "expect: {validation: ...})",
    ),
    "a refusal expected of a message the validator accepts": (
        "steps:\n  - send: fine\n  - expect: {validation: Can't be error}\n",
        "validation: expected the app's validator to refuse step 1 (send) with \"Can't be error\", but it was accepted",
    ),
}


@pytest.mark.slow
def test_guide_apps_pass_and_each_broken_variant_is_caught_on_both_drivers(runner: pytest.Pytester) -> None:
    folder = ROOT / "scenarios" / ".guides-test"  # inside the project: a scenario's app: must be
    folder.mkdir(exist_ok=True)
    try:
        for number, (app, (text, _)) in enumerate(VARIANTS.items()):
            (folder / f"variant{number}.chat.yaml").write_text(
                text.replace(f"app: {app.split(':')[0]}:demo", f"app: {app}").replace("name: ", f"name: {app} ")
            )
        for app, misuse in (
            ("button_chat_app", MISUSE),
            ("prefill_app", PREFILL_MISUSE),
            ("validator_app", VALIDATOR_MISUSE),
            ("flagging_app", FLAGGING_MISUSE),
        ):
            (folder / f"misuse_{app}.chat.yaml").write_text(
                "\n---\n".join(
                    f"name: {name}\napp: fixtures.{app}:demo\n{steps}" for name, (steps, _) in misuse.items()
                )
            )
        result = runpytest_forked(
            runner, "-p", "no:cacheprovider", "-rs", "--rootdir", str(ROOT), str(GUIDES), str(folder),
            "--driver", "all", "-n", "2",
        )  # fmt: skip
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
    good = sum(len(load_file(path)) for path in GUIDES.glob("*.chat.yaml"))
    out = result.stdout.str()
    for app, (_, said) in VARIANTS.items():
        for driver in ("api", "browser"):
            failures = [part for part in out.split("\n___") if f"scenario '{app} " in part and f"[{driver}]" in part]
            assert failures, f"{app} passed on the {driver} driver"
            assert any(said in part for part in failures), f"{app} [{driver}]:\n" + "\n".join(failures)
    for name, (_, said) in {**MISUSE, **PREFILL_MISUSE, **VALIDATOR_MISUSE, **FLAGGING_MISUSE}.items():
        for driver in ("api", "browser"):
            (part,) = [p for p in out.split("\n___") if f"scenario {name!r} [{driver}]" in p]
            assert said in part, part
    # the good scenarios pass everywhere; each variant fails some of its scenarios on both drivers
    # (its parity items then skip) and passes the rest; each misuse fails on both
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= RUNS * good
    misuses = len(MISUSE) + len(PREFILL_MISUSE) + len(VALIDATOR_MISUSE) + len(FLAGGING_MISUSE)
    assert outcomes.get("failed", 0) == 2 * (misuses + FAILING)
