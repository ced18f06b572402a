"""Lengths of time as the rules state them, and whole years and months on a date.

:class:`Duration` is a policy value's "5 working days" or "10 calendar days";
:func:`plus_calendar` adds years and months to a birth date for the age rules. Part of the
dated policy: :mod:`edqueue.rules.policy` re-exports both.
"""

from __future__ import annotations

import enum
import functools
from datetime import date
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from edqueue.errors import PolicyError

__all__ = ["Duration", "DurationUnit", "plus_calendar"]


class DurationUnit(enum.StrEnum):
    """What a :class:`Duration` counts: calendar days, working days or minutes.

    The sources often say "5 days" without saying which; each parameter states the unit we
    chose and why. :mod:`edqueue.rules.calendar` counts working days (Kazakhstan's
    holidays and moved days off) and turns a duration into a deadline.
    """

    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    MINUTES = "minutes"

    @property
    def label_en(self) -> str:
        """The unit in English, plural: ``"working days"``."""
        return self.value.replace("_", " ")


def _duration_unit(value: Any) -> DurationUnit:
    try:
        return DurationUnit(value)
    except ValueError:
        allowed = ", ".join(u.value for u in DurationUnit)
        raise PolicyError("policy.invalid_value", f"a duration unit is one of: {allowed}") from None


def _duration_amount(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise PolicyError(
            "policy.invalid_value", "a duration's amount is a whole number >= 0, e.g. 5"
        )


@attrs.frozen
class Duration:
    """A length of time as the rules state it: an amount and a unit (срок).

    Not a :class:`~datetime.timedelta`: "5 working days" has no fixed length until a
    calendar says which days are working days.

    >>> str(Duration(5, DurationUnit.WORKING_DAYS)), str(Duration(1, "calendar_days"))
    ('5 working days', '1 calendar day')
    """

    amount: int = attrs.field(validator=_duration_amount)
    unit: DurationUnit = attrs.field(converter=_duration_unit)

    def __str__(self) -> str:
        label = self.unit.label_en
        return f"{self.amount} {label if self.amount != 1 else label.removesuffix('s')}"


@functools.lru_cache(maxsize=65_536)
def plus_calendar(day: date, *, years: int = 0, months: int = 0) -> date:
    """``day`` plus whole years and months as :class:`dateutil.relativedelta.relativedelta`
    counts them (the 31st plus a month ends on the last day of a shorter month).

    Remembered: a nation's children share a few thousand birth dates, and the age limit and
    the minimum referral age are asked for each application at every check.
    """
    result: date = day + relativedelta(years=years, months=months)
    return result
