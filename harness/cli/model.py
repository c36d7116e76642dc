"""``chat-harness model serve``: the scripted model on its own, for an app the harness does not launch.

It serves a script (a YAML file holding what a scenario's ``model:`` block holds) on a loopback
port, prints the base URL and the variables to start the app with, and then one line per call it
answers, until Ctrl-C. Scenarios run against such an app (``--chat-url``) cannot change the script
or check what the app sent: that needs the app launched in-process.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError

__all__ = ["serve", "variables"]


def variables(base_url: str) -> dict[str, str]:
    """What to start an app with so that its SDK clients call the scripted model at ``base_url``."""
    from harness.model.routing import PLACEHOLDER_VARIABLES

    return {"OPENAI_BASE_URL": f"{base_url}/v1", "OLLAMA_HOST": base_url, **PLACEHOLDER_VARIABLES}


def _load_script(path: Path | None) -> Any:
    from harness.model.script import Script
    from harness.spec.loader import load_model_script

    if path is None:
        return Script()
    return load_model_script(path)


def serve(script: Path | None, port: int, stop: threading.Event | None = None) -> int:
    from harness.model.server import ScriptedModel

    try:
        loaded = _load_script(script)
    except ScenarioError as exc:
        print(f"chat-harness model serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"chat-harness model serve: cannot read {script}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        model = ScriptedModel().start(port)
    except OSError as exc:
        print(f"chat-harness model serve: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    run = model.begin(loaded)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"scripted model at {model.base_url} (Ctrl-C stops it)")
    print("start the app with:")
    for name, value in variables(model.base_url).items():
        print(f"  export {name}={value}")
    print("(huggingface_hub's InferenceClient reads no such variable: give it base_url=, or launch the app")
    print(" in-process with --chat-app, where every client is routed)", flush=True)
    shown: set[int] = set()

    def show_answered() -> None:
        for call in list(run.calls):
            if call.answer is not None and call.number not in shown:
                shown.add(call.number)
                print(f"{call.describe()} -> {call.answer}" + (f": {call.problem}" if call.problem else ""), flush=True)

    try:
        while not stop.wait(0.1):
            show_answered()
    except KeyboardInterrupt:
        pass
    finally:
        model.stop()
        show_answered()
    return 0
