"""pytest fixtures layered over pytest-playwright's (registered by ``harness.plugin`` when it is loaded)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness.browser import ENV_VAR, launch_with_fallback

__all__ = ["launch_browser"]


@pytest.fixture(scope="session")
def launch_browser(launch_browser: Any, browser_name: str, browser_type_launch_args: dict[str, Any], connect_options: Any, pytestconfig: pytest.Config) -> Any:
    """pytest-playwright's launcher, finding a usable Chromium when Playwright's own is missing."""
    if connect_options:
        return launch_browser
    from harness.plugin import setting

    explicit = setting(pytestconfig, "chat_chromium") or os.environ.get(ENV_VAR) or None

    def launch(**kwargs: Any) -> Any:
        return launch_with_fallback(launch_browser, browser_name, browser_type_launch_args, explicit, **kwargs)

    return launch
