"""Moments in time: always timezone-aware, compared as instants.

Kazakhstan has kept a single zone, UTC+5, since 2024-03-01 (before that most regions,
Astana and Almaty included, were on UTC+6). The IANA time zone database records that change
under ``Asia/Almaty``; edqueue reads it through :mod:`zoneinfo` and the ``tzdata`` package
rather than a fixed offset, so dates before and after the change are both right.

Source: Resolution of the Government of the Republic of Kazakhstan on the procedure of
calculating time (the move of the whole country to UTC+5 from 00:00 on 1 March 2024), as
recorded in the IANA tz database (``Asia/Almaty``, tzdata 2024a).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edqueue.errors import TimeError

__all__ = ["KAZAKHSTAN", "instant", "require_aware"]

KAZAKHSTAN = ZoneInfo("Asia/Almaty")
"""The time zone of the whole of Kazakhstan (``Asia/Almaty`` in the IANA database)."""


def require_aware(value: Any, what: str = "time") -> datetime:
    """Return ``value`` if it is a timezone-aware :class:`datetime`, else raise :class:`TimeError`.

    ``what`` names the field in the message (``"submission time"``).

    >>> require_aware(datetime(2020, 1, 1), "submission time")
    Traceback (most recent call last):
    ...
    edqueue.errors.TimeError: [time.naive] submission time has no time zone: ...
    """
    if not isinstance(value, datetime):
        raise TimeError("time.type", f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeError(
            "time.naive",
            f"{what} has no time zone: give an aware datetime, "
            "e.g. datetime(..., tzinfo=ZoneInfo('Asia/Almaty'))",
        )
    return value


def instant(value: datetime) -> datetime:
    """The same moment as a UTC datetime: compare and subtract these, never wall times.

    Python compares and subtracts two datetimes that share a ``tzinfo`` by their wall
    clocks, which is wrong across a change of offset: on the night of 2024-03-01 the clocks
    of ``Asia/Almaty`` went back from 00:00 (UTC+6) to 23:00 (UTC+5), so 23:30 on 29
    February happened twice. Converting to UTC first gives the true order and distance.

    >>> from datetime import timedelta
    >>> before = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)          # UTC+6
    >>> after = datetime(2024, 3, 1, 0, 30, tzinfo=KAZAKHSTAN)             # UTC+5
    >>> after - before                                # wall clock: wrong
    datetime.timedelta(seconds=3600)
    >>> instant(after) - instant(before)              # instants: right
    datetime.timedelta(seconds=7200)
    """
    return require_aware(value).astimezone(UTC)


def later(moment: datetime, delta: timedelta) -> datetime:
    """``delta`` after ``moment``, counted in instants, in ``moment``'s time zone.

    ``moment + delta`` adds to the wall clock, which is wrong across a change of offset:
    an hour after the second 23:00 of 29 February 2024 in ``Asia/Almaty`` is 24:00, not
    the first 23:00 plus an hour.

    >>> second = datetime(2024, 2, 29, 23, 0, fold=1, tzinfo=KAZAKHSTAN)   # UTC+5
    >>> str(later(second, timedelta(hours=1)))
    '2024-03-01 00:00:00+05:00'
    """
    return (instant(moment) + delta).astimezone(moment.tzinfo)
