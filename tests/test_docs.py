"""The docs: the scenario reference names every step, expectation key and matcher of the schema; the
CI workflow is valid; the README's option table is the plugin's own; every doc is linked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from harness.spec.loader import schema

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCENARIO_DOC = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")


def _keys() -> list[str]:
    defs = schema()["$defs"]
    steps = list(defs["steps"])
    expect = list(defs["steps"]["expect"]["properties"]["expect"]["properties"])
    stream = list(defs["steps"]["expect"]["properties"]["expect"]["properties"]["stream"]["properties"])
    message = list(defs["message"]["properties"])
    matchers = list(defs["matcher"]["oneOf"][1]["properties"])
    return [*steps, *expect, *stream, *message, *matchers]


@pytest.mark.parametrize("key", _keys())
def test_the_reference_shows_every_key_with_an_example(key: str) -> None:
    assert f"`{key}" in SCENARIO_DOC or f"{key}:" in SCENARIO_DOC, f"docs/scenarios.md does not mention {key!r}"
    assert f"{key}:" in SCENARIO_DOC, f"docs/scenarios.md has no example using {key}:"


WORKFLOW = Path(__file__).resolve().parent.parent / "docs" / "chat-harness-ci.yml"


def _check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored GitHub workflow schema (SchemaStore's; no network)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_ci_workflow_is_a_valid_github_workflow_that_does_what_the_guide_says(tmp_path: Path) -> None:
    done = _check_workflow(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = YAML(typ="safe").load(WORKFLOW.read_text())
    assert workflow["on"]["schedule"][0]["cron"] and "workflow_dispatch" in workflow["on"]
    nightly = workflow["jobs"]["nightly"]
    run = next(step for step in nightly["steps"] if "--chat-space" in step.get("run", ""))
    assert run["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    for job in workflow["jobs"].values():
        command = next(step["run"] for step in job["steps"] if "pytest scenarios/" in step.get("run", ""))
        assert all(
            option in command
            for option in (
                "--driver all",
                "--chat-report reports",
                "--junitxml reports/junit.xml",
                "--tracing retain-on-failure",
            )
        )
        upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
        assert upload["if"] == "${{ !cancelled() }}" and upload["with"]["path"] == "reports/"
    assert "docs/chat-harness-ci.yml" in (ROOT / "docs" / "ci.md").read_text() and "(docs/ci.md)" in README
    # and the check can fail: a schedule without its cron
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace('- cron: "17 3 * * *"', "- when: nightly"))
    assert _check_workflow(broken).returncode == 1


def _undescribed(node: object, path: str = "", defs: dict[str, Any] | None = None) -> list[str]:
    """Every property of the schema without a description (what an editor shows on hover); a
    property that is only a $ref shows the referenced definition's."""
    defs = defs if defs is not None else (node.get("$defs", {}) if isinstance(node, dict) else {})
    missing = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            ref = sub.get("$ref", "").removeprefix("#/$defs/") if isinstance(sub, dict) else ""
            if isinstance(sub, dict) and "description" not in sub and "description" not in defs.get(ref, {}):
                missing.append(f"{path}.{name}")
        for key, sub in node.items():
            missing.extend(_undescribed(sub, f"{path}/{key}", defs))
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            missing.extend(_undescribed(sub, f"{path}[{i}]", defs))
    return missing


def test_every_key_of_the_schema_has_a_description_for_the_editor() -> None:
    assert _undescribed(schema()) == []
    assert _undescribed({"properties": {"x": {"type": "string"}}}) == [".x"]


def test_the_readme_option_table_is_the_plugins_own() -> None:
    """The options are defined once (harness.pytest_plugin.options): --help and the README's table
    come from the same definitions."""
    from harness.pytest_plugin.options import OPTIONS, option_table

    assert option_table() in README
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    flat = " ".join(shown.split())
    for option in OPTIONS:
        if option.flag is not None:
            assert option.flag in shown, option.flag
            assert " ".join(option.help.split()) in flat, option.flag
        if option.ini:
            assert f"{option.name} " in shown, option.name


def test_the_readme_is_short_and_links_every_doc() -> None:
    assert len(README.splitlines()) < 150
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{doc.name})" in README, doc.name


def _commands() -> list[str]:
    """Every ``chat-harness`` command, from its argument parser (``model serve`` as two words)."""
    import argparse

    from harness import cli

    found: list[str] = []
    original = argparse.ArgumentParser.parse_args

    def capture(parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        def walk(p: argparse.ArgumentParser, prefix: str) -> None:
            for action in p._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for name, sub in action.choices.items():
                        if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                            found.append(f"{prefix}{name}")
                        walk(sub, f"{prefix}{name} ")

        walk(parser, "")
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = capture  # type: ignore[method-assign]
    try:
        cli.main(["schema"])
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_args = original  # type: ignore[method-assign]
    return found


def test_the_readme_names_every_command() -> None:
    commands = _commands()
    assert "model serve" in commands and "record" in commands
    for command in commands:
        assert f"chat-harness {command}" in README, f"the README does not mention chat-harness {command}"


@pytest.mark.parametrize("command", [["model", "serve"], ["record"]])
def test_the_new_command_options_are_in_help(command: list[str]) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "harness.cli", *command, "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    flags = ["--script", "--port"] if command == ["model", "serve"] else ["--model"]
    assert all(flag in shown for flag in flags), shown
