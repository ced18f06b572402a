"""Eligibility: whether an application may enter the queues, with every reason it may not.

:func:`check_eligibility` runs each rule below in this order and returns all violations at
once, so that a family fixes everything in one go (STYLE.md, "collect all violations");
:func:`ensure_eligible` raises them together as an
:class:`~edqueue.errors.IneligibleApplicationError`. Violations come in the order of the
rules, then in the order of the family's choices; the same inputs always give the same
tuple.

Messages say what to do and hold no personal data: no IIN, name, phone or birth date
(organization ids, localities and application numbers are not personal data).

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.rules.policy import KAZAKHSTAN_POLICY
>>> from edqueue.sample import seed_application, shakhtinsk_organizations
>>> check_eligibility(
...     seed_application(),
...     shakhtinsk_organizations(),
...     policy=KAZAKHSTAN_POLICY,
...     as_of=datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN),
... )
()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Final, TypeAlias

import attrs

from edqueue.errors import EligibilityError, IneligibleApplicationError, OrganizationError
from edqueue.models.applications import Application, ApplicationStatus, Consent, number_order
from edqueue.models.benefits import BenefitCategory, BenefitStatus
from edqueue.models.instants import KAZAKHSTAN, require_aware
from edqueue.models.organizations import Group, GroupSpecialization, Organization, QueueKind
from edqueue.models.people import LegalRepresentativeStatus
from edqueue.rules.ordering import instant_key
from edqueue.rules.policy import Policy, PolicyValues

__all__ = [
    "REQUIRED_CONSENTS",
    "Organizations",
    "acts_for_the_child",
    "check_eligibility",
    "ensure_eligible",
    "live_application",
    "violations",
]

Organizations: TypeAlias = Mapping[str, Organization] | Iterable[Organization]
"""The organizations known to the queue: a mapping by id, or any iterable of them."""

_LIVE_APPLICATION = frozenset({ApplicationStatus.ACTIVE, ApplicationStatus.REFERRED})
_LIVE_BENEFIT = frozenset({BenefitStatus.PENDING, BenefitStatus.VERIFIED})
_SPECIAL_NEEDS_GROUPS = frozenset({GroupSpecialization.INCLUSIVE, GroupSpecialization.SANATORIUM})
REQUIRED_CONSENTS: Final = frozenset({Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT})
"""The consents an applicant gives before applying. Source: seed, step 0: «даем согласие на
использование своих контактных данных для получения уведомлений и на ознакомление условий
договора оферты»; both boxes are ticked before «Встать в очередь»."""

# in the enum's order; iterating a tuple is several times faster than iterating the enum
_CONSENTS = tuple(c for c in Consent if c in REQUIRED_CONSENTS)


_Chosen: TypeAlias = tuple[int, Organization | None, Group | None]


@attrs.frozen
class _Case:
    """Everything the rules read: the application, its organizations, the policy, the day,
    and what each choice finds (:func:`_chosen`), looked up once as three rules read it."""

    application: Application
    organizations: Mapping[str, Organization]
    policy: PolicyValues
    on: date
    active_applications: tuple[Application, ...]
    chosen: tuple[_Chosen, ...]


def _chosen(
    application: Application, organizations: Mapping[str, Organization]
) -> tuple[_Chosen, ...]:
    """(place in the list from 1, organization or None, group or None) for each choice."""
    found = [organizations.get(choice.organization_id) for choice in application.choices]
    if None not in found:  # as most: the application's own queue ids, which the queues reuse
        return tuple(
            (place, organization, organization.group(key))  # type: ignore[union-attr]
            for place, (organization, (_, key)) in enumerate(
                zip(found, application.group_keys, strict=True), start=1
            )
        )
    # a group key is worked out only where the organization is known (a year no group can
    # have is then reported as that organization's missing group, not raised)
    return tuple(
        (
            place,
            organization,
            None if organization is None else organization.group(application.group_key(choice)),
        )
        for place, (organization, choice) in enumerate(
            zip(found, application.choices, strict=True), start=1
        )
    )


def _child_age(case: _Case) -> Iterator[EligibilityError]:
    """The child is born and has not reached the age limit (``age_limit_years``, 6).

    Source: the service of Rules No. 254 places children "дошкольного возраста (до 6 лет)";
    ``eligibility.child_not_born`` guards against a birth date after the day of the check.
    """
    born = case.application.child.birth_date
    if born > case.on:
        yield EligibilityError(
            "eligibility.child_not_born",
            "the child's birth date is after the date of the check; check the birth date "
            "against the birth certificate",
        )
    elif case.policy.has_reached_age_limit(born, case.on):
        yield EligibilityError(
            "eligibility.child_too_old",
            f"the child has reached {case.policy.age_limit_years} years, the age limit of the "
            "preschool queue, and can no longer join it; check the birth date, or apply for a "
            "place at school instead",
        )


def _organizations_known(case: _Case) -> Iterator[EligibilityError]:
    """Each chosen organization is known to the queue.

    Source: seed, step 2: organizations are picked from the portal's list or map.
    """
    for place, choice in enumerate(case.application.choices, start=1):
        if choice.organization_id not in case.organizations:
            yield EligibilityError(
                "eligibility.unknown_organization",
                f"organization {choice.organization_id!r} (choice {place}) is not known to "
                "the queue; check its id or choose another organization",
            )


def _groups_exist(case: _Case) -> Iterator[EligibilityError]:
    """Each chosen organization has a group for the child's birth year, the chosen language
    and the queue kind.

    Source: seed, step 2 and the application text ("Очереди: 2020 ГР русский"); DOMAIN.md,
    "Its queues are segmented into groups by the children's birth year and language".
    """
    for place, organization, group in case.chosen:
        if organization is not None and group is None:
            choice = case.application.choices[place - 1]
            key = case.application.group_key(choice)
            yield EligibilityError(
                "eligibility.no_group",
                f"organization {organization.id!r} (choice {place}) has no "
                f"{key.queue_kind.value} group for birth year {key.birth_year} in language "
                f"{key.language.code!r}; choose another language or organization",
            )


def _organization_count(case: _Case) -> Iterator[EligibilityError]:
    """No more organizations than the policy allows (``max_organizations``, 4).

    Source: seed, step 2: "Заявитель может выбрать до 4-х дошкольных организаций"; a region
    may allow fewer (:mod:`edqueue.rules.policy`).
    """
    chosen, allowed = len(case.application.choices), case.policy.max_organizations
    if chosen > allowed:
        yield EligibilityError(
            "eligibility.too_many_organizations",
            f"{chosen} organizations are chosen but at most {allowed} are allowed; keep the "
            f"{allowed} you prefer most",
        )


def _one_locality(case: _Case) -> Iterator[EligibilityError]:
    """All chosen organizations are in one locality.

    Source: DOMAIN.md: the locality is "the city/district whose education department keeps
    the queue", and the application is addressed to that one department (seed, step 4).
    """
    localities = sorted({o.locality for _, o, _ in case.chosen if o is not None})
    if len(localities) > 1:
        yield EligibilityError(
            "eligibility.mixed_localities",
            f"the chosen organizations are in {len(localities)} localities "
            f"({', '.join(localities)}); choose organizations of one locality",
        )


def _pmpk(case: _Case) -> Iterator[EligibilityError]:
    """The correctional queue needs a ПМПК conclusion.

    Source: DOMAIN.md, "Queue kinds": the correctional queue is for children with special
    educational needs, "confirmed by a psychological-medical-pedagogical consultation, ПМПК".
    """
    application = case.application
    if application.queue_kind is QueueKind.CORRECTIONAL and application.pmpk is None:
        yield EligibilityError(
            "eligibility.pmpk_missing",
            "the correctional queue needs the conclusion of a ПМПК; attach it or apply to the "
            "general-education queue",
        )


def _benefit_groups(case: _Case) -> Iterator[EligibilityError]:
    """Benefit category 9 applies only to inclusive and sanatorium groups.

    Source: seed, step 3, category 9: "Дети с особыми образовательными потребностями (для
    зачисления в инклюзивные и санаторные группы)". A claim that is pending or verified
    counts; a rejected or expired one does not.
    """
    benefit = case.application.benefit
    if (
        benefit is None
        or benefit.category is not BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS
        or benefit.status not in _LIVE_BENEFIT
    ):
        return
    for place, organization, group in case.chosen:
        if (
            organization is not None
            and group is not None
            and group.specialization not in _SPECIAL_NEEDS_GROUPS
        ):
            yield EligibilityError(
                "eligibility.benefit_group",
                f"benefit category 9 applies only to inclusive and sanatorium groups, and "
                f"the group of organization {organization.id!r} (choice {place}) is "
                f"{group.specialization.value}; choose such a group or another benefit",
            )


def _consents(case: _Case) -> Iterator[EligibilityError]:
    """Both consents are given: notifications, and the portal's offer agreement.

    Source: seed, step 0: "даем согласие на использование своих контактных данных для
    получения уведомлений и на ознакомление условий договора оферты".
    """
    for consent in _CONSENTS:
        if consent not in case.application.consents:
            yield EligibilityError(
                "eligibility.consent_missing",
                f"the consent {consent.value!r} is missing; the applicant must give it "
                "before applying",
            )


def acts_for_the_child(status: LegalRepresentativeStatus) -> bool:
    """Whether a person with this status in the family register may apply for the child or
    act on its application: only a confirmed legal representative. The one statement of the
    rule: the flow's step 1, the cabinet and eligibility all ask here.

    Source: seed, step 1: "Статус законного представителя: подтвержден"; DOMAIN.md,
    "Actors and records".
    """
    return status is LegalRepresentativeStatus.CONFIRMED


def _legal_representative(case: _Case) -> Iterator[EligibilityError]:
    """The family register confirms the applicant as the child's legal representative
    (:func:`acts_for_the_child`)."""
    if not acts_for_the_child(case.application.representative_status):
        yield EligibilityError(
            "eligibility.not_legal_representative",
            "the family register does not confirm the applicant as the child's legal "
            "representative; the parent or guardian of record must apply, or the register "
            "must be corrected first",
        )


def _referral_date(case: _Case) -> Iterator[EligibilityError]:
    """A desired referral date is not in the past and comes before the age limit.

    Source: seed, step 4, "Выдавать направление ребенку" (immediately or from a date); a
    referral can only be used while the child is of preschool age (Rules No. 254, "до 6
    лет").
    """
    desired = case.application.referral.desired_date
    if desired is None:
        return
    if desired < case.on:
        yield EligibilityError(
            "eligibility.referral_date_past",
            "the desired referral date is in the past; choose a later date or "
            "'immediately, when a place appears'",
        )
    if desired >= case.policy.age_limit_date(case.application.child.birth_date):
        yield EligibilityError(
            "eligibility.referral_date_after_age_limit",
            f"on the desired referral date the child will have reached "
            f"{case.policy.age_limit_years} years; choose an earlier date or 'immediately, "
            "when a place appears'",
        )


def live_application(applications: Iterable[tuple[int, str]]) -> str:
    """Of one child's live (active or referred) applications, given as (submission instant,
    number) pairs, the number of the one that stays live; the others go. At least one.

    The rule: the earliest submitted stays. Tie-break, for two submitted at the same
    instant: the smaller application number (:func:`~edqueue.models.number_order`, numbers
    compared as integers). The instant is :func:`~edqueue.rules.ordering.instant_key` of
    ``submitted_at``, so two offsets of one moment are one instant. Numbers are unique, so
    the pick does not depend on the order the applications come in.

    Source: the issue text (a child stands in the queue once; the family changes its one
    application in the personal cabinet, DOMAIN.md step 5); the first submitted is the one
    the family already had when it made the others. An exchange file's reader
    (:mod:`edqueue.interchange`) keeps this one; :func:`check_eligibility` names it first.

    >>> live_application([(20, "1000002"), (10, "1000003"), (10, "999")])
    '999'
    """
    return min(applications, key=_live_order)[1]


def _live_order(application: tuple[int, str]) -> tuple[int, tuple[int, str]]:
    """:func:`live_application`'s order: the submission instant, then the number."""
    submitted, number = application
    return submitted, number_order(number)


