"""What the contract suites share: the instant they write at, a small event record, closing
a store, and the hypothesis settings of their model tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from edqueue.models import KAZAKHSTAN
from edqueue.ports import EventRecord

AT = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
"""The instant the suites' records are written at (the seed's day)."""

_F = TypeVar("_F", bound=Callable[..., Any])


def event(kind: str, number: str | None = None, **data: str | int | None) -> EventRecord:
    """A small event record written at 05.02.2024 10:15 in Kazakhstan, for a host's own
    tests of its store: ``event("notified", "1292583", channel="sms")``."""
    return EventRecord(kind=kind, at=AT, number=number, reason=f"test: {kind}", data=data)


def close(store: object) -> None:
    """Close a store that has ``close`` (SQLite); the memory stores have nothing to close."""
    closer = getattr(store, "close", None)
    if closer is not None:
        closer()


def store_settings(test: _F) -> _F:
    """The host's hypothesis settings, without a deadline and without the check that data
    is drawn fast enough: a store's time per example (a new file, a synced commit) is the
    disk's, not the code's."""
    suppressed = [*settings().suppress_health_check, HealthCheck.too_slow]
    decorated: _F = settings(deadline=None, suppress_health_check=suppressed)(test)
    return decorated
