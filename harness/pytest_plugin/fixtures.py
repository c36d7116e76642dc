"""pytest fixtures layered over pytest-playwright's (registered by ``pytest_plugin.hooks`` when it is loaded)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from harness.drivers.browser.contexts import WarmContexts
from harness.drivers.browser.launch import connect_remote, launch_with_fallback, video_problem
from harness.pytest_plugin.settings import settings

__all__ = ["ChatHarnessWarning", "browser_context_args", "chat_browser_contexts", "launch_browser"]


class ChatHarnessWarning(pytest.PytestWarning):
    """Something the harness had to leave out of the run (it goes on without it)."""


@pytest.fixture(scope="session")
def launch_browser(
    launch_browser: Any,
    browser_name: str,
    browser_type: Any,
    browser_type_launch_args: dict[str, Any],
    connect_options: Any,
    pytestconfig: pytest.Config,
) -> Any:
    """pytest-playwright's launcher, finding a usable Chromium when Playwright's own is missing, or
    connecting to a browser server with ``--chat-browser-endpoint`` (ini ``chat_browser_endpoint``,
    env ``CHAT_HARNESS_BROWSER_ENDPOINT``)."""
    explicit = settings(pytestconfig).chromium
    endpoint = settings(pytestconfig).browser_endpoint
    if endpoint is not None:
        return lambda **kwargs: connect_remote(browser_type, endpoint, browser_type_launch_args, explicit, **kwargs)
    if connect_options:  # a project's own connect_options fixture
        return launch_browser

    def launch(**kwargs: Any) -> Any:
        return launch_with_fallback(launch_browser, browser_name, browser_type_launch_args, explicit, **kwargs)

    return launch


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], browser: Any) -> dict[str, Any]:
    """pytest-playwright's context arguments, without video recording when the browser cannot
    record one (``--video on`` needs Playwright's own ffmpeg, which a system Chromium lacks): one
    warning for the run instead of a failure of every browser item."""
    args = dict(browser_context_args)
    folder = args.get("record_video_dir")
    if folder:
        problem = video_problem(browser, folder)
        if problem is not None:
            del args["record_video_dir"]
            warnings.warn(ChatHarnessWarning(f"--video: no video is recorded: {problem}"), stacklevel=1)
    return args


@pytest.fixture(scope="session")
def chat_browser_contexts(browser: Any, browser_context_args: dict[str, Any]) -> Iterator[WarmContexts | None]:
    """The warm browser contexts of this session (per xdist worker): a new page per scenario in a
    context kept across scenarios and cleared after each (None when the browser is not Chromium)."""
    from harness.drivers.browser.driver import prepare_context

    if not WarmContexts.usable(browser):
        yield None
        return
    contexts = WarmContexts(browser, browser_context_args, prepare_context)
    try:
        yield contexts
    finally:
        contexts.close()
