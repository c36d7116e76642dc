"""``--update-expectations``: rewrite ``expect`` blocks from what a run observed.

The way snapshot tools do it: while the scenarios run, each mismatching *exact* value (a plain
value or ``{equals: ...}``) becomes an ``Edit``; fuzzy matchers (contains, regex, any_of, ...)
are the author's intent and are never touched, so a fuzzy matcher that does not hold still fails.
Edits are kept until the session ends (they travel from pytest-xdist workers to the main
process as plain data), then each file is rewritten once with ruamel.yaml's round-trip mode,
which keeps comments, key order and quoting; only the changed values differ.

An edit addresses a value inside one step: (file, scenario name, step number, path inside the
step's value). ``op`` is ``set`` (replace), ``append`` (a message the expectation lacked) or
``delete`` (a message the app no longer shows).
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterable, Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.drivers.base import ActionRecord
from harness.errors import ScenarioError
from harness.gradio.history import Message
from harness.spec.matchers import compile_matcher, is_exact, jsonable
from harness.spec.model import Scenario
from harness.spec.steps import Step

__all__ = ["Edit", "Updates", "message_spec", "write_edits"]

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Edit:
    file: str
    scenario: str
    step: int
    path: Path_
    op: str  # set | append | delete
    value: Any = None
    old: Any = None

    @property
    def key(self) -> tuple[str, str, int, Path_, str]:
        return (self.file, self.scenario, self.step, self.path, self.op)

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "path": list(self.path)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Edit:
        return cls(**{**data, "path": tuple(data["path"])})

    def describe(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path).lstrip(".")
        if self.op == "append":
            return f"{where}: added {_short(self.value)}"
        if self.op == "delete":
            return f"{where}: removed {_short(self.old)}"
        if self.old is None:
            return f"{where}: set to {_short(self.value)}"
        return f"{where}: {_short(self.old)} -> {_short(self.value)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def message_spec(message: Message) -> dict[str, Any]:
    """What a recorded expectation says about one message: the observable, stable parts."""
    spec: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.files:
        spec["files"] = [{"name": f.name, "mime_type": f.mime_type} for f in message.files]
    if message.options:
        spec["options"] = message.option_labels
    kept = {k: message.metadata[k] for k in ("title", "status") if message.metadata.get(k) is not None}
    if kept:
        spec["metadata"] = jsonable(kept)
    return spec


# -- what to change ----------------------------------------------------------------------------


class _Proposal:
    """Edits for one step's value, as (path, op, value, old) tuples."""

    def __init__(self) -> None:
        self.items: list[tuple[Path_, str, Any, Any]] = []

    def exact(self, path: Path_, spec: Any, actual: Any) -> None:
        """Replace an exact expectation that does not hold; leave fuzzy ones alone."""
        if is_exact(spec) and not compile_matcher(spec).matches(actual):
            self.items.append((path, "set", jsonable(actual), spec["equals"] if isinstance(spec, Mapping) else spec))

    def messages(self, path: Path_, want: Sequence[Any], have: Sequence[Message], first: int = 0) -> None:
        """``want[first + k]`` is checked against ``have[k]``; entries before ``first`` go."""
        for i in range(first):
            self.items.append(((*path, i), "delete", None, want[i]))
        for k, message in enumerate(have):
            i = first + k
            if i < len(want):
                self.message((*path, i), want[i], message)
            else:
                self.items.append(((*path, i), "append", message_spec(message), None))
        for i in range(first + len(have), len(want)):
            self.items.append(((*path, i), "delete", None, want[i]))

    def message_list(self, path: Path_, spec: Any, have: Sequence[Message]) -> None:
        """A ``history``-shaped expectation (a list, or ``{length, last}``) against ``have``."""
        if isinstance(spec, list):
            self.messages(path, spec, have)
        elif isinstance(spec, Mapping):
            if "length" in spec and spec["length"] != len(have):
                self.items.append(((*path, "length"), "set", len(have), spec["length"]))
            last = spec.get("last")
            if isinstance(last, list) and last:
                shown = have[-len(last) :]
                self.messages((*path, "last"), last, shown, first=len(last) - len(shown))

    def message(self, path: Path_, want: Mapping[str, Any], have: Message) -> None:
        if "role" in want:
            self.exact((*path, "role"), want["role"], have.role)
        if "content" in want:
            self.exact((*path, "content"), want["content"], have.text)
        if "files" in want:
            files = list(want["files"] or [])
            if len(files) != len(have.files):
                self.items.append(((*path, "files"), "set", message_spec(have).get("files", []), files))
            else:
                for i, (spec, f) in enumerate(zip(files, have.files)):
                    for key in ("name", "mime_type"):
                        if key in spec:
                            self.exact((*path, "files", i, key), spec[key], getattr(f, key))
        if "options" in want:
            labels = have.option_labels
            specs = list(want["options"] or [])
            if len(specs) != len(labels):
                self.items.append(((*path, "options"), "set", labels, specs))
            else:
                for i, (spec, label) in enumerate(zip(specs, labels)):
                    self.exact((*path, "options", i), spec, label)
        for key, spec in (want.get("metadata") or {}).items():
            if key in have.metadata:
                self.exact((*path, "metadata", key), spec, have.metadata[key])


