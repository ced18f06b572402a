"""The working-day calendar: real Kazakhstan dates, the 2024 zone change, corrections, errors
and the laws of counting (hypothesis)."""

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import attrs
import pytest
from holidays.countries.kazakhstan import KZ
from hypothesis import given
from hypothesis import strategies as st

from edqueue.errors import PolicyError, TimeError
from edqueue.models.instants import KAZAKHSTAN, instant
from edqueue.rules.calendar import (
    KAZAKHSTAN_CALENDAR,
    WorkingCalendar,
    add_working_days,
    deadline,
    working_days_between,
)
from edqueue.rules.policy import Duration, DurationUnit, policy_date

CAL = KAZAKHSTAN_CALENDAR
WORKING = Duration(5, DurationUnit.WORKING_DAYS)

dates = st.dates(date(2015, 1, 1), date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=400)
day_durations = st.builds(
    Duration,
    st.integers(min_value=0, max_value=60),
    st.sampled_from([DurationUnit.CALENDAR_DAYS, DurationUnit.WORKING_DAYS]),
)
aware_starts = st.datetimes(
    min_value=datetime(2015, 1, 1),  # noqa: DTZ001 - bounds of a naive strategy, made aware below
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([KAZAKHSTAN, UTC]),
)


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(d) for d in range((end - start).days + 1)]


def slow_count(calendar: WorkingCalendar, start: date, end: date) -> int:
    """Working days d with start < d <= end, one day at a time."""
    return sum(calendar.is_working_day(d) for d in days(start + timedelta(1), end))


# --- real dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 1, 1), False),  # New Year
        (date(2024, 1, 2), False),  # New Year, second day
        (date(2024, 1, 3), True),
        (date(2024, 1, 7), False),  # Orthodox Christmas on a Sunday ...
        (date(2024, 1, 8), True),  # ... is not moved to Monday
        (date(2025, 3, 21), False),  # Nauryz, Friday
        (date(2025, 3, 22), False),  # Nauryz, Saturday
        (date(2025, 3, 23), False),  # Nauryz, Sunday
        (date(2025, 3, 24), False),  # observed: Nauryz fell on the weekend
        (date(2025, 3, 25), False),
        (date(2025, 3, 26), True),
        (date(2024, 12, 16), False),  # Independence Day
        (date(2024, 12, 17), True),  # one day only since 2022
        (date(2021, 12, 17), False),  # two days until 2021
        (date(2025, 1, 3), False),  # Friday, day off moved from Sunday 5 January
        (date(2025, 1, 5), True),  # Sunday made a working day
        (date(2024, 5, 4), True),  # Saturday made a working day ...
        (date(2024, 5, 8), False),  # ... for Wednesday 8 May
        (date(2024, 3, 1), True),  # the day of the zone change is an ordinary Friday
    ],
)
def test_real_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working
    assert (CAL.day_off_name(day) is None) is working


def test_names_of_days_off() -> None:
    assert CAL.day_off_name(date(2024, 1, 1)) == "New Year's Day"
    assert CAL.day_off_name(date(2025, 3, 22)) == "Nowruz Holiday"  # a holiday on Saturday
    assert CAL.day_off_name(date(2025, 3, 24)) == "Nowruz Holiday (observed)"
    assert CAL.day_off_name(date(2025, 1, 3)) == "Day off (substituted from 01/05/2025)"
    assert CAL.day_off_name(date(2025, 1, 4)) == "weekend"
    assert CAL.day_off_name(date(2025, 1, 5)) is None  # a working Sunday


def test_the_calendar_agrees_with_the_holidays_library_on_every_day() -> None:
    library = KZ(years=range(2014, 2032), language="en_US")
    for day in days(date(2015, 1, 1), date(2030, 12, 31)):
        assert CAL.is_working_day(day) is library.is_working_day(day), day


def test_a_datetime_is_read_as_its_day_in_kazakhstan() -> None:
    # 20:00 UTC on Saturday 4 January 2025 is 01:00 on Sunday 5 January (a working day)
    # in Almaty.
    moment = datetime(2025, 1, 4, 20, 0, tzinfo=UTC)
    assert not CAL.is_working_day(moment.date())
    assert CAL.is_working_day(moment)


