"""JSON Schema errors as one short line each: what is wrong with the value, in the author's words
(a did-you-mean for a misspelt key, the expected type, the alternative that fits) instead of a page
of ``oneOf`` alternatives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from harness.spec.matchers import did_you_mean

__all__ = ["kind_of", "one_line"]


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, Mapping):
        return "an empty mapping" if not value else "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"a {type(value).__name__}"


def one_line(error: jsonschema.ValidationError) -> str:
    """One line for a schema error, without dumping the whole offending value."""
    validator = error.validator
    instance = error.instance
    if validator == "additionalProperties" and isinstance(instance, Mapping):
        allowed = tuple(error.schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        if extra:
            return f"unknown key {extra[0]!r}{did_you_mean(str(extra[0]), allowed)}; allowed: {', '.join(allowed)}"
    if validator == "required":
        return str(error.message).replace("is a required property", "is required")
    if validator == "type":
        return f"expected {' or '.join(_as_list(error.validator_value))}, got {kind_of(instance)}"
    if validator in ("oneOf", "anyOf") and error.context:
        # the alternative whose type fits the value explains the problem best
        by_branch: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
        fitting = [
            errs for errs in by_branch.values() if not any(e.validator == "type" and not e.relative_path for e in errs)
        ]
        if fitting:
            return one_line(best_match(fitting[0]) or fitting[0][0])
        types = sorted({t for sub in error.context if sub.validator == "type" for t in _as_list(sub.validator_value)})
        if types:
            return f"expected {' or '.join(types)}, got {kind_of(instance)}"
        return one_line(best_match(error.context) or error.context[0])
    if validator == "pattern" and "(ms|s|m)" in str(error.validator_value):
        return f"expected a duration such as 5s, 500ms or 2m (or a number of seconds), got {kind_of(instance)}"
    if validator == "pattern" and error.validator_value == "^/":
        return f"an endpoint's name starts with /, e.g. /chat; got {kind_of(instance)}"
    if validator in ("minimum", "exclusiveMinimum"):
        more = "at least" if validator == "minimum" else "more than"
        return f"must be {more} {error.validator_value}, got {kind_of(instance)}"
    if validator == "minItems" and error.validator_value == 1:
        return "must not be empty"
    if validator == "maxProperties" and error.validator_value == 1:
        return (
            "a matcher takes exactly one key (equals, contains, regex, ...); "
            "to compare a mapping exactly, use {equals: ...}"
        )
    if validator in ("minProperties", "maxProperties"):
        return "must not be empty" if validator == "minProperties" else "takes no arguments; write {}"
    message = str(error.message)
    return message if len(message) < 200 else message[:200] + "..."


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]
