"""pytest-xdist: what the main process hands each worker, and what a worker hands back.

* To each worker: the outcome of waiting for the remote target (so workers do not wait again).
* From each worker: the expectations it recorded with ``--update-expectations``, written once by
  the main process when the session ends.
"""

from __future__ import annotations

from typing import Any

from harness.output.update import Edit
from harness.pytest_plugin.items import updates_key
from harness.pytest_plugin.targets import targets_key

__all__ = ["XdistHandOver"]


class XdistHandOver:
    """Registered in the main process when pytest-xdist is loaded."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        node.workerinput["chat_targets"] = node.config.stash[targets_key].outcomes()

    @staticmethod
    def pytest_testnodedown(node: Any, error: Any) -> None:
        """A worker's recorded expectations join the main process's, written at session end."""
        edits = getattr(node, "workeroutput", {}).get("chat_updates", [])
        node.config.stash[updates_key].extend(Edit.from_data(e) for e in edits)
