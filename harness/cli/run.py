"""``chat-harness run [PYTEST ARGS...]``: run scenarios with pytest (the plugin is always loaded);
with no paths it runs the ``scenarios/`` folder if there is one. Also: how a TARGET argument of
the other commands becomes pytest's options."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.target.credentials import split_login

__all__ = ["is_space", "run", "shown_target", "target_options"]


def run(args: Sequence[str]) -> int:
    import pytest

    # the console script has imported the harness before pytest loads it as a plugin: nothing to rewrite there
    argv = [
        "-W",
        "ignore:Module already imported so cannot be rewritten; harness:pytest.PytestAssertRewriteWarning",
        *args,
    ]
    if not any(not a.startswith("-") and Path(a).exists() for a in argv) and Path("scenarios").is_dir():
        argv.append("scenarios")
    return int(pytest.main(argv))


def is_space(target: str) -> bool:
    return "/" in target and "://" not in target and ":" not in target


def shown_target(target: str) -> str:
    """``target`` as it may be printed or written into a file: a URL without any login in it."""
    return split_login(target)[0] if "://" in target else target


def target_options(target: str) -> list[str]:
    """The pytest options that point a run at ``target`` (module:attr, URL or Space id)."""
    if "://" in target:
        return ["--chat-url", target]
    if is_space(target):
        return ["--chat-space", target]
    return ["--chat-app", target]