def test_counting_across_holidays() -> None:
    assert CAL.add_working_days(date(2025, 1, 3), 5) == date(2025, 1, 10)
    assert CAL.add_working_days(date(2025, 3, 20), 1) == date(2025, 3, 26)
    assert CAL.add_working_days(date(2024, 12, 31), 1) == date(2025, 1, 5)
    assert CAL.working_days_between(date(2025, 3, 20), date(2025, 3, 26)) == 1
    assert CAL.working_days_between(date(2025, 3, 26), date(2025, 3, 20)) == -1
    assert CAL.working_days_between(date(2025, 3, 21), date(2025, 3, 21)) == 0
    assert CAL.add_working_days(date(2025, 3, 22), 0) == date(2025, 3, 22)  # a day off


def test_a_whole_year_matches_a_day_by_day_count() -> None:
    assert CAL.working_days_between(date(2023, 12, 31), date(2024, 12, 31)) == slow_count(
        CAL, date(2023, 12, 31), date(2024, 12, 31)
    )
    assert CAL.working_days_between(date(2014, 12, 31), date(2030, 12, 31)) == slow_count(
        CAL, date(2014, 12, 31), date(2030, 12, 31)
    )


def test_add_days_in_calendar_and_working_days() -> None:
    assert CAL.add_days(date(2025, 1, 3), Duration(5, DurationUnit.CALENDAR_DAYS)) == date(
        2025, 1, 8
    )
    assert CAL.add_days(date(2025, 1, 3), WORKING) == date(2025, 1, 10)
    assert CAL.add_days(date(2025, 1, 3), Duration(0, DurationUnit.WORKING_DAYS)) == date(
        2025, 1, 3
    )


def test_importing_the_calendar_does_not_import_holidays_yet() -> None:
    code = "import sys, edqueue.rules.calendar; print('holidays' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- deadlines and the 2024-03-01 zone change --------------------------------------------


def test_the_deadline_of_a_referral_issued_on_a_moved_day_off() -> None:
    issued = datetime(2025, 1, 3, 10, 0, tzinfo=KAZAKHSTAN)
    closes = CAL.deadline(issued, WORKING)
    assert closes == datetime(2025, 1, 11, 0, 0, tzinfo=KAZAKHSTAN)
    assert closes.tzinfo is KAZAKHSTAN
    assert closes.utcoffset() == timedelta(hours=5)


def test_a_start_late_on_29_february_2024_utc_is_already_1_march() -> None:
    start = datetime(2024, 2, 29, 20, 0, tzinfo=UTC)  # 01:00 on Friday 1 March in Almaty
    assert policy_date(start) == date(2024, 3, 1)
    assert CAL.add_working_days(start, 1) == date(2024, 3, 4)
    closes = CAL.deadline(start, Duration(1, DurationUnit.WORKING_DAYS))
    assert str(closes) == "2024-03-05 00:00:00+05:00"
    assert instant(closes) == datetime(2024, 3, 4, 19, 0, tzinfo=UTC)


def test_deadlines_before_the_change_are_at_utc_plus_6() -> None:
    start = datetime(2024, 2, 26, 10, 0, tzinfo=KAZAKHSTAN)  # Monday, UTC+6
    closes = CAL.deadline(start, Duration(2, DurationUnit.CALENDAR_DAYS))
    assert str(closes) == "2024-02-29 00:00:00+06:00"
    assert instant(closes) == datetime(2024, 2, 28, 18, 0, tzinfo=UTC)


def test_29_february_2024_lasted_25_hours() -> None:
    start = datetime(2024, 2, 29, 0, 0, tzinfo=KAZAKHSTAN)  # UTC+6
    closes = CAL.deadline(start, Duration(0, DurationUnit.CALENDAR_DAYS))
    assert str(closes) == "2024-03-01 00:00:00+05:00"
    assert instant(closes) - instant(start) == timedelta(hours=25)


def test_minutes_are_real_time_across_the_change() -> None:
    # 23:30 at UTC+6 on 29 February; an hour later the clocks show 23:30 again, at UTC+5.
    start = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)
    closes = CAL.deadline(start, Duration(60, DurationUnit.MINUTES))
    assert instant(closes) - instant(start) == timedelta(minutes=60)
    assert closes.utcoffset() == timedelta(hours=5)
    assert (closes.hour, closes.minute) == (23, 30)


# --- a host's corrections -------------------------------------------------------------


