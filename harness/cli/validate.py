"""``chat-harness validate PATH...``: check scenario files without running them.

Prints ``file:line: message`` per invalid file, goes on to the next, and ends with a summary;
exit code 0 when all are valid, 1 otherwise. The project's ini (as pytest finds it) says what
a scenario file may reach.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ScenarioError
from harness.spec.loader import iter_files, load_file
from harness.spec.sandbox import discover

__all__ = ["validate"]


def validate(paths: Sequence[str]) -> int:
    files = list(iter_files(paths))
    if not files:
        print("no scenario files found in " + ", ".join(paths), file=sys.stderr)
        return 1
    sandbox = discover(Path.cwd())
    failed = 0
    count = 0
    for path in files:
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            failed += 1
            continue
        try:
            count += len(load_file(path, sandbox))
        except ScenarioError as exc:
            print(str(exc))
            failed += 1
        except Exception as exc:  # load_file turns every problem into a ScenarioError; this is the last net
            print(f"{path}:1: cannot load the file ({type(exc).__name__}: {exc})")
            failed += 1
    print(f"{len(files) - failed} valid, {failed} invalid file(s); {count} scenario(s)")
    return 1 if failed else 0
