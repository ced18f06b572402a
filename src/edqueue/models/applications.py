"""Applications (заявления) to the queue and what they are made of.

An :class:`Application` is valid by construction: 1 to 4 distinct organizations, a
timezone-aware submission time, a well-formed number. Whether it may enter the queues
(age window, groups that exist, consents, the legal representative, the policy in force) is
the business of :mod:`edqueue.rules`, which reports every violation at once.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, ClassVar

import attrs

from edqueue.errors import ApplicationError, TransitionError
from edqueue.models.benefits import BenefitClaim, Tier
from edqueue.models.instants import instant, require_aware
from edqueue.models.organizations import GroupKey, Language, QueueKind, shared_group_key
from edqueue.models.people import Applicant, Child, LegalRepresentativeStatus

__all__ = [
    "MAX_CHOICES",
    "Application",
    "ApplicationStatus",
    "Choice",
    "Consent",
    "PmpkConclusion",
    "ReferralPreference",
    "ReferralTiming",
    "by_number",
    "number_order",
]


def number_order(number: str) -> tuple[int, str]:
    """The sort key that orders application numbers as integers ("9" before "10").

    Numbers have no leading zeros (see :class:`Application`), so comparing their length and
    then their text compares their values, without parsing.

    >>> sorted(["10", "9", "1292583"], key=number_order)
    ['9', '10', '1292583']
    """
    return (len(number), number)


def by_number(numbers: Iterable[str]) -> list[str]:
    """Application numbers sorted as integers: ``sorted(numbers, key=number_order)``.

    Two sorts with keys Python computes in C (the text, then a stable sort by length), about
    three times faster than ``key=number_order`` on the 80,000 referrals of a national
    round, which builds a tuple per number. O(n log n).

    >>> by_number(["10", "9", "1292583", "11"])
    ['9', '10', '11', '1292583']
    """
    return sorted(sorted(numbers), key=len)


MAX_CHOICES = 4
"""The most organizations one application can list.