def _single_application(case: _Case) -> Iterator[EligibilityError]:
    """A child has at most one live (active or referred) application: another live one of
    the child's refuses this one. They are named in :func:`live_application`'s order, the
    one that stays live first.

    Source: the issue text (a child stands in the queue once; the family changes its one
    application in the personal cabinet, DOMAIN.md step 5); the seed finds the child by IIN
    (step 1).
    """
    application = case.application
    if not case.active_applications:
        return
    others = sorted(
        (
            other
            for other in case.active_applications
            if other.number != application.number
            and other.status in _LIVE_APPLICATION
            and other.child.iin == application.child.iin
        ),
        key=lambda other: _live_order((instant_key(other.submitted_at), other.number)),
    )
    for other in others:
        yield EligibilityError(
            "eligibility.second_active_application",
            f"the child already has application #{other.number}, which is {other.status.value}; "
            "change or withdraw that application instead of making another",
        )


_RULES: tuple[Callable[[_Case], Iterator[EligibilityError]], ...] = (
    _child_age,
    _organizations_known,
    _groups_exist,
    _organization_count,
    _one_locality,
    _pmpk,
    _benefit_groups,
    _consents,
    _legal_representative,
    _referral_date,
    _single_application,
)


def _index(organizations: Organizations, wanted: Iterable[str]) -> Mapping[str, Organization]:
    if isinstance(organizations, Mapping):
        for organization_id in wanted:
            found = organizations.get(organization_id)
            if found is not None and found.id != organization_id:
                raise OrganizationError(
                    "organization.id",
                    f"the organizations mapping holds organization {found.id!r} under the key "
                    f"{organization_id!r}; key each organization by its id",
                )
        return organizations
    index: dict[str, Organization] = {}
    for organization in organizations:
        if not isinstance(organization, Organization):
            raise OrganizationError("organization.type", "organizations are Organization records")
        if index.setdefault(organization.id, organization) != organization:
            raise OrganizationError(
                "organization.id",
                f"two different organizations share the id {organization.id!r}; ids are unique",
            )
    return index


