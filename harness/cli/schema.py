"""``chat-harness schema``: print the path of the scenario JSON Schema (for editors)."""

from __future__ import annotations

from harness.spec.loader import schema_path

__all__ = ["schema"]


def schema() -> int:
    print(schema_path())
    return 0