def test_extra_days_off_and_working_days_override_the_library() -> None:
    monday, saturday = date(2026, 1, 5), date(2026, 1, 3)
    observed = date(2026, 3, 9)  # Women's Day fell on Sunday: a day off per the library
    assert CAL.is_working_day(monday) and not CAL.is_working_day(saturday)
    assert not CAL.is_working_day(observed)
    host = WorkingCalendar(extra_days_off=[monday], extra_working_days=[saturday, observed])
    assert not host.is_working_day(monday)
    assert host.is_working_day(saturday)
    assert host.is_working_day(observed)
    assert host.day_off_name(monday) == "extra day off"
    assert host.day_off_name(observed) is None
    span = (date(2025, 12, 31), date(2026, 3, 31))
    assert host.working_days_between(*span) == CAL.working_days_between(*span) + 1
    assert host.working_days_between(*span) == slow_count(host, *span)
    assert host.add_working_days(date(2026, 1, 2), 1) == saturday
    assert host.add_working_days(date(2026, 1, 3), 1) == date(2026, 1, 6)
    assert add_working_days(date(2026, 1, 3), 1, host) == date(2026, 1, 6)
    assert add_working_days(date(2026, 1, 3), 1) == monday


def test_a_correction_the_library_already_has_changes_nothing() -> None:
    host = WorkingCalendar(
        extra_days_off=[date(2025, 1, 3), date(2025, 1, 4)], extra_working_days=[date(2025, 1, 5)]
    )
    span = (date(2024, 12, 1), date(2025, 2, 1))
    assert host.working_days_between(*span) == CAL.working_days_between(*span)
    assert host.day_off_name(date(2025, 1, 3)) == CAL.day_off_name(date(2025, 1, 3))


def test_corrections_are_sorted_without_repeats_and_make_the_identity() -> None:
    a, b = date(2026, 1, 5), date(2026, 1, 2)
    host = WorkingCalendar(extra_days_off=iter([a, b, a]))
    assert host.extra_days_off == (b, a)
    assert host.extra_working_days == ()
    assert host == WorkingCalendar(extra_days_off=[b, a])
    assert hash(host) == hash(WorkingCalendar(extra_days_off={a, b}))
    assert host != KAZAKHSTAN_CALENDAR
    assert WorkingCalendar() == KAZAKHSTAN_CALENDAR
    assert repr(host) == (
        "WorkingCalendar(extra_days_off=(datetime.date(2026, 1, 2), datetime.date(2026, 1, 5)), "
        "extra_working_days=())"
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        host.extra_days_off = ()  # type: ignore[misc]


# --- errors -----------------------------------------------------------------------------


def test_a_date_in_both_sets_is_an_error() -> None:
    with pytest.raises(PolicyError) as caught:
        WorkingCalendar(extra_days_off=[date(2026, 1, 5)], extra_working_days=[date(2026, 1, 5)])
    assert caught.value.code == "policy.invalid_value"
    assert "2026-01-05" in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        date(2026, 1, 5),  # one date, not a collection
        "2026-01-05",
        ["2026-01-05"],
        [datetime(2026, 1, 5, tzinfo=KAZAKHSTAN)],
        None,
    ],
)
def test_corrections_must_be_dates(value: object) -> None:
    for field in ("extra_days_off", "extra_working_days"):
        with pytest.raises(PolicyError) as caught:
            WorkingCalendar(**{field: value})
        assert caught.value.code == "policy.invalid_value"
        assert field in caught.value.message


def test_a_naive_datetime_is_refused_everywhere() -> None:
    naive = datetime(2025, 1, 3, 10, 0)  # noqa: DTZ001 - on purpose
    calls: list[Callable[[], object]] = [
        lambda: CAL.is_working_day(naive),
        lambda: CAL.day_off_name(naive),
        lambda: CAL.add_working_days(naive, 1),
        lambda: CAL.working_days_between(date(2025, 1, 1), naive),
        lambda: CAL.add_days(naive, WORKING),
        lambda: CAL.deadline(naive, WORKING),
        lambda: deadline(naive, Duration(2, DurationUnit.MINUTES)),
        lambda: working_days_between(naive, date(2025, 1, 1)),
    ]
    for call in calls:
        with pytest.raises(TimeError) as caught:
            call()
        assert caught.value.code == "time.naive"


def test_a_deadline_starts_at_an_instant_not_a_date() -> None:
    with pytest.raises(TimeError) as caught:
        CAL.deadline(date(2025, 1, 3), WORKING)  # type: ignore[arg-type]
    assert caught.value.code == "time.type"
    with pytest.raises(TimeError) as caught:
        CAL.add_working_days("2025-01-03", 1)  # type: ignore[arg-type]
    assert caught.value.code == "time.type"


@pytest.mark.parametrize("n", [-1, True, 1.0, "5", None])
def test_the_number_of_working_days_is_a_whole_number_at_least_0(n: object) -> None:
    with pytest.raises(PolicyError) as caught:
        CAL.add_working_days(date(2025, 1, 3), n)  # type: ignore[arg-type]
    assert caught.value.code == "policy.invalid_value"


