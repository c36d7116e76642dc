"""The ``chat-harness`` command: its arguments, and one module per subcommand.

* ``chat-harness run [PYTEST ARGS...]``: run scenarios with pytest (the plugin is always loaded);
  with no paths it runs the bundled ``scenarios/`` folder if there is one.
* ``chat-harness validate PATH...``: check scenario files without running them; prints
  ``file:line: message`` per invalid file; exit code 0 when all are valid, 1 otherwise.
* ``chat-harness schema``: print the path of the scenario JSON Schema (for editors).
* ``chat-harness new TARGET [-o FILE]``: write a starting scenario for the app (one step per
  action it wires), valid against the schema and passing as written.
* ``chat-harness check TARGET [--driver api|browser|all]``: the behaviour contracts of every
  action the app wires (send, retry, undo, like, dislike, edit, clear), with no scenario; one line
  per action and driver (passed / violated: the contract / not wired); exit code 0 when all held.
* ``chat-harness record TARGET --steps STEP... [-o FILE]``: run the actions once (API driver by
  default) and write them as a scenario, each followed by an ``expect`` of the history observed
  (``--update-expectations`` on a skeleton); nothing is written when the run fails.
* ``chat-harness model serve [--script FILE] [--port N]``: the scripted model on its own, for an
  app the harness does not launch; prints the base URL and the variables to start the app with.
* ``chat-harness inspect TARGET [--json]``: what a scenario can use in an app (URL, Space id or
  module:attr): its chatbots, the events wired on each, inputs, endpoints, Gradio version and
  mode. Exit code 0 when it could be read (also with no chatbot: the report says so), 1 when not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chat-harness", description="Regression tests for Gradio chatbots, written as YAML scenarios."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_args = sub.add_parser("run", help="run scenarios with pytest (extra arguments go to pytest)")
    run_args.add_argument(
        "pytest_args", nargs=argparse.REMAINDER, help="arguments for pytest, e.g. scenarios/ --chat-url URL"
    )
    validate_args = sub.add_parser("validate", help="check scenario files without running them")
    validate_args.add_argument("paths", nargs="+", help="files or folders of scenarios")
    sub.add_parser("schema", help="print the path of the scenario JSON Schema")
    new_args = sub.add_parser("new", help="write a starting scenario for an app (one step per action it wires)")
    new_args.add_argument("target", help="http(s) URL, Space id (owner/name) or module:attr")
    new_args.add_argument(
        "-o", "--output", type=Path, default=Path("new.chat.yaml"), help="file to write (default new.chat.yaml)"
    )
    new_args.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    new_args.add_argument(
        "--ready-timeout", type=float, default=60.0, help="how long to wait for a remote app (default 60)"
    )
    inspect_args = sub.add_parser(
        "inspect", help="show what a scenario can use in an app: chatbots, wired events, inputs, endpoints"
    )
    inspect_args.add_argument(
        "target",
        help="http(s) URL, Space id (owner/name) or module:attr; token from HF_TOKEN, login from CHAT_HARNESS_AUTH",
    )
    inspect_args.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect_args.add_argument(
        "--ready-timeout", type=float, default=60.0, help="how long to wait for a remote app (default 60)"
    )
    check_args = sub.add_parser(
        "check", help="check the behaviour contracts of every action an app wires, with no scenario"
    )
    check_args.add_argument(
        "target",
        help="http(s) URL, Space id (owner/name) or module:attr; token from HF_TOKEN, login from CHAT_HARNESS_AUTH",
    )
    check_args.add_argument(
        "--driver", choices=["api", "browser", "all"], default="all", help="drivers to check with (default all)"
    )
    check_args.add_argument("--chatbot", default=None, help="the chatbot to check (label or elem_id), if several")
    check_args.add_argument(
        "--real-model",
        action="store_true",
        help="let an app launched in-process call its real model (default: a catch-all scripted reply)",
    )
    check_args.add_argument("-v", "--verbose", action="store_true", help="show pytest's failure reports too")
    check_args.add_argument(
        "--ready-timeout", type=float, default=60.0, help="how long to wait for a remote app (default 60)"
    )
    record_args = sub.add_parser(
        "record", help="run a list of actions on an app and write them as a scenario with the observed history"
    )
    record_args.add_argument("target", help="http(s) URL, Space id (owner/name) or module:attr")
    record_args.add_argument(
        "--steps",
        nargs="+",
        required=True,
        metavar="STEP",
        help="actions as written in a scenario, e.g. 'send: hello' retry 'like: {index: -1}' undo",
    )
    record_args.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("recorded.chat.yaml"),
        help="file to write (default recorded.chat.yaml)",
    )
    record_args.add_argument(
        "--name", default=None, help="the scenario's name (default: the file's name without extensions)"
    )
    record_args.add_argument(
        "--driver", choices=["api", "browser"], default="api", help="driver that records (default api)"
    )
    record_args.add_argument("--force", action="store_true", help="overwrite the file if it exists")
    record_args.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="FILE",
        help="script the model with this file (a model: block's contents) and record what the app sends it",
    )
    model_args = sub.add_parser("model", help="the scripted model, for an app the harness does not launch")
    model_sub = model_args.add_subparsers(dest="model_command", required=True)
    serve_args = model_sub.add_parser(
        "serve", help="serve a model script on a loopback port; print the variables to start the app with"
    )
    serve_args.add_argument(
        "--script", type=Path, default=None, help="YAML file holding a model: block's contents (replies, rules, ...)"
    )
    serve_args.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    if args.command == "run":
        from harness.cli.run import run

        return run(args.pytest_args)
    if args.command == "validate":
        from harness.cli.validate import validate

        return validate(args.paths)
    if args.command == "inspect":
        from harness.cli.inspect import inspect

        return inspect(args.target, args.json, args.ready_timeout)
    if args.command == "new":
        from harness.cli.new import new

        return new(args.target, args.output, args.force, args.ready_timeout)
    if args.command == "check":
        from harness.cli.check import check

        return check(args.target, args.driver, args.chatbot, args.real_model, args.ready_timeout, args.verbose)
    if args.command == "record":
        from harness.cli.record import record

        return record(args.target, args.steps, args.output, args.name, args.driver, args.force, args.model)
    if args.command == "model":
        from harness.cli.model import serve

        return serve(args.script, args.port)
    from harness.cli.schema import schema

    return schema()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
