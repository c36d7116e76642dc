"""Shared fixtures of the suite (helpers live in ``tests.helpers``)."""

from __future__ import annotations

from collections.abc import Iterator

# likewise gradio (and numpy under it): a pytester test that happens to import it first would have
# it dropped from sys.modules afterwards, and numpy cannot be imported a second time in a process
import gradio  # noqa: F401

# imported before any test: httpx imports httpcore lazily and keeps the httpcore exception classes
# it saw first; a pytester test's sys.modules snapshot would drop an httpcore first imported during
# that test, the next import would make new classes, and httpx would then let httpcore.ConnectError
# through unmapped (seen as a readiness poll of served() failing with it)
import httpcore  # noqa: F401
import pytest

from tests.helpers.servers import ROOT, served

pytest_plugins = ["tests.helpers.leaks", "tests.helpers.forked"]

# scenario files the tests feed to the harness on purpose (tests/data/bad*: malformed), not scenarios of this suite
collect_ignore_glob = ["data/*"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: with ``-n 2`` each worker then starts on one, and the short ones fill the
    gaps at the end, instead of one worker running the last long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _pytest_output_as_on_a_workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest runs the tests start print the same here and on CI: with ``CI`` or ``BUILD_NUMBER``
    set, pytest repeats each whole failure message in its short test summary (elsewhere it cuts it to
    one line), which doubles every count of a message in the output."""
    for name in ("CI", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project folder whose pytest runs can import the harness and the fixture apps."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    return pytester


@pytest.fixture
def runner(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project that runs from the repository root, where the bundled scenarios are."""
    monkeypatch.chdir(ROOT)
    return project


@pytest.fixture
def reference_url() -> Iterator[str]:
    """The reference app served by a process of its own, for one test: an idle Gradio server polls
    its queue every millisecond (a tenth of a core), so one kept for the session costs more CPU
    than starting one for each of the few tests that need it."""
    with served("fixtures.reference_app") as url:
        yield url
