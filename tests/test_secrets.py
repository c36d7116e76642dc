"""Secrets are masked in text, files and zip archives (Playwright traces)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.output.secrets import MASK, redact, scrub_file, scrub_tree

TOKEN = "hf_abcdefgh12345678"


def test_redact_masks_every_secret_longest_first() -> None:
    assert redact(f"Bearer {TOKEN} and {TOKEN}x", [TOKEN, None, ""]) == f"Bearer {MASK} and {MASK}x"
    assert redact("pw=abc", ["abc"]) == "pw=abc"  # too short to be a secret worth masking: no false hits


def test_scrub_rewrites_files_and_zip_members_that_hold_a_secret(tmp_path: Path) -> None:
    trace = tmp_path / "out" / "trace.zip"
    trace.parent.mkdir()
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr(
            "trace.network", f'{{"headers": [{{"name": "x-hf-authorization", "value": "Bearer {TOKEN}"}}]}}'
        )
        archive.writestr("resources/page.html", "<html>nothing secret</html>")
    text = tmp_path / "out" / "chat.txt"
    text.write_text(f"token {TOKEN}\n")
    clean = tmp_path / "out" / "clean.txt"
    clean.write_text("nothing here\n")

    assert scrub_tree(tmp_path, [TOKEN]) == [text, trace]
    with zipfile.ZipFile(trace) as archive:
        assert (
            archive.read("trace.network").decode()
            == '{"headers": [{"name": "x-hf-authorization", "value": "Bearer ***"}]}'
        )
        assert archive.read("resources/page.html") == b"<html>nothing secret</html>"
    assert text.read_text() == "token ***\n"
    assert not scrub_file(clean, [TOKEN])


# -- a whole run: no encoding of the password survives anywhere ------------------------------------

HOSTILE = 'Pw"q\\&+/=x7'  # the characters that JSON, URLs, forms and HTML each encode their own way


def _encodings(secret: str, user: str) -> dict[str, bytes]:
    """The shapes a secret takes in artifacts, written out here independently of harness.secrets."""
    import base64
    import html
    import json
    from urllib.parse import quote, quote_plus

    shapes = {
        "raw": secret,
        "json": json.dumps(secret)[1:-1],
        "json twice": json.dumps(json.dumps(secret)[1:-1])[1:-1],
        "json, / escaped": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "url": quote(secret, safe=""),
        "url, / kept": quote(secret),
        "form": quote_plus(secret),
        "form in json": json.dumps(quote_plus(secret))[1:-1],
        "html": html.escape(secret),
        "basic": base64.b64encode(f"{user}:{secret}".encode()).decode(),
    }
    for pad in range(3):  # the secret inside a longer base64 text, at each alignment
        encoded = base64.b64encode(b"\0" * pad + secret.encode()).decode()
        shapes[f"base64+{pad}"] = encoded[-(-8 * pad // 6) : (8 * (pad + len(secret))) // 6]
    return {name: shape.encode() for name, shape in shapes.items()}


def _holders(folder: Path, shapes: dict[str, bytes]) -> list[str]:
    """Every file (zip members opened) under ``folder`` holding any shape, with the shape's name."""
    found = []
    for path in (p for p in folder.rglob("*") if p.is_file()):
        parts = {str(path): path.read_bytes()}
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                parts = {f"{path}!{name}": archive.read(name) for name in archive.namelist()}
        found.extend(
            f"{where}: {name}" for where, data in parts.items() for name, shape in shapes.items() if shape in data
        )
    return found


def test_a_hostile_password_given_in_the_url_survives_nowhere(tmp_path: Path) -> None:
    """Run from a subfolder (the ini in its parent), the login inside --chat-url, every artifact
    pytest-playwright and the harness make; then search every byte for every encoding."""
    import os
    import subprocess
    import sys
    from urllib.parse import quote

    from tests.helpers.servers import ROOT, served

    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    work = tmp_path / "sub"
    work.mkdir()
    (work / "failing.chat.yaml").write_text(
        "name: fails on purpose\nsteps:\n  - send: hello\n  - expect:\n      history: {length: 5}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("CHAT_HARNESS_AUTH", None)
    with served("fixtures.reference_app", env={"FIXTURE_AUTH": f"tester:{HOSTILE}"}, ready=False) as url:
        login_url = url.replace("http://", f"http://tester:{quote(HOSTILE, safe='')}@")
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "failing.chat.yaml",
            "--driver", "all", "--chat-url", login_url,
            "--tracing", "on", "--video", "on", "--screenshot", "on",
            "--junitxml", "junit.xml", "--chat-report", "reports",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert "2 failed, 1 skipped" in out, out  # logged in on both drivers, then the expectation failed
    assert "expectation failed" in out and "asks for a login" not in out
    assert f"chat-harness target: {url} (Gradio" in out  # the URL without its login
    traces = list((work / "test-results").rglob("trace.zip"))
    assert traces and (work / "junit.xml").is_file() and (work / "reports" / "report.html").is_file()
    assert not (tmp_path / "test-results").exists()  # pytest-playwright wrote beside the run, not at the root
    # --video on: a video, or (a browser without Playwright's ffmpeg) one warning and no failure for it
    assert (
        list(work.rglob("*.webm"))
        or out.count("--video: no video is recorded: Playwright's ffmpeg is not installed") == 1
    )
    shapes = _encodings(HOSTILE, "tester")
    assert not [name for name, shape in shapes.items() if shape in out.encode()]
    assert _holders(tmp_path, shapes) == []
    # the login was recorded (typed into the page) and masked: the search above had something to find
    assert any(MASK.encode() in zipfile.ZipFile(t).read(n) for t in traces for n in zipfile.ZipFile(t).namelist())


def test_every_encoding_of_a_secret_is_masked() -> None:
    shapes = _encodings(HOSTILE, "tester")
    text = " | ".join(f"{name}={shape.decode()}" for name, shape in shapes.items())
    masked = redact(text, [HOSTILE, f"tester:{HOSTILE}"])
    assert [name for name, shape in shapes.items() if shape.decode() in masked] == []
    assert masked.count(MASK) == len(shapes)
