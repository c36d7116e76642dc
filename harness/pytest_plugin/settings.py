"""The plugin's settings, read once when pytest starts and kept in ``config.stash``.

Every value is checked here, so a bad command line or ini value stops pytest at start with a
usage error (exit code 4), before anything is collected.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harness.drivers import available_drivers
from harness.judging import JudgeSettings
from harness.pytest_plugin.options import DEFAULT_SCENARIO_TIMEOUT, DEFAULT_TIMEOUT, MODEL_MODES, OPTIONS
from harness.spec.model import PARITY_MODES
from harness.spec.sandbox import Sandbox
from harness.target.credentials import Credentials, parse_login, split_login
from harness.target.remote import DEFAULT_READY_TIMEOUT

__all__ = ["Budget", "Settings", "settings", "settings_key"]

ENV = {option.name: option.env for option in OPTIONS if option.env}


def _given(config: pytest.Config, name: str) -> Any:
    """A setting's value as given: the command line, else the ini key, else its environment variable."""
    value = config.getoption(name, default=None)
    if value is None and any(o.name == name and o.ini for o in OPTIONS):
        value = config.getini(name) or None
    if value is None and name in ENV:
        value = os.environ.get(ENV[name]) or None
    return value


def _seconds(name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini {name} = {value!r}: expected a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise pytest.UsageError(f"{name} must be a finite number of seconds more than 0, got {seconds:g}")
    return seconds


@dataclass(frozen=True)
class Budget:
    """A time budget: the command line wins over the scenario file, which wins over the ini key."""

    option: float | None
    ini: float | None
    default: float

    @classmethod
    def read(cls, config: pytest.Config, name: str, default: float) -> Budget:
        option = config.getoption(name, default=None)
        ini = config.getini(name) or None
        return cls(
            _seconds(name, option) if option is not None else None,
            _seconds(name, ini) if ini is not None else None,
            default,
        )

    def seconds(self, from_file: float | None) -> float:
        for value in (self.option, from_file, self.ini):
            if value is not None:
                return value
        return self.default


@dataclass(frozen=True)
class Settings:
    """Everything the plugin reads from the command line, the ini file and the environment."""

    app: str | None
    url: str | None  # without any login it held
    space: str | None
    credentials: Credentials
    hf_token: str | None
    url_password: str | None  # the password as written inside --chat-url, to mask that form too
    ready_timeout: float
    driver: str
    step: Budget
    scenario: Budget
    chromium: str | None
    browser_endpoint: str | None
    report: Path | None
    output: Path | None
    sessions: int
    model_mode: str
    #: --chat-parity (None: each scenario's parity:, else "checked")
    parity: str | None
    #: --chat-repeat (None: each scenario's repeat:, else 1)
    repeat: int | None
    #: the endpoint the similar / judge matchers ask (None: not configured)
    judge: JudgeSettings | None
    update: bool
    fresh_contexts: bool
    sandbox: Sandbox
    patterns: list[str] = field(default_factory=list)

    @property
    def drivers(self) -> tuple[str, ...]:
        return available_drivers() if self.driver == "all" else (self.driver,)

    @property
    def remote_key(self) -> str | None:
        """The remote target the command line or ini names, if any (``space:...`` or ``url:...``)."""
        return f"space:{self.space}" if self.space else (f"url:{self.url}" if self.url else None)

    def secrets(self) -> list[str]:
        """Every secret of the run: the tokens, the password and ``user:password`` (HTTP Basic's)."""
        auth = self.credentials.auth
        found = (
            self.credentials.token,
            self.hf_token,
            self.url_password,
            auth[1] if auth else None,
            f"{auth[0]}:{auth[1]}" if auth and auth[1] else None,
            self.judge.api_key if self.judge else None,
        )
        return [s for s in found if s]

    @classmethod
    def read(cls, config: pytest.Config) -> Settings:
        given_url = _given(config, "chat_url")
        url, url_login, url_password = split_login(given_url) if given_url else (None, None, None)
        space = _given(config, "chat_space")
        if url and space:
            raise pytest.UsageError("--chat-url and --chat-space name two different targets; give one")
        login = _given(config, "chat_auth")
        try:
            auth = parse_login(login) if login else url_login
        except ValueError:
            raise pytest.UsageError("--chat-auth takes user:password (a colon between them)") from None
        driver = str(_given(config, "chat_driver") or "api")
        if driver not in (*available_drivers(), "all"):
            raise pytest.UsageError(
                f"unknown driver {driver!r}; choose one of {', '.join((*available_drivers(), 'all'))}"
            )
        ready = _given(config, "chat_ready_timeout")
        return cls(
            app=_given(config, "chat_app"),
            url=url,
            space=space,
            credentials=Credentials(token=config.getoption("chat_token") or None, auth=auth),
            hf_token=os.environ.get("HF_TOKEN") or None,
            url_password=url_password,
            ready_timeout=_seconds("chat_ready_timeout", ready) if ready is not None else DEFAULT_READY_TIMEOUT,
            driver=driver,
            step=Budget.read(config, "chat_timeout", DEFAULT_TIMEOUT),
            scenario=Budget.read(config, "chat_scenario_timeout", DEFAULT_SCENARIO_TIMEOUT),
            chromium=_given(config, "chat_chromium"),
            browser_endpoint=_given(config, "chat_browser_endpoint"),
            report=_report_folder(config),
            output=_output_folder(config),
            sessions=_sessions(_given(config, "chat_sessions")),
            model_mode=_model_mode(_given(config, "chat_model")),
            parity=_choice("chat_parity", _given(config, "chat_parity"), PARITY_MODES),
            repeat=_repeat(_given(config, "chat_repeat")),
            judge=_judge(config),
            update=bool(config.getoption("update_expectations")),
            fresh_contexts=bool(config.getoption("chat_fresh_contexts")),
            sandbox=Sandbox.for_project(
                config.rootpath, map(str, config.getini("chat_file_roots")), config.getini("chat_trusted_apps")
            ),
            patterns=list(config.getini("chat_scenario_patterns")),
        )


def _model_mode(value: Any) -> str:
    """How an in-process app's model calls are answered (--chat-model, ini chat_model)."""
    mode = str(value or "script")
    if mode not in MODEL_MODES:
        raise pytest.UsageError(f"chat_model = {value!r}: choose one of {', '.join(MODEL_MODES)}")
    return mode


def _judge(config: pytest.Config) -> JudgeSettings | None:
    """The judge endpoint's settings (--chat-judge-url and its models; the key from the environment)."""
    url = _given(config, "chat_judge_url")
    model, embedding = _given(config, "chat_judge_model"), _given(config, "chat_judge_embedding_model")
    if url is None:
        if model or embedding:
            raise pytest.UsageError("--chat-judge-model and --chat-judge-embedding-model need --chat-judge-url")
        return None
    if urlsplit(str(url)).scheme not in ("http", "https") or not urlsplit(str(url)).hostname:
        raise pytest.UsageError(f"--chat-judge-url {url!r}: expected an http(s) URL such as http://localhost:11434/v1")
    return JudgeSettings.from_environment(str(url), model, embedding)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if str(value) not in choices:
        raise pytest.UsageError(f"{name} = {value!r}: choose one of {', '.join(choices)}")
    return str(value)


def _repeat(value: Any) -> int | None:
    """How many runs per driver --chat-repeat asks for (None: as each scenario says)."""
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        raise pytest.UsageError(f"chat_repeat = {value!r}: expected a whole number of runs") from None
    if not 1 <= count <= 1000:
        raise pytest.UsageError(f"--chat-repeat must be between 1 and 1000, got {count}")
    return count


def _sessions(value: Any) -> int:
    """How many simultaneous sessions --chat-sessions asks for (1: none)."""
    if value is None:
        return 1
    try:
        count = int(value)
    except ValueError:
        raise pytest.UsageError(f"chat_sessions = {value!r}: expected a whole number of sessions") from None
    if count < 1:
        raise pytest.UsageError(f"--chat-sessions must be at least 1, got {count}")
    return count


def _report_folder(config: pytest.Config) -> Path | None:
    """The --chat-report folder (made now), relative to where pytest runs; a file there is a usage error."""
    given = _given(config, "chat_report")
    if not given:
        return None
    folder = Path(config.invocation_params.dir, given)
    if folder.exists() and not folder.is_dir():
        raise pytest.UsageError(f"--chat-report {folder}: that is a file, not a folder; give a folder for the report")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise pytest.UsageError(f"--chat-report {folder}: cannot make the folder: {exc.strerror or exc}") from None
    return folder


def _output_folder(config: pytest.Config) -> Path | None:
    """pytest-playwright's --output folder, as it resolves it (against the working directory)."""
    try:
        output = config.getoption("--output")
    except ValueError:  # pytest-playwright not loaded
        return None
    return Path(config.invocation_params.dir, output)


settings_key = pytest.StashKey[Settings]()


def settings(config: pytest.Config) -> Settings:
    """The run's settings (read at ``pytest_configure``)."""
    return config.stash[settings_key]
