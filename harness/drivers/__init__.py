"""Drivers: the ways a scenario reaches the app. Each implements ``harness.drivers.base.Driver``."""

from __future__ import annotations

from harness.drivers.base import ActionRecord, Driver, EventRecord

__all__ = ["ActionRecord", "Driver", "EventRecord", "available_drivers"]


def available_drivers() -> tuple[str, ...]:
    """Driver names accepted by ``--driver`` (besides ``all``)."""
    return ("api", "browser")
