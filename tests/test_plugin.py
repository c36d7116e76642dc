"""The pytest plugin, tested as a user meets it: YAML files in a folder, pytest run, output read."""

from __future__ import annotations

import pytest

from tests.helpers.forked import runpytest_forked

GOOD = """
name: echo works
steps:
  - send: hello
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: "#1 echo: hello"}
"""

FAILING = """
name: wrong reply expected
steps:
  - send: hello
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: "#1 echo: goodbye"}
"""

INVALID = """name: typo
steps:
  - sned: hello
"""


def test_pass_fail_and_invalid_file(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", good=GOOD, failing=FAILING, invalid=INVALID)
    project.makefile(".yaml", unrelated="name: not a scenario file, not collected\n")
    result = runpytest_forked(project, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "invalid scenario file: invalid.chat.yaml:3: step 1: unknown step 'sned' (did you mean 'send'?)" in out
    result.stdout.fnmatch_lines(
        [
            "*scenario 'wrong reply expected' [[]api[]] (failing.chat.yaml:1)",
            "step 2 (expect) at failing.chat.yaml:4: expectation failed",
            "history differs:",
            "  - expected",
            "  + actual",
            "    [[]0[]] user: 'hello'",
            "  - [[]1[]] role 'assistant', content '#1 echo: goodbye'",
            "  + [[]1[]] assistant: '#1 echo: hello'",
            "        content: expected '#1 echo: goodbye', got '#1 echo: hello'",
        ]
    )
    assert "Traceback" not in out and "harness/runner.py" not in out
    assert "unrelated" not in out


def test_named_file_is_collected_whatever_its_name(project: pytest.Pytester) -> None:
    path = project.makefile(".yaml", plain=GOOD)
    result = runpytest_forked(project, "-p", "no:cacheprovider", str(path), "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*plain.yaml::echo works[[]api[]] PASSED*"])


def test_patterns_are_configurable(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nchat_scenario_patterns = scenario_*.yml\n")
    project.makefile(".yml", scenario_one=GOOD)
    project.makefile(".chat.yaml", ignored=FAILING)
    result = runpytest_forked(project, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


ACTIONS_ON_BARE_APP = """
name: undo without handler
steps:
  - send: hello
  - undo: {}
---
name: like out of range
steps:
  - send: hello
  - like: {index: 9}
---
name: edit not editable
steps:
  - send: hello
  - edit: {index: 0, text: x}
"""


def test_actions_the_app_cannot_do(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", actions=ACTIONS_ON_BARE_APP)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.odd_apps:no_handlers")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "step 2 (undo) at actions.chat.yaml:4: cannot perform step",
            "  the app has no .undo() handler on the chatbot 'Chat', so the Undo icon is not shown",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*the app has no .like() handler on the chatbot 'Chat', so the Like and Dislike icons are not shown*"]
    )
    result.stdout.fnmatch_lines(
        ["*the chatbot 'Chat' is not editable (no editable= setting), so there is no Edit icon*"]
    )
    result.stdout.fnmatch_lines(["chat at that point:", "    [[]0[]] user: 'hello'"])
    assert "Traceback" not in result.stdout.str()


def test_index_outside_the_history(project: pytest.Pytester) -> None:
    project.makefile(
        ".chat.yaml",
        index="name: out of range\nsteps:\n  - send: hi\n  - dislike: {index: 5}\n  - edit: {index: -7, text: x}\n",
    )
    result = runpytest_forked(project, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["step 2 (dislike) at index.chat.yaml:4: cannot perform step", "  index 5 is outside the history (2 messages)"]
    )


def test_app_without_chatbot_and_with_two(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", plain=GOOD)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.odd_apps:no_chatbot")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["the app under test: the app has no gr.Chatbot component, so there is no chat to test"]
    )

    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.odd_apps:two_chatbots")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*the app has 2 chatbots ('Left', 'Right'); say which one with 'chatbot:' in the scenario*"]
    )

    project.makefile(".chat.yaml", plain="chatbot: Right\n" + GOOD.lstrip())
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.odd_apps:two_chatbots")
    result.assert_outcomes(passed=1)


def test_bad_app_spec_and_unreachable_url(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", plain=GOOD)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "no_such_module:demo")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot import 'no_such_module' for the app 'no_such_module:demo'*"])
    # an app whose own code raises as it is built: the app's failure, pointing at its line, not a harness bug
    project.makepyfile(crashing_app="import gradio as gr\n\nwith gr.Blocks() as demo:\n    gr.Chatbot(value=42)\n")
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "crashing_app:demo")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["the app under test: importing 'crashing_app' for the app 'crashing_app:demo' raised *(at crashing_app.py:4)"]
    )
    assert "harness bug" not in result.stdout.str() and "chat-harness itself failed" not in result.stdout.str()
    from harness.target.inprocess import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-url", url, "--chat-ready-timeout", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"the app under test: {url} was not ready within 1s; last: ConnectError*"])
    # the same from the ini file, so that a CI job's command line stays short
    project.makeini(f"[pytest]\nchat_url = {url}\nchat_ready_timeout = 0.5\n")
    result = runpytest_forked(project, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"chat-harness target: {url} -- NOT READY: {url} was not ready within 0.5s*"])
    assert "Traceback" not in result.stdout.str()


def test_scenario_default_app_and_command_line_override(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", pinned="app: fixtures.odd_apps:no_chatbot\n" + GOOD.lstrip())
    project.makeini("[pytest]\nchat_trusted_apps = fixtures.*\n")  # the fixture apps lie outside this project folder
    result = runpytest_forked(project, "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)  # the scenario's own app has no chatbot
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.reference_app:demo")
    result.assert_outcomes(passed=1)


def test_unknown_driver_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", plain=GOOD)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--driver", "telepathy")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*argument --driver: invalid choice: 'telepathy'*"])


def test_app_error_names_the_step(project: pytest.Pytester) -> None:
    project.makefile(".chat.yaml", err="name: boom\nsteps:\n  - send: hello\n  - send: boom\n")
    result = runpytest_forked(project, "-p", "no:cacheprovider", "--chat-app", "fixtures.reference_app:demo")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "step 2 (send) at err.chat.yaml:4: the app raised an error",
            "  the app raised an error during step 2 (send): boom: the model is overloaded, try again later",
        ]
    )
