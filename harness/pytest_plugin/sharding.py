"""pytest-split (``--splits N --group I``) keeps each scenario whole: a scenario's driver items and
its parity item land in one shard, because the parity item compares runs made in its own process.

pytest-split deselects last (it is ``trylast``), so its batch is the last ``pytest_deselected``
call during collection; only the items it cut off follow their scenario back (items ``-k`` or
``-m`` left out stay out).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

import pytest

from harness.pytest_plugin.items import ParityItem

__all__ = ["ShardKeeper", "keep_scenarios_whole"]


class ShardKeeper:
    """Watches what is deselected during collection and mends what pytest-split cut."""

    def __init__(self) -> None:
        self.batches: list[list[pytest.Item]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, Any, Any]:
        self.batches = []
        result = yield
        if getattr(config.option, "splits", None) and self.batches:
            keep_scenarios_whole(config, items, self.batches[-1])
        return result

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self.batches.append(list(items))


def keep_scenarios_whole(config: pytest.Config, items: list[pytest.Item], split_off: list[pytest.Item]) -> None:
    """Keep a scenario's driver items and its parity item in one shard. A scenario goes to the
    shard its first driver item went to; the rest of it follows (or leaves)."""
    selected, split = set(items), set(split_off)
    dropped: list[pytest.Item] = []
    for parity in [i for i in [*items, *split_off] if isinstance(i, ParityItem)]:
        group: list[pytest.Item] = [*parity.runs, parity]
        cut = [i for i in group if i in split]
        kept = [i for i in group if i in selected]
        if not cut or not kept:  # whole, or left out by something else (-k, -m)
            continue
        if next(i for i in group if i in selected or i in split) in selected:
            at = max(items.index(i) for i in kept) + 1
            items[at:at] = cut
            selected.update(cut)
        else:
            dropped.extend(kept)
    if dropped:
        gone = set(dropped)
        items[:] = [i for i in items if i not in gone]
        config.hook.pytest_deselected(items=dropped)
