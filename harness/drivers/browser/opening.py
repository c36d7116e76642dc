"""Opening the app's page in a fresh browser context: its token sent to its own origin only, the
page loaded (infrastructure trouble retried), Gradio's login page filled in."""

from __future__ import annotations

import re
from typing import Any

from harness.errors import TargetError, first_line
from harness.target.app import Target
from harness.waiting import OPEN_BOUND, RETRY_STATUSES, TryAgain, with_retries

__all__ = ["load_page", "log_in", "send_token_to_the_app_only"]


def send_token_to_the_app_only(context: Any, target: Target, token: str) -> None:
    """Add the token to requests for the app's own origin, and to no other (no global header)."""
    origin = target.origin + "/"
    header = {"x-hf-authorization": f"Bearer {token}"}  # what gradio_client sends; the Space proxy strips it

    def with_token(route: Any) -> None:
        route.continue_(headers={**route.request.headers, **header})

    context.route(lambda url: url.startswith(origin), with_token)


def load_page(page: Any, target: Target, timeout: float) -> None:
    """Open the app's page; no connection, 429 and 502-504 are retried with backoff (``harness.waiting``)."""
    from playwright.sync_api import Error as PlaywrightError

    def attempt() -> None:
        try:
            response = page.goto(target.url, wait_until="domcontentloaded")
        except PlaywrightError as exc:
            failure = f"the browser cannot open {target.url}: {first_line(exc)}"
            if "ERR_CONNECTION" in str(exc):
                raise TryAgain(first_line(exc), failure) from None
            raise TargetError(failure) from None
        if response is None or response.ok:
            return
        failure = f"{target.url} answered HTTP {response.status} to the browser"
        if response.status in RETRY_STATUSES:
            raise TryAgain(f"HTTP {response.status}", failure, response.headers.get("retry-after"))
        raise TargetError(failure)

    with_retries(attempt, bound=min(timeout, OPEN_BOUND), what=f"loading {target.url} in the browser")


def log_in(page: Any, target: Target, auth: tuple[str, str], timeout: float) -> None:
    """Gradio's login page: fill in the user name and password, press Login, wait for the app.

    Tracing, if on, records this (the typed password too); the run's artifacts are scrubbed.
    """
    from playwright.sync_api import Error as PlaywrightError

    wait = timeout * 1000
    try:
        page.wait_for_function("() => window.gradio_config !== undefined", polling=50, timeout=wait)
        if not page.evaluate("() => Boolean(window.gradio_config.auth_required)"):
            return  # no login page: the app has no auth=, or the session is logged in already
        password = page.locator("input[type=password]")
        password.wait_for(state="visible", timeout=wait)
        page.locator("input:not([type=password]):not([type=hidden]):not([type=file])").first.fill(auth[0])
        password.fill(auth[1])
        page.get_by_role("button", name=re.compile(r"^\s*log ?in\s*$", re.I)).first.click()
        # the page reloads as the app once the login is accepted; a refusal shows a message instead
        page.wait_for_function(
            "() => (window.gradio_config && !window.gradio_config.auth_required) || "
            "/incorrect|invalid/i.test(document.body.innerText)",
            polling=50,
            timeout=wait,
        )
    except PlaywrightError as exc:
        raise TargetError(f"the browser could not log in at {target.url}: {first_line(exc)}") from None
    if page.evaluate("() => !window.gradio_config || window.gradio_config.auth_required"):
        raise TargetError(
            f"{target.url} refused the user name and password given with --chat-auth (its login page says so)"
        )