def test_a_duration_must_fit_its_use() -> None:
    start = datetime(2025, 1, 3, 10, 0, tzinfo=KAZAKHSTAN)
    calls: list[Callable[[], object]] = [
        lambda: CAL.add_days(start, Duration(5, DurationUnit.MINUTES)),
        lambda: CAL.deadline(start, 5),  # type: ignore[arg-type]
        lambda: CAL.add_days(start, "5 working days"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(PolicyError) as caught:
            call()
        assert caught.value.code == "policy.invalid_value"


def test_results_after_the_last_date_are_errors_not_overflows() -> None:
    near_the_end = date(9999, 12, 30)
    calls: list[Callable[[], object]] = [
        lambda: CAL.add_working_days(near_the_end, 5),
        lambda: CAL.add_days(near_the_end, Duration(5, DurationUnit.CALENDAR_DAYS)),
        lambda: CAL.deadline(
            datetime(9999, 12, 31, 1, 0, tzinfo=KAZAKHSTAN), Duration(0, "calendar_days")
        ),
    ]
    for call in calls:
        with pytest.raises(PolicyError) as caught:
            call()
        assert caught.value.code == "policy.invalid_value"


# --- properties -------------------------------------------------------------------------


@given(dates, counts)
def test_counting_undoes_adding(start: date, n: int) -> None:
    assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


@given(dates, st.integers(min_value=1, max_value=400))
def test_the_result_is_a_working_day_after_the_start(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n)
    assert result > start
    assert CAL.is_working_day(result)


@given(dates, counts, counts)
def test_adding_is_monotonic_and_additive(start: date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert CAL.add_working_days(start, low) <= CAL.add_working_days(start, high)
    if low < high:
        assert CAL.add_working_days(start, low) < CAL.add_working_days(start, high)
    assert CAL.add_working_days(start, a + b) == CAL.add_working_days(
        CAL.add_working_days(start, a), b
    )


@given(dates, st.integers(min_value=0, max_value=800))
def test_counting_matches_a_day_by_day_count(start: date, span: int) -> None:
    end = start + timedelta(span)
    assert CAL.working_days_between(start, end) == slow_count(CAL, start, end)
    assert CAL.working_days_between(end, start) == -slow_count(CAL, start, end)


@given(
    st.lists(dates, max_size=6, unique=True),
    st.lists(dates, max_size=6, unique=True),
    dates,
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=60),
)
def test_a_corrected_calendar_counts_consistently(
    off: list[date], on: list[date], start: date, span: int, n: int
) -> None:
    host = WorkingCalendar(extra_days_off=off, extra_working_days=[d for d in on if d not in off])
    end = start + timedelta(span)
    assert host.working_days_between(start, end) == slow_count(host, start, end)
    for day in host.extra_days_off:
        assert not host.is_working_day(day)
    for day in host.extra_working_days:
        assert host.is_working_day(day)
    result = host.add_working_days(start, n)
    assert host.working_days_between(start, result) == n
    assert n == 0 or host.is_working_day(result)


@given(aware_starts, day_durations)
def test_a_day_deadline_is_local_midnight_after_the_window(
    start: datetime, duration: Duration
) -> None:
    closes = deadline(start, duration)
    assert closes.tzinfo is KAZAKHSTAN
    assert closes.utcoffset() is not None
    assert instant(closes) > instant(start)
    assert closes.timetz().replace(tzinfo=None) == time(0, 0)
    assert policy_date(closes) == CAL.add_days(start, duration) + timedelta(1)


@given(aware_starts, st.integers(min_value=0, max_value=24 * 60))
def test_a_minutes_deadline_is_that_much_real_time_later(start: datetime, minutes: int) -> None:
    closes = deadline(start, Duration(minutes, DurationUnit.MINUTES))
    assert closes.tzinfo is KAZAKHSTAN
    assert instant(closes) - instant(start) == timedelta(minutes=minutes)


def test_a_calendar_answers_again_as_it_first_answered_and_apart_from_another() -> None:
    """add_working_days keeps its answers per calendar (a batch round asks the same one
    tens of thousands of times); a calendar with other corrections keeps its own."""
    start = date(2026, 1, 2)
    plain, moved = WorkingCalendar(), WorkingCalendar(extra_days_off=[date(2026, 1, 5)])
    for _ in range(2):  # the second time, from what each calendar kept
        for calendar in (plain, moved):
            day = calendar.add_working_days(start, 3)
            assert calendar.is_working_day(day)
            assert calendar.working_days_between(start, day) == 3
    assert moved.add_working_days(start, 3) > plain.add_working_days(start, 3)
