"""The plugin's options: each defined once here, for the command line, the ini file, ``--help`` and
the README's option table (``option_table``, checked by a test).

A setting's value is the command line's, else the ini key's, else the environment variable's,
else the default; secrets have no ini key, so they never end up in a committed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from harness.drivers import available_drivers
from harness.spec.model import PARITY_MODES
from harness.target.remote import DEFAULT_READY_TIMEOUT

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_READY_TIMEOUT",
    "DEFAULT_SCENARIO_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MODEL_MODES",
    "OPTIONS",
    "Option",
    "add_options",
    "option_table",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_SCENARIO_TIMEOUT = 300.0
DEFAULT_PATTERNS = ["*.chat.yaml", "*.chat.yml"]
#: --chat-model: how an in-process app's model calls are answered
MODEL_MODES = ("script", "record", "off")


@dataclass(frozen=True)
class Option:
    """One setting: its command-line flag and/or ini key, environment variable, default and help."""

    name: str  # the attribute name on config.option, and the ini key when ``ini`` is set
    help: str
    flag: str | None = None
    metavar: str | None = None
    ini: bool = True
    env: str | None = None
    default: str = "–"  # as the option table shows it
    kind: Any = None  # ``type`` of the command-line option
    choices: tuple[str, ...] | None = None
    ini_type: str | None = None  # pytest's ini type ("args", "paths"), when not a plain string
    flag_only: bool = False  # store_true flags


OPTIONS: tuple[Option, ...] = (
    Option(
        "chat_app",
        "Gradio app (module:attr) launched in-process on a free loopback port.",
        "--chat-app",
        "MODULE:ATTR",
        default="`fixtures.reference_app:demo`",
    ),
    Option(
        "chat_url",
        "Root URL of a running app (also under a path prefix behind a proxy); wins over --chat-app; a user:password@ "
        "in it is the login.",
        "--chat-url",
        "URL",
    ),
    Option(
        "chat_space",
        "A Hugging Face Space (owner/name), resolved to its host through the Hub.",
        "--chat-space",
        "OWNER/NAME",
    ),
    Option(
        "chat_token",
        "Hugging Face token, sent to the target's host only (env HF_TOKEN is used for Spaces and *.hf.space URLs "
        "only).",
        "--chat-token",
        "TOKEN",
        ini=False,
    ),
    Option(
        "chat_auth",
        "Login of an app launched with auth=.",
        "--chat-auth",
        "USER:PASSWORD",
        ini=False,
        env="CHAT_HARNESS_AUTH",
    ),
    Option(
        "chat_ready_timeout",
        "Seconds to wait for a remote app (a building or sleeping Space, a server that is starting).",
        "--chat-ready-timeout",
        "S",
        default=f"`{DEFAULT_READY_TIMEOUT:g}`",
        kind=float,
    ),
    Option(
        "chat_driver",
        "Drivers that run each scenario; all adds a parity item per scenario.",
        "--driver",
        default="`api`",
        choices=(*available_drivers(), "all"),
    ),
    Option(
        "chat_timeout",
        "Longest one step may take (an action until the app is idle again; every wait of the browser driver).",
        "--chat-timeout",
        "S",
        default=f"`{DEFAULT_TIMEOUT:g}`",
        kind=float,
    ),
    Option(
        "chat_scenario_timeout",
        "Longest a whole scenario may take, opening its session included.",
        "--chat-scenario-timeout",
        "S",
        default=f"`{DEFAULT_SCENARIO_TIMEOUT:g}`",
        kind=float,
    ),
    Option(
        "chat_chromium",
        "Chromium for the browser driver (default: Playwright's, else one on PATH).",
        "--chat-chromium",
        "PATH",
        env="CHAT_HARNESS_CHROMIUM",
    ),
    Option(
        "chat_browser_endpoint",
        "A Playwright browser server (ws://HOST:PORT/) to take the browser from instead of launching one.",
        "--chat-browser-endpoint",
        "WS_URL",
        env="CHAT_HARNESS_BROWSER_ENDPOINT",
    ),
    Option(
        "chat_fresh_contexts",
        "Open every browser scenario in a new browser context (default: a new page in a warm, cleared one).",
        "--chat-fresh-contexts",
        ini=False,
        default="off",
        flag_only=True,
    ),
    Option(
        "chat_model",
        "How an in-process app's model calls are answered: script (the scenario's model: block, else its "
        "cassette), record (through to the real provider, saved as the scenario's cassette), off (not routed).",
        "--chat-model",
        default="script",
        choices=MODEL_MODES,
    ),
    Option(
        "chat_parity",
        "How the parity item compares the drivers' runs: checked (message text as the scenario checked it: "
        "exactly, or by both satisfying its fuzzy matcher), exact, structure (no message text); wins over a "
        "scenario's parity:.",
        "--chat-parity",
        default="checked",
        choices=PARITY_MODES,
    ),
    Option(
        "chat_repeat",
        "Run each scenario N times per driver; one item reports the pass rate per step and fails when fewer than "
        "the scenario's min_pass (default: all) passed; wins over a scenario's repeat:.",
        "--chat-repeat",
        "N",
        default="1",
        kind=int,
    ),
    Option(
        "chat_judge_url",
        "Base URL of an OpenAI-compatible endpoint (Ollama, vLLM, TEI, the HF router, OpenAI) that the similar and "
        "judge matchers ask; its key comes from the environment variable CHAT_HARNESS_JUDGE_API_KEY.",
        "--chat-judge-url",
        "URL",
        env="CHAT_HARNESS_JUDGE_URL",
    ),
    Option(
        "chat_judge_model",
        "The chat model that grades replies for the judge matcher.",
        "--chat-judge-model",
        "NAME",
        env="CHAT_HARNESS_JUDGE_MODEL",
    ),
    Option(
        "chat_judge_embedding_model",
        "The embedding model the similar matcher compares texts with.",
        "--chat-judge-embedding-model",
        "NAME",
        env="CHAT_HARNESS_JUDGE_EMBEDDING_MODEL",
    ),
    Option("chat_report", "Write a JSON transcript per run and DIR/report.html.", "--chat-report", "DIR"),
    Option(
        "chat_sessions",
        "Also run each scenario as N simultaneous API sessions (state leaks, latency).",
        "--chat-sessions",
        "N",
        default="off",
        kind=int,
    ),
    Option(
        "update_expectations",
        "Rewrite exact expected values in the scenario files from what the run observed.",
        "--update-expectations",
        ini=False,
        default="off",
        flag_only=True,
    ),
    Option(
        "chat_scenario_patterns",
        "Files collected when pytest walks a folder; files named on the command line are always collected.",
        default="`*.chat.yaml *.chat.yml`",
        ini_type="args",
    ),
    Option(
        "chat_file_roots",
        "More folders a scenario's files: may read (besides its own folder and the project).",
        ini_type="paths",
    ),
    Option(
        "chat_trusted_apps",
        "Module names (fnmatch patterns) outside the project that a scenario's app: may import.",
        ini_type="args",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("chat-harness", "Gradio chatbot scenarios (chat-harness)")
    for option in OPTIONS:
        text = option.help + (f" Env {option.env}." if option.env else "")
        if option.flag is not None:
            if option.flag_only:
                group.addoption(option.flag, dest=option.name, action="store_true", default=False, help=text)
            else:
                kwargs: dict[str, Any] = {"dest": option.name, "metavar": option.metavar, "default": None, "help": text}
                if option.kind is not None:
                    kwargs["type"] = option.kind
                if option.choices is not None:
                    kwargs["choices"] = list(option.choices)
                    del kwargs["metavar"]
                group.addoption(option.flag, **kwargs)
        if option.ini:
            if option.ini_type == "args":
                parser.addini(
                    option.name,
                    option.help,
                    type="args",
                    default=DEFAULT_PATTERNS if option.name == "chat_scenario_patterns" else [],
                )
            elif option.ini_type == "paths":
                parser.addini(option.name, option.help, type="paths", default=[])
            else:
                parser.addini(option.name, option.help, default=None)


def option_table() -> str:
    """The README's option table, made from the definitions above."""
    rows = ["| option | ini key | env | default | meaning |", "|---|---|---|---|---|"]
    for option in OPTIONS:
        if option.flag is None:
            flag = "–"
        elif option.choices:
            bar = "\\|"  # a | inside a markdown table cell
            flag = f"`{option.flag} {bar.join(option.choices)}`"
        else:
            flag = f"`{option.flag}{' ' + option.metavar if option.metavar else ''}`"
        ini = f"`{option.name}`" if option.ini else "–"
        env = f"`{option.env}`" if option.env else "–"
        rows.append(f"| {flag} | {ini} | {env} | {option.default} | {option.help} |")
    return "\n".join(rows)
