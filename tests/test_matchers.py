from __future__ import annotations

import re

import pytest

from harness.errors import MatcherSpecError
from harness.spec.matchers import compile_matcher


@pytest.mark.parametrize(
    ("spec", "actual", "ok"),
    [
        ("hello", "hello", True),
        ("hello", "hello ", False),
        ({"contains": "ell"}, "hello", True),
        ({"contains": "xyz"}, "hello", False),
        ({"regex": "^#\\d+ echo"}, "#12 echo: hi", True),
        ({"regex": "^echo"}, "#1 echo", False),
        ({"startswith": "#1"}, "#1 echo", True),
        ({"endswith": "hi"}, "#1 echo: hi", True),
        ({"endswith": "hi"}, "#1 echo: ho", False),
        ({"not": {"contains": "x"}}, "abc", True),
        ({"not": "abc"}, "abc", False),
        ({"any_of": ["", None]}, None, True),
        ({"any_of": ["", None]}, "x", False),
        ({"length": 2}, [1, 2], True),
        ({"length": 2}, "abc", False),
        ({"any": True}, object(), True),
        ({"equals": {"a": 1}}, {"a": 1}, True),
        (3, 3, True),
        (None, "", False),
        ({"contains": "x"}, None, False),
    ],
)
def test_matchers(spec: object, actual: object, ok: bool) -> None:
    matcher = compile_matcher(spec)
    assert matcher.matches(actual) is ok
    assert (matcher.mismatch(actual) is None) is ok


def test_mismatch_says_what_and_got() -> None:
    why = compile_matcher({"contains": "echo: hello"}).mismatch("#1 echo: hi")
    assert why == "expected text that contains 'echo: hello', got '#1 echo: hi'"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"contain": "x"}, "unknown matcher 'contain' (did you mean 'contains'?)"),
        ({"regex": "("}, "invalid regular expression '('"),
        ({"a": 1, "b": 2}, "use {equals: ...}"),
        ({"any_of": []}, "non-empty list"),
        ({"length": -1}, "whole number"),
        ({"contains": 3}, "contains must be a string"),
    ],
)
def test_bad_specs(spec: object, message: str) -> None:
    with pytest.raises(MatcherSpecError, match=re.escape(message)):
        compile_matcher(spec)