Source: seed, step 2: "Заявитель может выбрать до 4-х дошкольных организаций" (the form has
four slots, "1-я ... 4-я организация"). This is the structural limit of the record; the dated
policy (:mod:`edqueue.rules`) may allow fewer in a region or period.
"""


class Consent(enum.StrEnum):
    """The two consents required before an application can be made.

    Source: seed, step 0 and the application text: "Я даю согласие на использование своих
    контактных данных для получения уведомлений" and "Я ознакомлен, согласен и принимаю
    условия договора оферты данного интернет-портала, в том числе по вопросу использования,
    обработки и хранения персональных данных".
    """

    NOTIFICATIONS = "notifications"
    OFFER_AGREEMENT = "offer_agreement"


class ReferralTiming(enum.StrEnum):
    """When the family wants a referral: as soon as a place appears, or from a date.

    Source: seed, step 4: "Выдавать направление ребенку: Сразу, при появлении места".
    """

    IMMEDIATELY = "immediately"
    FROM_DATE = "from"


def _timing(value: Any) -> ReferralTiming:
    try:
        return ReferralTiming(value)
    except ValueError:
        raise ApplicationError(
            "application.referral_preference", "referral timing is 'immediately' or 'from'"
        ) from None


def _desired_date(instance: ReferralPreference, _: Any, value: Any) -> None:
    if instance.timing is ReferralTiming.IMMEDIATELY:
        if value is not None:
            raise ApplicationError(
                "application.referral_preference",
                "a referral wanted immediately has no desired date; use "
                "ReferralPreference.from_date(...) for a date",
            )
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ApplicationError(
            "application.referral_preference",
            "a referral wanted from a date needs that date (a date, not a datetime)",
        )


@attrs.frozen
class ReferralPreference:
    """When to issue a referral (направление): immediately, or from a desired date.

    >>> ReferralPreference.immediately().label_ru
    'Сразу, при появлении места'
    """

    timing: ReferralTiming = attrs.field(converter=_timing)
    desired_date: date | None = attrs.field(default=None, validator=_desired_date)

    @classmethod
    def immediately(cls) -> ReferralPreference:
        """As soon as a place appears ("Сразу, при появлении места")."""
        return cls(ReferralTiming.IMMEDIATELY)

    @classmethod
    def from_date(cls, desired: date) -> ReferralPreference:
        """Not before ``desired`` (e.g. the start of the school year)."""
        return cls(ReferralTiming.FROM_DATE, desired)

    @property
    def label_ru(self) -> str:
        """The preference as the application text writes it."""
        if self.desired_date is None:
            return "Сразу, при появлении места"
        return f"С желаемой даты: {self.desired_date:%d.%m.%Y}"


_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", re.ASCII)


def _choice_organization(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, str) or not _ORGANIZATION_ID.fullmatch(value):
        raise ApplicationError(
            "application.type", "a choice names an organization by its id, e.g. 'shakhtinsk-1'"
        )


@attrs.frozen
class Choice:
    """One chosen organization and the language of the group the child queues in there.

    The group itself follows from the application: the child's birth year, this language and
    the application's queue kind (see :meth:`Application.group_key`).
    """

    organization_id: str = attrs.field(validator=_choice_organization)
    language: Language = attrs.field(converter=Language)


@attrs.frozen(repr=False)
class PmpkConclusion:
    """The conclusion of a psychological-medical-pedagogical consultation (ПМПК).

    Required for the correctional queue (DOMAIN.md, "Queue kinds"). Medical data: the
    ``repr`` hides the number.
    """

    number: str = attrs.field()
    issued_on: date = attrs.field()

    @number.validator
    def _check_number(self, _: Any, value: Any) -> None:
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise ApplicationError(
                "application.pmpk", "a ПМПК conclusion needs its number (1-64 characters)"
            )

    @issued_on.validator
    def _check_date(self, _: Any, value: Any) -> None:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ApplicationError("application.pmpk", "a ПМПК conclusion needs its date")

    def __repr__(self) -> str:
        return "PmpkConclusion(<hidden>)"


class ApplicationStatus(enum.StrEnum):
    """Where an application stands in its life cycle.

    ``ACTIVE``: in the queues; ``REFERRED``: a referral is out and waiting to be used;
    ``ENROLLED``: the child is enrolled, the application has left every queue; ``WITHDRAWN``:
    the family took it back; ``REMOVED``: taken out by the rules (the child aged out, a
    decision of the education department).
    """

    ACTIVE = "active"
    REFERRED = "referred"
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"
    REMOVED = "removed"

    @property
    def is_final(self) -> bool:
        """Whether the application can never return to the queues."""
        return self in _FINAL


_FINAL = frozenset(
    {ApplicationStatus.ENROLLED, ApplicationStatus.WITHDRAWN, ApplicationStatus.REMOVED}
)
_ALLOWED: dict[ApplicationStatus, frozenset[ApplicationStatus]] = {
    ApplicationStatus.ACTIVE: frozenset(
        {ApplicationStatus.REFERRED, ApplicationStatus.WITHDRAWN, ApplicationStatus.REMOVED}
    ),
    # A referral that is declined or expires returns the application to the queues.
    ApplicationStatus.REFERRED: frozenset(
        {
            ApplicationStatus.ACTIVE,
            ApplicationStatus.ENROLLED,
            ApplicationStatus.WITHDRAWN,
            ApplicationStatus.REMOVED,
        }
    ),
    ApplicationStatus.ENROLLED: frozenset(),
    ApplicationStatus.WITHDRAWN: frozenset(),
    ApplicationStatus.REMOVED: frozenset(),
}

_NUMBER = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)


def _group_key(birth_year: int, language: Language, kind: QueueKind) -> GroupKey:
    return _group_key_of(birth_year, language.code, kind)


@functools.lru_cache(maxsize=4096)
def _group_key_of(birth_year: int, language: str, kind: QueueKind) -> GroupKey:
    """One shared :class:`GroupKey` per (year, language, kind): there are a few dozen, and
    building one runs its checks, so queues of a million applications share them."""
    return shared_group_key(GroupKey(birth_year, language, kind))


@functools.lru_cache(maxsize=1 << 18)
def shared_queue_id(organization_id: str, key: GroupKey) -> tuple[str, GroupKey]:
    """One shared ``(organization id, group key)`` tuple per queue (a nation has about
    130,000): what :attr:`Application.group_keys` holds, and a
    :class:`~edqueue.rules.QueueBook` keys its queues by, so that finding a queue compares
    identities instead of contents."""
    return (organization_id, key)


def _number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        value = value.strip().removeprefix("#")
    if not isinstance(value, str) or not _NUMBER.fullmatch(value):
        raise ApplicationError(
            "application.number",
            "an application number is 1-18 digits without leading zeros, e.g. '1292583'",
        )
    return value


def _choices(value: Any) -> tuple[Choice, ...]:
    usual = type(value) is tuple or type(value) is list  # no need to ask further
    if not usual and (isinstance(value, Choice | str) or not isinstance(value, Iterable)):
        raise ApplicationError("application.type", "choices must be a sequence of Choice")
    choices = tuple(value)
    for choice in choices:
        if type(choice) is not Choice and not isinstance(choice, Choice):
            raise ApplicationError("application.type", "choices must be a sequence of Choice")
    if not choices:
        raise ApplicationError(
            "application.no_organizations", "choose at least one preschool organization"
        )
    if len(choices) > MAX_CHOICES:
        raise ApplicationError(
            "application.too_many_organizations",
            f"choose at most {MAX_CHOICES} organizations; {len(choices)} were given",
        )
    ids = [c.organization_id for c in choices]
    if len(set(ids)) != len(ids):
        raise ApplicationError(
            "application.duplicate_organization",
            "each organization can be chosen once; remove the repeated one",
        )
    return choices


def _consents(value: Any) -> frozenset[Consent]:
    if type(value) is frozenset and all(type(c) is Consent for c in value):
        return value  # already converted: an evolved application keeps its set
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ApplicationError("application.type", "consents must be a set of Consent")
    try:
        return frozenset(Consent(c) for c in value)
    except ValueError:
        raise ApplicationError(
            "application.type", "a consent is 'notifications' or 'offer_agreement'"
        ) from None


def _member(cls: type[enum.StrEnum], value: Any, what: str) -> Any:
    if type(value) is cls:
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ApplicationError("application.type", f"{what} is one of: {allowed}") from None


def _queue_kind(value: Any) -> QueueKind:
    result: QueueKind = _member(QueueKind, value, "the queue kind")
    return result


def _representative_status(value: Any) -> LegalRepresentativeStatus:
    result: LegalRepresentativeStatus = _member(
        LegalRepresentativeStatus, value, "the legal representative status"
    )
    return result


def _status(value: Any) -> ApplicationStatus:
    result: ApplicationStatus = _member(ApplicationStatus, value, "the status")
    return result


def _submitted_at(value: Any) -> datetime:
    return require_aware(value, "the submission time")


def _instance_of(cls: type, what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, cls):
            raise ApplicationError("application.type", f"{what} must be a {cls.__name__}")

    return check


@attrs.frozen(kw_only=True)
class Application:
    """An application (заявление) to put a child in the queue of 1 to 4 organizations.

    Holds what the seed's review step shows (step 4): the applicant, the child, the chosen
    organizations in order of preference with the group each joins, the referral preference,
    at most one benefit, the consents, the submission time and the number assigned on
    submission ("Заявлению присвоен номер: #1292583"). All fields are keyword-only.

    ``number`` is kept as a string of digits without leading zeros, so comparing
    ``(len(number), number)`` is comparing the numbers; :attr:`number_value` gives the int.
    """

    MAX_CHOICES: ClassVar[int] = MAX_CHOICES

    number: str = attrs.field(converter=_number)
    applicant: Applicant = attrs.field(validator=_instance_of(Applicant, "the applicant"))
    child: Child = attrs.field(validator=_instance_of(Child, "the child"))
    choices: tuple[Choice, ...] = attrs.field(converter=_choices)
    submitted_at: datetime = attrs.field(converter=_submitted_at)
    queue_kind: QueueKind = attrs.field(default=QueueKind.GENERAL, converter=_queue_kind)
    referral: ReferralPreference = attrs.field(
        factory=ReferralPreference.immediately,
        validator=_instance_of(ReferralPreference, "the referral preference"),
    )
    benefit: BenefitClaim | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(_instance_of(BenefitClaim, "the benefit")),
    )
    consents: frozenset[Consent] = attrs.field(factory=frozenset, converter=_consents)
    representative_status: LegalRepresentativeStatus = attrs.field(
        default=LegalRepresentativeStatus.NOT_CONFIRMED,
        converter=_representative_status,
    )
    pmpk: PmpkConclusion | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(_instance_of(PmpkConclusion, "the ПМПК conclusion")),
    )
    status: ApplicationStatus = attrs.field(default=ApplicationStatus.ACTIVE, converter=_status)

    @property
    def number_value(self) -> int:
        """The number as an int, for numeric comparison."""
        return int(self.number)

    @property
    def submitted_instant(self) -> datetime:
        """The submission time in UTC: the value to order and compare by (see
        :func:`~edqueue.models.instants.instant`)."""
        return instant(self.submitted_at)

    @property
    def birth_year(self) -> int:
        """The child's birth year, which selects the groups."""
        return self.child.birth_year

    @property
    def tier(self) -> Tier:
        """The priority tier: the benefit's tier if it is verified, else :attr:`Tier.NONE`."""
        return Tier.NONE if self.benefit is None else self.benefit.tier

    def group_key(self, choice: Choice) -> GroupKey:
        """The group ``choice`` joins: child's birth year, choice's language, queue kind."""
        return _group_key(self.child.birth_year, choice.language, self.queue_kind)

    @functools.cached_property
    def group_keys(self) -> tuple[tuple[str, GroupKey], ...]:
        """``(organization id, group key)`` of each choice, in order of preference.

        Worked out on first use and kept (the record is immutable); equal queue ids are one
        shared tuple, so a million applications hold a tuple each, not one per choice."""
        year = self.child.birth_year
        kind = self.queue_kind
        return tuple(
            shared_queue_id(c.organization_id, _group_key_of(year, c.language.code, kind))
            for c in self.choices
        )

    def with_status(self, status: ApplicationStatus) -> Application:
        """This application moved to ``status``, if its life cycle allows it.

        Raises :class:`~edqueue.errors.TransitionError` (``application.invalid_transition``)
        otherwise: a withdrawn, enrolled or removed application never comes back.
        """
        target = ApplicationStatus(status)
        if target not in _ALLOWED[self.status]:
            raise TransitionError(
                "application.invalid_transition",
                f"an application that is {self.status.value} cannot become {target.value}",
            )
        return self.replace(status=target)

    def replace(self, **changes: Any) -> Application:
        """This application with ``changes``: the same record and the same errors as
        ``attrs.evolve(self, **changes)``, but only the changed fields are converted and
        checked again (the others were when this record was made), which makes a benefit
        decision or a status change on a national queue a few microseconds cheaper.

        Raises ``TypeError`` for a name that is not a field, as ``attrs.evolve`` does.
        """
        unknown = changes.keys() - _FIELDS.keys()
        if unknown:
            raise TypeError(f"Application has no field {min(unknown)!r}")
        # in field order: every converter, then every validator, as attrs' __init__ runs them
        result = object.__new__(Application)
        set_field = object.__setattr__
        for name, field in _FIELDS.items():
            if name not in changes:
                set_field(result, name, getattr(self, name))
            elif field.converter is None:
                set_field(result, name, changes[name])
            else:
                set_field(result, name, field.converter(changes[name]))  # type: ignore[operator]
        for name, field in _FIELDS.items():
            if field.validator is not None and name in changes:
                field.validator(result, field, getattr(result, name))
        return result


_FIELDS: dict[str, attrs.Attribute[Any]] = {f.name: f for f in attrs.fields(Application)}
