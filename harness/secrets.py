"""Keeping tokens and passwords out of everything a run leaves behind.

The harness never prints a secret on purpose; these functions are the second line: failure
reports pass through ``redact``, and the artifacts of a run (traces, page text, anything under
the output folder) through ``scrub_tree``, which rewrites any file, or member of a zip archive
such as a Playwright trace, that contains a secret.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["MASK", "redact", "scrub_file", "scrub_tree"]

MASK = "***"


def _usable(secrets: Iterable[str | None]) -> list[str]:
    # longest first, so a secret that contains another is masked whole
    return sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in _usable(secrets):
        text = text.replace(secret, MASK)
    return text


def _redact_bytes(data: bytes, secrets: list[str]) -> bytes:
    for secret in secrets:
        data = data.replace(secret.encode(), MASK.encode())
    return data


def scrub_file(path: Path, secrets: Iterable[str | None]) -> bool:
    """Mask every secret in a file (inside each member, for a zip archive); True if it changed."""
    wanted = _usable(secrets)
    if not wanted or not path.is_file():
        return False
    if zipfile.is_zipfile(path):
        return _scrub_zip(path, wanted)
    data = path.read_bytes()
    cleaned = _redact_bytes(data, wanted)
    if cleaned == data:
        return False
    path.write_bytes(cleaned)
    return True


def _scrub_zip(path: Path, secrets: list[str]) -> bool:
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    cleaned = [(info, _redact_bytes(data, secrets)) for info, data in members]
    if all(a[1] == b[1] for a, b in zip(members, cleaned, strict=True)):
        return False
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in cleaned:
            archive.writestr(info, data)
    os.replace(temporary, path)
    return True


def scrub_tree(folder: Path, secrets: Iterable[str | None]) -> list[Path]:
    """Scrub every file under ``folder``; returns the files that held a secret."""
    wanted = _usable(secrets)
    if not wanted or not folder.is_dir():
        return []
    return [path for path in sorted(folder.rglob("*")) if scrub_file(path, wanted)]
