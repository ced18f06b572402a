"""The working-day calendar of Kazakhstan: which days are working days, and deadlines.

The rules count many windows in working days ("в течение пяти рабочих дней"). A working
day is a day that is neither a weekend day (Saturday, Sunday) nor a public holiday, nor a
day off moved by the Government; a weekend day the Government made a working day counts.

Source: the ``holidays`` library's ``Kazakhstan`` class (``holidays.KZ``), never a list
kept here. Its source cites the Law of RK «О праздниках в Республике Казахстан» of
13.12.2001 No. 267-II (adilet.zan.kz, ``Z010000267_``, with its history to 2026), the
adilet.zan.kz act ``Z990000493_`` (§ z63), the egov.kz holiday calendar and Wikipedia's
"Public holidays in Kazakhstan"; the moved days off come from the yearly Government
resolutions it lists one by one (2024: ``G24G0000109``; 2025: ``G24G0000436``). It moves a
holiday that falls on Saturday or Sunday to the next working day from 2002 on (not Orthodox
Christmas nor Kurban ait), without citing an article for that rule. Dates of Kurban ait
after 2025 are its estimates.

Known gaps: ``holidays`` 0.109 has no moved days for 2026 or later (the Government resolves
them year by year); a host adds them with ``extra_days_off`` and ``extra_working_days``.

Days are calendar dates in Kazakhstan: a datetime is read in ``Asia/Almaty``
(:func:`~edqueue.rules.policy.policy_date`), and deadlines are instants there, so the move
to UTC+5 on 2024-03-01 is handled by the tz database, not by a fixed offset.

>>> from datetime import date
>>> KAZAKHSTAN_CALENDAR.is_working_day(date(2025, 1, 5))       # a Sunday made working
True
>>> KAZAKHSTAN_CALENDAR.day_off_name(date(2025, 1, 3))          # the Friday it replaced
'Day off (substituted from 01/05/2025)'
>>> add_working_days(date(2025, 1, 3), 5)
datetime.date(2025, 1, 10)
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Final

import attrs

from edqueue.errors import PolicyError, TimeError
from edqueue.models.instants import KAZAKHSTAN, later, require_aware
from edqueue.rules.policy import Duration, DurationUnit, policy_date

__all__ = [
    "KAZAKHSTAN_CALENDAR",
    "WorkingCalendar",
    "add_working_days",
    "deadline",
    "working_days_between",
]

_LANGUAGE: Final = "en_US"
"""The language of holiday names; fixed, as ``holidays`` would otherwise read the locale."""

_MAX_ORDINAL: Final = date.max.toordinal()
_ADDED_KEPT: Final = 4096  # add_working_days answers a calendar keeps (under 1 MB)


@attrs.frozen
class _Library:
    """What edqueue reads from the ``holidays.KZ`` class itself."""

    weekend: frozenset[int]  # date.weekday() numbers: 5, 6 (Saturday, Sunday)
    first_year: int  # the library knows no holiday before this year (1991) ...
    last_year: int  # ... nor after this one (2100)


@functools.cache
def _library() -> _Library:
    """``holidays.KZ``'s weekend and years, imported on first use: importing ``holidays``
    loads every country (some 0.1 s), which ``import edqueue`` need not pay."""
    from holidays.countries.kazakhstan import KZ

    return _Library(frozenset(KZ.weekend), KZ.start_year, KZ.end_year)


def _is_weekend(ordinal: int) -> bool:
    return (ordinal - 1) % 7 in _library().weekend  # ordinal 1, 0001-01-01, is a Monday


def _weekend_days_upto(ordinal: int) -> int:
    """How many of the days with ordinals 1..``ordinal`` fall on a weekend. O(1)."""
    return sum((ordinal + 6 - weekday) // 7 for weekday in _library().weekend)


def _between(ordinals: tuple[int, ...], low: int, high: int) -> int:
    """How many of the sorted ``ordinals`` lie in ``(low, high]``. O(log n)."""
    return bisect.bisect_right(ordinals, high) - bisect.bisect_right(ordinals, low)


@attrs.frozen
class _Year:
    """One year of the ``holidays`` calendar as the exceptions to "Monday to Friday"."""

    off: tuple[int, ...]  # ordinals of days Monday–Friday that are days off
    on: tuple[int, ...]  # ordinals of Saturdays and Sundays that are working days
    off_set: frozenset[int]
    on_set: frozenset[int]
    names: Mapping[int, str]  # the holiday names by ordinal


_NO_EXCEPTIONS: Final = _Year((), (), frozenset(), frozenset(), MappingProxyType({}))


def _kazakhstan_year(year: int) -> _Year:
    """The exceptions of ``year`` per ``holidays.KZ``; none far outside the library's years,
    where it has no holidays (only weekends are days off)."""
    library = _library()
    if library.first_year - 1 <= year <= library.last_year + 1:
        return _read_year(year)
    return _NO_EXCEPTIONS


@functools.cache
def _read_year(year: int) -> _Year:
    """The exceptions of ``year`` per ``holidays.KZ``. About 1 ms, once per year.

    A fresh ``holidays.KZ`` is built each time, for the year and its neighbours (a holiday
    observed or a day moved across New Year), and never escapes: the result is immutable
    and may be shared.
    """
    from holidays.countries.kazakhstan import KZ

    source = KZ(
        years=range(max(year - 1, MINYEAR), min(year + 1, MAXYEAR) + 1),
        expand=False,
        language=_LANGUAGE,
    )
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    off: list[int] = []
    on: list[int] = []
    for ordinal in range(first, last + 1):
        working = source.is_working_day(date.fromordinal(ordinal))
        if _is_weekend(ordinal) and working:
            on.append(ordinal)
        elif not _is_weekend(ordinal) and not working:
            off.append(ordinal)
    names = {
        day.toordinal(): str(name)
        for day, name in source.items()
        if first <= day.toordinal() <= last
    }
    return _Year(tuple(off), tuple(on), frozenset(off), frozenset(on), MappingProxyType(names))


def _base_is_working(ordinal: int) -> bool:
    year = _kazakhstan_year(date.fromordinal(ordinal).year)
    return ordinal in year.on_set if _is_weekend(ordinal) else ordinal not in year.off_set


def _base_count(low: int, high: int) -> int:
    """Working days per ``holidays.KZ`` with ordinals in ``(low, high]``, ``low <= high``.

    O(y log h) for y years of at most h exceptions each: weekdays by arithmetic, then the
    holidays on weekdays and the working weekend days of each year by bisection.
    """
    if low >= high:
        return 0
    count = (high - low) - (_weekend_days_upto(high) - _weekend_days_upto(low))
    for year in range(date.fromordinal(low + 1).year, date.fromordinal(high).year + 1):
        exceptions = _kazakhstan_year(year)
        count += _between(exceptions.on, low, high) - _between(exceptions.off, low, high)
    return count


def _dates(value: Any, field: str) -> tuple[date, ...]:
    if isinstance(value, date | str) or not isinstance(value, Iterable):
        raise PolicyError("policy.invalid_value", f"{field} is a collection of dates")
    days = tuple(value)
    for day in days:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise PolicyError(
                "policy.invalid_value",
                f"{field} holds dates (datetime.date), not {type(day).__name__}",
            )
    return tuple(sorted(set(days)))


def _extra_days_off(value: Any) -> tuple[date, ...]:
    return _dates(value, "extra_days_off")


def _extra_working_days(value: Any) -> tuple[date, ...]:
    return _dates(value, "extra_working_days")


def _day(value: Any, what: str) -> date:
    """``value`` as a calendar date in Kazakhstan (see :func:`policy_date`)."""
    if isinstance(value, datetime):
        return policy_date(require_aware(value, what))
    if isinstance(value, date):
        return value
    raise TimeError(
        "time.type", f"{what} must be a date or an aware datetime, got {type(value).__name__}"
    )


def _count_arg(n: Any) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise PolicyError(
            "policy.invalid_value", "a number of working days is a whole number >= 0, e.g. 5"
        )
    return n


def _duration(value: Any) -> Duration:
    if not isinstance(value, Duration):
        raise PolicyError(
            "policy.invalid_value", "a duration is a Duration, e.g. Duration(5, 'working_days')"
        )
    return value


def _start_of_day(day: date) -> datetime:
    """The first instant of ``day`` in Kazakhstan, normalized through UTC (a gap at 00:00
    gives the first wall time that exists)."""
    local = datetime.combine(day, time(), tzinfo=KAZAKHSTAN)
    return local.astimezone(UTC).astimezone(KAZAKHSTAN)


@attrs.frozen(kw_only=True)
class WorkingCalendar:
    """The working days of Kazakhstan per ``holidays.KZ``, with a host's corrections.

    ``extra_days_off`` and ``extra_working_days`` add days the ``holidays`` library does
    not know yet, such as the Government's moves of days off for a new year (``holidays``
    0.109 has none for 2026): a date in ``extra_days_off`` is a day off, one in
    ``extra_working_days`` a working day, whatever the library says. Both are kept as sorted
    tuples without repeats; a date in both raises :class:`~edqueue.errors.PolicyError`
    (``policy.invalid_value``), as does anything but dates. A correction the library
    already has is harmless.

    Immutable and hashable; equal when the corrections are equal. Nothing mutable is
    shared: each year of ``holidays.KZ`` is read once into immutable data, cached for the
    process (about 1 ms a year).

    >>> from datetime import date
    >>> calendar = WorkingCalendar(extra_days_off=[date(2026, 1, 5)])
    >>> calendar.is_working_day(date(2026, 1, 5))
    False
    >>> KAZAKHSTAN_CALENDAR.is_working_day(date(2026, 1, 5))
    True
    >>> calendar.day_off_name(date(2026, 1, 5))
    'extra day off'
    """

    extra_days_off: tuple[date, ...] = attrs.field(default=(), converter=_extra_days_off)
    """Days off the ``holidays`` library lacks, sorted."""
    extra_working_days: tuple[date, ...] = attrs.field(default=(), converter=_extra_working_days)
    """Working days the ``holidays`` library lacks (e.g. a Saturday made working), sorted."""

    _extra_off: frozenset[int] = attrs.field(init=False, eq=False, repr=False)
    _extra_on: frozenset[int] = attrs.field(init=False, eq=False, repr=False)
    _plus: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)
    _minus: tuple[int, ...] = attrs.field(init=False, eq=False, repr=False)
    # add_working_days's answers so far, by (start ordinal, n): a batch round issues tens of
    # thousands of referrals at one moment, all with the same deadline
    _added: dict[tuple[int, int], date] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        both = sorted(set(self.extra_days_off) & set(self.extra_working_days))
        if both:
            raise PolicyError(
                "policy.invalid_value",
                "a date is either an extra day off or an extra working day, not both: "
                + ", ".join(d.isoformat() for d in both),
            )
        off = [d.toordinal() for d in self.extra_days_off]
        on = [d.toordinal() for d in self.extra_working_days]
        # The corrections that change the library's answer: +1 or -1 working day each.
        object.__setattr__(self, "_extra_off", frozenset(off))
        object.__setattr__(self, "_extra_on", frozenset(on))
        object.__setattr__(self, "_plus", tuple(o for o in on if not _base_is_working(o)))
        object.__setattr__(self, "_minus", tuple(o for o in off if _base_is_working(o)))
        object.__setattr__(self, "_added", {})

    def is_working_day(self, day: date | datetime) -> bool:
        """Whether ``day`` (a date, or an aware datetime read in Kazakhstan) is a working day.

        O(1) once its year is read.

        >>> from datetime import date
        >>> [KAZAKHSTAN_CALENDAR.is_working_day(date(2025, 3, d)) for d in range(20, 27)]
        [True, False, False, False, False, False, True]
        """
        ordinal = _day(day, "the day").toordinal()
        if ordinal in self._extra_on:
            return True
        if ordinal in self._extra_off:
            return False
        return _base_is_working(ordinal)

    def day_off_name(self, day: date | datetime) -> str | None:
        """Why ``day`` is a day off: the holiday's name (English, from ``holidays.KZ``),
        ``"extra day off"``, or ``"weekend"``; ``None`` for a working day. O(1).

        >>> from datetime import date
        >>> KAZAKHSTAN_CALENDAR.day_off_name(date(2024, 12, 16))
        'Independence Day'
        >>> KAZAKHSTAN_CALENDAR.day_off_name(date(2024, 3, 25))   # Nauryz fell on a Saturday
        'Nowruz Holiday (observed)'
        >>> KAZAKHSTAN_CALENDAR.day_off_name(date(2024, 12, 14)), KAZAKHSTAN_CALENDAR.day_off_name(
        ...     date(2024, 12, 13)
        ... )
        ('weekend', None)
        """
        day = _day(day, "the day")
        if self.is_working_day(day):
            return None
        ordinal = day.toordinal()
        name = _kazakhstan_year(day.year).names.get(ordinal)
        if name is not None:
            return name
        if ordinal in self._extra_off:
            return "extra day off"
        return "weekend"

    def _count(self, low: int, high: int) -> int:
        """Working days with ordinals in ``(low, high]``, ``low <= high``."""
        return (
            _base_count(low, high)
            + _between(self._plus, low, high)
            - _between(self._minus, low, high)
        )

    def working_days_between(self, start: date | datetime, end: date | datetime) -> int:
        """How many working days ``d`` have ``start < d <= end``; minus that many if ``end``
        comes before ``start`` (``working_days_between(a, b) == -working_days_between(b, a)``).

        Dates, or aware datetimes read in Kazakhstan. The inverse of :meth:`add_working_days`:
        ``working_days_between(s, add_working_days(s, n)) == n``. O(y log h) over y years,
        not a loop over days.

        >>> from datetime import date
        >>> KAZAKHSTAN_CALENDAR.working_days_between(date(2025, 1, 3), date(2025, 1, 10))
        5
        >>> KAZAKHSTAN_CALENDAR.working_days_between(date(2025, 1, 10), date(2025, 1, 3))
        -5
        >>> KAZAKHSTAN_CALENDAR.working_days_between(date(2024, 1, 1), date(2025, 1, 1))
        249
        """
        low = _day(start, "the start").toordinal()
        high = _day(end, "the end").toordinal()
        if high < low:
            return -self._count(high, low)
        return self._count(low, high)

    def add_working_days(self, start: date | datetime, n: int) -> date:
        """The ``n``-th working day after the day of ``start``; the start day itself is not
        counted, and ``n == 0`` gives the start day (working day or not).

        ``start`` is a date or an aware datetime read in Kazakhstan. ``n`` is a whole number
        >= 0, else :class:`~edqueue.errors.PolicyError` (``policy.invalid_value``), as is a
        result after 9999-12-31. O(y log h log n): a bisection on :meth:`working_days_between`.

        >>> from datetime import date
        >>> KAZAKHSTAN_CALENDAR.add_working_days(date(2025, 3, 20), 1)    # over Nauryz
        datetime.date(2025, 3, 26)
        >>> KAZAKHSTAN_CALENDAR.add_working_days(date(2025, 3, 22), 0)
        datetime.date(2025, 3, 22)
        """
        origin = _day(start, "the start").toordinal()
        n = _count_arg(n)
        if n == 0:
            return date.fromordinal(origin)
        found = self._added.get((origin, n))
        if found is None:
            found = self._nth_working_day(origin, n)
            if len(self._added) < _ADDED_KEPT:
                self._added[origin, n] = found
        return found

    def _nth_working_day(self, origin: int, n: int) -> date:
        # Find the first day whose count reaches n; it is the n-th working day.
        low, high = origin, min(origin + 2 * n + 7, _MAX_ORDINAL)
        while self._count(origin, high) < n:
            if high == _MAX_ORDINAL:
                raise PolicyError(
                    "policy.invalid_value",
                    f"{n} working days after {date.fromordinal(origin).isoformat()} "
                    "is after 9999-12-31",
                )
            low, high = high, min(origin + 2 * (high - origin), _MAX_ORDINAL)
        while high - low > 1:  # invariant: count(low) < n <= count(high)
            middle = (low + high) // 2
            if self._count(origin, middle) >= n:
                high = middle
            else:
                low = middle
        return date.fromordinal(high)

    def add_days(self, start: date | datetime, duration: Duration) -> date:
        """The last day of a window of ``duration`` that opens on the day of ``start``.

        Calendar days: the start day plus ``amount`` days. Working days:
        :meth:`add_working_days`. A duration in minutes has no last day and raises
        :class:`~edqueue.errors.PolicyError` (``policy.invalid_value``); use :meth:`deadline`.

        >>> from datetime import date
        >>> KAZAKHSTAN_CALENDAR.add_days(date(2025, 1, 3), Duration(5, "calendar_days"))
        datetime.date(2025, 1, 8)
        >>> KAZAKHSTAN_CALENDAR.add_days(date(2025, 1, 3), Duration(5, "working_days"))
        datetime.date(2025, 1, 10)
        """
        duration = _duration(duration)
        if duration.unit is DurationUnit.WORKING_DAYS:
            return self.add_working_days(start, duration.amount)
        if duration.unit is DurationUnit.CALENDAR_DAYS:
            day = _day(start, "the start")
            if duration.amount > _MAX_ORDINAL - day.toordinal():
                raise PolicyError("policy.invalid_value", f"{duration} ends after 9999-12-31")
            return day + timedelta(days=duration.amount)
        raise PolicyError(
            "policy.invalid_value", f"{duration} has no last day; use deadline() for minutes"
        )

    def deadline(self, start: datetime, duration: Duration) -> datetime:
        """The instant a window of ``duration`` opening at ``start`` closes, in Kazakhstan.

        Minutes: ``start`` plus that many minutes of real time (UTC arithmetic, right across
        a change of offset). Days: 00:00 in ``Asia/Almaty`` of the day after the last day of
        the window (:meth:`add_days`), so the window covers the whole of its last day; the
        instant is after ``start``. ``start`` must be an aware datetime, else
        :class:`~edqueue.errors.TimeError` (``time.naive`` or ``time.type``).

        A referral issued on Friday 2025-01-03 (a day off moved from Sunday 5 January, which
        became a working day; 7 January is Orthodox Christmas) with 5 working days:

        >>> from datetime import datetime
        >>> issued = datetime(2025, 1, 3, 10, 0, tzinfo=KAZAKHSTAN)
        >>> str(KAZAKHSTAN_CALENDAR.deadline(issued, Duration(5, "working_days")))
        '2025-01-11 00:00:00+05:00'
        >>> str(KAZAKHSTAN_CALENDAR.deadline(issued, Duration(2, "minutes")))
        '2025-01-03 10:02:00+05:00'
        """
        start = require_aware(start, "the start")
        duration = _duration(duration)
        if duration.unit is DurationUnit.MINUTES:
            return later(start, timedelta(minutes=duration.amount)).astimezone(KAZAKHSTAN)
        last = self.add_days(start, duration)
        if last == date.max:
            raise PolicyError("policy.invalid_value", f"{duration} ends after 9999-12-31")
        return _start_of_day(last + timedelta(days=1))


KAZAKHSTAN_CALENDAR: Final[WorkingCalendar] = WorkingCalendar()
"""The calendar of ``holidays.KZ`` without corrections."""


def add_working_days(
    start: date | datetime, n: int, calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR
) -> date:
    """:meth:`WorkingCalendar.add_working_days` on ``calendar`` (Kazakhstan by default)."""
    return calendar.add_working_days(start, n)


def working_days_between(
    start: date | datetime, end: date | datetime, calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR
) -> int:
    """:meth:`WorkingCalendar.working_days_between` on ``calendar`` (Kazakhstan by default)."""
    return calendar.working_days_between(start, end)


def deadline(
    start: datetime, duration: Duration, calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR
) -> datetime:
    """:meth:`WorkingCalendar.deadline` on ``calendar`` (Kazakhstan by default).

    Across the move to UTC+5: 20:00 UTC on 29 February 2024 is already 1 March in Almaty.

    >>> from datetime import UTC, datetime
    >>> str(deadline(datetime(2024, 2, 29, 20, 0, tzinfo=UTC), Duration(0, "calendar_days")))
    '2024-03-02 00:00:00+05:00'
    >>> str(deadline(datetime(2024, 2, 28, 20, 0, tzinfo=UTC), Duration(0, "calendar_days")))
    '2024-03-01 00:00:00+05:00'
    """
    return calendar.deadline(start, duration)
