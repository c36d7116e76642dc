"""Secrets are masked in text, files and zip archives (Playwright traces)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.secrets import MASK, redact, scrub_file, scrub_tree

TOKEN = "hf_abcdefgh12345678"


def test_redact_masks_every_secret_longest_first() -> None:
    assert redact(f"Bearer {TOKEN} and {TOKEN}x", [TOKEN, None, ""]) == f"Bearer {MASK} and {MASK}x"
    assert redact("pw=abc", ["abc"]) == "pw=abc"  # too short to be a secret worth masking: no false hits


def test_scrub_rewrites_files_and_zip_members_that_hold_a_secret(tmp_path: Path) -> None:
    trace = tmp_path / "out" / "trace.zip"
    trace.parent.mkdir()
    with zipfile.ZipFile(trace, "w") as archive:
        archive.writestr("trace.network", f'{{"headers": [{{"name": "x-hf-authorization", "value": "Bearer {TOKEN}"}}]}}')
        archive.writestr("resources/page.html", "<html>nothing secret</html>")
    text = tmp_path / "out" / "chat.txt"
    text.write_text(f"token {TOKEN}\n")
    clean = tmp_path / "out" / "clean.txt"
    clean.write_text("nothing here\n")

    assert scrub_tree(tmp_path, [TOKEN]) == [text, trace]
    with zipfile.ZipFile(trace) as archive:
        assert archive.read("trace.network").decode() == '{"headers": [{"name": "x-hf-authorization", "value": "Bearer ***"}]}'
        assert archive.read("resources/page.html") == b"<html>nothing secret</html>"
    assert text.read_text() == "token ***\n"
    assert not scrub_file(clean, [TOKEN])
