"""The run's HTML report (``--chat-report DIR``): ``DIR/report.html``, rendered with Jinja2.

The main process renders it when the session ends, from the outcomes pytest itself reported for
each item (``ItemOutcome``, gathered by the plugin's tally) and the transcripts in the folder:
the report's totals are pytest's totals, an item whose transcript is missing still appears with
pytest's outcome and failure text, and an error in a fixture's teardown shows as the error pytest
counts.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.output.transcript import summary_record

__all__ = ["ItemOutcome", "render_report"]

#: pytest's categories of a report, worst first: how a run with several reports shows
SEVERITY = ("error", "failed", "xpassed", "rerun", "passed", "xfailed", "skipped")


def _diff_lines(text: str) -> list[tuple[str, str]]:
    """The failure text as (css class, line): expected lines, actual lines, the rest."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        kind = "exp" if stripped.startswith("- ") else "act" if stripped.startswith("+ ") else ""
        lines.append((kind, line))
    return lines


def _summary(step: Mapping[str, Any]) -> str:
    source = step.get("source")
    if step["kind"] == "expect":
        return ", ".join(source) if isinstance(source, Mapping) else ""
    if source in (None, {}):
        return ""
    return json.dumps(source, ensure_ascii=False)[:200]


@dataclass
class ItemOutcome:
    """What pytest reported of one item: the category of each of its reports, as pytest's terminal
    summary counts them (``passed``, ``failed``, ``error`` for a setup or teardown, ``skipped``,
    ``rerun``...), and the failure text of each failed report."""

    nodeid: str
    file: str
    line: int
    categories: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """The worst of the item's categories: how it shows in the report."""
        for category in SEVERITY:
            if category in self.categories:
                return category
        return self.categories[0] if self.categories else "skipped"


def _from_nodeid(nodeid: str) -> tuple[str, str]:
    """The scenario name and the driver (the bracketed suffix) of a node id ``file::name[driver]``."""
    name = nodeid.partition("::")[2] or nodeid
    if name.endswith("]") and "[" in name:
        head, _, driver = name[:-1].rpartition("[")
        return head, driver
    return name, ""


def _read_transcripts(folder: Path) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted((folder / "transcripts").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and "file" in data and "scenario" in data:
            runs[str(data.get("nodeid") or path.stem)] = data
    return runs


def _reconcile(runs: dict[str, dict[str, Any]], outcomes: Mapping[str, ItemOutcome]) -> list[dict[str, Any]]:
    """The runs pytest reported, each with pytest's outcome; a run without a transcript gets a
    record made from pytest's report, and errors outside the test (a fixture's teardown) are added."""
    shown = []
    for nodeid, told in outcomes.items():
        run = runs.get(nodeid)
        if run is None:
            name, driver = _from_nodeid(nodeid)
            failure = "\n\n".join(told.failures) or None
            run = summary_record(nodeid, name, told.file, told.line, driver or "item", told.outcome, failure=failure)
            run["note"] = "this item wrote no transcript; what pytest reported of it is shown"
        run = {**run, "outcome": told.outcome}
        errors = [text for text in told.failures if text and text not in (run.get("failure") or "")]
        if errors:
            run["errors"] = errors
        shown.append(run)
    return shown


def render_report(
    folder: Path, outcomes: Mapping[str, ItemOutcome] | None = None, title: str = "chat-harness report"
) -> Path:
    """Render ``folder/report.html`` from the transcripts in ``folder/transcripts``.

    With ``outcomes`` (what pytest reported of each item of the harness, by node id) the report
    shows exactly those items with pytest's outcomes, and its totals are pytest's; without, it
    shows every transcript with the outcome it recorded.
    """
    import datetime

    import jinja2

    by_id = _read_transcripts(folder)
    if outcomes is None:
        runs = list(by_id.values())
        totals: Counter[str] = Counter(r["outcome"] for r in runs)
    else:
        runs = _reconcile(by_id, outcomes)
        totals = Counter(c for told in outcomes.values() for c in told.categories)
    scenarios: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        key = (run["file"], run["scenario"])
        entry = scenarios.setdefault(
            key,
            {
                "name": run["scenario"],
                "file": run["file"],
                "line": run["line"],
                "description": run.get("description", ""),
                "runs": [],
            },
        )
        entry["runs"].append(run)
    order = {"api": 0, "browser": 1, "parity": 9}
    for entry in scenarios.values():
        entry["runs"].sort(key=lambda r: (order.get(r["driver"], 5), r["driver"]))
        seen = {r["outcome"] for r in entry["runs"]}
        entry["outcome"] = (
            "failed" if seen & {"failed", "error", "xpassed"} else "passed" if "passed" in seen else "skipped"
        )
        entry["id"] = "s-" + hashlib.sha1(f"{entry['file']}::{entry['name']}".encode()).hexdigest()[:12]
    listed = sorted(scenarios.values(), key=lambda e: (e["outcome"] != "failed", e["file"], e["line"]))
    shown_totals = {k: totals.get(k, 0) for k in ("passed", "failed", "skipped")}
    shown_totals.update({k: n for k, n in totals.items() if k not in shown_totals and n})
    targets = sorted({r["target"].get("description", "") for r in runs if r.get("target")} - {""})
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.output", "."), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["diff_lines"] = _diff_lines
    env.filters["summary"] = _summary
    html = env.get_template("report.html.j2").render(
        title=title,
        scenarios=listed,
        totals=shown_totals,
        targets=targets,
        created=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
    )
    out = folder / "report.html"
    out.write_text(html, encoding="utf-8")
    return out
