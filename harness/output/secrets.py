"""Keeping tokens and passwords out of everything a run leaves behind.

The harness never prints a secret on purpose; these functions are the second line: failure
reports pass through ``redact``, and the artifacts of a run (traces, page text, anything under
the output folder) through ``scrub_tree``, which rewrites any file, or member of a zip archive
such as a Playwright trace, that contains a secret.

A secret is not always stored as typed. ``forms`` lists the encodings it takes in artifacts, and
each of them is masked: JSON string escapes (once, and twice for JSON inside JSON, as in a
trace's recorded request bodies; also the ``\\/`` and ``\\u00XX`` styles), URL encoding (path,
query and form styles, either case of hex digits), HTML escapes, and base64 (standard and
URL-safe, at each of the three alignments a secret can have inside a longer encoded text, which
covers an HTTP Basic ``Authorization`` header of ``user:password``).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, quote_plus

import markupsafe

__all__ = ["MASK", "forms", "redact", "scrub_file", "scrub_tree"]

MASK = "***"
MIN_LENGTH = 4  # shorter strings are not worth masking: they would hit ordinary text
MIN_BASE64 = 6  # an encoded fragment shorter than this is too likely to occur by chance


def _usable(secrets: Iterable[str | None]) -> list[str]:
    return sorted({s for s in secrets if s and len(s) >= MIN_LENGTH})


def _json_styles(text: str) -> set[str]:
    """``text`` inside a JSON string, as the usual encoders write it."""
    plain = json.dumps(text, ensure_ascii=False)[1:-1]
    ascii_only = json.dumps(text)[1:-1]
    html_safe = "".join(f"\\u{ord(c):04x}" if c in "<>&'" else c for c in plain)  # Go, Jinja's tojson
    styles = {plain, ascii_only, html_safe}
    return styles | {s.replace("/", "\\/") for s in styles}


def _url_styles(text: str) -> set[str]:
    styles = {quote(text, safe=""), quote(text, safe="/"), quote_plus(text), quote(text, safe="~()*!.'")}
    return styles | {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), s) for s in styles}


def _base64_cores(data: bytes) -> set[str]:
    """The part of the base64 text of ``data`` that does not depend on its neighbours, for each of
    the three positions ``data`` can start at inside a longer encoded text."""
    cores = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data).decode()
        start = -(-8 * pad // 6)  # the first character made of the secret's bits only
        end = (8 * (pad + len(data))) // 6
        core = encoded[start:end]
        if len(core) >= MIN_BASE64:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    whole = base64.b64encode(data).decode()  # also the padded whole, e.g. an HTTP Basic header
    cores.update({whole, base64.urlsafe_b64encode(data).decode()})
    return cores


@lru_cache(maxsize=64)
def forms(secret: str) -> tuple[str, ...]:
    """Every text ``secret`` is masked as: itself and its encodings, longest first."""
    found = {
        secret,
        html.escape(secret),
        html.escape(secret, quote=False),
        str(markupsafe.escape(secret)),
    }  # markupsafe: Jinja's
    found |= {s for u in _url_styles(secret) for s in (u, *_json_styles(u))}
    once = _json_styles(secret)
    found |= once | {s for j in once for s in _json_styles(j)}
    found |= _base64_cores(secret.encode("utf-8"))
    return tuple(sorted((f for f in found if len(f) >= MIN_LENGTH), key=lambda f: (-len(f), f)))


def _all_forms(secrets: Iterable[str | None]) -> list[str]:
    # longest first, so a secret that contains another is masked whole
    return sorted({f for s in _usable(secrets) for f in forms(s)}, key=lambda f: (-len(f), f))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for form in _all_forms(secrets):
        text = text.replace(form, MASK)
    return text


def _redact_bytes(data: bytes, encoded: list[bytes]) -> bytes:
    for form in encoded:
        data = data.replace(form, MASK.encode())
    return data


def scrub_file(path: Path, secrets: Iterable[str | None]) -> bool:
    """Mask every secret in a file (inside each member, for a zip archive); True if it changed."""
    encoded = [f.encode("utf-8") for f in _all_forms(secrets)]
    if not encoded or not path.is_file() or path.is_symlink():
        return False
    if zipfile.is_zipfile(path):
        return _scrub_zip(path, encoded)
    data = path.read_bytes()
    cleaned = _redact_bytes(data, encoded)
    if cleaned == data:
        return False
    path.write_bytes(cleaned)
    return True


def _scrub_zip(path: Path, encoded: list[bytes]) -> bool:
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    cleaned = [(info, _redact_bytes(data, encoded)) for info, data in members]
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
