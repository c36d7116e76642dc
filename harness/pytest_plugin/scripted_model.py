"""The scripted model in a test session: started with the first in-process app, one per process
(so one per xdist worker), and a fresh run of it for every scenario item.

``--chat-model`` says how an in-process app's model calls are answered:

- ``script`` (default): by the scenario's ``model:`` block; a scenario without one replays its
  cassette if it has one, else any model call fails the step as not covered;
- ``record``: a scenario without a ``model:`` block lets its calls through to the real provider
  and saves them as its cassette (scripted scenarios still run on their script);
- ``off``: the app's calls are not routed (it reaches whatever it calls).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import TargetError
from harness.spec.model import Scenario

if TYPE_CHECKING:  # the server's modules (Starlette) load when an app is launched, not with the plugin
    from harness.model.cassette import Cassette
    from harness.model.server import ModelRun, ScriptedModel

__all__ = ["ModelService", "ScenarioModel"]


@dataclass
class ScenarioModel:
    """The scripted model's run for one scenario item, and the cassette to save after it (record)."""

    run: ModelRun
    save_to: Cassette | None = None


class ModelService:
    """Owns the scripted model server and this process's routing to it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.model: ScriptedModel | None = None
        self._routing = contextlib.ExitStack()
        #: the hosts of the session's remote targets: the harness's own requests to them pass
        self.allowed_hosts: set[str] = set()

    @property
    def on(self) -> bool:
        return self.mode != "off"

    def route(self) -> None:
        """Start the server and route this process's model calls to it (before an app is imported)."""
        if not self.on or self.model is not None:
            return
        from harness.model.routing import route_model_calls
        from harness.model.server import ScriptedModel

        self.model = ScriptedModel().start()
        recording = self.mode == "record"
        self._routing.enter_context(
            route_model_calls(
                self.model.port,
                outside_allowed=recording,
                placeholders=not recording,
                allowed_hosts=self.allowed_hosts,
            )
        )

    def allow(self, url: str) -> None:
        """Let the harness reach ``url``'s host while the routing is on (a remote target of the
        session, or the Hub that resolves a Space)."""
        from harness.model.routing import host_of

        if host := host_of(url):
            self.allowed_hosts.add(host)

    def begin(self, scenario: Scenario) -> ScenarioModel:
        """A new run of the scripted model for ``scenario`` (raises ``ValueError`` for a cassette
        that cannot be read)."""
        from harness.model.cassette import Cassette, cassette_path

        assert self.model is not None
        path = cassette_path(scenario.location.path, scenario.name)
        if scenario.has_script:
            return ScenarioModel(self.model.begin(scenario.model))
        if self.mode == "record":
            cassette = Cassette(path)
            return ScenarioModel(self.model.begin(cassette=cassette, mode="record"), save_to=cassette)
        if Path(path).is_file():
            try:
                cassette = Cassette.load(path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise TargetError(f"cannot replay the scenario's cassette {path}: {exc}") from None
            return ScenarioModel(self.model.begin(cassette=cassette, mode="replay"))
        return ScenarioModel(self.model.begin())

    def end(self, used: ScenarioModel, secrets: list[str]) -> None:
        assert self.model is not None
        if used.save_to is not None:
            used.run.wait_for_forwards(10.0)  # an exchange still being recorded goes in the cassette
        self.model.end(used.run)
        if used.save_to is not None and used.save_to.exchanges:
            used.save_to.save(secrets)

    def close(self) -> None:
        self._routing.close()
        if self.model is not None:
            self.model.stop()
            self.model = None
