"""The bundled scenarios, and a run of them in a pytest subprocess with what "all pass" means."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

# imported here, not inside a pytester test, whose sys.modules snapshot would drop numpy
from fixtures import chat_interface_app, reference_app
from harness.gradio.appconfig import AppConfig
from harness.run.runner import missing_requirements
from harness.spec.loader import load_file
from harness.spec.model import Scenario
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

__all__ = ["APPS", "LLM_SCENARIOS", "RUNS", "SCENARIOS", "assert_all_pass", "bundled", "run_bundled"]

APPS = {"reference": reference_app, "chat_interface": chat_interface_app}
SCENARIOS = ROOT / "scenarios"
#: the scenarios of the model-backed apps (each names its app; they script its model)
LLM_SCENARIOS = SCENARIOS / "llm"
# --driver all: per scenario an api item, a browser item and a parity item
RUNS = 3


def bundled(files: Sequence[str] = ()) -> list[Scenario]:
    """The bundled scenarios (of the files named, else of every file)."""
    paths = [SCENARIOS / name for name in files] or sorted(SCENARIOS.glob("*.chat.yaml"))
    return [s for path in paths for s in load_file(path)]


def run_bundled(pytester: pytest.Pytester, *args: str, files: Sequence[str] = ()) -> pytest.RunResult:
    paths = [str(SCENARIOS / name) for name in files] or sorted(str(p) for p in SCENARIOS.glob("*.chat.yaml"))
    return runpytest_forked(pytester, "-p", "no:cacheprovider", "-rs", *paths, "--rootdir", str(ROOT), *args)


def assert_all_pass(
    result: pytest.RunResult,
    app: str,
    served_config: dict[str, Any] | None = None,
    files: Sequence[str] = (),
    runs: int = RUNS,
) -> None:
    """Every scenario passes on each driver and in parity, except those whose ``requires`` the app lacks.

    ``served_config`` is the config the app under test served (another Gradio version); by default
    the in-process app's.
    """
    config = AppConfig(served_config or APPS[app].demo.get_config_file())
    skipped = sum(1 for s in bundled(files) if missing_requirements(s, config))
    result.assert_outcomes(passed=runs * (len(bundled(files)) - skipped), skipped=runs * skipped)
    assert "disagree" not in result.stdout.str()