def propose_expect(value: Mapping[str, Any], seen: Any, errored_just_before: bool) -> list[tuple[Path_, str, Any, Any]]:
    """Edits that make an ``expect`` value hold for ``seen`` (an ``Observation``)."""
    p = _Proposal()
    p.message_list(("history",), value.get("history"), seen.history)
    for name, spec in (value.get("components") or {}).items():
        p.exact(("components", name), spec, seen.components.get(name))
    if "input" in value:
        p.exact(("input",), value["input"], seen.input)
    action: ActionRecord | None = seen.last_action
    stream = value.get("stream") or {}
    if "final" in stream and action is not None and action.stream:
        p.exact(("stream", "final"), stream["final"], action.stream[-1][-1].text if action.stream[-1] else "")
    if action is not None and action.error is not None:
        if "error" in value:
            p.exact(("error",), value["error"], action.error)
        elif errored_just_before:
            p.items.append((("error",), "set", action.error, None))
    model = value.get("model")
    if isinstance(model, Mapping) and action is not None and action.model_calls is not None:
        _propose_model(p, model, action.model_calls)
    return p.items


def _propose_model(p: _Proposal, model: Mapping[str, Any], calls: Sequence[Any]) -> None:
    """``expect: model:`` from the calls the last action made: their number, and the last one's
    messages and fields; ``last`` goes when the action made no call."""
    if "calls" in model and model["calls"] != len(calls):
        p.items.append((("model", "calls"), "set", len(calls), model["calls"]))
    last = model.get("last")
    if not isinstance(last, Mapping):
        return
    if not calls:
        p.items.append((("model", "last"), "delete", None, last))
        return
    call = calls[-1]
    p.message_list(("model", "last", "messages"), last.get("messages"), call.messages)
    for key, spec in last.items():
        if key != "messages" and key in call.request:
            p.exact(("model", "last", key), spec, call.request[key])


def _apply(
    container: Any, items: Iterable[tuple[Path_, str, Any, Any]], convert: Any = lambda value, sibling: value
) -> None:
    """Apply edits to a loaded step value: sets first, then deletions (last first), then appends."""
    items = list(items)

    def parent_of(path: Path_) -> Any:
        node = container
        for key in path[:-1]:
            if isinstance(node, MutableMapping) and key not in node:
                node[key] = {}
            node = node[key]
        return node

    for path, op, value, _old in items:
        if op != "set":
            continue
        parent = parent_of(path)
        current = parent.get(path[-1]) if isinstance(parent, Mapping) else parent[path[-1]]
        if isinstance(current, MutableMapping) and list(current) == ["equals"]:
            current["equals"] = convert(value, current["equals"])
        else:
            parent[path[-1]] = convert(value, current)
    for path, _op, _value, _old in sorted((i for i in items if i[1] == "delete"), key=lambda i: i[0], reverse=True):
        del parent_of(path)[path[-1]]
    for path, _op, value, _old in sorted((i for i in items if i[1] == "append"), key=lambda i: i[0]):
        parent = parent_of(path)
        assert isinstance(parent, MutableSequence)
        parent.append(convert(value, parent[-1] if len(parent) else None))


# -- collecting during a run -------------------------------------------------------------------


class Updates:
    """The runner's hook in update mode: proposes edits for one scenario run and keeps them.

    ``expectation`` returns what still does not hold once the edits are applied (re-checked with
    the real loader and matchers, so an edit is only kept when it fixes the step).
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.edits: list[Edit] = []

    def _keep(self, step: Step, items: list[tuple[Path_, str, Any, Any]]) -> None:
        file = str(Path(step.location.path).resolve())
        self.edits.extend(
            Edit(file, self.scenario.name, step.number, path, op, value, old) for path, op, value, old in items
        )

    def expectation(self, step: Step, seen: Any, sections: list[str], errored_just_before: bool) -> list[str]:
        from harness.run.checks import check_expectation
        from harness.spec.loader import load_expectation

        items = propose_expect(step.source or {}, seen, errored_just_before)
        if not items:
            return sections
        fixed = copy.deepcopy(step.source or {})
        _apply(fixed, items)
        try:
            left = check_expectation(load_expectation(fixed, step.location, step.label), seen)
        except ScenarioError:  # an edit the schema refuses (should not happen): change nothing
            return sections
        self._keep(step, items)
        return left

    def result(self, step: Step, action: ActionRecord) -> bool:
        """A ``call`` step's exact ``result`` that did not hold: recorded (True), or fuzzy (False)."""
        spec = (step.source or {}).get("result")
        if not is_exact(spec):
            return False
        self._keep(step, [(("result",), "set", jsonable(action.result), spec)])
        return True


