"""The app under test as the drivers see it: where it answers, what it says of itself, its secrets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.errors import TargetError

__all__ = ["AppInfo", "Target"]


@dataclass(frozen=True)
class AppInfo:
    """What the app says of itself in its config: the Gradio version it runs and its mode."""

    version: str
    mode: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> AppInfo:
        return cls(str(config.get("version") or "unknown"), str(config.get("mode") or "unknown"))

    def __str__(self) -> str:
        return f"Gradio {self.version}, mode {self.mode}"


@dataclass(frozen=True)
class Target:
    """Where the app under test answers. ``url`` is the app root (ends with ``/``).

    ``token`` (a Hugging Face token, sent to this host only) and ``auth`` (the app's login) are
    secrets: they are left out of ``repr`` and of every message.
    """

    url: str
    description: str
    token: str | None = field(default=None, repr=False)
    auth: tuple[str, str] | None = field(default=None, repr=False)
    info: AppInfo | None = None

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the app: the only place its token is sent."""
        parts = self.url.split("/", 3)
        return "/".join(parts[:3])

    @property
    def secrets(self) -> list[str]:
        """Every secret this target carries, for scrubbing artifacts."""
        return [s for s in (self.token, self.auth[1] if self.auth else None) if s]

    def __str__(self) -> str:
        return f"{self.description} ({self.info})" if self.info else self.description

    @classmethod
    def from_url(cls, url: str) -> Target:
        if not url.startswith(("http://", "https://")):
            raise TargetError(f"{url!r} is not an http(s) URL")
        root = url if url.endswith("/") else url + "/"
        return cls(root, root)
