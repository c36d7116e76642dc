"""What pytest reported of each item of the harness, the latency tables of the sessions items, and
the pass rates of repeated scenarios.

Registered as a plugin object, it sees every report: in the main process those of every xdist
worker too. Each report is counted as pytest's terminal summary counts it (the category
``pytest_report_teststatus`` gives), so the HTML report rendered from it never disagrees with
pytest.
"""

from __future__ import annotations

import pytest

from harness.output.html_report import ItemOutcome
from harness.output.secrets import redact
from harness.pytest_plugin.items import ITEM_MARK
from harness.pytest_plugin.settings import settings

__all__ = ["RunTally"]


class RunTally:
    """Outcomes per item (node id) of the harness's items, and ``--chat-sessions`` latency tables."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.items: dict[str, ItemOutcome] = {}
        self.latency: list[tuple[str, str]] = []  # (node id, JSON table) of each sessions item
        self.repeats: list[tuple[str, str, str]] = []  # (node id, rate, per-step rates) of each repeated item

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if ITEM_MARK not in report.keywords:
            return
        self._count(report, report.nodeid, report.location[0], (report.location[1] or 0) + 1)
        if report.when == "call":
            self.latency.extend(
                (report.nodeid, str(value)) for name, value in report.user_properties if name == "chat_latency"
            )
            properties = dict(report.user_properties)
            if "chat_repeat" in properties:
                self.repeats.append(
                    (report.nodeid, str(properties["chat_repeat"]), str(properties.get("chat_repeat_steps", "")))
                )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A scenario file that failed to collect (it should become an invalid-file item instead)."""
        if report.failed and report.nodeid.endswith((".yaml", ".yml")):
            self._count(report, report.nodeid, report.nodeid, 1)

    def _count(self, report: pytest.TestReport | pytest.CollectReport, nodeid: str, file: str, line: int) -> None:
        if not getattr(report, "count_towards_summary", True):
            return
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if isinstance(report, pytest.CollectReport):
            category = "error"
        if not category:  # a setup or teardown that passed: pytest counts nothing
            return
        told = self.items.setdefault(nodeid, ItemOutcome(nodeid, file, line))
        told.categories.append(category)
        if report.failed:
            told.failures.append(redact(report.longreprtext, settings(self.config).secrets()))
