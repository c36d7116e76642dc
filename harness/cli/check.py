"""``chat-harness check TARGET``: the behaviour contracts of every action the app wires, with no scenario.

For each action (send, retry, undo, like, dislike, edit, clear) it writes a short scenario that
only sets the chat up and does the action, with no expected text: the contracts alone judge it
(``harness.run.contracts``). The scenarios run through pytest on the chosen drivers, and one line
per action says passed, violated (the contract it broke), failed (another failure) or not wired.
An app launched in-process (module:attr) has its model calls answered by a catch-all script
(``--real-model`` lets them through to the provider); a URL or a Space answers with its own model.
Exit code 0 when every wired action passed, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.cli.inspect import AppReport, ChatbotReport, read_app
from harness.cli.run import shown_target, target_options

__all__ = ["ACTIONS", "check", "check_scenarios"]

FIRST = "Hello! This is chat-harness checking the chat. Please answer briefly."
SECOND = "Thank you. One more short answer, please."

#: each action checked: (the chatbot event it needs, the steps that set the chat up, the action)
ACTIONS: dict[str, tuple[str | None, list[str], str]] = {
    "send": (None, [f"send: {json.dumps(FIRST)}"], f"send: {json.dumps(SECOND)}"),
    "retry": ("retry", [f"send: {json.dumps(FIRST)}"], "retry: {}"),
    "undo": ("undo", [f"send: {json.dumps(FIRST)}", f"send: {json.dumps(SECOND)}"], "undo: {}"),
    "like": ("like", [f"send: {json.dumps(FIRST)}"], "like: {}"),
    "dislike": ("like", [f"send: {json.dumps(FIRST)}"], "dislike: {}"),
    "edit": (
        "edit",
        [f"send: {json.dumps(FIRST)}", f"send: {json.dumps(SECOND)}"],
        f"edit: {{index: -2, text: {json.dumps('Edited: ' + SECOND)}}}",
    ),
    "clear": ("clear", [f"send: {json.dumps(FIRST)}"], "clear: {}"),
}

#: where pytest reads a project's settings from (the first that exists here is used)
INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")

#: the model script of an app launched in-process: any call gets a short reply
CATCH_ALL = [
    "model:",
    "  rules:",
    "    - when: {any: true}",
    "      reply: This is a scripted reply from chat-harness check.",
]


def check_scenarios(bot: ChatbotReport, chatbot: str | None, scripted: bool) -> dict[str, str | None]:
    """Per action, the YAML text of its scenario (None: the app does not wire it)."""
    out: dict[str, str | None] = {}
    for action, (event, setup, step) in ACTIONS.items():
        if event is not None and not bot.events.get(event):
            out[action] = None
            continue
        lines = [f"name: {action}"]
        if chatbot:
            lines.append(f"chatbot: {json.dumps(chatbot)}")
        if scripted:
            lines.extend(CATCH_ALL)
        lines.append("steps:")
        # the set-up is not judged here: a broken send is the send line's to report
        lines.extend(f"  - {_without_contracts(s)}" for s in setup)
        lines.append(f"  - {step}")
        out[action] = "\n".join(lines) + "\n"
    return out


def _without_contracts(step: str) -> str:
    kind, _, value = step.partition(": ")
    return f"{kind}: {{text: {value}, contracts: false}}" if kind == "send" else step


@dataclass
class _Outcomes:
    """What pytest reported of each check item: (action, driver) -> (outcome, first line)."""

    seen: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.partition("::")[2]
        if "[" not in name or not name.endswith("]"):
            return
        action, _, driver = name[:-1].rpartition("[")
        if report.when == "call" or report.outcome != "passed":
            key = (action, driver)
            if key in self.seen and self.seen[key][0] != "passed":
                return  # the call's failure, not its teardown's
            self.seen[key] = (report.outcome, _why(report))


def _why(report: pytest.TestReport) -> str:
    """The line that says what broke: the contract, else the failure's first telling line."""
    if report.passed:
        return ""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    lines = [line.strip() for line in report.longreprtext.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.endswith("behaviour contract violated") and i + 1 < len(lines):
            return "violated: " + lines[i + 1]
    telling = [ln for ln in lines if not ln.startswith(("scenario ", "target: "))]
    return "failed: " + (telling[0] if telling else "see the pytest output")


def _pick_chatbot(report: AppReport, chatbot: str | None) -> ChatbotReport | None:
    if chatbot is None:
        return report.chatbots[0] if report.chatbots else None
    return next((b for b in report.chatbots if chatbot in (b.label, b.elem_id)), None)


def check(target: str, driver: str, chatbot: str | None, real_model: bool, ready_timeout: float, verbose: bool) -> int:
    report = read_app("check", target, ready_timeout)
    if report is None:
        return 1
    bot = _pick_chatbot(report, chatbot)
    if bot is None:
        names = ", ".join(repr(b.label or b.elem_id) for b in report.chatbots) or "none"
        print(f"chat-harness check: {shown_target(target)} has no chatbot {chatbot or ''} (chatbots: {names})")
        return 1
    if bot.textbox is None:
        print(f"chat-harness check: {shown_target(target)}: no textbox submits to the chatbot, so nothing can be sent")
        return 1
    in_process = target_options(target)[0] == "--chat-app"
    scenarios = check_scenarios(bot, chatbot if len(report.chatbots) > 1 else None, in_process and not real_model)
    outcomes = _Outcomes()
    with tempfile.TemporaryDirectory(prefix="chat-harness-check-") as folder:
        for action, text in scenarios.items():
            if text is not None:
                Path(folder, f"{action}.chat.yaml").write_text(text, encoding="utf-8")
        args: list[Any] = [
            folder,
            "--driver",
            driver,
            "--chat-parity",
            "structure",
            "-p",
            "no:cacheprovider",
            "-q" if verbose else "-qq",
            "--rootdir",
            str(Path.cwd()),
            *target_options(target),
        ]
        ini = next((name for name in INI_FILES if Path(name).is_file()), None)
        if ini is not None:  # the project's settings (timeouts, trusted apps), as for its own runs
            args += ["-c", ini]
        if in_process and real_model:
            args += ["--chat-model", "off"]
        if not verbose:
            args.append("--tb=no")
        code = pytest.main(
            [
                "-W",
                "ignore::pytest.PytestAssertRewriteWarning",  # the app was imported to be inspected
                *args,
            ],
            plugins=[outcomes],
        )
    if code not in (0, 1):
        print(f"chat-harness check: the run did not complete (pytest exit code {code}, output above)", file=sys.stderr)
        return 1
    drivers = sorted({d for _, d in outcomes.seen}, key=lambda d: (d == "parity", d))
    print(f"\nchat-harness check {shown_target(target)} (Gradio {report.gradio_version}, {report.mode}):")
    failed = False
    width = max(len(a) for a in ACTIONS)
    for action, text in scenarios.items():
        if text is None:
            print(f"  {action:<{width}}  not wired")
            continue
        results = {d: outcomes.seen.get((action, d), ("not run", "")) for d in drivers}
        held = [d for d, (outcome, _) in results.items() if outcome == "passed"]
        if held:
            print(f"  {action:<{width}}  passed ({', '.join(held)})")
        for d, (outcome, why) in results.items():
            if outcome == "passed":
                continue
            failed = failed or outcome != "skipped"
            print(f"  {action:<{width}}  {d}: {why or outcome}")
    print("all wired actions keep their contracts" if not failed else "some wired actions break their contracts")
    return 1 if failed else 0
