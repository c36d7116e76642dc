"""Loading scenario files: YAML with line marks, JSON Schema validation, then semantic checks.

Every problem becomes one ``ScenarioError`` naming the file and line, in one short paragraph:
the schema is applied step by step, so a typo in a step reports that step and a did-you-mean,
not a page of ``oneOf`` alternatives.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from jsonschema.exceptions import best_match
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from harness.errors import Location, MatcherSpecError, ScenarioError, first_line
from harness.model.script import Script, parse_script
from harness.spec.matchers import PLACEHOLDER, Matcher, compile_matcher, did_you_mean, plain, saved_references
from harness.spec.model import (
    CONTRACT_KINDS,
    ContractSettings,
    Expectation,
    FileExpectation,
    MessageExpectation,
    ModelExpectation,
    Scenario,
)
from harness.spec.sandbox import Sandbox
from harness.spec.schema_messages import kind_of, one_line
from harness.spec.steps import STEP_TYPES, Edit, Expect, Save, Send, Step

__all__ = ["MAX_DEPTH", "load_expectation", "load_file", "load_model_script", "load_text", "schema", "schema_path"]

SCHEMA_FILE = "scenario.schema.json"

log = logging.getLogger(__name__)

#: deepest nesting of mappings and lists a scenario file may have (a scenario needs a handful)
MAX_DEPTH = 50


def schema_path() -> str:
    """Where the scenario JSON Schema shipped with the package lies (for editors)."""
    return str(resources.files("harness.spec").joinpath(SCHEMA_FILE))


@cache
def schema() -> dict[str, Any]:
    """The scenario JSON Schema shipped with the package."""
    text = resources.files("harness.spec").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@cache
def _validator(pointer: str) -> jsonschema.protocols.Validator:
    """A validator for one part of the schema (``""`` = the whole file, else a ``$defs`` path)."""
    root = schema()
    target: dict[str, Any] = root
    if not pointer:
        # the top level alone: steps are checked one by one, for short messages
        steps = {**root["properties"]["steps"], "items": {}}
        target = {**root, "properties": {**root["properties"], "steps": steps}}
    else:
        for part in pointer.split("/"):
            target = target[part]
        target = {**target, "$defs": root["$defs"]}
    cls = jsonschema.validators.validator_for(root)
    return cls(target)


def _line_of(node: Any, path: Sequence[Any], fallback: int) -> int:
    """The 1-based line of the deepest node along ``path`` that carries a line mark."""
    line = fallback
    current = node
    for key in path:
        lc = getattr(current, "lc", None)
        try:
            if lc is not None:
                if isinstance(current, Mapping):
                    line = lc.key(key)[0] + 1
                else:
                    line = lc.item(key)[0] + 1
            current = current[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


class _FileLoader:
    def __init__(self, path: str, sandbox: Sandbox | None = None) -> None:
        self.path = path
        self.sandbox = sandbox
        #: what the matchers of the scenario being loaded ask of the judge endpoint
        self.services: set[str] = set()

    def at(self, line: int) -> Location:
        return Location(self.path, line)

    def fail(self, message: str, node: Any, path: Sequence[Any] = (), base_line: int = 1) -> ScenarioError:
        return ScenarioError(message, self.at(_line_of(node, path, base_line)))

    def validate(self, pointer: str, data: Any, node_line: int, what: str) -> None:
        errors = list(_validator(pointer).iter_errors(data))
        # a misspelt key also makes the key it stands for "missing": name the misspelling
        unknown = [e for e in errors if e.validator == "additionalProperties"]
        error = best_match(unknown or errors)
        if error is None:
            return
        path = list(error.absolute_path)
        where = what + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        message = one_line(error)
        raise self.fail(f"{where}: {message}", data, path, node_line)

    # -- documents -----------------------------------------------------------------------------

    def documents(self, text: str) -> list[Any]:
        yaml = YAML(typ="rt")
        try:
            return list(yaml.load_all(text))
        except RecursionError:
            raise ScenarioError(
                f"the file nests mappings and lists more than {MAX_DEPTH} levels deep", self.at(_too_deep_line(text))
            ) from None
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            problem = exc.problem or exc.context or "invalid YAML"
            raise ScenarioError(f"YAML does not parse: {problem}", self.at(line)) from None
        except YAMLError as exc:
            raise ScenarioError(f"YAML does not parse: {exc}", self.at(1)) from None

    def scenarios(self, text: str) -> list[Scenario]:
        documents = self.documents(text)
        result: list[Scenario] = []
        seen: dict[str, Location] = {}
        for document in documents:
            if document is None:
                continue
            self.check_data(document)
            scenario = self.scenario(document)
            if scenario.name in seen:
                raise ScenarioError(
                    f"duplicate scenario name {scenario.name!r} (first at line {seen[scenario.name].line})",
                    scenario.location,
                )
            seen[scenario.name] = scenario.location
            result.append(scenario)
        if not result:
            raise ScenarioError("the file holds no scenario (expected a mapping with name and steps)", self.at(1))
        return result

    def check_data(self, doc: Any) -> None:
        """Limits on the data itself, before anything walks it recursively: nesting depth, and text
        that can be sent (UTF-8 has no lone surrogates, which YAML's ``\\ud800`` escape makes)."""
        pending: list[tuple[Any, list[Any]]] = [(doc, [])]
        line = doc.lc.line + 1 if hasattr(doc, "lc") else 1
        seen: set[int] = set()  # a YAML alias shares one node between places (or makes a cycle)
        while pending:
            node, path = pending.pop()
            if isinstance(node, Mapping | list):
                if id(node) in seen:
                    continue
                seen.add(id(node))
            if len(path) > MAX_DEPTH:
                raise self.fail(f"the file nests mappings and lists more than {MAX_DEPTH} levels deep", doc, path, line)
            texts = [node] if isinstance(node, str) else []
            if isinstance(node, Mapping):
                texts.extend(k for k in node if isinstance(k, str))
                pending.extend((v, [*path, k]) for k, v in node.items())
            elif isinstance(node, list):
                pending.extend((v, [*path, i]) for i, v in enumerate(node))
            for text in texts:
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as exc:
                    bad = text[exc.start : exc.end]
                    raise self.fail(
                        f"the text {_clip(text)!r} holds {bad.encode('unicode_escape').decode()}, a lone surrogate "
                        "that is not a character and cannot be sent",
                        doc,
                        path,
                        line,
                    ) from None

    def scenario(self, doc: Any) -> Scenario:
        line = doc.lc.line + 1 if hasattr(doc, "lc") else 1
        self.services = set()
        if not isinstance(doc, Mapping):
            raise ScenarioError(f"a scenario is a mapping with name and steps, not {kind_of(doc)}", self.at(line))
        known = tuple(schema()["properties"])
        for key in doc:
            if key not in known:
                raise self.fail(
                    f"unknown key {key!r}{did_you_mean(str(key), known)}; a scenario has {', '.join(known)}",
                    doc,
                    [key],
                    line,
                )
        self.validate("", doc, line, "scenario")
        steps = tuple(self.step(node, number, doc["steps"]) for number, node in enumerate(doc["steps"], start=1))
        if doc.get("url") is not None and _has_password(str(doc["url"])):
            raise self.fail(
                "url holds a password; a scenario file is shared, so give the login with --chat-auth or "
                "CHAT_HARNESS_AUTH instead",
                doc,
                ["url"],
                line,
            )
        if doc.get("app") is not None and self.sandbox is not None:
            problem = self.sandbox.app_problem(str(doc["app"]))
            if problem:
                raise self.fail(f"app {str(doc['app'])!r} {problem}", doc, ["app"], line)
        requires = doc.get("requires") or {}
        gradio = requires.get("gradio")
        if gradio is not None:
            try:
                SpecifierSet(str(gradio))
            except InvalidSpecifier:
                raise self.fail(
                    f"requires.gradio must be a version specifier such as '>=6' or '<6', got {gradio!r}",
                    requires,
                    ["gradio"],
                    line,
                ) from None
        self.check_saved_names(doc, steps, line)
        repeat, min_pass = doc.get("repeat"), doc.get("min_pass")
        if min_pass is not None and min_pass > (repeat or 1):
            raise self.fail(
                f"min_pass is {min_pass}, but the scenario runs {repeat or 1} time(s) (repeat: {repeat or 1})",
                doc,
                ["min_pass"],
                line,
            )
        return Scenario(
            name=str(doc["name"]),
            steps=steps,
            location=self.at(line),
            description=str(doc.get("description") or ""),
            app=doc.get("app"),
            url=doc.get("url"),
            chatbot=doc.get("chatbot"),
            model=self.script(doc["model"], doc, ["model"], line, "model") if "model" in doc else None,
            requires_components=tuple(str(c) for c in requires.get("components", ())),
            requires_endpoints=tuple(str(e) for e in requires.get("endpoints", ())),
            requires_gradio=str(gradio) if gradio is not None else None,
            step_timeout=self.seconds(doc, ["timeout", "step"], line),
            scenario_timeout=self.seconds(doc, ["timeout", "scenario"], line),
            contracts=ContractSettings.parse(doc.get("contracts")),
            parity=doc.get("parity"),
            repeat=repeat,
            min_pass=min_pass,
            services=frozenset(self.services),
        )

    def check_saved_names(self, doc: Any, steps: Sequence[Step], line: int) -> None:
        """Every ``${NAME}`` in send text and every ``same_as`` / ``differs_from`` names a value an
        earlier ``save`` step keeps."""
        saved: list[str] = []
        for step in steps:
            used = [*(m.group(1) for m in PLACEHOLDER.finditer(step.text))] if isinstance(step, Send | Edit) else []
            used.extend(saved_references(step.source))
            for name in used:
                if name not in saved:
                    known = f"; saved so far: {', '.join(saved)}" if saved else "; no step before it saves a value"
                    raise self.fail(
                        f"{step.label}: no value is saved under {name!r} before it (keep one with '- save: {name}')"
                        f"{known}",
                        doc["steps"],
                        [step.number - 1],
                        line,
                    )
            if isinstance(step, Save):
                saved.append(step.name)

    def seconds(self, node: Any, path: Sequence[str], base_line: int) -> float | None:
        """The duration at ``path`` under ``node`` in seconds (None when absent); finite, more than 0."""
        value: Any = node
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return None
            value = value[key]
        try:
            return seconds(value)
        except ValueError as exc:
            raise self.fail(f"{'.'.join(path)}: {exc}", node, path, base_line) from None

    # -- steps ---------------------------------------------------------------------------------

    def step(self, node: Any, number: int, steps: Any) -> Step:
        line = _line_of(steps, [number - 1], 1)
        where = f"step {number}"
        if isinstance(node, str) and node in STEP_TYPES:
            raise ScenarioError(f"{where}: write {node!r} as a mapping, e.g. '- {node}: {{}}'", self.at(line))
        if not isinstance(node, Mapping) or not node:
            raise ScenarioError(
                f"{where}: a step is a mapping with one of {', '.join(STEP_TYPES)}, not {kind_of(node)}", self.at(line)
            )
        if len(node) != 1:
            raise ScenarioError(
                f"{where}: a step has exactly one key, got {', '.join(map(str, node))}; split it into separate steps",
                self.at(line),
            )
        ((kind, value),) = node.items()
        if kind not in STEP_TYPES:
            raise ScenarioError(
                f"{where}: unknown step {kind!r}{did_you_mean(str(kind), STEP_TYPES)}; steps are "
                f"{', '.join(STEP_TYPES)}",
                self.at(line),
            )
        where = f"step {number} ({kind})"
        self.validate(f"$defs/steps/{kind}", node, line, where)
        location = self.at(line)
        source = plain(value)
        if kind == Expect.kind:
            return Expect(
                number=number, location=location, source=source, expectation=self.expectation(value, line, where)
            )
        cls = STEP_TYPES[kind]
        extra: dict[str, Any] = {}
        if kind in CONTRACT_KINDS and isinstance(value, Mapping) and "contracts" in value:  # the step's switch
            extra["contracts"] = bool(value["contracts"])
            value = {k: v for k, v in value.items() if k != "contracts"}
        return cls(
            number=number,
            location=location,
            source=source,
            **extra,
            **cls.parse(value, _StepValues(self, value, line, where)),
        )

    def file(self, name: str, parent: Any, index: int, base_line: int, where: str) -> str:
        """A file a step attaches, relative to the scenario file; it must exist, inside the sandbox."""
        path = Path(name)
        if not path.is_absolute():
            path = Path(self.path).parent / path
        if not path.is_file():
            raise self.fail(f"{where}: no file {name!r} (looked for {path})", parent, [index], base_line)
        sandbox = self.sandbox or Sandbox.for_project(Path.cwd())
        problem = sandbox.file_problem(path, Path(self.path).parent)
        if problem:
            raise self.fail(f"{where}: the file {name!r} {problem}", parent, [index], base_line)
        return str(path.resolve())

    def matcher(self, spec: Any, parent: Any, path: Sequence[Any], base_line: int, where: str) -> Matcher:
        try:
            matcher = compile_matcher(spec)
        except MatcherSpecError as exc:
            raise self.fail(f"{where}: {exc}", parent, path, base_line) from None
        self.services |= matcher.services
        return matcher

    def script(self, spec: Any, parent: Any, path: Sequence[Any], base_line: int, where: str) -> Script:
        """A ``model:`` block: what the scripted model answers."""
        try:
            return parse_script(spec, lambda when: self.matcher(when, parent, path, base_line, f"{where} rule when"))
        except ValueError as exc:
            raise self.fail(f"{where}: {exc}", parent, path, base_line) from None

    def messages(self, spec: Any, base_line: int, where: str) -> tuple[Any, Any, Any]:
        """A ``history``-shaped value: (every message, the last messages, the length)."""
        if isinstance(spec, list):
            return tuple(self.message(m, spec, i, base_line, where) for i, m in enumerate(spec)), None, None
        if isinstance(spec, Mapping):
            last = None
            if "last" in spec:
                last = tuple(
                    self.message(m, spec["last"], i, base_line, f"{where}.last") for i, m in enumerate(spec["last"])
                )
            return None, last, spec.get("length")
        return None, None, None

    def model_expectation(self, value: Any, line: int, where: str) -> ModelExpectation:
        last = value.get("last") or {}
        messages, messages_last, length = self.messages(last.get("messages"), line, f"{where} model.last.messages")
        return ModelExpectation(
            calls=value.get("calls"),
            messages=messages,
            messages_last=messages_last,
            messages_length=length,
            fields={
                str(k): self.matcher(v, last, [k], line, f"{where} model.last.{k}")
                for k, v in last.items()
                if k != "messages"
            },
        )

    def message(self, node: Any, parent: Any, index: int, base_line: int, where: str) -> MessageExpectation:
        line = _line_of(parent, [index], base_line)
        here = f"{where} message {index}"
        files = None
        if "files" in node:
            files = tuple(
                FileExpectation(
                    name=self.matcher(f["name"], f, ["name"], line, f"{here} file {i}") if "name" in f else None,
                    mime_type=self.matcher(f["mime_type"], f, ["mime_type"], line, f"{here} file {i}")
                    if "mime_type" in f
                    else None,
                )
                for i, f in enumerate(node["files"])
            )
        options = None
        if "options" in node:
            options = tuple(
                self.matcher(o, node["options"], [i], line, f"{here} option {i}") for i, o in enumerate(node["options"])
            )
        metadata = None
        if "metadata" in node:
            metadata = {
                str(k): self.matcher(v, node["metadata"], [k], line, f"{here} metadata")
                for k, v in node["metadata"].items()
            }
        return MessageExpectation(
            role=self.matcher(node["role"], node, ["role"], line, here) if "role" in node else None,
            content=self.matcher(node["content"], node, ["content"], line, here) if "content" in node else None,
            files=files,
            metadata=metadata,
            options=options,
            location=self.at(line),
        )

    def expectation(self, value: Any, line: int, where: str) -> Expectation:
        history, history_last, history_length = self.messages(value.get("history"), line, f"{where} history")
        components = {
            str(name): self.matcher(spec, value["components"], [name], line, f"{where} component {name!r}")
            for name, spec in (value.get("components") or {}).items()
        }
        stream = value.get("stream") or {}
        return Expectation(
            history=history,
            history_length=history_length,
            history_last=history_last,
            components=components,
            input=self.matcher(value["input"], value, ["input"], line, where) if "input" in value else None,
            stream_min_updates=stream.get("min_updates"),
            stream_growing=bool(stream.get("growing", False)),
            stream_final=self.matcher(stream["final"], stream, ["final"], line, f"{where} stream.final")
            if "final" in stream
            else None,
            stream_first_update_within=self.seconds(value, ["stream", "first_update_within"], line),
            stream_within=self.seconds(value, ["stream", "within"], line),
            error=self.matcher(value["error"], value, ["error"], line, f"{where} error") if "error" in value else None,
            validation=self.matcher(value["validation"], value, ["validation"], line, f"{where} validation")
            if "validation" in value
            else None,
            model=self.model_expectation(value["model"], line, where) if "model" in value else None,
        )


class _StepValues:
    """What a step's ``parse`` asks of the loader, with the step's place for error messages."""

    def __init__(self, loader: _FileLoader, value: Any, line: int, where: str) -> None:
        self.loader, self.value, self.line, self.where = loader, value, line, where

    def file(self, name: str, index: int) -> str:
        return self.loader.file(name, self.value["files"], index, self.line, self.where)

    def matcher(self, spec: Any, key: str) -> Matcher:
        return self.loader.matcher(spec, self.value, [key], self.line, self.where)

    def script(self, spec: Any) -> Script:
        return self.loader.script(spec, {"model": spec}, ["model"], self.line, self.where)


def seconds(value: Any) -> float:
    """A schema-checked duration (a number of seconds, or text like 5s / 500ms) in seconds.

    Raises ``ValueError`` for a duration that is not a finite number more than 0 (YAML's ``.inf``
    and ``.nan`` are numbers to the schema)."""
    if isinstance(value, int | float):
        result = float(value)
    else:
        text = str(value).strip()
        if text.endswith("ms"):
            result = float(text[:-2]) / 1000
        elif text.endswith("m"):
            result = float(text[:-1]) * 60
        else:
            result = float(text.rstrip("s").strip())
    if not math.isfinite(result) or result <= 0:
        raise ValueError(f"a duration is a finite number of seconds more than 0, got {value!r}")
    return result


def _has_password(url: str) -> bool:
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _too_deep_line(text: str) -> int:
    """The line where ``text`` first nests deeper than ``MAX_DEPTH`` (1 if it cannot tell): the YAML
    events are read one by one, which needs no recursion, and only up to that point."""
    depth = 0
    try:
        for event in YAML(typ="rt").parse(text):
            name = type(event).__name__
            if name in ("MappingStartEvent", "SequenceStartEvent"):
                depth += 1
                if depth > MAX_DEPTH:
                    return int(event.start_mark.line) + 1
            elif name in ("MappingEndEvent", "SequenceEndEvent"):
                depth -= 1
    except (YAMLError, RecursionError):
        pass
    return 1


def load_expectation(value: Any, location: Location, where: str) -> Expectation:
    """An ``expect`` step's value (plain data) as an ``Expectation``; raises ``ScenarioError``."""
    loader = _FileLoader(location.path)
    loader.validate("$defs/steps/expect", {"expect": value}, location.line, where)
    return loader.expectation(value, location.line, where)


def load_model_script(path: str | Path) -> Script:
    """A YAML file holding what a scenario's ``model:`` block holds (for ``chat-harness model serve``);
    raises ``ScenarioError`` naming file:line, ``OSError`` when it cannot be read."""
    name = str(path)
    loader = _FileLoader(name)
    documents = [d for d in loader.documents(Path(path).read_text(encoding="utf-8")) if d is not None]
    if len(documents) != 1:
        raise ScenarioError("a model script file holds one model: block (replies, rules, ...)", Location(name, 1))
    (document,) = documents
    loader.check_data(document)
    loader.validate("$defs/model_script", document, 1, "model")
    return loader.script(document, document, [], 1, "model")


def load_text(text: str, path: str = "<string>", sandbox: Sandbox | None = None) -> list[Scenario]:
    """Load the scenarios of a YAML text; ``path`` is used in error messages and to find the files
    steps attach; ``sandbox`` says what the file may reach (default: files under the working
    directory or the file's folder; any ``app:``).

    Whatever goes wrong, the only exception is one ``ScenarioError`` naming file:line."""
    try:
        return _FileLoader(path, sandbox).scenarios(text)
    except ScenarioError:
        raise
    except Exception as exc:  # a bug of the loader or a library it uses: still one line, no traceback
        log.debug("loading %s failed", path, exc_info=True)
        raise ScenarioError(
            f"cannot load the file ({type(exc).__name__}: {first_line(exc)})", Location(path, 1)
        ) from None


def load_file(path: str | Path, sandbox: Sandbox | None = None) -> list[Scenario]:
    """Load every scenario in a YAML file, or raise one ``ScenarioError`` naming file:line."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", Location(name, 1)) from None
    return load_text(text, name, sandbox)


def iter_files(paths: Sequence[str | Path]) -> Iterator[Path]:
    """Every scenario file under ``paths`` (``*.yaml``/``*.yml``), for the CLI."""
    for entry in paths:
        p = Path(entry)
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml"))
        else:
            yield p
