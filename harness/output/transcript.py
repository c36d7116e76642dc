"""Per-run JSON transcripts (``--chat-report DIR``).

Each item of the harness writes ``DIR/transcripts/<name>.json`` when it finishes (a scenario run:
every step, what it sent, what came back, the streamed updates, timings, the chat at the end or
where it failed, the failure text, its screenshot/trace copied under ``DIR/artifacts/``; a parity,
sessions or invalid-file item: its outcome and failure text). ``<name>`` is a readable slug of the
pytest node id and a hash of the whole id, so no two items share a file. Files rather than memory,
so pytest-xdist workers need no channel; ``html_report`` renders them.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.drivers.base import ActionRecord
from harness.gradio.history import Message
from harness.output.secrets import redact
from harness.run.checks import Observation
from harness.run.runner import RunResult
from harness.spec.matchers import jsonable
from harness.spec.model import Scenario

__all__ = ["FORMAT", "copy_artifacts", "reset", "run_name", "summary_record", "transcript", "write_transcript"]

FORMAT = 2


def message_data(message: Message) -> dict[str, Any]:
    """A message as a transcript holds it: its readable form, the options by what they show."""
    data: dict[str, Any] = jsonable(message.as_dict(option_labels=True))
    return data


def _action(record: ActionRecord) -> dict[str, Any]:
    return {
        "seconds": round(record.seconds, 4),
        "first_update": None if record.first_update is None else round(record.first_update, 4),
        "updates": len(record.stream),
        # what the last message read after each streamed update: how the reply grew
        "stream": [h[-1].text if h else "" for h in record.stream],
        "events": [
            {"name": e.name, "seconds": round(e.seconds, 4), "updates": e.updates, "error": e.error}
            for e in record.events
        ],
        "error": record.error,
        "result": jsonable(record.result),
    }


def _observed(seen: Observation) -> dict[str, Any]:
    data: dict[str, Any] = {"history": [message_data(m) for m in seen.history]}
    if seen.components:
        data["components"] = jsonable(
            {
                k: [message_data(m) for m in v] if isinstance(v, list) and v and isinstance(v[0], Message) else v
                for k, v in seen.components.items()
            }
        )
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
    repeats: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready record of one run (``result`` may be partial: it stops at the failing step)."""
    ran = {entry.step.number: entry for entry in (result.steps if result else [])}
    steps = []
    for step in scenario.steps:
        entry = ran.get(step.number)
        status = "not run" if entry is None else ("failed" if step.number == failed_step or entry.error else "passed")
        item: dict[str, Any] = {
            "number": step.number,
            "kind": step.kind,
            "line": step.location.line,
            "source": jsonable(step.source),
            "status": status,
        }
        if entry is not None:
            item["seconds"] = round(entry.seconds, 4)
            if entry.action is not None:
                item["action"] = _action(entry.action)
            if entry.model_calls is not None:
                item["model_calls"] = [jsonable(call.as_dict()) for call in entry.model_calls]
            if entry.observation is not None:
                item["observed"] = _observed(entry.observation)
            if entry.scores:
                item["scores"] = entry.scores
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
        **({"repeats": dict(repeats)} if repeats is not None else {}),
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