def check_eligibility(
    application: Application,
    organizations: Organizations,
    *,
    policy: Policy | PolicyValues,
    as_of: datetime,
    active_applications: Iterable[Application] = (),
) -> tuple[EligibilityError, ...]:
    """Every reason ``application`` may not enter the queues on ``as_of``; ``()`` if none.

    ``organizations`` are those the queue knows: a ``Mapping`` from id to
    :class:`~edqueue.models.Organization` is used as is (only the chosen ids are looked up,
    so a host's whole registry costs nothing to pass); any other iterable of organizations
    is indexed by id. ``policy`` is a :class:`~edqueue.rules.policy.Policy`, read on the
    day of ``as_of``, or the :class:`~edqueue.rules.policy.PolicyValues` to apply.
    ``as_of`` is an aware datetime; the child's age and the policy are taken on its
    calendar day in Kazakhstan. ``active_applications`` are the other applications to
    compare with (the application itself may be among them; it is skipped by number).

    Complexity: O(k log g + a) for k choices, g groups per organization and a active
    applications, plus O(n) to index n organizations given as a plain iterable.

    Raises :class:`~edqueue.errors.TimeError` (``time.naive``) for a naive ``as_of``,
    :class:`~edqueue.errors.PolicyError` (``policy.no_value``) for a day before the policy,
    :class:`~edqueue.errors.OrganizationError` (``organization.id``) for two organizations
    under one id.
    """
    on = require_aware(as_of, "the time of the eligibility check").astimezone(KAZAKHSTAN).date()
    wanted = [c.organization_id for c in application.choices]
    index = _index(organizations, wanted)
    values = policy.at(on) if isinstance(policy, Policy) else policy
    return violations(application, index, values, on, tuple(active_applications))


