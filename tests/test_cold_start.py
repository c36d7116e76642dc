"""A run pays only for what it uses: no Gradio import in a run that collects no scenario, no browser
started for an API-only run. These runs need a fresh interpreter (``runpytest_subprocess``): the
suite's forked runs start with Gradio already imported."""

from __future__ import annotations

import json

import pytest

# the project's conftest writes down, at the end of the run, what the run imported and which
# processes it had started while its items ran
CONFTEST = """
import json, sys
import psutil

started = set()

def pytest_runtest_teardown(item):
    started.update(p.name() for p in psutil.Process().children(recursive=True))

def pytest_sessionfinish(session):
    with open("cost.json", "w") as out:
        json.dump({"gradio": "gradio" in sys.modules, "processes": sorted(started)}, out)
"""

SCENARIO = "name: hello\nsteps:\n  - send: hi\n"


def _cost(project: pytest.Pytester, *args: str, passed: int) -> dict[str, object]:
    """What a run that passes ``passed`` items imported and started."""
    project.makeconftest(CONFTEST)
    (project.path / "cost.json").unlink(missing_ok=True)
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--rootdir", str(project.path), *args)
    result.assert_outcomes(passed=passed)
    cost: dict[str, object] = json.loads((project.path / "cost.json").read_text())
    return cost


def test_a_run_that_collects_no_scenario_imports_no_gradio(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    assert _cost(project, "--chat-app", "fixtures.reference_app:demo", passed=1)["gradio"] is False
    # the same run with a scenario to run imports it: the check above can tell
    (project.path / "hello.chat.yaml").write_text(SCENARIO)
    assert _cost(project, "--chat-app", "fixtures.reference_app:demo", "--driver", "api", passed=2)["gradio"] is True


def test_an_api_only_run_starts_no_browser(project: pytest.Pytester, reference_url: str) -> None:
    (project.path / "hello.chat.yaml").write_text(SCENARIO)
    api = _cost(project, "--chat-url", reference_url, "--driver", "api", passed=1)
    assert api["gradio"] is False  # by URL: no app to import
    assert not [name for name in api["processes"] if "chrom" in name or name == "node"], api  # type: ignore[attr-defined]
    browser = _cost(project, "--chat-url", reference_url, "--driver", "browser", passed=1)
    assert [name for name in browser["processes"] if "chrom" in name], browser  # type: ignore[attr-defined]
