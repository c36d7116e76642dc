"""The loader: valid files become scenarios; every kind of bad input is one line naming file:line."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from harness.errors import ScenarioError
from harness.spec.loader import load_file, load_text, schema
from harness.spec.steps import Call, Expect, Like, Send

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_scenarios_load_and_follow_the_schema() -> None:
    from ruamel.yaml import YAML

    files = sorted((ROOT / "scenarios").glob("*.chat.yaml"))
    assert files
    validator = jsonschema.Draft202012Validator(schema())
    for path in files:
        assert load_file(path)
        for document in YAML(typ="safe").load_all(path.read_text()):
            validator.validate(document)


def test_steps_and_lines() -> None:
    (scenario,) = load_text(
        "name: s\nsteps:\n  - send: hi\n  - send: {text: there}\n  - undo: {}\n  - like: {index: -1}\n"
        "  - edit: {index: 0, text: x}\n  - clear:\n  - expect: {history: {length: 0}}\n",
        "f.yaml",
    )
    assert [(s.kind, s.location.line) for s in scenario.steps] == [
        ("send", 3),
        ("send", 4),
        ("undo", 5),
        ("like", 6),
        ("edit", 7),
        ("clear", 8),
        ("expect", 9),
    ]
    send, like, expect = scenario.steps[1], scenario.steps[3], scenario.steps[6]
    assert isinstance(send, Send) and (send.text, send.files, send.stop_after) == ("there", (), None)
    assert isinstance(like, Like) and like.index == -1
    assert isinstance(expect, Expect) and expect.expectation.history_length == 0


def test_several_scenarios_per_file() -> None:
    scenarios = load_text("name: a\nsteps: [{send: x}]\n---\nname: b\nsteps: [{send: y}]\n", "f.yaml")
    assert [s.name for s in scenarios] == ["a", "b"]
    assert scenarios[1].location.line == 4


BAD = [
    ("name: [x\n", 2, "YAML does not parse"),
    ("name: x\nsteps:\n  - sned: hi\n", 3, "unknown step 'sned' (did you mean 'send'?)"),
    ("name: x\nsteps: []\n", 2, "must not be empty"),
    (
        "name: x\nsteps:\n  - send: hi\n  - expect:\n      history:\n        - {role: user, content: {contain: hi}}\n",
        6,
        "unknown key 'contain' (did you mean 'contains'?)",
    ),
    ("name: x\nsteps:\n  - send: [1]\n", 3, "expected object or string, got a list"),
    ("name: x\nstep:\n  - send: hi\n", 2, "unknown key 'step' (did you mean 'steps'?)"),
    ("name: x\nsteps:\n  - edit: {index: a, text: b}\n", 3, "edit.index: expected integer, got the text 'a'"),
    ("name: x\nsteps:\n  - send: hi\n    undo: {}\n", 3, "a step has exactly one key"),
    ('name: x\nsteps:\n  - expect: {history: [{content: {regex: "("}}]}\n', 3, "invalid regular expression"),
    ("- a\n", 1, "a scenario is a mapping with name and steps, not a list"),
    ("name: x\nsteps:\n  - undo\n", 3, "write 'undo' as a mapping"),
    ("name: x\nsteps:\n  - edit: {index: 1}\n", 3, "'text' is required"),
    ("name: x\nsteps:\n  - clear: {a: 1}\n", 3, "unknown key 'a'; allowed: contracts"),
    ("name: x\nsteps:\n  - expect: {histroy: []}\n", 3, "unknown key 'histroy' (did you mean 'history'?)"),
    ("name: 3\nsteps:\n  - send: hi\n", 1, "expected string, got the number 3"),
    ("name: x\nsteps: [{send: a}]\n---\nname: x\nsteps: [{send: b}]\n", 4, "duplicate scenario name 'x'"),
    ("name: x\nsteps:\n  - like: {index: 1.5}\n", 3, "expected integer, got the number 1.5"),
    ("name: x\nsteps:\n  - expect:\n      components: {Box: {a: 1, b: 2}}\n", 4, "use {equals: ...}"),
    ("", 1, "holds no scenario"),
    ("name: x\nsteps:\n  - expect: {}\n", 3, "must not be empty"),
    ("name: x\napp: not a spec\nsteps: [{send: a}]\n", 2, "does not match"),
    ("name: x\nsteps:\n  - like: {idx: 1}\n", 3, "unknown key 'idx' (did you mean 'index'?)"),
    (
        "name: x\nrequires:\n  gradio: six or later\nsteps: [{send: a}]\n",
        3,
        "requires.gradio must be a version specifier such as '>=6' or '<6'",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_one_line_with_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "bad.yaml")
    error = caught.value
    assert error.location is not None and error.location.path == "bad.yaml"
    assert error.location.line == line, str(error)
    assert message in str(error)
    assert "\n" not in str(error) and len(str(error)) < 300


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_file(tmp_path / "missing.chat.yaml")


def test_call_takes_positional_or_named_arguments() -> None:
    (scenario,) = load_text(
        "name: s\nsteps:\n  - call: {api_name: /respond, args: [hi, 2]}\n"
        "  - call: {api_name: /respond, args: {message: hi}, result: 3}\n  - call: {api_name: /respond}\n",
        "f.yaml",
    )
    positional, named, bare = scenario.steps
    assert isinstance(positional, Call) and isinstance(named, Call) and isinstance(bare, Call)
    assert positional.args == ["hi", 2] and positional.api_name == "/respond"
    assert (
        named.args == {"message": "hi"}
        and named.result is not None
        and named.result.matches(3)
        and not named.result.matches(4)
    )
    assert bare.args == [] and bare.result is None


def test_requires_gradio_compares_versions() -> None:
    (scenario,) = load_text("name: s\nrequires: {gradio: '>=6'}\nsteps: [{send: hi}]\n", "f.yaml")

    class App:
        def __init__(self, version: str) -> None:
            self.gradio_version = version

        def has_component(self, selector: str) -> bool:
            return True

        def has_endpoint(self, api_name: str) -> bool:
            return True

    assert scenario.missing_requirements(App("6.31.0")) is None
    assert scenario.missing_requirements(App("5.50.0")) == "it runs Gradio 5.50.0, not >=6"
    assert scenario.missing_requirements(App("unknown")) == "it runs Gradio unknown, not >=6"
