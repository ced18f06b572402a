"""The dated policy: values in force on a date, amendments, validation, the defaults."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import KAZAKHSTAN, MAX_CHOICES, PolicyError, TimeError
from edqueue.rules.policy import (
    KAZAKHSTAN_POLICY,
    PARAMETER_NAMES,
    DatedValue,
    Duration,
    DurationUnit,
    ParameterHistory,
    Policy,
    PolicyValues,
    policy_date,
)

ROOT = Path(__file__).resolve().parents[1]
START = date(2020, 6, 22)
DAY = date(2024, 2, 5)


def policy_error(call: object, *args: object, **kwargs: object) -> PolicyError:
    assert callable(call)
    with pytest.raises(PolicyError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- the defaults ---------------------------------------------------------------------


def test_the_defaults_of_the_issue() -> None:
    values = KAZAKHSTAN_POLICY.at(DAY)
    assert values == PolicyValues(
        max_organizations=4,
        age_limit_years=6,
        referral_min_age_months=24,
        referral_enrolment_window=Duration(5, DurationUnit.WORKING_DAYS),
        referral_enrolment_window_max=Duration(30, DurationUnit.CALENDAR_DAYS),
        benefit_confirmation_window=Duration(5, DurationUnit.WORKING_DAYS),
        stop_list_period=Duration(10, DurationUnit.CALENDAR_DAYS),
        sibling_window_months=1,
        first_priority_ratio_general=0,
        device_number_change_interval=Duration(40, DurationUnit.CALENDAR_DAYS),
        confirmation_code_lifetime=Duration(2, DurationUnit.MINUTES),
        confirmation_code_attempts=3,
        binding_password_lifetime=Duration(10, DurationUnit.MINUTES),
        session_lifetime=Duration(30, DurationUnit.MINUTES),
        other_representative_may_act=0,
        code_sends_per_phone=5,
        code_sends_per_device=10,
        code_send_window=Duration(60, DurationUnit.MINUTES),
        code_failures_per_phone=10,
        code_failures_per_device=20,
        code_failure_window=Duration(1440, DurationUnit.MINUTES),
        draft_lifetime=Duration(1440, DurationUnit.MINUTES),
        refusal_log_interval=Duration(1, DurationUnit.MINUTES),
    )


def test_every_default_applies_from_the_registration_of_rules_254_with_a_source() -> None:
    assert tuple(p.name for p in KAZAKHSTAN_POLICY.parameters) == PARAMETER_NAMES
    assert tuple(a.name for a in attrs.fields(PolicyValues)) == PARAMETER_NAMES
    for history in KAZAKHSTAN_POLICY.parameters:
        assert [v.effective_from for v in history.values] == [START]
        assert history.values[0].source
        assert history.description.endswith(".")
        assert history.unit


def test_regional_practice_is_marked_as_such() -> None:
    for name in ("referral_min_age_months", "referral_enrolment_window", "stop_list_period"):
        assert "regional practice" in KAZAKHSTAN_POLICY.value(name, DAY).source
    assert "no source" in KAZAKHSTAN_POLICY.value("confirmation_code_attempts", DAY).source


def test_the_sibling_window_and_the_first_priority_ratio_are_dated_with_their_sources() -> None:
    values = KAZAKHSTAN_POLICY.at(DAY)
    assert (values.sibling_window_months, values.first_priority_ratio_general) == (1, 0)
    siblings = KAZAKHSTAN_POLICY.value("sibling_window_months", DAY)
    assert siblings.effective_from == START
    assert "regional practice" in siblings.source
    assert "bilim.astana.kz/en/archives/49434" in siblings.source
    assert "a month apart" in siblings.source
    ratio = KAZAKHSTAN_POLICY.value("first_priority_ratio_general", DAY)
    assert ratio.effective_from == START
    assert "step 4" in ratio.source
    assert "приоритетное положение в очереди" in ratio.source
    assert "one to three" in ratio.source
    assert KAZAKHSTAN_POLICY.history("sibling_window_months").unit == "months"
    for name in ("sibling_window_months", "first_priority_ratio_general"):
        error = policy_error(KAZAKHSTAN_POLICY.value, name, date(2020, 6, 21))
        assert error.code == "policy.no_value"


def test_a_region_sets_its_sibling_window_and_its_ratio() -> None:
    astana = KAZAKHSTAN_POLICY.amend(
        "first_priority_ratio_general", date(2025, 1, 1), 3, source="Astana (example)"
    ).amend("sibling_window_months", date(2025, 1, 1), 2, source="a region (example)")
    assert astana.at(date(2024, 12, 31)).first_priority_ratio_general == 0
    assert astana.at(date(2025, 1, 1)).first_priority_ratio_general == 3
    assert astana.at(date(2024, 12, 31)).sibling_window_months == 1
    assert astana.at(date(2025, 1, 1)).sibling_window_months == 2
    # 0 is the default ratio, and a region may return to it
    assert (
        astana.amend("first_priority_ratio_general", date(2026, 1, 1), 0, source="example")
        .at(date(2026, 1, 1))
        .first_priority_ratio_general
        == 0
    )


def test_nothing_is_in_force_before_the_rules() -> None:
    error = policy_error(KAZAKHSTAN_POLICY.at, date(2020, 6, 21))
    assert error.code == "policy.no_value"
    assert KAZAKHSTAN_POLICY.at(START).age_limit_years == 6


# --- reading on a date ------------------------------------------------------------------


def test_an_aware_datetime_is_read_on_its_day_in_kazakhstan() -> None:
    # 19:30 UTC on 21 June 2020 is 01:30 on 22 June in Almaty (then UTC+6).
    assert policy_date(datetime(2020, 6, 21, 19, 30, tzinfo=UTC)) == START
    assert KAZAKHSTAN_POLICY.at(datetime(2020, 6, 21, 19, 30, tzinfo=UTC)).max_organizations == 4
    assert policy_date(datetime(2024, 3, 1, 0, 30, tzinfo=KAZAKHSTAN)) == date(2024, 3, 1)


def test_a_naive_datetime_or_a_string_is_refused() -> None:
    with pytest.raises(TimeError) as naive:
        KAZAKHSTAN_POLICY.at(datetime(2024, 2, 5, 10, 0))  # noqa: DTZ001 - on purpose
    assert naive.value.code == "time.naive"
    with pytest.raises(TimeError) as text:
        KAZAKHSTAN_POLICY.at("2024-02-05")  # type: ignore[arg-type]
    assert text.value.code == "time.type"


# --- amendments -------------------------------------------------------------------------


def test_at_before_and_after_an_amendment() -> None:
    reform = KAZAKHSTAN_POLICY.amend(
        "stop_list_period",
        date(2025, 1, 1),
        Duration(0, DurationUnit.CALENDAR_DAYS),
        source="a reform that abolishes the stop list (example)",
    )
    assert reform.at(date(2024, 12, 31)).stop_list_period == Duration(10, "calendar_days")
    assert reform.at(date(2025, 1, 1)).stop_list_period == Duration(0, "calendar_days")
    assert reform.at(date(2030, 1, 1)).stop_list_period == Duration(0, "calendar_days")
    history = reform.history("stop_list_period")
    assert [v.effective_from for v in history.values] == [START, date(2025, 1, 1)]
    assert reform.value("stop_list_period", date(2025, 6, 1)).source.startswith("a reform")


def test_amend_leaves_the_original_unchanged_and_policies_are_frozen() -> None:
    before = KAZAKHSTAN_POLICY.at(date(2030, 1, 1))
    amended = KAZAKHSTAN_POLICY.amend("max_organizations", date(2025, 1, 1), 2, source="example")
    assert amended is not KAZAKHSTAN_POLICY
    assert amended != KAZAKHSTAN_POLICY
    assert KAZAKHSTAN_POLICY.at(date(2030, 1, 1)) == before
    assert amended.at(date(2030, 1, 1)) == attrs.evolve(before, max_organizations=2)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        KAZAKHSTAN_POLICY.name = "changed"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        before.max_organizations = 1  # type: ignore[misc]
    assert hash(amended.at(date(2030, 1, 1))) == hash(amended.at(date(2031, 1, 1)))


def test_an_amendment_on_an_existing_date_replaces_that_value() -> None:
    corrected = KAZAKHSTAN_POLICY.amend("age_limit_years", START, 5, source="a correction")
    assert [v.value for v in corrected.history("age_limit_years").values] == [5]


def test_a_regional_derivation() -> None:
    # Astana moved the queue after 2 years of age (bilim.astana.kz, 2019); an Akmola notice
    # of 2026 refers children from 1.5 years. A host derives both without changing edqueue.
    astana = KAZAKHSTAN_POLICY.amend(
        "referral_min_age_months",
        date(2019, 10, 9),
        24,
        source="Astana practice, bilim.astana.kz/en/archives/49434",
    ).renamed("Astana")
    akmola = (
        KAZAKHSTAN_POLICY.amend(
            "referral_min_age_months", date(2026, 1, 1), 18, source="Akmola notice (2026)"
        )
        .amend(
            "referral_enrolment_window",
            date(2026, 1, 1),
            Duration(2, DurationUnit.WORKING_DAYS),
            source="voucher model (2024-2025): confirm in 2 working days",
        )
        .renamed("Akmola")
    )
    assert astana.name == "Astana"
    assert astana.value("referral_min_age_months", date(2019, 12, 1)).value == 24
    # The other parameters have no value before 2020-06-22, so no snapshot exists yet.
    assert policy_error(astana.at, date(2019, 12, 1)).code == "policy.no_value"
    assert astana.at(DAY).referral_min_age_months == 24
    values = akmola.at(date(2026, 3, 1))
    assert values.referral_min_age_months == 18
    assert values.referral_min_age_date(date(2024, 9, 15)) == date(2026, 3, 15)
    assert str(values.referral_enrolment_window) == "2 working days"
    assert akmola.at(date(2025, 12, 31)).referral_min_age_months == 24
    assert KAZAKHSTAN_POLICY.name != akmola.name


@given(
    st.dates(date(2020, 6, 23), date(2040, 12, 31)),
    st.dates(date(2020, 6, 22), date(2045, 12, 31)),
    st.integers(1, MAX_CHOICES),
)
def test_an_amendment_applies_from_its_date_exactly(effective: date, on: date, value: int) -> None:
    amended = KAZAKHSTAN_POLICY.amend("max_organizations", effective, value, source="test")
    expected = value if on >= effective else 4
    assert amended.at(on).max_organizations == expected
    assert KAZAKHSTAN_POLICY.at(on).max_organizations == 4


# --- errors -----------------------------------------------------------------------------


def test_an_unknown_parameter() -> None:
    error = policy_error(KAZAKHSTAN_POLICY.amend, "max_kindergartens", DAY, 3, source="x")
    assert error.code == "policy.unknown_parameter"
    assert "max_organizations" in error.message  # the message lists the real names
    assert policy_error(KAZAKHSTAN_POLICY.history, "nope").code == "policy.unknown_parameter"
    assert policy_error(KAZAKHSTAN_POLICY.value, "nope", DAY).code == "policy.unknown_parameter"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_organizations", 0),
        ("max_organizations", MAX_CHOICES + 1),
        ("max_organizations", True),
        ("max_organizations", "4"),
        ("max_organizations", 4.0),
        ("age_limit_years", 8),
        ("age_limit_years", Duration(6, DurationUnit.CALENDAR_DAYS)),
        ("referral_min_age_months", -1),
        ("referral_min_age_months", 72),  # not below the age limit of 6 years
        ("referral_enrolment_window", 5),
        ("referral_enrolment_window", Duration(0, DurationUnit.WORKING_DAYS)),
        ("referral_enrolment_window", Duration(5, DurationUnit.MINUTES)),
        ("confirmation_code_lifetime", Duration(2, DurationUnit.CALENDAR_DAYS)),
        ("confirmation_code_lifetime", Duration(24 * 60 + 1, DurationUnit.MINUTES)),
        ("confirmation_code_attempts", 0),
        ("sibling_window_months", 0),  # at least one month
        ("sibling_window_months", -1),
        ("sibling_window_months", True),
        ("sibling_window_months", 1.0),
        ("sibling_window_months", Duration(1, DurationUnit.CALENDAR_DAYS)),
        ("first_priority_ratio_general", -1),  # 0 (no interleaving) is allowed
        ("first_priority_ratio_general", True),
        ("first_priority_ratio_general", False),
        ("first_priority_ratio_general", "3"),
    ],
)
def test_an_invalid_value(name: str, value: object) -> None:
    error = policy_error(KAZAKHSTAN_POLICY.amend, name, DAY, value, source="example")
    assert error.code == "policy.invalid_value"
    assert name in error.message


def test_a_lower_age_limit_must_stay_above_the_referral_age() -> None:
    error = policy_error(KAZAKHSTAN_POLICY.amend, "age_limit_years", DAY, 2, source="example")
    assert error.code == "policy.invalid_value"
    assert "referral_min_age_months" in error.message
    lowered = KAZAKHSTAN_POLICY.amend("referral_min_age_months", DAY, 12, source="example")
    assert lowered.amend("age_limit_years", DAY, 2, source="example").at(DAY).age_limit_years == 2


@pytest.mark.parametrize(
    ("effective", "source"),
    [
        (datetime(2024, 2, 5, tzinfo=KAZAKHSTAN), "example"),
        ("2024-02-05", "example"),
        (DAY, ""),
        (DAY, "   "),
        (DAY, None),
    ],
)
def test_an_amendment_needs_a_date_and_a_source(effective: object, source: object) -> None:
    error = policy_error(KAZAKHSTAN_POLICY.amend, "max_organizations", effective, 3, source=source)
    assert error.code == "policy.invalid_value"


def test_a_policy_needs_every_parameter_once() -> None:
    some = KAZAKHSTAN_POLICY.parameters[:-1]
    assert policy_error(Policy, "partial", some).code == "policy.invalid_value"
    twice = (*KAZAKHSTAN_POLICY.parameters, KAZAKHSTAN_POLICY.parameters[0])
    assert policy_error(Policy, "twice", twice).code == "policy.invalid_value"
    assert policy_error(Policy, "", KAZAKHSTAN_POLICY.parameters).code == "policy.invalid_value"


def test_a_history_has_one_value_per_date() -> None:
    one = DatedValue(START, 4, "a")
    assert policy_error(ParameterHistory, "max_organizations", [one, one]).code == (
        "policy.invalid_value"
    )
    assert policy_error(ParameterHistory, "max_organizations", []).code == "policy.invalid_value"
    later = DatedValue(DAY, 3, "b")
    assert ParameterHistory("max_organizations", [later, one]).values == (one, later)


def test_policy_values_check_their_fields() -> None:
    values = KAZAKHSTAN_POLICY.at(DAY)
    with pytest.raises(PolicyError) as caught:
        attrs.evolve(values, max_organizations=9)
    assert caught.value.code == "policy.invalid_value"


# --- durations and ages -----------------------------------------------------------------


def test_durations() -> None:
    assert str(Duration(5, DurationUnit.WORKING_DAYS)) == "5 working days"
    assert str(Duration(1, DurationUnit.CALENDAR_DAYS)) == "1 calendar day"
    assert str(Duration(2, DurationUnit.MINUTES)) == "2 minutes"
    assert Duration(5, "working_days") == Duration(5, DurationUnit.WORKING_DAYS)
    for amount, unit in [(-1, "minutes"), (True, "minutes"), (1.5, "minutes"), (5, "weeks")]:
        with pytest.raises(PolicyError) as caught:
            Duration(amount, unit)  # type: ignore[arg-type]
        assert caught.value.code == "policy.invalid_value"


def test_a_child_born_on_29_february_reaches_the_age_limit_on_28_february() -> None:
    values = KAZAKHSTAN_POLICY.at(DAY)
    born = date(2020, 2, 29)
    assert values.age_limit_date(born) == date(2026, 2, 28)
    assert not values.has_reached_age_limit(born, date(2026, 2, 27))
    assert values.has_reached_age_limit(born, date(2026, 2, 28))
    # In a leap year the anniversary exists.
    four = KAZAKHSTAN_POLICY.amend("age_limit_years", DAY, 4, source="example").at(DAY)
    assert four.age_limit_date(born) == date(2024, 2, 29)
    assert values.referral_min_age_date(born) == date(2022, 2, 28)


def test_a_referral_age_counted_in_months_ends_on_the_last_day_of_a_short_month() -> None:
    akmola = KAZAKHSTAN_POLICY.amend("referral_min_age_months", DAY, 18, source="example")
    assert akmola.at(DAY).referral_min_age_date(date(2022, 8, 31)) == date(2024, 2, 29)


@given(st.dates(date(2014, 1, 1), date(2030, 12, 31)))
def test_the_age_limit_is_the_sixth_birthday(born: date) -> None:
    limit = KAZAKHSTAN_POLICY.at(DAY).age_limit_date(born)
    assert limit.year == born.year + 6
    assert (limit.month, limit.day) == (born.month, born.day) or (born.month, born.day) == (2, 29)


# --- the reference page -----------------------------------------------------------------


def test_docs_rules_lists_every_parameter_with_its_default() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    rows = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| `([a-z_]+)` \| ([^|]+) \|", text, re.MULTILINE)
    }
    values = KAZAKHSTAN_POLICY.at(DAY)
    for name in PARAMETER_NAMES:
        assert name in rows, name
        assert rows[name] == str(getattr(values, name)), name


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    st.integers(0, 20),
    st.integers(0, 240),
)
def test_the_remembered_calendar_sum_is_relativedeltas(day, years, months) -> None:
    from dateutil.relativedelta import relativedelta

    from edqueue.rules.policy import plus_calendar

    expected = day + relativedelta(years=years, months=months)
    assert plus_calendar(day, years=years, months=months) == expected
    assert plus_calendar(day, years=years, months=months) == expected  # from the cache


def how_sure(source: str) -> str:
    """The certainty docs/rules.md gives a national value, read from its source text."""
    if "no source" in source.lower():
        return "edqueue's default"
    basis = "regional practice" if source.startswith("regional practice") else "stated"
    return basis + (", part inferred" if "edqueue's reading" in source else "")


def test_the_rules_page_says_how_sure_each_national_value_is() -> None:
    """Issue 18, item 6: every parameter says whether it is stated, regional practice or
    edqueue's own, as its source in the code does."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    shown = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| `([a-z_]+)` \|(?:[^|]*\|){4}([^|]+)\|$", text, re.MULTILINE)
    }
    expected = {p.name: how_sure(p.values[-1].source) for p in KAZAKHSTAN_POLICY.parameters}
    assert {name: shown.get(name) for name in expected} == expected
    assert set(expected.values()) == {
        "stated",
        "regional practice",
        "regional practice, part inferred",
        "stated, part inferred",
        "edqueue's default",
    }
