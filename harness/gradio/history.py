"""Chat history as the harness sees it: one normalised form for every Gradio version.

Gradio 6 sends a message's content as a list of parts (text, file, component); Gradio 5 sends one
string, file dict or component dict; ``type="tuples"`` apps send ``[[user, bot], ...]``. All of
them become ``Message`` objects whose ``text`` is the concatenated text and whose ``files`` list the
files by name and mime type, so a scenario compares the same way against any server.
"""

from __future__ import annotations

import mimetypes
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from harness.errors import MalformedHistory

__all__ = [
    "FileRef",
    "Message",
    "feedback_target",
    "last_exchange_index",
    "normalise_history",
    "resolve_index",
]


@dataclass(frozen=True)
class FileRef:
    """A file in a message, compared by name and mime type."""

    name: str
    mime_type: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mime_type": self.mime_type}


@dataclass(frozen=True)
class Message:
    """One message of the history, normalised."""

    role: str
    text: str
    files: tuple[FileRef, ...] = ()
    components: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    options: tuple[dict[str, Any], ...] = ()
    raw: Any = None
    #: what the page displays for this message (browser driver only; not compared)
    shown: str | None = field(default=None, compare=False)

    @property
    def option_labels(self) -> list[str]:
        """What each offered option shows: its label, or its value when it has none."""
        return [str(o.get("label") or o.get("value")) for o in self.options]

    def as_dict(self, option_labels: bool = False) -> dict[str, Any]:
        """The readable form used in diffs, transcripts and parity checks (no raw value); the
        options whole, or as what each shows (``option_labels``)."""
        out: dict[str, Any] = {"role": self.role, "content": self.text}
        if self.files:
            out["files"] = [f.as_dict() for f in self.files]
        if self.components:
            out["components"] = list(self.components)
        if self.metadata:
            out["metadata"] = self.metadata
        if self.options:
            out["options"] = self.option_labels if option_labels else list(self.options)
        return out


def _file_ref(data: dict[str, Any]) -> FileRef:
    name = data.get("orig_name") or ""
    path = data.get("path") or data.get("url") or ""
    if not name and path:
        name = posixpath.basename(urlparse(str(path)).path)
    mime = data.get("mime_type")
    if not mime and name:
        # guess as the server does (gradio_client.utils.get_mimetype): audio/wav, not audio/x-wav
        guessed = mimetypes.guess_type(str(name))[0]
        mime = guessed.replace("x-wav", "wav").replace("x-flac", "flac") if guessed else None
    return FileRef(str(name), mime)


def _is_file_data(value: Any) -> bool:
    return (isinstance(value, dict) and ("path" in value or "url" in value) and "orig_name" in value) or (
        isinstance(value, dict)
        and isinstance(value.get("meta"), dict)
        and value["meta"].get("_type") == "gradio.FileData"
    )


def _parts(content: Any) -> tuple[list[str], list[FileRef], list[str]]:
    """Split any content form into texts, files and component names."""
    texts: list[str] = []
    files: list[FileRef] = []
    components: list[str] = []
    items = content if isinstance(content, list) else [content]
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, (int, float)):
            texts.append(str(item))
        elif isinstance(item, dict):
            kind = item.get("type")
            if kind == "text" or (kind is None and "text" in item and "file" not in item):
                texts.append(str(item.get("text", "")))
            elif kind == "file" or "file" in item:
                file = item.get("file")
                if isinstance(file, dict):
                    files.append(_file_ref(file))
            elif kind == "component" or "component" in item:
                components.append(str(item.get("component")))
                # the component's files, wherever its value holds them: a FileData (image, audio),
                # a list of them (file on 6.x), {"video": ...} (video on 5.x), [{"image": ...}] (gallery)
                pending: list[Any] = [item.get("value")]
                while pending:
                    value = pending.pop(0)
                    if _is_file_data(value):
                        files.append(_file_ref(value))
                    elif isinstance(value, dict):
                        pending[:0] = value.values()
                    elif isinstance(value, list):
                        pending[:0] = value
            elif _is_file_data(item):
                files.append(_file_ref(item))
            else:
                texts.append(str(item))
        elif isinstance(item, (list, tuple)):
            # a Gradio 5 tuples-app file: (path, alt_text)
            if item and isinstance(item[0], str):
                files.append(_file_ref({"path": item[0], "orig_name": posixpath.basename(item[0])}))
    return texts, files, components


def _message(role: str, content: Any, metadata: Any = None, options: Any = None, raw: Any = None) -> Message:
    texts, files, components = _parts(content)
    return Message(
        role=role,
        text="".join(texts),
        files=tuple(files),
        components=tuple(components),
        metadata={k: v for k, v in (metadata or {}).items() if v is not None},
        options=tuple(options or ()),
        raw=raw,
    )


ROLES = ("user", "assistant", "system")


def normalise_history(value: Any) -> list[Message]:
    """Normalise a chatbot value (messages of Gradio 5 or 6, or tuples) into ``Message``\\ s."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedHistory(
            f"the app sent a chat history that is not a list but {type(value).__name__}: {value!r:.200}"
        )
    messages: list[Message] = []
    for entry in value:
        if isinstance(entry, dict):
            if "role" not in entry:
                raise MalformedHistory(f"the app sent a chat message without a role: {entry!r}")
            if entry["role"] not in ROLES:
                raise MalformedHistory(
                    f"the app sent a message with role {entry['role']!r} (message {len(messages)}); a Gradio chatbot "
                    f"shows only {', '.join(ROLES)}"
                )
            messages.append(
                _message(str(entry["role"]), entry.get("content"), entry.get("metadata"), entry.get("options"), entry)
            )
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            user, bot = entry
            if user is not None:
                messages.append(_message("user", user, raw=user))
            if bot is not None:
                messages.append(_message("assistant", bot, raw=bot))
        else:
            raise MalformedHistory(f"the app sent something that is not a chat message: {entry!r:.200}")
    return messages


def resolve_index(index: int, length: int) -> int | None:
    """A scenario index (negative counts from the end) as a position, or None if out of range."""
    position = index + length if index < 0 else index
    return position if 0 <= position < length else None


def last_exchange_index(history: Sequence[Message]) -> int | None:
    """The index undo and retry act on: the last user message before the trailing replies.

    This is what the chatbot's frontend sends as ``UndoData.index`` / ``RetryData.index``.
    """
    position = len(history) - 1
    while position >= 0 and history[position].role == "assistant":
        position -= 1
    return position if position >= 0 else None


def feedback_target(history: Sequence[Message], position: int) -> tuple[int, int]:
    """The message group a like/dislike on ``position`` applies to, as ``(first, last)``.

    Consecutive messages of one role share a bubble, and the frontend sends the index of the
    group's first message with the contents of the whole group.
    """
    role = history[position].role
    first = position
    while first > 0 and history[first - 1].role == role:
        first -= 1
    last = position
    while last + 1 < len(history) and history[last + 1].role == role:
        last += 1
    return first, last
