"""Matchers: pure functions from (expected spec, actual value) to a mismatch description.

A matcher spec in YAML is either a plain value (exact match) or a one-key mapping naming the
matcher. ``compile_matcher`` turns the spec into a ``Matcher``; ``Matcher.mismatch(actual)``
returns ``None`` when it matches and a short description otherwise. Nothing here raises on a
mismatch: only the runner does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from harness.errors import MatcherSpecError

__all__ = [
    "JUDGE",
    "MATCHER_NAMES",
    "PLACEHOLDER",
    "SAVED",
    "SCORES",
    "Matcher",
    "compile_matcher",
    "did_you_mean",
    "is_exact",
    "jsonable",
    "plain",
    "saved_references",
    "substitute",
]

#: the values the ``save`` steps of the run going on (in this thread) kept, by name; the runner sets it
SAVED: ContextVar[Mapping[str, Any]] = ContextVar("saved_values", default=MappingProxyType({}))

#: ``${NAME}`` in send text: a saved value (``$${`` writes a literal ``${``)
PLACEHOLDER = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Grade(Protocol):
    @property
    def score(self) -> float: ...

    @property
    def reason(self) -> str: ...


class Judge(Protocol):
    """What the ``similar`` and ``judge`` matchers ask (``harness.judging.Judge``)."""

    def similarity(self, text: str, to: str) -> float: ...

    def grade(self, reply: str, rubric: str) -> Grade: ...


#: the judge endpoint the run's ``similar`` / ``judge`` matchers ask (the plugin sets it)
JUDGE: ContextVar[Judge | None] = ContextVar("judge", default=None)

#: where the ``similar`` / ``judge`` matchers of the step being checked note their scores (the runner sets it)
SCORES: ContextVar[list[dict[str, Any]] | None] = ContextVar("scores", default=None)

#: the matchers that compare with a saved value
_SAVED_MATCHERS = ("same_as", "differs_from")


@dataclass(frozen=True)
class Matcher:
    """A compiled check on one value. ``describe`` is how the expectation reads in a diff."""

    describe: str
    test: Callable[[Any], str | None]
    #: it asks for one exact value (parity then compares the two runs' values for equality)
    exact: bool = False
    #: what it asks of the judge endpoint: "embeddings" (similar), "grading" (judge)
    services: frozenset[str] = frozenset()

    def mismatch(self, actual: Any) -> str | None:
        return self.test(actual)

    def matches(self, actual: Any) -> bool:
        return self.test(actual) is None


def _show(value: Any) -> str:
    return repr(value)


def _equals(expected: Any) -> Matcher:
    def test(actual: Any) -> str | None:
        if actual == expected:
            return None
        return f"expected {_show(expected)}, got {_show(actual)}"

    return Matcher(_show(expected), test, exact=True)


def _saved(name: Any, same: bool) -> Matcher:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise MatcherSpecError(f"{'same_as' if same else 'differs_from'} takes the name a save step used, got {name!r}")
    key = "same_as" if same else "differs_from"

    def test(actual: Any) -> str | None:
        values = SAVED.get()
        if name not in values:
            return f"no value was saved under {name!r} in this run"
        kept = values[name]
        if (actual == kept) == same:
            return None
        if same:
            return f"expected the value saved as {name!r} ({_show(kept)}), got {_show(actual)}"
        return f"expected something other than the value saved as {name!r}, got that same value {_show(actual)}"

    return Matcher(f"{{{key}: {name}}}", test)


def _scored_spec(name: str, spec: Any, text_key: str, default_min: float) -> tuple[str, float]:
    if not isinstance(spec, Mapping) or text_key not in spec or set(spec) - {text_key, "min"}:
        raise MatcherSpecError(f"{name} takes {{{text_key}: TEXT, min: NUMBER from 0 to 1}}, got {_show(plain(spec))}")
    text, least = spec[text_key], spec.get("min", default_min)
    if not isinstance(text, str) or not text.strip():
        raise MatcherSpecError(f"{name}.{text_key} must be a non-empty text")
    if isinstance(least, bool) or not isinstance(least, int | float) or not 0 <= least <= 1:
        raise MatcherSpecError(f"{name}.min must be a number from 0 to 1, got {_show(least)}")
    return text, float(least)


def _judge() -> Judge:
    judge = JUDGE.get()
    if judge is None:
        raise MatcherSpecError("no judge endpoint is configured for similar / judge (give --chat-judge-url)")
    return judge


def _note(entry: dict[str, Any]) -> None:
    noted = SCORES.get()
    if noted is not None:
        noted.append(entry)


def _similar(spec: Any) -> Matcher:
    to, least = _scored_spec("similar", spec, "to", 0.8)

    def test(actual: Any) -> str | None:
        if not isinstance(actual, str):
            return f"expected text similar to {to!r}, got {_show(actual)}"
        score = _judge().similarity(actual, to)
        _note({"matcher": "similar", "to": to, "score": round(score, 4), "min": least, "passed": score >= least})
        if score >= least:
            return None
        return f"similarity {score:.2f} to {to!r} is below the minimum {least:g}, for {_show(actual)}"

    return Matcher(f"{{similar: {{to: {to!r}, min: {least:g}}}}}", test, services=frozenset({"embeddings"}))


def _graded(spec: Any) -> Matcher:
    rubric, least = _scored_spec("judge", spec, "rubric", 0.7)

    def test(actual: Any) -> str | None:
        if not isinstance(actual, str):
            return f"expected a reply to grade against {rubric!r}, got {_show(actual)}"
        verdict = _judge().grade(actual, rubric)
        passed = verdict.score >= least
        _note(
            {
                "matcher": "judge",
                "rubric": rubric,
                "score": round(verdict.score, 4),
                "min": least,
                "reason": verdict.reason,
                "passed": passed,
            }
        )
        if passed:
            return None
        return (
            f"the judge scored {verdict.score:.2f} against the rubric {rubric!r} (minimum {least:g}): "
            f"{verdict.reason} (reply: {_show(actual)})"
        )

    return Matcher(f"{{judge: {{rubric: {rubric!r}, min: {least:g}}}}}", test, services=frozenset({"grading"}))


def _text_matcher(name: str, expected: Any, check: Callable[[str], bool], verb: str) -> Matcher:
    def test(actual: Any) -> str | None:
        if not isinstance(actual, str):
            return f"expected text that {verb} {_show(expected)}, got {_show(actual)}"
        return None if check(actual) else f"expected text that {verb} {_show(expected)}, got {_show(actual)}"

    return Matcher(f"{{{name}: {_show(expected)}}}", test)


def _regex(pattern: Any) -> Matcher:
    if not isinstance(pattern, str):
        raise MatcherSpecError(f"regex must be a string, not {type(pattern).__name__}")
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:  # OverflowError: a{99999999999}
        shown = pattern if len(pattern) <= 80 else pattern[:80] + "..."
        raise MatcherSpecError(f"invalid regular expression {shown!r}: {exc}") from None
    return _text_matcher("regex", pattern, lambda s: compiled.search(s) is not None, "matches")


def _not(spec: Any) -> Matcher:
    inner = compile_matcher(spec)

    def test(actual: Any) -> str | None:
        return f"expected anything but {inner.describe}, got {_show(actual)}" if inner.matches(actual) else None

    return Matcher(f"{{not: {inner.describe}}}", test, services=inner.services)


def _any_of(specs: Any) -> Matcher:
    if not isinstance(specs, list) or not specs:
        raise MatcherSpecError("any_of takes a non-empty list of matchers")
    inner = [compile_matcher(s) for s in specs]

    def test(actual: Any) -> str | None:
        if any(m.matches(actual) for m in inner):
            return None
        return f"expected one of {', '.join(m.describe for m in inner)}, got {_show(actual)}"

    return Matcher(
        f"{{any_of: [{', '.join(m.describe for m in inner)}]}}",
        test,
        services=frozenset().union(*(m.services for m in inner)),
    )


def _length(expected: Any) -> Matcher:
    if not isinstance(expected, int) or isinstance(expected, bool) or expected < 0:
        raise MatcherSpecError("length takes a whole number")

    def test(actual: Any) -> str | None:
        try:
            size = len(actual)
        except TypeError:
            return f"expected something of length {expected}, got {_show(actual)}"
        return None if size == expected else f"expected length {expected}, got length {size}: {_show(actual)}"

    return Matcher(f"{{length: {expected}}}", test)


def _string_arg(name: str, build: Callable[[str], Matcher]) -> Callable[[Any], Matcher]:
    def make(value: Any) -> Matcher:
        if not isinstance(value, str):
            raise MatcherSpecError(f"{name} must be a string, not {type(value).__name__}")
        return build(value)

    return make


_BUILDERS: dict[str, Callable[[Any], Matcher]] = {
    "equals": _equals,
    "contains": _string_arg("contains", lambda s: _text_matcher("contains", s, lambda a: s in a, "contains")),
    "regex": _regex,
    "startswith": _string_arg(
        "startswith", lambda s: _text_matcher("startswith", s, lambda a: a.startswith(s), "starts with")
    ),
    "endswith": _string_arg("endswith", lambda s: _text_matcher("endswith", s, lambda a: a.endswith(s), "ends with")),
    "not": _not,
    "any_of": _any_of,
    "length": _length,
    "any": lambda _value: Matcher("{any: true}", lambda _actual: None),
    "same_as": lambda name: _saved(name, True),
    "differs_from": lambda name: _saved(name, False),
    "similar": _similar,
    "judge": _graded,
}

MATCHER_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def compile_matcher(spec: Any) -> Matcher:
    """Compile a YAML matcher spec.

    A plain value (text, number, boolean, null, list) is matched exactly. A mapping must name
    exactly one matcher (``{contains: ...}``); to compare a mapping exactly, wrap it in ``equals``.
    """
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            raise MatcherSpecError(
                f"a matcher is a mapping with one key ({', '.join(MATCHER_NAMES)}), got keys "
                f"{', '.join(map(str, spec))}; to compare a mapping exactly, use {{equals: ...}}"
            )
        ((name, value),) = spec.items()
        if name not in _BUILDERS:
            raise MatcherSpecError(f"unknown matcher {name!r}{did_you_mean(str(name), MATCHER_NAMES)}")
        return _BUILDERS[name](value)
    return _equals(plain(spec))


def is_exact(spec: Any) -> bool:
    """Whether ``spec`` asks for one exact value (a plain value or ``{equals: ...}``), not a fuzzy match."""
    return not isinstance(spec, Mapping) or list(spec) == ["equals"]


def substitute(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with each ``${NAME}`` replaced by the saved value (its text), ``$${`` by ``${``."""

    def value(match: re.Match[str]) -> str:
        kept = values[match.group(1)]
        return kept if isinstance(kept, str) else jsonable_text(kept)

    return PLACEHOLDER.sub(value, text).replace("$${", "${")


def jsonable_text(value: Any) -> str:
    import json

    return json.dumps(jsonable(value), ensure_ascii=False)


def saved_references(source: Any) -> Iterator[str]:
    """The names ``same_as`` / ``differs_from`` matchers in a step's value (plain data) refer to."""
    pending = [source]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _SAVED_MATCHERS and isinstance(value, str):
                    yield value
                else:
                    pending.append(value)
        elif isinstance(node, list):
            pending.extend(node)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (for YAML and transcripts): tuples become lists, anything unknown its text."""
    import json

    return json.loads(json.dumps(plain(value), default=str))


def plain(value: Any) -> Any:
    """ruamel's commented containers compare fine, but print noisily: turn them into plain ones."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
