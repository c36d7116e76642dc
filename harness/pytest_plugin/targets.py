"""Which app each scenario runs against, and the apps launched for the session.

The command line (or ini) names one target for every scenario: an app to launch in-process, a
URL or a Space; otherwise a scenario's own ``app:`` or ``url:`` is used. A remote target is waited
for once per session, by the main process (which prints the progress); xdist workers get the
outcome from it (``handed``) instead of waiting again.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness.errors import TargetError
from harness.pytest_plugin.scripted_model import ModelService
from harness.pytest_plugin.settings import Settings
from harness.spec.model import Scenario
from harness.target.app import AppInfo, Target
from harness.target.credentials import Credentials, token_for
from harness.target.inprocess import DEFAULT_APP, InProcessApp
from harness.target.remote import Progress, prepare

__all__ = ["Targets", "targets_key"]


class Targets:
    """Resolves the target of each scenario and owns the apps it launched."""

    def __init__(self, settings: Settings, handed: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.handed: dict[str, Any] = dict(handed or {})
        self._remote: dict[str, Target | TargetError] = {}
        self._launched: dict[str, InProcessApp] = {}
        self._failed: dict[str, TargetError] = {}
        self.models = ModelService(settings.model_mode)

    def _credentials_for(self, key: str) -> Credentials:
        """The secrets a target gets. A URL from a scenario file gets neither ``--chat-token`` nor the
        login (a file from a pull request could name any host); ``HF_TOKEN`` only on a Space's host."""
        kind, _, name = key.partition(":")
        given, hf_token = self.settings.credentials, self.settings.hf_token
        if kind == "file-url":
            return Credentials(token_for(name, None, hf_token), None)
        return Credentials(token_for(None if kind == "space" else name, given.token, hf_token), given.auth)

    def remote(self, key: str, progress: Progress | None = None) -> Target:
        """The ready target ``key`` names (``url:...``, ``space:...``, or ``file-url:...`` for a
        scenario file's own ``url:``), waited for once."""
        if key not in self._remote:
            self._remote[key] = self._reach(key, progress)
        found = self._remote[key]
        if isinstance(found, TargetError):
            raise found
        return found

    def _reach(self, key: str, progress: Progress | None) -> Target | TargetError:
        found = self._reach_once(key, progress)
        if isinstance(found, Target):
            self.models.allow(found.url)  # the scripted model's routing lets the harness reach it
        return found

    def _reach_once(self, key: str, progress: Progress | None) -> Target | TargetError:
        credentials = self._credentials_for(key)
        handed = self.handed.get(key)
        if handed is not None and "error" in handed:
            return TargetError(handed["error"])
        if handed is not None:
            info = AppInfo(*handed["info"])
            return Target(
                handed["url"], handed["description"], token=credentials.token, auth=credentials.auth, info=info
            )
        kind, _, name = key.partition(":")
        self.models.allow(os.environ.get("HF_ENDPOINT", "https://huggingface.co") if kind == "space" else name)
        try:
            return prepare(
                space=name if kind == "space" else None,
                url=None if kind == "space" else name,
                credentials=credentials,
                timeout=self.settings.ready_timeout,
                progress=progress,
            )
        except TargetError as exc:
            given = self.settings.credentials
            if kind == "file-url" and (given.token or given.auth):
                hint = "a scenario file's url: gets no --chat-token and no login"
                hint += "; to use them, give the URL with --chat-url"
                return TargetError(f"{exc} ({hint})")
            return exc

    def outcomes(self) -> dict[str, Any]:
        """What the main process found of the remote targets, for the xdist workers (no secrets)."""
        handed: dict[str, Any] = {}
        for key, found in self._remote.items():
            if isinstance(found, TargetError):
                handed[key] = {"error": str(found)}
            else:
                info = [found.info.version, found.info.mode] if found.info else ["unknown", "unknown"]
                handed[key] = {"url": found.url, "description": found.description, "info": info}
        return handed

    def for_scenario(self, scenario: Scenario) -> Target:
        settings = self.settings
        if settings.remote_key:
            return self.remote(settings.remote_key)
        if settings.app:
            return self._launch(settings.app)
        if scenario.url:
            return self.remote(f"file-url:{Target.from_url(scenario.url).url}")
        return self._launch(scenario.app or DEFAULT_APP)

    def describe(self) -> str | None:
        """The header line: what the session tests (None: nothing the command line names). An app
        to launch is not imported here: a run that collects no scenario never pays for Gradio."""
        settings = self.settings
        if settings.remote_key:
            try:
                return f"target: {self.remote(settings.remote_key)}"
            except TargetError as exc:
                return f"target: {settings.space or settings.url} -- NOT READY: {exc}"
        if settings.app:
            from importlib.metadata import PackageNotFoundError, version

            try:
                gradio = f"Gradio {version('gradio')}"
            except PackageNotFoundError:
                gradio = "Gradio not installed"
            return f"target: {settings.app} (launched in-process when a scenario needs it; {gradio})"
        return None

    def _launch(self, spec: str) -> Target:
        if spec in self._failed:
            raise self._failed[spec]
        if spec not in self._launched:
            self.models.route()  # before the app is imported: its SDK clients are made on import
            app = InProcessApp(spec)
            try:
                app.start()
            except TargetError as exc:
                app.close()
                self._failed[spec] = exc
                raise
            self._launched[spec] = app
        target = self._launched[spec].target
        assert target is not None
        return target

    def model_for(self, target: Target) -> ModelService | None:
        """The scripted model that answers ``target``'s model calls (None: not an in-process app,
        or ``--chat-model off``)."""
        launched = any(app.target is target for app in self._launched.values())
        return self.models if launched and self.models.on else None

    def close(self) -> None:
        for app in self._launched.values():
            app.close()
        self._launched.clear()
        self.models.close()


targets_key = pytest.StashKey[Targets]()
