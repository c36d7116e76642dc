"""A scenario file is data: its ``app:`` imports only the project's own modules and its ``files:``
read only under its folder or the project, unless an ini option widens that."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.spec.sandbox import Sandbox, discover
from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

EVIL = """
from pathlib import Path
Path({marker!r}).write_text("imported")  # code a pull request would run at import
from fixtures.reference_app import demo
"""


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the project, with a module that leaves a marker file when it is imported."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "evil_app.py").write_text(EVIL.format(marker=str(folder / "ran")))
    (folder / "secret.txt").write_text("not for the app under test\n")
    return folder


def test_an_app_outside_the_project_is_not_imported(
    project: pytest.Pytester, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(outside)]))  # importable, but not the project's
    (project.path / "pr.chat.yaml").write_text(
        "name: from a pull request\napp: evil_app:demo\nsteps:\n  - send: hello\n"
    )
    result = runpytest_forked(project, "-p", "no:cacheprovider", "pr.chat.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*invalid scenario file: pr.chat.yaml:2: app 'evil_app:demo' names the module 'evil_app' "
            f"from {outside}*outside the project*chat_trusted_apps*"
        ]
    )
    assert not (outside / "ran").exists(), "the module was imported"

    # the ini option names the modules a project trusts
    result = runpytest_forked(project, "-p", "no:cacheprovider", "pr.chat.yaml", "-o", "chat_trusted_apps=evil_*")
    result.assert_outcomes(passed=1)
    assert (outside / "ran").exists()


def test_files_outside_the_project_are_not_read(project: pytest.Pytester, outside: Path) -> None:
    (project.path / "link.txt").symlink_to(outside / "secret.txt")  # inside by name, outside in fact
    for name, attached in [
        ("up", "../" * 12 + "etc/passwd"),
        ("proc", "/proc/self/environ"),
        ("link", "link.txt"),
        ("abs", str(outside / "secret.txt")),
    ]:
        (project.path / f"{name}.chat.yaml").write_text(
            f"name: {name}\nsteps:\n  - send: {{text: look, files: ['{attached}']}}\n"
        )
    result = runpytest_forked(project, "-p", "no:cacheprovider", ".", "--co", "-q")
    out = result.stdout.str()
    for name in ("up", "proc", "link", "abs"):
        assert f"{name}.chat.yaml::invalid scenario file" in out, name
    result = runpytest_forked(project, "-p", "no:cacheprovider", ".")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*up.chat.yaml:3: step 1 (send): the file '../../*etc/passwd' "
            "is outside the folders a scenario may read*chat_file_roots*"
        ]
    )

    # the ini option widens what files: may read (here the link and the absolute path)
    result = runpytest_forked(project, "-p", "no:cacheprovider", ".", "--co", "-q", "-o", f"chat_file_roots={outside}")
    out = result.stdout.str()
    assert "link.chat.yaml::link[api]" in out and "abs.chat.yaml::abs[api]" in out
    assert "up.chat.yaml::invalid scenario file" in out and "proc.chat.yaml::invalid scenario file" in out


def test_validate_applies_the_projects_ini(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "scenarios").mkdir()
    scenario = tmp_path / "scenarios" / "s.chat.yaml"
    scenario.write_text(f"name: s\nsteps:\n  - send: {{text: look, files: ['{outside / 'secret.txt'}']}}\n")
    monkeypatch.chdir(tmp_path / "scenarios")
    assert main(["validate", "s.chat.yaml"]) == 1
    assert "is outside the folders a scenario may read" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").write_text(f'[tool.pytest.ini_options]\nchat_file_roots = ["{outside}"]\n')
    assert main(["validate", "s.chat.yaml"]) == 0
    assert discover(tmp_path / "scenarios").root == tmp_path.resolve()


def test_the_project_s_own_modules_are_allowed_and_installed_ones_are_not() -> None:
    sandbox = Sandbox.for_project(ROOT)
    search = [str(ROOT)]
    assert sandbox.app_problem("fixtures.reference_app:demo", search) is None
    assert "cannot be found" in (sandbox.app_problem("fixtures.no_such_app:demo", search) or "")
    assert "standard library" in (sandbox.app_problem("subprocess:run", search) or "")
    # the virtual environment lives inside this project, yet its packages are not the project's code
    problem = sandbox.app_problem("gradio.themes:Base", [str(ROOT), *__import__("sys").path])
    assert problem is not None and "outside the project's own code" in problem
