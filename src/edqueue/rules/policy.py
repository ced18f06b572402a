"""The dated policy: every limit a region or a reform can change, with its history and source.

Law as code in the manner of OpenFisca: a :class:`Policy` keeps, for each parameter, the
values it has had, each with the date from which it applies and the text it comes from.
:meth:`Policy.at` gives the :class:`PolicyValues` in force on a date; :meth:`Policy.amend`
gives a new policy with one more dated value, so a host derives a regional policy (Astana,
Almaty, a pilot city) without touching edqueue.

The national defaults are :data:`KAZAKHSTAN_POLICY`. Their base act is the Rules for
providing state services in preschool education (Правила оказания государственных услуг в
сфере дошкольного образования, приказ Министра образования и науки РК от 19 июня 2020 года
№ 254, зарегистрирован в МЮ РК 22 июня 2020 года № 20883); the service is «Постановка на
очередь детей дошкольного возраста (до 6 лет) для направления в дошкольные организации».
We could not read the paragraphs of the Rules, so several defaults are the practice of
Astana or Almaty as their education departments publish it; each parameter says which.
Every default applies from 2020-06-22, the registration date of the Rules (the date the
order came into force, usually ten calendar days after its publication, is not verified),
because no source gives an earlier or later date for these values.

>>> from datetime import date
>>> values = KAZAKHSTAN_POLICY.at(date(2024, 2, 5))
>>> values.max_organizations, str(values.referral_enrolment_window)
(4, '5 working days')
>>> astana = KAZAKHSTAN_POLICY.amend(
...     "max_organizations", date(2025, 1, 1), 3, source="a regional decision (example)"
... )
>>> astana.at(date(2024, 12, 31)).max_organizations, astana.at(date(2025, 1, 1)).max_organizations
(4, 3)
>>> KAZAKHSTAN_POLICY.at(date(2025, 1, 1)).max_organizations    # the original is unchanged
4
"""

from __future__ import annotations

import bisect
import enum
import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from edqueue.errors import PolicyError, TimeError
from edqueue.models.applications import MAX_CHOICES
from edqueue.models.instants import KAZAKHSTAN, require_aware

__all__ = [
    "KAZAKHSTAN_POLICY",
    "PARAMETER_NAMES",
    "DatedValue",
    "Duration",
    "DurationUnit",
    "ParameterHistory",
    "Policy",
    "PolicyValues",
    "policy_date",
]


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


@attrs.frozen
class _Spec:
    """What values a parameter accepts, and how to describe it."""

    description: str
    unit: str
    minimum: int
    maximum: int | None = None
    units: frozenset[DurationUnit] | None = None  # None: a whole number, not a Duration

    def check(self, name: str, value: Any) -> None:
        if self.units is None:
            if not isinstance(value, int) or isinstance(value, bool):
                raise PolicyError(
                    "policy.invalid_value", f"{name} is a whole number of {self.unit}"
                )
            amount = value
        else:
            if not isinstance(value, Duration):
                raise PolicyError(
                    "policy.invalid_value",
                    f"{name} is a Duration, e.g. Duration(5, DurationUnit.WORKING_DAYS)",
                )
            if value.unit not in self.units:
                allowed = " or ".join(sorted(u.value for u in self.units))
                raise PolicyError("policy.invalid_value", f"{name} is counted in {allowed}")
            amount = value.amount
        if amount < self.minimum or (self.maximum is not None and amount > self.maximum):
            upper = "" if self.maximum is None else f" and at most {self.maximum}"
            raise PolicyError(
                "policy.invalid_value", f"{name} must be at least {self.minimum}{upper}"
            )


_DAYS = frozenset({DurationUnit.CALENDAR_DAYS, DurationUnit.WORKING_DAYS})

