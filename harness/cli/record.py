"""``chat-harness record``: the skeleton of a recorded scenario.

The actions are given as they are written in a scenario (``send: hello``, ``retry``,
``'edit: {index: -2, text: hi}'``); each is followed by an ``expect: {history: []}`` that the
recording run (``--update-expectations``) fills with the history the app showed.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from harness.cli.run import run, shown_target, target_options
from harness.errors import RecordingError, ScenarioError
from harness.spec.loader import load_text, schema_path

__all__ = ["record", "skeleton"]


def _action(text: str, number: int) -> dict[str, Any]:
    try:
        value = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise RecordingError(f"step {number} ({text!r}) is not YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(value, str) and " " not in value.strip():
        return {value.strip(): {}}
    if not isinstance(value, dict):
        raise RecordingError(
            f"step {number} ({text!r}): write an action as in a scenario, "
            "e.g. 'send: hello', retry, 'like: {index: -1}'"
        )
    return value


def _flow(value: Any) -> Any:
    """``value`` as ruamel round-trip data, collections in flow style (``{index: -1}``)."""
    if isinstance(value, dict):
        result: Any = CommentedMap((k, _flow(v)) for k, v in value.items())
    elif isinstance(value, list):
        result = CommentedSeq(_flow(v) for v in value)
    else:
        return value
    result.fa.set_flow_style()
    return result


def _dump(data: dict[str, Any]) -> str:
    """A one-level block mapping whose values are in flow style."""
    yaml = YAML()
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(CommentedMap((k, _flow(v)) for k, v in data.items()), out)
    return out.getvalue().rstrip("\n")


def _model_block(model: Any) -> list[str]:
    """A ``model:`` block (plain data) as the lines of a scenario's top-level key."""
    yaml = YAML()
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump({"model": model}, out)
    return out.getvalue().rstrip("\n").splitlines()


def skeleton(steps: Sequence[str], name: str, target: str, schema: str, model: Any = None) -> str:
    """The YAML text to record into; raises ``RecordingError`` for an invalid action. With
    ``model`` (a ``model:`` block's contents), the scenario scripts the model, and each expect
    also records what the app sent it."""
    actions = [_action(text, number) for number, text in enumerate(steps, start=1)]
    for number, action in enumerate(actions, start=1):
        if "expect" in action:
            raise RecordingError(f"step {number}: record takes actions only; the expectations are what it writes")
    head = [_dump({"name": name}), *(_model_block(model) if model is not None else [])]
    try:
        load_text("\n".join([*head, "steps:", *("  - " + _dump(a) for a in actions)]), "--steps")
    except ScenarioError as exc:
        raise RecordingError(exc.message) from None
    lines = [
        f"# yaml-language-server: $schema={schema}",
        f"# Recorded by `chat-harness record` from {shown_target(target)}: each expect holds the history the app "
        "showed.",
        "# Loosen what may vary (content: {contains: ...} / {regex: ...}) before you commit it.",
        *head,
        "steps:",
    ]
    for action in actions:
        lines.append("  - " + _dump(action))
        lines.extend(["  - expect:", "      history: []"])
        if model is not None:
            lines.append("      model: {calls: 0, last: {messages: []}}")
    return "\n".join(lines) + "\n"


def _script_data(path: Path, target: str) -> Any:
    """The contents of a model script file, checked, as plain data for the scenario's ``model:``."""
    from harness.spec.loader import load_model_script
    from harness.spec.matchers import plain

    if target.startswith(("http://", "https://")) or ":" not in target:
        raise RecordingError("--model scripts an app launched in-process: give the app as module:attr")
    try:
        load_model_script(path)
        return plain(YAML(typ="rt").load(path.read_text(encoding="utf-8")))
    except ScenarioError as exc:
        raise RecordingError(str(exc)) from None
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None


def record(
    target: str,
    steps: Sequence[str],
    output: Path,
    name: str | None,
    driver: str,
    force: bool,
    model: Path | None = None,
) -> int:
    """Run the actions once on ``target`` and write them, each followed by the history observed
    (and, with a ``model`` script file, what the app sent the scripted model)."""
    if output.exists() and not force:
        print(f"chat-harness record: {output} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    try:
        script = _script_data(model, target) if model is not None else None
        text = skeleton(steps, name or output.name.split(".")[0], target, schema_path(), script)
    except RecordingError as exc:
        print(f"chat-harness record: {exc}", file=sys.stderr)
        return 1
    output.write_text(text, encoding="utf-8")
    code = run(
        [
            str(output),
            "--update-expectations",
            "--driver",
            driver,
            "-q",
            "-p",
            "no:cacheprovider",
            *target_options(target),
        ]
    )
    if code != 0:
        output.unlink()
        print(
            f"chat-harness record: the run failed (pytest exit code {code}, output above); {output} not written",
            file=sys.stderr,
        )
        return 1
    hint = " ".join(target_options(shown_target(target)))
    print(f"recorded {len(steps)} action(s) into {output}; run it with: chat-harness run {output} --driver all {hint}")
    return 0