def violations(
    application: Application,
    organizations: Mapping[str, Organization],
    values: PolicyValues,
    on: date,
    active_applications: tuple[Application, ...] = (),
) -> tuple[EligibilityError, ...]:
    """:func:`check_eligibility` for a caller that judges many applications at once (a
    file's reader): ``organizations`` keyed by their ids, the policy's ``values`` and the
    day ``on`` in Kazakhstan already worked out, so nothing is checked or converted again
    per application. The same rules, in the same order, with the same errors."""
    case = _Case(
        application=application,
        organizations=organizations,
        policy=values,
        on=on,
        active_applications=active_applications,
        chosen=_chosen(application, organizations),
    )
    return tuple(violation for rule in _RULES for violation in rule(case))


def ensure_eligible(
    application: Application,
    organizations: Organizations,
    *,
    policy: Policy | PolicyValues,
    as_of: datetime,
    active_applications: Iterable[Application] = (),
) -> None:
    """Raise :class:`~edqueue.errors.IneligibleApplicationError` (``eligibility.failed``)
    with every violation of :func:`check_eligibility`, if there is any.

    >>> from datetime import datetime
    >>> import attrs
    >>> from edqueue.models import KAZAKHSTAN
    >>> from edqueue.rules.policy import KAZAKHSTAN_POLICY
    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> aged_out = attrs.evolve(seed_application(), consents=())
    >>> try:
    ...     ensure_eligible(aged_out, shakhtinsk_organizations(), policy=KAZAKHSTAN_POLICY,
    ...                     as_of=datetime(2026, 6, 23, 9, 0, tzinfo=KAZAKHSTAN))
    ... except IneligibleApplicationError as error:
    ...     print([v.code for v in error.violations])
    ['eligibility.child_too_old', 'eligibility.consent_missing', 'eligibility.consent_missing']
    """
    violations = check_eligibility(
        application,
        organizations,
        policy=policy,
        as_of=as_of,
        active_applications=active_applications,
    )
    if violations:
        codes = ", ".join(dict.fromkeys(v.code for v in violations))
        raise IneligibleApplicationError(
            "eligibility.failed",
            f"the application cannot enter the queue ({len(violations)} problem(s): {codes}); "
            "fix each one listed in `violations`",
            violations,
        )
