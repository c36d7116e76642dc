"""Per-run JSON transcripts and the run's HTML report (``--chat-report DIR``).

Each item of the harness writes ``DIR/transcripts/<name>.json`` when it finishes (a scenario run:
every step, what it sent, what came back, the streamed updates, timings, the chat at the end or
where it failed, the failure text, its screenshot/trace copied under ``DIR/artifacts/``; a parity,
sessions or invalid-file item: its outcome and failure text). ``<name>`` is a readable slug of the
pytest node id and a hash of the whole id, so no two items share a file. Files rather than memory,
so pytest-xdist workers need no channel.

The main process renders ``DIR/report.html`` when the session ends, from the outcomes pytest
itself reported for each item (``RunTally``): the report's totals are pytest's totals, an item
whose transcript is missing still appears with pytest's outcome and failure text, and an error in
a fixture's teardown shows as the error pytest counts.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.drivers.base import ActionRecord
from harness.gradio.history import Message
from harness.output.secrets import redact
from harness.run.runner import Observation, RunResult
from harness.spec.matchers import jsonable
from harness.spec.model import Scenario

__all__ = ["ItemOutcome", "render_report", "reset", "run_name", "summary_record", "transcript", "write_transcript"]

FORMAT = 2
#: pytest's categories of a report, worst first: how a run with several reports shows
SEVERITY = ("error", "failed", "xpassed", "rerun", "passed", "xfailed", "skipped")


def message_data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.text}
    if message.files:
        data["files"] = [f.as_dict() for f in message.files]
    if message.metadata:
        data["metadata"] = jsonable(message.metadata)
    if message.options:
        data["options"] = message.option_labels
    return data


def _action(record: ActionRecord) -> dict[str, Any]:
    return {
        "seconds": round(record.seconds, 4),
        "first_update": None if record.first_update is None else round(record.first_update, 4),
        "updates": len(record.stream),
        # what the last message read after each streamed update: how the reply grew
        "stream": [h[-1].text if h else "" for h in record.stream],
        "events": [{"name": e.name, "seconds": round(e.seconds, 4), "updates": e.updates, "error": e.error} for e in record.events],
        "error": record.error,
        "result": jsonable(record.result),
    }


def _observed(seen: Observation) -> dict[str, Any]:
    data: dict[str, Any] = {"history": [message_data(m) for m in seen.history]}
    if seen.components:
        data["components"] = jsonable({k: [message_data(m) for m in v] if isinstance(v, list) and v and isinstance(v[0], Message) else v for k, v in seen.components.items()})
    if seen.input is not None:
        data["input"] = jsonable(seen.input)
    return data


def summary_record(
    nodeid: str,
    name: str,
    file: str,
    line: int,
    driver: str,
    outcome: str,
    *,
    failure: str | None = None,
    skip_reason: str | None = None,
    seconds: float = 0.0,
    description: str = "",
) -> dict[str, Any]:
    """The record of an item without steps of its own: a parity or sessions item, an invalid file,
    or an item whose transcript is missing."""
    return {
        "format": FORMAT,
        "nodeid": nodeid,
        "scenario": name,
        "description": description,
        "file": file,
        "line": line,
        "driver": driver,
        "outcome": outcome,
        "seconds": round(seconds, 3),
        "target": {},
        "failure": failure,
        "skip_reason": skip_reason,
        "failed_step": None,
        "steps": [],
        "conversation": False,
        "history": [],
        "artifacts": {},
    }


def transcript(
    nodeid: str,
    scenario: Scenario,
    driver: str,
    outcome: str,
    result: RunResult | None,
    *,
    history: list[Message] | None = None,
    failure: str | None = None,
    skip_reason: str | None = None,
    failed_step: int | None = None,
    target: Mapping[str, str] | None = None,
    artifacts: Mapping[str, str] | None = None,
    seconds: float = 0.0,
) -> dict[str, Any]:
    """The JSON-ready record of one run (``result`` may be partial: it stops at the failing step)."""
    ran = {entry.step.number: entry for entry in (result.steps if result else [])}
    steps = []
    for step in scenario.steps:
        entry = ran.get(step.number)
        status = "not run" if entry is None else ("failed" if step.number == failed_step or entry.error else "passed")
        item: dict[str, Any] = {"number": step.number, "kind": step.kind, "line": step.location.line, "source": jsonable(step.source), "status": status}
        if entry is not None:
            item["seconds"] = round(entry.seconds, 4)
            if entry.action is not None:
                item["action"] = _action(entry.action)
            if entry.observation is not None:
                item["observed"] = _observed(entry.observation)
            if entry.error:
                item["error"] = entry.error
        steps.append(item)
    shown = history if history is not None else (result.final_history if result else [])
    return {
        "format": FORMAT,
        "nodeid": nodeid,
        "scenario": scenario.name,
        "description": scenario.description,
        "file": scenario.location.path,
        "line": scenario.location.line,
        "driver": driver,
        "outcome": outcome,
        "seconds": round(seconds, 3),
        "target": dict(target or {}),
        "failure": failure,
        "skip_reason": skip_reason,
        "failed_step": failed_step,
        "steps": steps,
        "conversation": True,
        "history": [message_data(m) for m in shown],
        "artifacts": dict(artifacts or {}),
    }


def run_name(nodeid: str) -> str:
    """A file name for one item: a readable slug of its node id (letters of any script kept) and
    a hash of the whole id, so names that differ only in punctuation, script or after a long
    common prefix never meet."""
    slug = re.sub(r"[^\w.]+", "-", nodeid).strip("-.")
    while len(slug.encode("utf-8")) > 120:  # file names are at most 255 bytes
        slug = slug[:-8]
    return f"{slug or 'run'}-{hashlib.sha1(nodeid.encode('utf-8')).hexdigest()[:10]}"


def reset(folder: Path) -> None:
    """Empty the report folder's own parts (left from an earlier run); other files stay."""
    for part in ("transcripts", "artifacts"):
        shutil.rmtree(folder / part, ignore_errors=True)
    (folder / "report.html").unlink(missing_ok=True)