_SPECS: Final[Mapping[str, _Spec]] = {
    "max_organizations": _Spec(
        "How many organizations one application may choose.", "organizations", 1, MAX_CHOICES
    ),
    # Up to 7: the predecessor standard of 2015 served children "up to 7 years".
    "age_limit_years": _Spec(
        "The age at which a child leaves the service's age window.", "years", 1, 7
    ),
    "referral_min_age_months": _Spec(
        "The age from which a child may receive a referral.", "months", 0, 7 * 12 - 1
    ),
    "referral_enrolment_window": _Spec(
        "How long a family has to take a referral to the organization.", "days", 1, units=_DAYS
    ),
    "referral_enrolment_window_max": _Spec(
        "The longest the enrolment window may be extended to on the parent's request.",
        "days",
        1,
        units=_DAYS,
    ),
    "benefit_confirmation_window": _Spec(
        "How long a family has to confirm a benefit when a referral is offered.",
        "days",
        1,
        units=_DAYS,
    ),
    "stop_list_period": _Spec(
        "How long an application stays in the stop list after it declined a referral or "
        "let it expire.",
        "days",
        0,
        units=_DAYS,
    ),
    "device_number_change_interval": _Spec(
        "How often a device bound to the ED24 app may switch to another phone number.",
        "days",
        0,
        units=_DAYS,
    ),
    "confirmation_code_lifetime": _Spec(
        "How long a confirmation code pushed to the ED24 app stays valid.",
        "minutes",
        1,
        24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "confirmation_code_attempts": _Spec(
        "How many wrong confirmation codes are allowed before a new code is needed.",
        "attempts",
        1,
        100,
    ),
    "binding_password_lifetime": _Spec(
        "How long a one-time password (or QR code) to bind the ED24 app stays valid.",
        "minutes",
        1,
        24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "session_lifetime": _Spec(
        "How long a number confirmed by a code may act in the personal cabinet.",
        "minutes",
        1,
        24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "code_sends_per_phone": _Spec(
        "How many confirmation codes one phone number may be sent in one code_send_window.",
        "codes",
        1,
        1000,
    ),
    "code_sends_per_device": _Spec(
        "How many confirmation codes the host's client device may ask for in one "
        "code_send_window, whatever the numbers.",
        "codes",
        1,
        1000,
    ),
    "code_send_window": _Spec(
        "The rolling window over which codes sent are counted.",
        "minutes",
        1,
        7 * 24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "code_failures_per_phone": _Spec(
        "How many wrong confirmation codes one phone number may have in one "
        "code_failure_window before it is locked.",
        "wrong codes",
        1,
        1000,
    ),
    "code_failures_per_device": _Spec(
        "How many wrong confirmation codes the host's client device may enter in one "
        "code_failure_window, whatever the numbers, before it is locked.",
        "wrong codes",
        1,
        1000,
    ),
    "code_failure_window": _Spec(
        "The rolling window over which wrong codes are counted.",
        "minutes",
        1,
        7 * 24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "draft_lifetime": _Spec(
        "How long an application in progress (a draft, or a cabinet session) is kept after "
        "its last step before it is deleted.",
        "minutes",
        1,
        30 * 24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "refusal_log_interval": _Spec(
        "How often refused requests are written to the event log, as one record that counts them.",
        "minutes",
        1,
        24 * 60,
        units=frozenset({DurationUnit.MINUTES}),
    ),
    "other_representative_may_act": _Spec(
        "Whether another confirmed legal representative of the child may read and change "
        "an application (1) or only the one who submitted it (0).",
        "yes (1) or no (0)",
        0,
        1,
    ),
}


def _valid(name: str) -> Any:
    spec = _SPECS[name]

    def check(_: Any, __: Any, value: Any) -> None:
        spec.check(name, value)

    return check


@attrs.frozen(kw_only=True)
class PolicyValues:
    """The parameters in force on one date: a snapshot of a :class:`Policy` (see
    :meth:`Policy.at`). Every field is checked at construction; all are keyword-only.

    >>> from datetime import date
    >>> values = KAZAKHSTAN_POLICY.at(date(2024, 2, 5))
    >>> values.age_limit_date(date(2020, 6, 23)), values.referral_min_age_date(date(2020, 6, 23))
    (datetime.date(2026, 6, 23), datetime.date(2022, 6, 23))
    """

    max_organizations: int = attrs.field(validator=_valid("max_organizations"))
    """How many organizations one application may choose (1 to ``MAX_CHOICES``, 4).

    Source: seed, step 2: "Заявитель может выбрать до 4-х дошкольных организаций"."""
    age_limit_years: int = attrs.field(validator=_valid("age_limit_years"))
    """The age in full years at which a child leaves the service's age window.

    Source: the name of the state service in Rules No. 254: «Постановка на очередь детей
    дошкольного возраста (до 6 лет) ...» (gov.kz/services/3042: "up to 6 years old")."""
    referral_min_age_months: int = attrs.field(validator=_valid("referral_min_age_months"))
    """The age in months from which a child may receive a referral (направление).

    Regional practice of Astana, not a verified national norm: "The line begins its movement
    after the child is 2 years old, since up to this age admission to kindergartens is not
    carried out" (bilim.astana.kz/en/archives/49434, 2019). An Akmola kindergarten's notice
    of 2026 refers children from 1.5 years once the other categories are served."""
    referral_enrolment_window: Duration = attrs.field(validator=_valid("referral_enrolment_window"))
    """How long the family has to take a referral to the organization before it is
    cancelled.

    Regional practice: Almaty 2023, "Полученное направление необходимо предоставить в
    дошкольную организацию в течение пяти рабочих дней" (mgorod.kz, arbatmedia.kz); Astana,
    "within 5 days after receiving the notification" (bilim.astana.kz/en/archives/49434)."""
    referral_enrolment_window_max: Duration = attrs.field(
        validator=_valid("referral_enrolment_window_max")
    )
    """The longest the enrolment window may be extended to at the parent's request.

    Regional practice of Astana: "can last up to 30 days at the request of the parent"
    (bilim.astana.kz/en/archives/49434); Astana does not say calendar or working days, we
    chose calendar days."""
    benefit_confirmation_window: Duration = attrs.field(
        validator=_valid("benefit_confirmation_window")
    )
    """How long the family has to confirm a benefit (льгота) when a referral is offered.

    Regional practice of Astana, extraordinary categories: "you are given 5 working days to
    do this" (bilim.astana.kz/en/archives/49457)."""
    stop_list_period: Duration = attrs.field(validator=_valid("stop_list_period"))
    """How long an application stays in the stop list (стоп-лист) after it declined a
    referral or let it expire; 0 means no stop list.

    Regional practice: Almaty 2023, "очередь ребенка пойдет в стоп-лист на 10 дней"; Astana,
    "taken to STOP LIST for 10 days" (bilim.astana.kz/en/archives/49453). Neither says
    calendar or working days; we chose calendar days."""
    device_number_change_interval: Duration = attrs.field(
        validator=_valid("device_number_change_interval")
    )
    """How often a device bound to the ED24 app may switch to another phone number.

    Source: seed, step 0: "Авторизоваться в дальнейшем на текущем устройстве под другим
    номером телефона будет возможно не чаще, чем один раз в 40 дней"."""
    confirmation_code_lifetime: Duration = attrs.field(
        validator=_valid("confirmation_code_lifetime")
    )
    """How long a confirmation code pushed to the ED24 app stays valid.

    Source: seed, step 0, which shows the code's countdown at "01:44"; we read it as about
    2 minutes. No text states the lifetime."""
    confirmation_code_attempts: int = attrs.field(validator=_valid("confirmation_code_attempts"))
    """How many wrong confirmation codes are allowed before a new code must be requested.

    No source: edqueue's default (3), for the host to set to its portal's rule."""
    binding_password_lifetime: Duration = attrs.field(validator=_valid("binding_password_lifetime"))
    """How long the one-time password or QR code that binds the ED24 app to a number stays
    valid.

    Seed, step 0: «Одноразовый пароль» / «QR-код» to bind the app; no text states the
    lifetime. No source: edqueue's default (10 minutes), for the host to set."""
    session_lifetime: Duration = attrs.field(validator=_valid("session_lifetime"))
    """How long a number confirmed by a code may act in the personal cabinet before a new
    code is needed.

    No source: edqueue's default (30 minutes), for the host to set to its portal's rule."""
    other_representative_may_act: int = attrs.field(
        validator=_valid("other_representative_may_act")
    )
    """1 if another confirmed legal representative of the child (the other parent) may read,
    change or withdraw an application, 0 if only the applicant who submitted it may.

    No source: edqueue's default (0, the stricter reading of the seed's "Являясь законным
    представителем, прошу ..."), for the host to set."""

    code_sends_per_phone: int = attrs.field(validator=_valid("code_sends_per_phone"))
    """How many confirmation codes one phone number may be sent in any
    ``code_send_window``; past it, ``identity.locked`` until the window frees a place.

    No source: edqueue's default (5 an hour), for the host to set. The reason: each code
    allows ``confirmation_code_attempts`` guesses, so unlimited codes meant unlimited
    guesses (issue 22: a 4-digit code fell in 20 of 20 trials); NIST SP 800-63B, 5.2.2
    ("Rate Limiting (Throttling)") asks a verifier to limit failed attempts on one account."""
    code_sends_per_device: int = attrs.field(validator=_valid("code_sends_per_device"))
    """How many confirmation codes one client device (the host's id for it: an app
    installation, a browser, an address) may ask for in any ``code_send_window``, whatever
    the numbers.

    No source: edqueue's default (10 an hour: a family's shared device signs in two
    parents), for the host to set. The reason: one attacker's device cycling through many
    victims' numbers is stopped even where each number stays under its own limit."""
    code_send_window: Duration = attrs.field(validator=_valid("code_send_window"))
    """The rolling window over which codes sent are counted.

    No source: edqueue's default (60 minutes), for the host to set."""
    code_failures_per_phone: int = attrs.field(validator=_valid("code_failures_per_phone"))
    """How many wrong confirmation codes one phone number may have in any
    ``code_failure_window``; past it, every code for that number is refused
    (``identity.locked``, the right one too) until the window frees a place.

    No source: edqueue's default (10 a day), for the host to set. The reason: a guesser of
    a 4-digit code then succeeds with a chance of at most 10 in 10,000 a day per number
    (NIST SP 800-63B, 5.2.2, allows at most 100 failed attempts on one account; 4 digits
    call for fewer)."""
    code_failures_per_device: int = attrs.field(validator=_valid("code_failures_per_device"))
    """How many wrong confirmation codes one client device may enter in any
    ``code_failure_window``, whatever the numbers.

    No source: edqueue's default (20 a day), for the host to set (as
    ``code_sends_per_device``)."""
    code_failure_window: Duration = attrs.field(validator=_valid("code_failure_window"))
    """The rolling window over which wrong codes are counted.

    No source: edqueue's default (1,440 minutes: a day), for the host to set."""
    draft_lifetime: Duration = attrs.field(validator=_valid("draft_lifetime"))
    """How long an application in progress, or a cabinet session, is kept after its last
    step; then it is deleted (at its next use, or by a purge).

    No source: edqueue's default (1,440 minutes: a day, enough to wait for the answer to
    the SMS from 1414), for the host to set. The reason: a draft holds IINs and a phone
    number in clear, and Law No. 94-V of 21.05.2013 "On personal data and their
    protection" has personal data destroyed once the purpose of collecting them is met."""
    refusal_log_interval: Duration = attrs.field(validator=_valid("refusal_log_interval"))
    """How often refused requests (``access.denied``) are written to the event log: at most
    one record per interval and process, counting the refusals since the last one.

    No source: edqueue's default (1 minute), for the host to set. The reason: a record per
    refusal let anyone grow the hash-chained log without signing in (issue 22: 5,000
    records in 1.3 s); the counts stay readable at any time
    (``ApplicationService.refusals``)."""

    def __attrs_post_init__(self) -> None:
        if self.referral_min_age_months >= self.age_limit_years * 12:
            raise PolicyError(
                "policy.invalid_value",
                "referral_min_age_months must be below the age limit "
                f"({self.age_limit_years} years = {self.age_limit_years * 12} months)",
            )

    def age_limit_date(self, birth_date: date) -> date:
        """The date a child born on ``birth_date`` reaches ``age_limit_years``.

        A child born on 29 February reaches it on 28 February of a common year (the term
        ends on the last day of the month when that month has no such day), as
        :class:`dateutil.relativedelta.relativedelta` counts.

        >>> from datetime import date
        >>> KAZAKHSTAN_POLICY.at(date(2024, 2, 5)).age_limit_date(date(2020, 2, 29))
        datetime.date(2026, 2, 28)
        """
        return plus_calendar(birth_date, years=self.age_limit_years)

    def has_reached_age_limit(self, birth_date: date, on: date) -> bool:
        """Whether a child born on ``birth_date`` has reached the age limit on ``on``."""
        return on >= self.age_limit_date(birth_date)

    def referral_min_age_date(self, birth_date: date) -> date:
        """The first date a child born on ``birth_date`` may receive a referral."""
        return plus_calendar(birth_date, months=self.referral_min_age_months)


@functools.lru_cache(maxsize=65_536)
def plus_calendar(day: date, *, years: int = 0, months: int = 0) -> date:
    """``day`` plus whole years and months as :class:`dateutil.relativedelta.relativedelta`
    counts them (the 31st plus a month ends on the last day of a shorter month).

    Remembered: a nation's children share a few thousand birth dates, and the age limit and
    the minimum referral age are asked for each application at every check.
    """
    result: date = day + relativedelta(years=years, months=months)
    return result


PARAMETER_NAMES: Final[tuple[str, ...]] = tuple(a.name for a in attrs.fields(PolicyValues))


def _plain_date(value: Any, what: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise PolicyError("policy.invalid_value", f"{what} is a date (not a datetime)")
    return value


def _effective_from(value: Any) -> date:
    return _plain_date(value, "the effective date")


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            "policy.invalid_value",
            "every policy value needs its source: the act, page or decision it comes from",
        )
    return " ".join(value.split())


@attrs.frozen
class DatedValue:
    """One value of a parameter, the date from which it applies, and where it comes from."""

    effective_from: date = attrs.field(converter=_effective_from)
    value: int | Duration = attrs.field()
    source: str = attrs.field(converter=_source)


def _parameter_name(value: Any) -> str:
    if not isinstance(value, str) or value not in _SPECS:
        raise PolicyError(
            "policy.unknown_parameter",
            f"no policy parameter named {value!r}; the parameters are: "
            + ", ".join(PARAMETER_NAMES),
        )
    return value


def _history(value: Iterable[DatedValue]) -> tuple[DatedValue, ...]:
    values = tuple(value)
    if not values or not all(isinstance(v, DatedValue) for v in values):
        raise PolicyError("policy.invalid_value", "a parameter's history is one or more DatedValue")
    dates = [v.effective_from for v in values]
    if len(set(dates)) != len(dates):
        raise PolicyError(
            "policy.invalid_value", "a parameter has at most one value per effective date"
        )
    return tuple(sorted(values, key=lambda v: v.effective_from))


def _history_values(instance: ParameterHistory, _: Any, values: tuple[DatedValue, ...]) -> None:
    for dated in values:
        _SPECS[instance.name].check(instance.name, dated.value)


def _effective_date(value: DatedValue) -> date:
    return value.effective_from


@attrs.frozen
class ParameterHistory:
    """A parameter's name and every value it has had, oldest first."""

    name: str = attrs.field(converter=_parameter_name)
    values: tuple[DatedValue, ...] = attrs.field(converter=_history, validator=_history_values)

    @property
    def unit(self) -> str:
        """What the value counts: ``"organizations"``, ``"years"``, ``"days"``, ..."""
        return _SPECS[self.name].unit

    @property
    def description(self) -> str:
        """What the parameter is, in one sentence (its sources are on the values)."""
        return _SPECS[self.name].description

    def at(self, on: date) -> DatedValue:
        """The value in force on ``on``. O(log h) for h values.

        Raises :class:`~edqueue.errors.PolicyError` (``policy.no_value``) before the first.
        """
        i = bisect.bisect_right(self.values, on, key=_effective_date)
        if i == 0:
            raise PolicyError(
                "policy.no_value",
                f"{self.name} has no value before {self.values[0].effective_from.isoformat()}; "
                "amend the policy with an earlier value or check a later date",
            )
        return self.values[i - 1]


def policy_date(on: date | datetime) -> date:
    """The calendar date a policy is read on: a date as is, an aware datetime in Kazakhstan.

    A naive datetime raises :class:`~edqueue.errors.TimeError` (``time.naive``).

    >>> from datetime import UTC
    >>> policy_date(datetime(2024, 2, 29, 20, 0, tzinfo=UTC))   # 01:00 on 1 March in Almaty
    datetime.date(2024, 3, 1)
    """
    if isinstance(on, datetime):
        return require_aware(on, "the policy date").astimezone(KAZAKHSTAN).date()
    if isinstance(on, date):
        return on
    raise TimeError("time.type", "a policy is read on a date or an aware datetime")


def _parameters(value: Iterable[ParameterHistory]) -> tuple[ParameterHistory, ...]:
    given = tuple(value)
    if not all(isinstance(p, ParameterHistory) for p in given):
        raise PolicyError("policy.invalid_value", "a policy's parameters are ParameterHistory")
    by_name = {p.name: p for p in given}
    if len(by_name) != len(given):
        raise PolicyError("policy.invalid_value", "each parameter appears once in a policy")
    missing = [name for name in PARAMETER_NAMES if name not in by_name]
    if missing:
        raise PolicyError(
            "policy.invalid_value", "a policy needs every parameter; missing: " + ", ".join(missing)
        )
    return tuple(by_name[name] for name in PARAMETER_NAMES)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError("policy.invalid_value", "a policy's name is non-empty text")
    return value.strip()


@attrs.frozen
class Policy:
    """Every parameter with its dated history: the law (and regional practice) as data.

    Immutable: :meth:`amend` returns a new policy. Valid by construction: each value is
    checked, and so is the snapshot on each date where a value changes, so :meth:`at`
    fails only with ``policy.no_value`` (a date before the first value). Parameters are kept
    in the order of :class:`PolicyValues`' fields.
    """

    name: str = attrs.field(converter=_name)
    parameters: tuple[ParameterHistory, ...] = attrs.field(converter=_parameters)

    def __attrs_post_init__(self) -> None:
        changes = sorted({v.effective_from for p in self.parameters for v in p.values})
        start = max(p.values[0].effective_from for p in self.parameters)
        for on in changes:
            if on >= start:
                self.at(on)  # raises if the values in force together do not agree

    def history(self, name: str) -> ParameterHistory:
        """The history of parameter ``name``. O(p) for p parameters.

        Raises :class:`~edqueue.errors.PolicyError` (``policy.unknown_parameter``).
        """
        _parameter_name(name)
        return next(p for p in self.parameters if p.name == name)

    def value(self, name: str, on: date | datetime) -> DatedValue:
        """The value of ``name`` in force on ``on``, with its date and source."""
        return self.history(name).at(policy_date(on))

    def at(self, on: date | datetime) -> PolicyValues:
        """The values in force on ``on`` (a date, or an aware datetime read in Kazakhstan).

        O(p log h) for p parameters of at most h values each. Raises
        :class:`~edqueue.errors.PolicyError` (``policy.no_value``) if a parameter has no
        value yet on that date.
        """
        day = policy_date(on)
        values: dict[str, Any] = {p.name: p.at(day).value for p in self.parameters}
        return PolicyValues(**values)

    def amend(
        self, name: str, effective_from: date, value: int | Duration, *, source: str
    ) -> Policy:
        """A new policy in which ``name`` takes ``value`` from ``effective_from`` on.

        A value already dated ``effective_from`` is replaced (a correction); earlier and
        later values stay. This policy is unchanged. O(d p log h) for d distinct dates of
        change, as the snapshot on each is checked.

        Raises :class:`~edqueue.errors.PolicyError`: ``policy.unknown_parameter`` for a name
        that is not a parameter, ``policy.invalid_value`` for a value of the wrong type or
        range, a date that is not a date, an empty source, or a value that contradicts
        another parameter in force at the same time.
        """
        old = self.history(name)
        new = DatedValue(effective_from, value, source)
        kept = [v for v in old.values if v.effective_from != new.effective_from]
        history = ParameterHistory(name, [*kept, new])
        return attrs.evolve(
            self,
            parameters=tuple(history if p.name == name else p for p in self.parameters),
        )

    def renamed(self, name: str) -> Policy:
        """The same policy under another name (e.g. ``"Astana"`` for a regional one)."""
        return attrs.evolve(self, name=name)


_FROM = date(2020, 6, 22)
_RULES_254 = (
    "Rules No. 254 of 19.06.2020 (registered 22.06.2020 No. 20883), service «Постановка на "
    "очередь детей дошкольного возраста (до 6 лет) для направления в дошкольные "
    "организации»; gov.kz/services/3042"
)
_SEED = "INDIGO24 user guide (seed)"
_ASTANA_49434 = "regional practice, Astana: bilim.astana.kz/en/archives/49434 (2019)"
_LIMIT = (
    "no source: edqueue's default, for the host to set; NIST SP 800-63B, 5.2.2 (rate "
    "limiting of failed authentication attempts)"
)


def _default(name: str, value: int | Duration, source: str) -> ParameterHistory:
    return ParameterHistory(name, [DatedValue(_FROM, value, source)])


KAZAKHSTAN_POLICY: Final[Policy] = Policy(
    "Kazakhstan (edqueue defaults)",
    [
        _default(
            "max_organizations",
            4,
            f"{_SEED}, step 2: «Заявитель может выбрать до 4-х дошкольных организаций»",
        ),
        _default("age_limit_years", 6, _RULES_254),
        _default(
            "referral_min_age_months",
            24,
            f"{_ASTANA_49434}: the queue moves after the child is 2 years old",
        ),
        _default(
            "referral_enrolment_window",
            Duration(5, DurationUnit.WORKING_DAYS),
            "regional practice, Almaty 2023: «в течение пяти рабочих дней» (mgorod.kz, "
            f"arbatmedia.kz); {_ASTANA_49434}: within 5 days",
        ),
        _default(
            "referral_enrolment_window_max",
            Duration(30, DurationUnit.CALENDAR_DAYS),
            f"{_ASTANA_49434}: up to 30 days at the request of the parent "
            "(calendar days: edqueue's reading)",
        ),
        _default(
            "benefit_confirmation_window",
            Duration(5, DurationUnit.WORKING_DAYS),
            "regional practice, Astana: bilim.astana.kz/en/archives/49457: 5 working days",
        ),
        _default(
            "stop_list_period",
            Duration(10, DurationUnit.CALENDAR_DAYS),
            "regional practice, Almaty 2023: «стоп-лист на 10 дней»; Astana: "
            "bilim.astana.kz/en/archives/49453 (calendar days: edqueue's reading)",
        ),
        _default(
            "device_number_change_interval",
            Duration(40, DurationUnit.CALENDAR_DAYS),
            f"{_SEED}, step 0: «не чаще, чем один раз в 40 дней»",
        ),
        _default(
            "confirmation_code_lifetime",
            Duration(2, DurationUnit.MINUTES),
            f"{_SEED}, step 0: countdown «01:44» (about 2 minutes: edqueue's reading)",
        ),
        _default(
            "confirmation_code_attempts",
            3,
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "session_lifetime",
            Duration(30, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "other_representative_may_act",
            0,
            "no source: edqueue's default (only the applicant), for the host to set",
        ),
        _default("code_sends_per_phone", 5, _LIMIT),
        _default("code_sends_per_device", 10, _LIMIT),
        _default("code_send_window", Duration(60, DurationUnit.MINUTES), _LIMIT),
        _default("code_failures_per_phone", 10, _LIMIT),
        _default("code_failures_per_device", 20, _LIMIT),
        _default("code_failure_window", Duration(24 * 60, DurationUnit.MINUTES), _LIMIT),
        _default(
            "draft_lifetime",
            Duration(24 * 60, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set; Law No. 94-V of 21.05.2013 "
            "on personal data (destroyed once the purpose is met)",
        ),
        _default(
            "refusal_log_interval",
            Duration(1, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "binding_password_lifetime",
            Duration(10, DurationUnit.MINUTES),
            f"{_SEED}, step 0: one-time password or QR code; the lifetime has no source: "
            "edqueue's default, for the host to set",
        ),
    ],
)
"""The national defaults, each from 2020-06-22 (see the module's docstring)."""
