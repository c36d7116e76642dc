"""chat-harness: regression tests for Gradio chatbots, written as YAML scenarios.

Public API: load scenarios (``load_file``), run one on a driver (``run_scenario``), and the
exception tree in ``harness.errors``. Most users only use the pytest plugin and the CLI.
"""

from __future__ import annotations

from harness.errors import (
    ActionError,
    AppRaised,
    ExpectationFailed,
    HarnessError,
    ScenarioError,
    StepError,
    TargetError,
)
from harness.run.runner import RunResult, run_scenario
from harness.spec.loader import load_file, load_text

__all__ = [
    "ActionError",
    "AppRaised",
    "ExpectationFailed",
    "HarnessError",
    "RunResult",
    "ScenarioError",
    "StepError",
    "TargetError",
    "load_file",
    "load_text",
    "run_scenario",
]
