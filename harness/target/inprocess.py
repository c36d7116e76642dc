"""An app under test launched in this process: ``module:attribute`` served on a free loopback port.

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
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.target.app import AppInfo, Target
from harness.target.readiness import wait_until_ready

__all__ = ["DEFAULT_APP", "InProcessApp", "free_port", "load_app"]

log = logging.getLogger(__name__)

DEFAULT_APP = "fixtures.reference_app:demo"


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
    except Exception as exc:  # the app's own code failed as it was imported: the app's bug, not the harness's
        raise TargetError(
            f"importing {module_name!r} for the app {spec!r} raised {type(exc).__name__}: {exc}{_where_in_app(exc)}"
        ) from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise TargetError(f"module {module_name!r} has no attribute {attribute!r}") from None
    import gradio as gr

    if not isinstance(app, gr.Blocks):
        raise TargetError(f"{spec} is a {type(app).__name__}, not a Gradio app (gr.Blocks / gr.ChatInterface)")
    return app


def _where_in_app(exc: BaseException) -> str:
    """`` (at FILE:LINE)``: the deepest line of the project's own code the exception went through."""
    import traceback

    root = Path.cwd().resolve()
    lines = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().is_relative_to(root) and "site-packages" not in frame.filename
    ]
    if not lines:
        return ""
    frame = lines[-1]
    return f" (at {Path(frame.filename).resolve().relative_to(root)}:{frame.lineno})"


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

        self.target = Target(
            url,
            f"{self.spec} (in-process at {url})",
            info=AppInfo(gr.__version__, str(getattr(self.app, "mode", None) or "unknown")),
        )
        return self.target

    def close(self) -> None:
        if self.app is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # gradio prints "Closing server ..."
                self.app.close()
            self.app = None
