"""The scenario reference in the README names every step, expectation key and matcher of the schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.loader import schema

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _keys() -> list[str]:
    defs = schema()["$defs"]
    steps = list(defs["steps"])
    expect = list(defs["steps"]["expect"]["properties"]["expect"]["properties"])
    stream = list(defs["steps"]["expect"]["properties"]["expect"]["properties"]["stream"]["properties"])
    message = list(defs["message"]["properties"])
    matchers = list(defs["matcher"]["oneOf"][1]["properties"])
    return [*steps, *expect, *stream, *message, *matchers]


@pytest.mark.parametrize("key", _keys())
def test_the_reference_shows_every_key_with_an_example(key: str) -> None:
    assert f"`{key}" in README or f"{key}:" in README, f"README's scenario reference does not mention {key!r}"
    assert f"{key}:" in README, f"README has no example using {key}:"
