"""Finding and launching a browser for the browser driver, on top of pytest-playwright.

pytest-playwright owns the browser (one per session, per xdist worker), the contexts and the
``--browser``, ``--headed``, ``--browser-channel``, ``--slowmo``, ``--tracing``, ``--video``,
``--screenshot`` and ``--output`` options. The harness only wraps its ``launch_browser`` fixture
so that a usable Chromium is found without configuration:

1. an explicit executable: ``--chat-chromium PATH``, ini ``chat_chromium`` or the environment
   variable ``CHAT_HARNESS_CHROMIUM``;
2. Playwright's own Chromium, when ``playwright install chromium`` has been run;
3. a system Chromium on ``PATH``: ``chromium``, ``chromium-browser``, ``google-chrome``,
   ``google-chrome-stable``.

Chromium is always started with flags that keep it from calling the network on its own (updates,
sync, field trials), so a test run touches nothing but the app under test. When nothing is found
the error says how to install a browser.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import BrowserNotFound, BrowserServerUnreachable, first_line

__all__ = [
    "ENDPOINT_ENV_VAR",
    "ENV_VAR",
    "QUIET_CHROMIUM_ARGS",
    "connect_remote",
    "find_system_chromium",
    "launch_with_fallback",
    "video_problem",
]

ENV_VAR = "CHAT_HARNESS_CHROMIUM"
ENDPOINT_ENV_VAR = "CHAT_HARNESS_BROWSER_ENDPOINT"
SYSTEM_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: flags that stop Chromium from calling home (component updates, sync, safe browsing, field trials)
QUIET_CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-field-trial-config",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
)

INSTALL_HINT = (
    "install one of: Playwright's Chromium (`python -m playwright install chromium`, needs to download it), "
    "your distribution's package (`apt-get install chromium`), or Google Chrome; "
    f"or point --chat-chromium / ${ENV_VAR} at a Chromium or Chrome executable"
)


def find_system_chromium() -> str | None:
    """The first Chromium-family browser on ``PATH``."""
    for name in SYSTEM_CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing_executable(error: Exception) -> bool:
    text = str(error)
    return (
        "Executable doesn't exist" in text or "executable doesn't exist" in text.lower() or "playwright install" in text
    )


def _with_quiet_args(args: list[str]) -> list[str]:
    """``args`` and the quiet flags it does not have yet."""
    return [*args, *(a for a in QUIET_CHROMIUM_ARGS if a not in args)]


def launch_with_fallback(
    launch: Callable[..., Any],
    browser_name: str,
    base_args: dict[str, Any],
    explicit: str | None,
    **kwargs: Any,
) -> Any:
    """Launch through pytest-playwright's ``launch`` callable, finding a Chromium if need be.

    ``base_args`` are pytest-playwright's launch arguments (from ``browser_type_launch_args``);
    ``kwargs`` are what the caller passes for this launch. Non-Chromium browsers, channels and an
    ``executable_path`` set elsewhere are left alone.
    """
    from playwright.sync_api import Error as PlaywrightError

    merged = {**base_args, **kwargs}
    if browser_name != "chromium" or merged.get("channel") or merged.get("executable_path"):
        try:
            return launch(**kwargs)
        except PlaywrightError as exc:
            if _missing_executable(exc):
                raise BrowserNotFound(
                    f"Playwright's {browser_name} is not installed: run `python -m playwright install {browser_name}`"
                ) from None
            raise
    args = _with_quiet_args(merged.get("args", []))
    if explicit:
        if not Path(explicit).is_file() or not os.access(explicit, os.X_OK):
            raise BrowserNotFound(
                f"the Chromium executable {explicit!r} (from --chat-chromium / ${ENV_VAR}) does not exist or is not "
                "executable"
            )
        return launch(**{**kwargs, "args": args, "executable_path": explicit})
    try:
        return launch(**{**kwargs, "args": args})
    except PlaywrightError as exc:
        if not _missing_executable(exc):
            raise
    system = find_system_chromium()
    if system is None:
        names = ", ".join(SYSTEM_CHROMIUM_NAMES)
        raise BrowserNotFound(
            "no Chromium found for the browser driver: Playwright's own is not installed and none is on PATH "
            f"({names}); {INSTALL_HINT}"
        )
    return launch(**{**kwargs, "args": args, "executable_path": system})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def connect_remote(
    browser_type: Any,
    endpoint: str,
    base_args: dict[str, Any],
    explicit: str | None,
    timeout: float = 30.0,
    **kwargs: Any,
) -> Any:
    """A browser from a Playwright browser server (``playwright run-server``) at ``endpoint``.

    The launch options (pytest-playwright's ``browser_type_launch_args``, the quiet flags and an
    explicit executable from ``--chat-chromium``, a path on the server's machine) travel in the
    ``x-playwright-launch-options`` header, in the protocol's camelCase. The server honours the
    flags and the executable only when it runs with ``--unsafe``; otherwise it drops them and
    starts its own browser, as it does in Playwright's Docker image. ``timeout`` bounds the connection.
    """
    from playwright.sync_api import Error as PlaywrightError

    options = {**base_args, **kwargs}
    options["args"] = _with_quiet_args(options.get("args", []))
    if explicit:
        options["executable_path"] = explicit
    header = json.dumps(
        {_camel(key): str(value) if isinstance(value, Path) else value for key, value in options.items()}
    )
    try:
        return browser_type.connect(
            endpoint,
            timeout=timeout * 1000,
            slow_mo=options.get("slow_mo"),
            headers={"x-playwright-launch-options": header},
        )
    except PlaywrightError as exc:
        from importlib.metadata import version

        raise BrowserServerUnreachable(
            f"no browser from the Playwright browser server at {endpoint} (--chat-browser-endpoint / "
            f"${ENDPOINT_ENV_VAR}): {first_line(exc)}; "
            f"start one with `playwright run-server --port PORT` on a Playwright {version('playwright')} installation "
            "(client and server versions must match)"
        ) from None


def video_problem(browser: Any, folder: str) -> str | None:
    """Why ``browser`` cannot record a video into ``folder`` (None: it can), found by trying once:
    a page in a recording context needs Playwright's own ffmpeg, which its installer downloads."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(record_video_dir=folder)
    try:
        page = context.new_page()
        page.close()
    except PlaywrightError as exc:
        if "ffmpeg" not in str(exc):
            raise
        return (
            "Playwright's ffmpeg is not installed where the browser runs; install it with "
            "`python -m playwright install ffmpeg` (it downloads it), or leave --video off"
        )
    finally:
        context.close()
    return None