# -- writing at the end of the session ---------------------------------------------------------


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    first = next((d for d in re.split(r"(?m)^---.*$", text) if d.strip()), "")
    try:
        _, indent, offset = load_yaml_guess_indent(first)
    except Exception:  # an odd first document: keep ruamel's defaults
        indent, offset = None, None
    if indent:
        offset = offset or 0
        yaml.indent(mapping=max(indent - offset, 2), sequence=indent, offset=offset)
    return yaml


def _convert(value: Any, sibling: Any) -> Any:
    """A new value in the style of the one it replaces or sits beside (flow style, quotes, blocks)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString, ScalarString

    if isinstance(value, str):
        if "\n" in value:
            return LiteralScalarString(value)
        if isinstance(sibling, ScalarString) and not isinstance(sibling, LiteralScalarString):
            return type(sibling)(value)
        return value
    flow = getattr(getattr(sibling, "fa", None), "flow_style", lambda: None)()
    if isinstance(value, Mapping):
        result: Any = CommentedMap((k, _convert(v, None)) for k, v in value.items())
    elif isinstance(value, list):
        result = CommentedSeq(_convert(v, None) for v in value)
    else:
        return value
    if flow is not False:  # beside flow-style siblings, or new: compact flow style
        result.fa.set_flow_style()
    return result


def _line(node: Any, key: Any) -> int | None:
    """The 1-based line of ``node[key]`` in the file as read (ruamel's line marks)."""
    marks = getattr(node, "lc", None)
    try:
        return int((marks.key(key) if isinstance(node, Mapping) else marks.item(key))[0]) + 1  # type: ignore[union-attr]
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def write_edits(edits: Iterable[Edit]) -> tuple[list[str], list[str]]:
    """Write the edits to their files. Returns (changes made, problems) as report lines.

    Two runs (drivers, workers) proposing different values for one place is a conflict: that
    place is left as it is and reported.
    """
    from harness.spec.loader import load_text

    by_place: dict[tuple[str, str, int, Path_, str], list[Edit]] = {}
    for edit in edits:
        by_place.setdefault(edit.key, []).append(edit)
    chosen: list[Edit] = []
    problems: list[str] = []
    for (file, scenario, step, _path, _op), group in sorted(by_place.items(), key=lambda kv: str(kv[0])):
        values = {json.dumps(e.value, sort_keys=True) for e in group}
        if len(values) > 1:
            seen = ", ".join(sorted(values))
            problems.append(
                f"{_shown(file)}: {scenario!r} step {step}: {group[0].describe().split(':')[0]}: the runs saw "
                f"different values ({seen}); left as it is"
            )
        else:
            chosen.append(group[0])
    changes: list[str] = []
    for file in sorted({e.file for e in chosen}):
        path = Path(file)
        text = path.read_text(encoding="utf-8")
        yaml = _yaml(text)
        documents = list(yaml.load_all(text))
        mine = [e for e in chosen if e.file == file]
        lines: list[tuple[int, str]] = []
        for (scenario, number), group in _grouped(mine):
            doc = next((d for d in documents if isinstance(d, Mapping) and d.get("name") == scenario), None)
            if doc is None or not 0 < number <= len(doc.get("steps") or []):
                problems.append(
                    f"{_shown(file)}: scenario {scenario!r} step {number} is no longer in the file; not updated"
                )
                continue
            step_node = doc["steps"][number - 1]
            kind = next(iter(step_node))
            if step_node[kind] is None:
                step_node[kind] = {}
            _apply(step_node[kind], [(e.path, e.op, e.value, e.old) for e in group], _convert)
            line = _line(doc["steps"], number - 1) or 0
            lines.extend(
                (line, f"{_shown(file)}:{line} {scenario!r} step {number} ({kind}) {e.describe()}") for e in group
            )
        out = io.StringIO()
        yaml.dump_all(documents, out)
        try:
            load_text(out.getvalue(), str(path))
        except ScenarioError as exc:
            problems.append(f"{_shown(file)}: not updated, the result would not load: {exc}")
            continue
        path.write_text(out.getvalue(), encoding="utf-8")
        changes.extend(line for _, line in sorted(lines, key=lambda pair: pair[0]))
    return changes, problems


def _grouped(edits: list[Edit]) -> list[tuple[tuple[str, int], list[Edit]]]:
    groups: dict[tuple[str, int], list[Edit]] = {}
    for edit in edits:
        groups.setdefault((edit.scenario, edit.step), []).append(edit)
    return list(groups.items())


def _shown(file: str) -> str:
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except ValueError:
        return file
