"""Drivers: the ways a scenario reaches the app. Each implements ``harness.drivers.base.Driver``.

``DRIVERS`` is the one list of them: ``--driver`` takes these names (and ``all``), and a driver's
module is imported only when a run uses it (the browser driver pulls in Playwright).
"""

from __future__ import annotations

import importlib

from harness.drivers.base import ActionRecord, Driver, EventRecord

__all__ = ["DRIVERS", "ActionRecord", "Driver", "EventRecord", "available_drivers", "driver_class"]

#: driver name -> "module:class"
DRIVERS = {
    "api": "harness.drivers.api:ApiDriver",
    "browser": "harness.drivers.browser.driver:BrowserDriver",
}


def available_drivers() -> tuple[str, ...]:
    """Driver names accepted by ``--driver`` (besides ``all``)."""
    return tuple(DRIVERS)


def driver_class(name: str) -> type[Driver]:
    """The class of the driver called ``name`` (its module imported now)."""
    module, _, attribute = DRIVERS[name].partition(":")
    found: type[Driver] = getattr(importlib.import_module(module), attribute)
    return found
