"""Times in JSON: RFC 3339 text with an offset, read back with the zone they had (see
:mod:`edqueue.schemas`, "Times")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AwareDatetime, PlainSerializer
from pydantic_core import TzInfo

from edqueue.errors import ApplicationError
from edqueue.models import KAZAKHSTAN


def _rfc3339(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is not None and offset % dt.timedelta(minutes=1):
        value = value.astimezone(dt.UTC)
    return value.isoformat()


Instant = Annotated[AwareDatetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]
"""A timezone-aware time, written as RFC 3339 text with its offset."""


def _domain_time(value: dt.datetime) -> dt.datetime:
    """The time to put in a record: a time read from JSON gets a stdlib or Kazakhstan tzinfo.

    A time given from Python (by ``from_domain``) keeps its own tzinfo.
    """
    try:
        as_utc = value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ApplicationError(
            "application.type",
            "a time is out of range once converted to UTC: give a year between 1 and 9999",
        ) from None
    if not isinstance(value.tzinfo, TzInfo):
        return value
    offset = value.utcoffset() or dt.timedelta(0)  # never None: the time is aware
    try:
        in_kazakhstan: dt.datetime | None = as_utc.astimezone(KAZAKHSTAN)
    except (OverflowError, ValueError):  # the last hours of year 9999
        in_kazakhstan = None
    if in_kazakhstan is not None and in_kazakhstan.utcoffset() == offset:
        return in_kazakhstan
    return value.replace(tzinfo=dt.timezone(offset))


def _optional_time(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _domain_time(value)
