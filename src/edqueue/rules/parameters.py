"""The policy's parameters: what values each accepts, and :class:`PolicyValues`, the
values in force on one date, each field with its source.

Part of the dated policy: :mod:`edqueue.rules.policy` re-exports :class:`PolicyValues` and
:data:`PARAMETER_NAMES`; the national defaults are in :mod:`edqueue.rules.defaults`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import attrs

from edqueue.errors import PolicyError
from edqueue.models.applications import MAX_CHOICES
from edqueue.rules.durations import Duration, DurationUnit, plus_calendar

__all__ = ["PARAMETER_NAMES", "PolicyValues"]


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
    "sibling_window_months": _Spec(
        "How many calendar months apart twins or siblings of one applicant may be born and "
        "still stand together as one unit, where a locality keeps siblings together.",
        "months",
        1,
    ),
    "first_priority_ratio_general": _Spec(
        "How many general applications follow each first-priority one where a region "
        "interleaves the two tiers; 0: no interleaving, the tiers one after another.",
        "general applications",
        0,
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
    """The parameters in force on one date: a snapshot of a
    :class:`~edqueue.rules.policy.Policy` (see
    :meth:`Policy.at <edqueue.rules.policy.Policy.at>`). Every field is checked at
    construction; all are keyword-only.

    >>> from datetime import date
    >>> from edqueue.rules.policy import KAZAKHSTAN_POLICY
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
    sibling_window_months: int = attrs.field(validator=_valid("sibling_window_months"))
    """How many calendar months apart twins or siblings of one applicant may be born and
    still stand together as one unit, when a locality keeps siblings together (at least 1).

    Regional practice of Astana: twins "born not more than a month apart" are registered
    as a batch and referred only together (Управление образования г. Астаны,
    bilim.astana.kz/en/archives/49434, 2019)."""
    first_priority_ratio_general: int = attrs.field(
        validator=_valid("first_priority_ratio_general")
    )
    """How many general applications follow each first-priority one where a region
    interleaves the two tiers: one first-priority application, then this many general ones.
    0 (the default): no interleaving, the tiers one after another.

    Source of 0: seed, step 4, the application's text: "Заявления граждан, имеющих льготу,
    имеют приоритетное положение в очереди". Regional practice of Astana is 3:
    first-priority categories "receive directions in the ratio of one to three"
    (bilim.astana.kz/en/archives/49434, 2019)."""
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
        >>> from edqueue.rules.policy import KAZAKHSTAN_POLICY
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


PARAMETER_NAMES: Final[tuple[str, ...]] = tuple(a.name for a in attrs.fields(PolicyValues))
