"""The secrets a target gets: a Hugging Face token and an app's login, and which host gets them.

A token given explicitly (``--chat-token``) goes to the target's host; ``HF_TOKEN`` only to a
Space or a ``*.hf.space`` host. A login may be written into a URL (``http://user:pw@host/``):
it is taken out of the URL and used as the login. None of it is ever part of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["NO_CREDENTIALS", "Credentials", "parse_login", "split_login", "token_for"]


@dataclass(frozen=True)
class Credentials:
    """Secrets for the target; never printed (``repr`` hides them)."""

    token: str | None = None
    auth: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"Credentials(token={'***' if self.token else None}, auth={'***' if self.auth else None})"


NO_CREDENTIALS = Credentials()


def token_for(url: str | None, explicit: str | None, environment: str | None) -> str | None:
    """The token a target gets: one given explicitly always; ``HF_TOKEN`` only for a Space
    (``url`` None: a Space id) or a URL on a Space host."""
    if explicit:
        return explicit
    host = (urlsplit(url).hostname or "") if url is not None else ".hf.space"
    return environment if environment and host.endswith(".hf.space") else None


def split_login(url: str) -> tuple[str, tuple[str, str] | None, str | None]:
    """A URL without the ``user:password@`` it may carry; that login (percent-decoding undone), and
    the password as written in the URL (a secret to mask too). A URL without a password is
    returned as it is."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url, None, None
    if password is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), (unquote(parts.username or ""), unquote(password)), password


def parse_login(text: str) -> tuple[str, str]:
    """``user:password`` as a pair; a ValueError (which does not repeat the text) when it is not one."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise ValueError("a login is user:password (a colon between them)")
    return user, password
