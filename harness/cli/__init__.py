"""The ``chat-harness`` command.

* ``chat-harness run [PYTEST ARGS...]``: run scenarios with pytest (the plugin is always loaded);
  with no paths it runs the bundled ``scenarios/`` folder if there is one.
* ``chat-harness validate PATH...``: check scenario files without running them; prints
  ``file:line: message`` per invalid file; exit code 0 when all are valid, 1 otherwise.
* ``chat-harness schema``: print the path of the scenario JSON Schema (for editors).
* ``chat-harness new TARGET [-o FILE]``: write a starting scenario for the app (one step per
  action it wires), valid against the schema and passing as written.
* ``chat-harness record TARGET --steps STEP... [-o FILE]``: run the actions once (API driver by
  default) and write them as a scenario, each followed by an ``expect`` of the history observed
  (``--update-expectations`` on a skeleton); nothing is written when the run fails.
* ``chat-harness inspect TARGET [--json]``: what a scenario can use in an app (URL, Space id or
  module:attr): its chatbots, the events wired on each, inputs, endpoints, Gradio version and
  mode. Exit code 0 when it could be read (also with no chatbot: the report says so), 1 when not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.spec.loader import iter_files, load_file, schema_path

__all__ = ["main"]


def _run(args: Sequence[str]) -> int:
    import pytest

    # the console script has imported the harness before pytest loads it as a plugin: nothing to rewrite there
    argv = ["-W", "ignore:Module already imported so cannot be rewritten; harness:pytest.PytestAssertRewriteWarning", *args]
    if not any(not a.startswith("-") and Path(a).exists() for a in argv) and Path("scenarios").is_dir():
        argv.append("scenarios")
    return int(pytest.main(argv))


def _validate(paths: Sequence[str]) -> int:
    files = list(iter_files(paths))
    if not files:
        print("no scenario files found in " + ", ".join(paths), file=sys.stderr)
        return 1
    from harness.spec.sandbox import discover

    sandbox = discover(Path.cwd())
    failed = 0
    count = 0
    for path in files:
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            failed += 1
            continue
        try:
            count += len(load_file(path, sandbox))
        except ScenarioError as exc:
            print(str(exc))
            failed += 1
        except Exception as exc:  # load_file turns every problem into a ScenarioError; this is the last net
            print(f"{path}:1: cannot load the file ({type(exc).__name__}: {exc})")
            failed += 1
    print(f"{len(files) - failed} valid, {failed} invalid file(s); {count} scenario(s)")
    return 1 if failed else 0


def _schema() -> int:
    print(schema_path())
    return 0


def _is_space(target: str) -> bool:
    return "/" in target and "://" not in target and ":" not in target


def _target_options(target: str) -> list[str]:
    """The pytest options that point a run at ``target`` (module:attr, URL or Space id)."""
    if "://" in target:
        return ["--chat-url", target]
    if _is_space(target):
        return ["--chat-space", target]
    return ["--chat-app", target]


def _report(command: str, target: str, ready_timeout: float) -> Any:
    """What ``inspect`` finds in the target, or None after printing why it could not be read."""
    import os

    from harness.cli.inspect import inspect_target
    from harness.errors import TargetError
    from harness.target.credentials import Credentials, parse_login, token_for

    login = os.environ.get("CHAT_HARNESS_AUTH")
    try:
        auth = parse_login(login) if login else None
    except ValueError as exc:
        print(f"chat-harness {command}: CHAT_HARNESS_AUTH: {exc}", file=sys.stderr)
        return None
    token = token_for(None if _is_space(target) else target, None, os.environ.get("HF_TOKEN") or None)
    try:
        return inspect_target(target, Credentials(token=token, auth=auth), timeout=ready_timeout)
    except TargetError as exc:
        print(f"chat-harness {command}: {exc}", file=sys.stderr)
        return None


def _inspect(target: str, as_json: bool, ready_timeout: float) -> int:
    import json

    from harness.cli.inspect import render

    report = _report("inspect", target, ready_timeout)
    if report is None:
        return 1
    print(json.dumps(report.as_dict(), indent=2) if as_json else render(report))
    return 0


def _new(target: str, output: Path, force: bool, ready_timeout: float) -> int:
    from harness.cli.new import new_scenario

    if output.exists() and not force:
        print(f"chat-harness new: {output} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    report = _report("new", target, ready_timeout)
    if report is None:
        return 1
    try:
        text = new_scenario(report, schema_path())
    except ValueError as exc:
        print(f"chat-harness new: {target}: {exc}", file=sys.stderr)
        return 1
    output.write_text(text)
    print(f"wrote {output}; run it with: chat-harness run {output} --driver all {' '.join(_target_options(target))}")
    return 0


def _record(target: str, steps: Sequence[str], output: Path, name: str | None, driver: str, force: bool) -> int:
    """Run the actions once on ``target`` and write them, each followed by the history observed."""
    from harness.cli.record import skeleton
    from harness.errors import RecordingError

    if output.exists() and not force:
        print(f"chat-harness record: {output} exists; pass --force to overwrite it", file=sys.stderr)
        return 1
    try:
        text = skeleton(steps, name or output.name.split(".")[0], target, schema_path())
    except RecordingError as exc:
        print(f"chat-harness record: {exc}", file=sys.stderr)
        return 1
    output.write_text(text, encoding="utf-8")
    code = _run([str(output), "--update-expectations", "--driver", driver, "-q", "-p", "no:cacheprovider", *_target_options(target)])
    if code != 0:
        output.unlink()
        print(f"chat-harness record: the run failed (pytest exit code {code}, output above); {output} not written", file=sys.stderr)
        return 1
    print(f"recorded {len(steps)} action(s) into {output}; run it with: chat-harness run {output} --driver all {' '.join(_target_options(target))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chat-harness", description="Regression tests for Gradio chatbots, written as YAML scenarios.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenarios with pytest (extra arguments go to pytest)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest, e.g. scenarios/ --chat-url URL")
    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("paths", nargs="+", help="files or folders of scenarios")
    sub.add_parser("schema", help="print the path of the scenario JSON Schema")
    new = sub.add_parser("new", help="write a starting scenario for an app (one step per action it wires)")
    new.add_argument("target", help="http(s) URL, Space id (owner/name) or module:attr")
    new.add_argument("-o", "--output", type=Path, default=Path("new.chat.yaml"), help="file to write (default new.chat.yaml)")
    new.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    new.add_argument("--ready-timeout", type=float, default=60.0, help="how long to wait for a remote app (default 60)")
    inspect = sub.add_parser("inspect", help="show what a scenario can use in an app: chatbots, wired events, inputs, endpoints")
    inspect.add_argument("target", help="http(s) URL, Space id (owner/name) or module:attr; token from HF_TOKEN, login from CHAT_HARNESS_AUTH")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect.add_argument("--ready-timeout", type=float, default=60.0, help="how long to wait for a remote app (default 60)")
    record = sub.add_parser("record", help="run a list of actions on an app and write them as a scenario with the observed history")
    record.add_argument("target", help="http(s) URL, Space id (owner/name) or module:attr")
    record.add_argument("--steps", nargs="+", required=True, metavar="STEP", help="actions as written in a scenario, e.g. 'send: hello' retry 'like: {index: -1}' undo")
    record.add_argument("-o", "--output", type=Path, default=Path("recorded.chat.yaml"), help="file to write (default recorded.chat.yaml)")
    record.add_argument("--name", default=None, help="the scenario's name (default: the file's name without extensions)")
    record.add_argument("--driver", choices=["api", "browser"], default="api", help="driver that records (default api)")
    record.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args.pytest_args)
    if args.command == "validate":
        return _validate(args.paths)
    if args.command == "inspect":
        return _inspect(args.target, args.json, args.ready_timeout)
    if args.command == "new":
        return _new(args.target, args.output, args.force, args.ready_timeout)
    if args.command == "record":
        return _record(args.target, args.steps, args.output, args.name, args.driver, args.force)
    return _schema()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
