"""The bad-input corpus: malformed scenario files (tests/data/bad) and valid files that cannot run
(tests/data/bad-run). Each gives one message with its file and line, no traceback, and the same
exit code: 1 from ``chat-harness validate`` and from a pytest run; 4 for a bad option."""

from __future__ import annotations

import http.server
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from tests.helpers.deployed import serving
from tests.helpers.forked import runpytest_forked

HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad"
BAD_RUN = HERE / "data" / "bad-run"

#: file -> (line, what the message says)
STATIC = {
    "01-yaml-tab": (3, "YAML does not parse: found character '\\t' that cannot start any token"),
    "02-yaml-unclosed-quote": (4, "YAML does not parse: found unexpected end of stream"),
    "03-yaml-bad-indent": (4, "YAML does not parse: expected <block end>, but found '<block sequence start>'"),
    "04-yaml-unclosed-flow": (4, "YAML does not parse: expected ',' or '}', but got '<stream end>'"),
    "05-empty-file": (1, "the file holds no scenario (expected a mapping with name and steps)"),
    "06-only-comments": (1, "the file holds no scenario (expected a mapping with name and steps)"),
    "07-top-level-list": (1, "a scenario is a mapping with name and steps, not a list"),
    "08-missing-name": (1, "scenario: 'name' is required"),
    "09-missing-steps": (1, "scenario: 'steps' is required"),
    "10-empty-steps": (2, "scenario.steps: must not be empty"),
    "11-steps-not-a-list": (2, "scenario.steps: expected array, got a mapping"),
    "12-unknown-top-key": (2, "unknown key 'step' (did you mean 'steps'?); a scenario has name, description,"),
    "13-unknown-step": (4, "step 2: unknown step 'undoo' (did you mean 'undo'?); steps are send, undo,"),
    "14-two-keys-in-a-step": (3, "step 1: a step has exactly one key, got send, undo; split it into separate steps"),
    "15-bare-step-name": (4, "step 2: write 'undo' as a mapping, e.g. '- undo: {}'"),
    "16-name-wrong-type": (1, "scenario.name: expected string, got a list"),
    "17-send-wrong-type": (3, "step 1 (send).send: expected object or string, got a list"),
    "18-index-not-a-number": (4, "step 2 (like).like.index: expected integer, got the text 'last'"),
    "19-unknown-step-key": (4, "step 2 (edit).edit: unknown key 'txt' (did you mean 'text'?); allowed: index, text"),
    "20-bad-regex": (
        6,
        "step 2 (expect) history message 0: invalid regular expression '(unclosed': missing ), unterminated subpattern",
    ),
    "21-unknown-matcher": (
        6,
        "step 2 (expect).expect.history[0].content: unknown key 'contain' (did you mean 'contains'?)",
    ),
    "22-matcher-two-keys": (
        6,
        "a matcher takes exactly one key (equals, contains, regex, ...); "
        "to compare a mapping exactly, use {equals: ...}",
    ),
    "23-unknown-expect-key": (4, "step 2 (expect).expect: unknown key 'histroy' (did you mean 'history'?)"),
    "24-unknown-message-key": (
        6,
        "step 2 (expect).expect.history[0]: unknown key 'text'; allowed: role, content, files, metadata, options",
    ),
    "25-empty-message": (6, "step 2 (expect).expect.history[0]: must not be empty"),
    "26-negative-length": (5, "step 2 (expect).expect.history.length: must be at least 0, got the number -1"),
    "27-bad-duration": (
        5,
        "step 2 (expect).expect.stream.within: expected a duration such as 5s, 500ms or 2m "
        "(or a number of seconds), got the text 'soon'",
    ),
    "28-duplicate-names": (5, "duplicate scenario name 'same' (first at line 1)"),
    "29-missing-attachment": (3, "step 1 (send): no file 'no-such-file.png' (looked for "),
    "30-bad-requires-gradio": (
        2,
        "requires.gradio must be a version specifier such as '>=6' or '<6', got 'six or later'",
    ),
    "31-endpoint-without-slash": (
        2,
        "scenario.requires.endpoints[0]: an endpoint's name starts with /, e.g. /chat; got the text 'chat'",
    ),
    "32-call-without-api-name": (3, "step 1 (call).call: 'api_name' is required"),
    "33-bad-timeout": (2, "scenario.timeout.step: must be more than 0, got the number -5"),
    "34-unknown-timeout-key": (
        2,
        "scenario.timeout: unknown key 'steps' (did you mean 'step'?); allowed: step, scenario",
    ),
    "35-duplicate-key": (2, 'YAML does not parse: found duplicate key "name" with value "again"'),
    "36-stop-after-zero": (3, "step 1 (send).send.stop_after: must be at least 1, got the number 0"),
    "37-not-utf8": (1, "cannot read the file: 'utf-8' codec can't decode byte 0xe9"),
    "38-app-not-found": (
        2,
        "app 'no_such_module:demo' names the module 'no_such_module', which cannot be found under the project",
    ),
    "39-regex-overflow": (
        6,
        "step 2 (expect) history message 0: invalid regular expression 'a{99999999999}': "
        "the repetition number is too large",
    ),
    "40-deep-nesting": (6, "the file nests mappings and lists more than 50 levels deep"),
    "41-lone-surrogate": (
        3,
        "the text 'half a character: \\ud800' holds \\ud800, "
        "a lone surrogate that is not a character and cannot be sent",
    ),
    "42-timeout-infinite": (2, "timeout.step: a duration is a finite number of seconds more than 0, got inf"),
    "43-duration-nan": (5, "stream.within: a duration is a finite number of seconds more than 0, got nan"),
    "44-file-outside": (
        3,
        "step 1 (send): the file '../../../../../../../../etc/passwd' is outside the folders a scenario may read",
    ),
    "45-file-special": (3, "step 1 (send): the file '/proc/self/environ' is outside the folders a scenario may read"),
    "46-app-outside": (
        2,
        "app 'os:system' names 'os', a module of Python's standard library, not an app of the project",
    ),
    "47-url-with-password": (
        2,
        "url holds a password; a scenario file is shared, "
        "so give the login with --chat-auth or CHAT_HARNESS_AUTH instead",
    ),
}