def copy_artifacts(folder: Path, nodeid: str, artifacts: Mapping[str, Path]) -> dict[str, str]:
    """Copy a run's screenshot/trace/text into the report folder; paths relative to it."""
    copied: dict[str, str] = {}
    target = folder / "artifacts" / run_name(nodeid)
    for kind, path in artifacts.items():
        if Path(path).is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / Path(path).name)
            copied[kind] = str((target / Path(path).name).relative_to(folder))
    return copied


def write_transcript(folder: Path, nodeid: str, data: Mapping[str, Any], secrets: Iterable[str]) -> Path:
    """Write one transcript (secrets redacted) and return its path."""
    path = folder / "transcripts" / f"{run_name(nodeid)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(data, indent=1, ensure_ascii=False), secrets), encoding="utf-8")
    return path


# -- the HTML report ---------------------------------------------------------------------------


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


def render_report(folder: Path, outcomes: Mapping[str, ItemOutcome] | None = None, title: str = "chat-harness report") -> Path:
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
        entry = scenarios.setdefault(key, {"name": run["scenario"], "file": run["file"], "line": run["line"], "description": run.get("description", ""), "runs": []})
        entry["runs"].append(run)
    order = {"api": 0, "browser": 1, "parity": 9}
    for entry in scenarios.values():
        entry["runs"].sort(key=lambda r: (order.get(r["driver"], 5), r["driver"]))
        seen = {r["outcome"] for r in entry["runs"]}
        entry["outcome"] = "failed" if seen & {"failed", "error", "xpassed"} else "passed" if "passed" in seen else "skipped"
        entry["id"] = "s-" + hashlib.sha1(f"{entry['file']}::{entry['name']}".encode()).hexdigest()[:12]
    listed = sorted(scenarios.values(), key=lambda e: (e["outcome"] != "failed", e["file"], e["line"]))
    shown_totals = {k: totals.get(k, 0) for k in ("passed", "failed", "skipped")}
    shown_totals.update({k: n for k, n in totals.items() if k not in shown_totals and n})
    targets = sorted({r["target"].get("description", "") for r in runs if r.get("target")} - {""})
    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.output", "."), autoescape=True, undefined=jinja2.StrictUndefined)
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
