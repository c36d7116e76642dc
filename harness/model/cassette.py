"""Cassettes: the model calls of one scenario recorded from the real provider, replayed offline.

``--chat-model record`` lets each call through to the provider and writes the exchanges (request
body and response, never a header: the credentials stay in the environment) to a JSON file beside
the scenario file: ``cassettes/<file stem>/<scenario>.json``. A later run replays them in order;
a request that differs from the recorded one is refused and reported as a diff of the two.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.output.secrets import redact

__all__ = ["Cassette", "Exchange", "cassette_path"]

FORMAT = 1


def cassette_path(scenario_file: str | Path, scenario_name: str) -> Path:
    """Where the cassette of a scenario lives, beside its file."""
    path = Path(scenario_file)
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", scenario_name).strip("-.")[:80] or "scenario"
    return path.parent / "cassettes" / stem / f"{slug}.json"


@dataclass
class Exchange:
    """One recorded call: what the app sent, and the provider's answer as it came."""

    number: int
    protocol: str
    path: str
    request: dict[str, Any]
    status: int
    content_type: str
    body: str

    @classmethod
    def of(
        cls, number: int, protocol: str, path: str, request: dict[str, Any], status: int, content_type: str, body: bytes
    ) -> Exchange:
        return cls(number, protocol, path, request, status, content_type, body.decode("utf-8", "replace"))

    @property
    def streamed(self) -> bool:
        return "event-stream" in self.content_type or "ndjson" in self.content_type

    def parts(self) -> list[str]:
        """The streamed body in the pieces it came in (events, or lines)."""
        sep = "\n\n" if "event-stream" in self.content_type else "\n"
        pieces = self.body.split(sep)
        return [p + sep for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def _shown(request: dict[str, Any]) -> list[str]:
    return json.dumps(request, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


class Cassette:
    """The exchanges of one scenario; ``record`` collects them, ``save`` writes the file."""

    def __init__(self, path: Path, exchanges: list[Exchange] | None = None) -> None:
        self.path = path
        self.exchanges = exchanges or []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> Cassette:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"{path} is not a chat-harness cassette (format {FORMAT})")
        return cls(path, [Exchange(**e) for e in data["exchanges"]])

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges = [e for e in self.exchanges if e.number != exchange.number]
            self.exchanges.append(exchange)
            self.exchanges.sort(key=lambda e: e.number)

    def save(self, secrets: list[str]) -> None:
        """Write the file; any of ``secrets`` that a body holds is masked first."""
        text = json.dumps(
            {"format": FORMAT, "exchanges": [asdict(e) for e in self.exchanges]}, indent=1, ensure_ascii=False
        )
        text = redact(text, secrets)  # every form a secret takes (JSON-escaped, URL-encoded, ...)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(text + "\n", encoding="utf-8")

    def replay(self, index: int, protocol: str, request: dict[str, Any]) -> tuple[Exchange | None, str]:
        """The recorded exchange for the ``index``-th call if the app sent the same request; else
        None and why (the diff of the requests)."""
        if index >= len(self.exchanges):
            return None, f"is not in the cassette {self.path} (it holds {len(self.exchanges)} call(s)); record it again"
        recorded = self.exchanges[index]
        if recorded.protocol != protocol or recorded.request != request:
            diff = difflib.unified_diff(
                _shown(recorded.request), _shown(request), "recorded request", "request now", lineterm="", n=2
            )
            return None, (
                f"differs from the request recorded in {self.path} (record it again if the change is meant):\n"
                + "\n".join(diff)
            )
        return recorded, ""
