"""The deployed shapes the suite is proven on, started by the tests on loopback ports.

* ``behind_nginx``: the distribution's nginx as a reverse proxy serving an app under a path
  prefix, configured the way Gradio's "running on your web server with Nginx" guide says;
* ``gradio5_python``: the interpreter of a virtual environment with Gradio 5.50
  (``make gradio5`` creates ``.venv-gradio5``), to serve the fixture apps with the older server;
* ``fake_hub``: a stand-in for the Hugging Face Hub API (``HF_ENDPOINT``) that answers
  ``space_info`` for one Space, with the stages a Space goes through.

Every server listens on 127.0.0.1 on a free port and is stopped when its ``with`` block ends.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.target.inprocess import free_port
from tests.helpers.servers import ROOT, stop, wait_until_listening

GRADIO5_ENV = "CHAT_HARNESS_GRADIO5_PYTHON"

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 50m;
    server {{
        listen 127.0.0.1:{port};
        location {prefix}/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
            proxy_buffering off;
            proxy_redirect off;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-Host $host:$server_port;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        pytest.fail(
            "nginx is not installed; `make setup` installs it (scripts/install-nginx), or: apt-get install nginx-light"
        )
    return found


@contextmanager
def behind_nginx(upstream_url: str, prefix: str, folder: Path) -> Iterator[str]:
    """nginx on a free loopback port proxying ``prefix/`` to the app at ``upstream_url``; yields the app's URL."""
    upstream = int(upstream_url.rstrip("/").rsplit(":", 1)[1])
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, prefix=prefix.rstrip("/"), upstream=upstream))
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(port, 20, process)
        yield f"http://127.0.0.1:{port}{prefix.rstrip('/')}/"
    finally:
        stop(process)


def gradio5_python() -> str:
    """The Gradio 5.50 interpreter, or a failure that says how to get one."""
    python = os.environ.get(GRADIO5_ENV) or str(ROOT / ".venv-gradio5" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"no Gradio 5.50 environment at {python}; `make gradio5` creates it (or set {GRADIO5_ENV})")
    return python


class FakeHub:
    """Answers ``GET /api/spaces/<id>`` like the Hub; ``stages`` are returned one per request, the last repeated."""

    def __init__(self, space: str, host: str, stages: list[str], private_token: str | None = None) -> None:
        self.space = space
        self.host = host
        self.stages = list(stages)
        self.private_token = private_token
        self.seen_authorization: list[str | None] = []

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        self.seen_authorization.append(authorization)
        if not path.split("?")[0].rstrip("/").endswith(f"/api/spaces/{self.space}"):
            return 404, {"error": "Repository not found"}
        if self.private_token and authorization != f"Bearer {self.private_token}":
            return 401, {"error": "Invalid credentials in Authorization header"}
        stage = self.stages.pop(0) if len(self.stages) > 1 else self.stages[0]
        owner, name = self.space.split("/")
        return 200, {
            "id": self.space,
            "author": owner,
            "private": bool(self.private_token),
            "sdk": "gradio",
            "host": self.host.rstrip("/"),
            "subdomain": f"{owner}-{name}",
            "runtime": {"stage": stage, "hardware": {"current": "cpu-basic", "requested": "cpu-basic"}},
        }


@contextmanager
def fake_hub(hub: FakeHub) -> Iterator[str]:
    """Serve ``hub`` on a free loopback port; yields its URL (for ``HF_ENDPOINT``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = hub.answer(self.path, self.headers.get("authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            if status in (401, 404):
                self.send_header("x-error-code", "RepoNotFound")  # as the Hub answers for a Space you may not see
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url.rstrip("/")


@contextmanager
def recording_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A second origin that records the headers of every request it gets (answers an empty script)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.send_header("content-type", "text/javascript")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """An HTTP server with ``handler`` on a free loopback port, in a thread; yields its root URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