#: valid files that fail when run: file -> (line, what the failure says)
RUNTIME = {
    "r1-edit-index-out-of-range": (4, "step 2 (edit) at {path}:4: cannot perform step"),
    "r2-undo-on-empty-chat": (3, "step 1 (undo) at {path}:3: cannot perform step"),
    "r3-unknown-chatbot": (
        1,
        "the app under test: no chatbot with label or elem_id 'Nope'; the app has: Chat, chatbot",
    ),
    "r4-unknown-component": (
        4,
        "during step 2 (expect) at {path}:4: no component with label, elem_id or type 'Nope'; the app has: ",
    ),
    "r6-option-not-offered": (4, "step 2 (select_option) at {path}:4: cannot perform step"),
    "r7-like-index-out-of-range": (4, "index -9 is outside the history (2 messages)"),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name.removesuffix(".chat.yaml") for p in BAD.glob("*.chat.yaml")) == sorted(STATIC)
    assert sorted(p.name.removesuffix(".chat.yaml") for p in BAD_RUN.glob("*.chat.yaml")) == sorted(RUNTIME)
    assert len(STATIC) + len(RUNTIME) >= 30


@pytest.mark.parametrize("name", sorted(STATIC))
def test_validate_names_file_and_line(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(HERE.parent)
    line, message = STATIC[name]
    path = f"tests/data/bad/{name}.chat.yaml"
    assert main(["validate", path]) == 1
    out = capsys.readouterr()
    first, summary = out.out.splitlines()
    assert first.startswith(f"{path}:{line}: ") and message in first, first
    assert summary == "0 valid, 1 invalid file(s); 0 scenario(s)"
    assert "Traceback" not in out.out + out.err


def test_validate_goes_on_past_every_bad_file_and_sums_up(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(HERE.parent)
    assert main(["validate", "tests/data/bad", "scenarios"]) == 1
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == len(STATIC) + 1 and all(line.startswith("tests/data/bad/") for line in lines[:-1])
    valid = len(list((HERE.parent / "scenarios").rglob("*.chat.yaml")))
    assert lines[-1].startswith(f"{valid} valid, {len(STATIC)} invalid file(s); ")
    assert "Traceback" not in out.out + out.err


def _copy(folder: Path, project: pytest.Pytester) -> Path:
    """The corpus copied into the project (tests/conftest.py keeps pytest out of tests/data)."""
    copy = project.path / folder.name
    shutil.copytree(folder, copy)
    return copy


def test_a_run_over_the_corpus_fails_each_file_with_its_line_and_no_traceback(project: pytest.Pytester) -> None:
    bad = _copy(BAD, project)
    result = runpytest_forked(project, "-p", "no:cacheprovider", "bad", "--driver", "all")
    assert result.ret == 1
    result.assert_outcomes(failed=len(STATIC))  # one item per file, the rest of the run goes on
    out = result.stdout.str()
    for name, (line, message) in STATIC.items():
        assert f"invalid scenario file: bad/{name}.chat.yaml:{line}: " in out, name
        assert message in out, name
    assert "Traceback" not in out and "Error" not in result.stderr.str() and bad.is_dir()


@pytest.fixture
def not_gradio() -> Iterator[str]:
    """A plain HTTP server on loopback: a target that is not a Gradio app."""
    with serving(http.server.SimpleHTTPRequestHandler) as url:
        yield url


def test_valid_files_that_cannot_run_fail_with_their_line(project: pytest.Pytester, not_gradio: str) -> None:
    foreign = project.path / "not-gradio.chat.yaml"
    foreign.write_text(f"name: not gradio\nurl: {not_gradio}\nsteps:\n  - send: hi\n")
    _copy(BAD_RUN, project)
    result = runpytest_forked(
        project, "-p", "no:cacheprovider", "bad-run", foreign.name, "--driver", "all", "--chat-ready-timeout", "5"
    )
    assert result.ret == 1
    result.assert_outcomes(failed=2 * (len(RUNTIME) + 1), skipped=len(RUNTIME) + 1)  # parity has nothing to compare
    out = result.stdout.str()
    for name, (line, message) in RUNTIME.items():
        path = f"bad-run/{name}.chat.yaml"
        for driver in ("api", "browser"):
            assert f"[{driver}] ({path}:1)" in out, name
        assert message.format(path=path) in out, name
        assert f"{path}:{line}" in out, name
    assert f"[api] ({foreign.name}:1)" in out
    assert f"the app under test: {not_gradio}config answered HTTP 404: nothing there; check the URL" in out
    assert "Traceback" not in out


def test_a_bad_option_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "ok.chat.yaml").write_text("name: ok\nsteps:\n  - send: hi\n")
    for args, message in [
        (["--driver", "robot"], "argument --driver: invalid choice: 'robot'"),
        (["--chat-timeout", "-1"], "chat_timeout must be a finite number of seconds more than 0, got -1"),
        (["--chat-timeout", "inf"], "chat_timeout must be a finite number of seconds more than 0, got inf"),
        (
            ["-o", "chat_scenario_timeout=nan"],
            "chat_scenario_timeout must be a finite number of seconds more than 0, got nan",
        ),
        (["--chat-report", "ok.chat.yaml"], "ok.chat.yaml: that is a file, not a folder; give a folder for the report"),
        (
            ["--chat-url", "http://x/", "--chat-space", "a/b"],
            "--chat-url and --chat-space name two different targets; give one",
        ),
        (["--chat-auth", "nocolon"], "--chat-auth takes user:password (a colon between them)"),
        (["-o", "chat_driver=robot"], "unknown driver 'robot'; choose one of api, browser, all"),
        (["--chat-sessions", "0"], "--chat-sessions must be at least 1, got 0"),
        (["-o", "chat_sessions=many"], "chat_sessions = 'many': expected a whole number of sessions"),
    ]:
        result = runpytest_forked(project, "-p", "no:cacheprovider", "ok.chat.yaml", *args)
        assert result.ret == 4, (args, result.ret)
        assert message in result.stderr.str(), (args, result.stderr.str())
        assert "Traceback" not in result.stderr.str() + result.stdout.str()
