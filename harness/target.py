"""The app under test: a URL, or a ``module:attribute`` Gradio app launched in-process.

An in-process app listens on 127.0.0.1 on a free port and is closed by ``close``; whoever
launches one owns it.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.errors import TargetError

__all__ = ["AppInfo", "InProcessApp", "Target", "free_port", "load_app", "wait_until_ready"]

log = logging.getLogger(__name__)

DEFAULT_APP = "fixtures.reference_app:demo"


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_app(spec: str) -> Any:
    """Import ``module:attribute`` and return the Gradio Blocks it names."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise TargetError(f"--chat-app takes module:attribute (e.g. fixtures.reference_app:demo), got {spec!r}")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import {module_name!r} for the app {spec!r}: {exc}") from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise TargetError(f"module {module_name!r} has no attribute {attribute!r}") from None
    import gradio as gr

    if not isinstance(app, gr.Blocks):
        raise TargetError(f"{spec} is a {type(app).__name__}, not a Gradio app (gr.Blocks / gr.ChatInterface)")
    return app


def wait_until_ready(url: str, timeout: float, *, process: Any = None) -> None:
    """Poll ``{url}config`` until it answers 200, or raise ``TargetError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    delay = 0.02
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process is not None and process.poll() is not None:
                raise TargetError(f"the app process exited with code {process.returncode} before {url} answered")
            try:
                response = client.get(url + "config")
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                raise TargetError(f"{url} did not answer within {timeout:g}s (last: {last})")
            time.sleep(delay)  # polling a condition, with a bounded deadline
            delay = min(delay * 2, 0.5)


class InProcessApp:
    """A Gradio app from ``module:attribute``, served in this process on a loopback port."""

    def __init__(self, spec: str, ready_timeout: float = 60.0) -> None:
        self.spec = spec
        self.ready_timeout = ready_timeout
        self.app: Any = None
        self.target: Target | None = None

    def start(self) -> Target:
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        self.app = load_app(self.spec)
        port = free_port()
        self.app.queue().launch(
            server_name="127.0.0.1",
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            show_error=True,
            share=False,
            inbrowser=False,
        )
        url = f"http://127.0.0.1:{port}/"
        wait_until_ready(url, self.ready_timeout)
        log.info("launched %s at %s", self.spec, url)
        import gradio as gr

        self.target = Target(url, f"{self.spec} (in-process at {url})", info=AppInfo(gr.__version__, str(getattr(self.app, "mode", None) or "unknown")))
        return self.target

    def close(self) -> None:
        if self.app is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # gradio prints "Closing server ..."
                self.app.close()
            self.app = None
