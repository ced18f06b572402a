"""Eligibility: one example per violation code, all violations at once, and properties."""

import re
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import (
    KAZAKHSTAN,
    Application,
    ApplicationStatus,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Choice,
    Consent,
    EligibilityError,
    Group,
    GroupKey,
    GroupSpecialization,
    IneligibleApplicationError,
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationError,
    OrganizationName,
    Ownership,
    PmpkConclusion,
    PolicyError,
    QueueKind,
    ReferralPreference,
    TimeError,
)
from edqueue.rules.eligibility import (
    Organizations,
    check_eligibility,
    ensure_eligible,
    live_application,
)
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.testing import applications

ROOT = Path(__file__).resolve().parents[1]
SEED = seed_application()
SALTANAT, KARLYGASH = shakhtinsk_organizations()
ORGANIZATIONS = (SALTANAT, KARLYGASH)
AS_OF = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
POLICY_START = date(2020, 6, 22)


def violations(
    application: Application = SEED,
    organizations: Organizations = ORGANIZATIONS,
    *,
    as_of: datetime = AS_OF,
    active: Iterable[Application] = (),
    policy: object = KAZAKHSTAN_POLICY,
) -> tuple[EligibilityError, ...]:
    return check_eligibility(
        application,
        organizations,
        policy=policy,  # type: ignore[arg-type]
        as_of=as_of,
        active_applications=active,
    )


def described(found: Iterable[EligibilityError]) -> list[tuple[str, str]]:
    """Exceptions compare by identity; compare violations by code and message."""
    return [(v.code, v.message) for v in found]


def codes(*args: object, **kwargs: object) -> list[str]:
    return [v.code for v in violations(*args, **kwargs)]  # type: ignore[arg-type]


def with_group(organization: Organization, group: Group) -> Organization:
    return attrs.evolve(organization, groups=[*organization.groups, group])


def correctional(organization: Organization, language: Language) -> Organization:
    key = GroupKey(2020, language, QueueKind.CORRECTIONAL)
    return with_group(organization, Group(key, 10, 1, GroupSpecialization.INCLUSIVE))


# --- the seed -------------------------------------------------------------------------


def test_the_seed_application_is_eligible() -> None:
    assert violations() == ()
    ensure_eligible(SEED, ORGANIZATIONS, policy=KAZAKHSTAN_POLICY, as_of=AS_OF)  # no raise


def test_organizations_may_be_a_mapping_by_id_and_policy_a_snapshot() -> None:
    by_id = {o.id: o for o in ORGANIZATIONS}
    assert violations(SEED, by_id) == ()
    assert violations(policy=KAZAKHSTAN_POLICY.at(AS_OF)) == ()


# --- one example per code -------------------------------------------------------------


def test_child_not_born() -> None:
    # The seed's child is born on 2020-06-23; the policy applies from 2020-06-22.
    assert codes(as_of=datetime(2020, 6, 22, 12, 0, tzinfo=KAZAKHSTAN)) == [
        "eligibility.child_not_born"
    ]


def test_child_too_old_from_the_sixth_birthday_in_kazakhstan_time() -> None:
    assert codes(as_of=datetime(2026, 6, 22, 23, 59, tzinfo=KAZAKHSTAN)) == []
    assert codes(as_of=datetime(2026, 6, 23, 0, 0, tzinfo=KAZAKHSTAN)) == [
        "eligibility.child_too_old"
    ]
    # 19:00 UTC on 22 June is already 00:00 on 23 June in Kazakhstan (UTC+5).
    assert codes(as_of=datetime(2026, 6, 22, 19, 0, tzinfo=UTC)) == ["eligibility.child_too_old"]


def test_unknown_organization() -> None:
    application = attrs.evolve(
        SEED, choices=[*SEED.choices, Choice("shakhtinsk-unknown", Language.RUSSIAN)]
    )
    assert codes(application) == ["eligibility.unknown_organization"]
    assert "'shakhtinsk-unknown' (choice 3)" in violations(application)[0].message


def test_no_group() -> None:
    # Saltanat has groups in Russian and Kazakh only.
    application = attrs.evolve(SEED, choices=[Choice(SALTANAT.id, Language.ENGLISH)])
    assert codes(application) == ["eligibility.no_group"]
    # No group for children born in 2019 either (the sample has 2020-2024).
    only_2020 = attrs.evolve(
        SALTANAT, groups=[g for g in SALTANAT.groups if g.key.birth_year != 2020]
    )
    assert codes(SEED, [only_2020, KARLYGASH]) == ["eligibility.no_group"]


def test_too_many_organizations_for_the_policy_in_force() -> None:
    one = KAZAKHSTAN_POLICY.amend(
        "max_organizations", date(2024, 1, 1), 1, source="a region that allows one (example)"
    )
    assert codes(policy=one) == ["eligibility.too_many_organizations"]
    assert codes(policy=one, as_of=datetime(2023, 12, 31, 12, 0, tzinfo=KAZAKHSTAN)) == []


def test_duplicate_organizations_cannot_reach_the_rules() -> None:
    # The record rejects them, so eligibility has no code for them.
    assert "eligibility.duplicate_organization" not in EligibilityError.CODES


def test_mixed_localities() -> None:
    elsewhere = attrs.evolve(KARLYGASH, locality="г. Караганда")
    assert codes(SEED, [SALTANAT, elsewhere]) == ["eligibility.mixed_localities"]
    [violation] = violations(SEED, [SALTANAT, elsewhere])
    assert "г. Караганда, г. Шахтинск" in violation.message


def test_pmpk_missing() -> None:
    organizations = [
        correctional(SALTANAT, Language.RUSSIAN),
        correctional(KARLYGASH, Language.KAZAKH),
    ]
    application = attrs.evolve(SEED, queue_kind=QueueKind.CORRECTIONAL)
    assert codes(application, organizations) == ["eligibility.pmpk_missing"]
    with_pmpk = attrs.evolve(application, pmpk=PmpkConclusion("ПМПК-17", date(2023, 11, 1)))
    assert codes(with_pmpk, organizations) == []


def test_benefit_group_once_per_regular_group() -> None:
    claim = BenefitClaim(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS)
    application = attrs.evolve(SEED, benefit=claim)
    assert codes(application) == ["eligibility.benefit_group"] * 2
    messages = [v.message for v in violations(application)]
    assert "(choice 1)" in messages[0]
    assert "(choice 2)" in messages[1]
    # An inclusive group for the first choice leaves one violation.
    key = GroupKey(2020, Language.RUSSIAN)
    inclusive = attrs.evolve(
        SALTANAT,
        groups=[
            g if g.key != key else attrs.evolve(g, specialization="inclusive")
            for g in SALTANAT.groups
        ],
    )
    assert codes(application, [inclusive, KARLYGASH]) == ["eligibility.benefit_group"]
    assert "(choice 2)" in violations(application, [inclusive, KARLYGASH])[0].message


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (BenefitStatus.PENDING, 2),
        (BenefitStatus.VERIFIED, 2),
        (BenefitStatus.REJECTED, 0),
        (BenefitStatus.EXPIRED, 0),
    ],
)
def test_benefit_group_counts_live_claims_only(status: BenefitStatus, expected: int) -> None:
    claim = BenefitClaim(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS, status)
    assert codes(attrs.evolve(SEED, benefit=claim)) == ["eligibility.benefit_group"] * expected


def test_other_benefits_go_to_any_group() -> None:
    claim = BenefitClaim(BenefitCategory.LARGE_FAMILY, BenefitStatus.VERIFIED)
    assert codes(attrs.evolve(SEED, benefit=claim)) == []


def test_consent_missing_once_per_consent() -> None:
    assert codes(attrs.evolve(SEED, consents={Consent.NOTIFICATIONS})) == [
        "eligibility.consent_missing"
    ]
    found = violations(attrs.evolve(SEED, consents=()))
    assert [v.code for v in found] == ["eligibility.consent_missing"] * 2
    assert "'notifications'" in found[0].message
    assert "'offer_agreement'" in found[1].message


def test_not_legal_representative() -> None:
    application = attrs.evolve(SEED, representative_status=LegalRepresentativeStatus.NOT_CONFIRMED)
    assert codes(application) == ["eligibility.not_legal_representative"]


def test_referral_date_past() -> None:
    yesterday = attrs.evolve(SEED, referral=ReferralPreference.from_date(date(2024, 2, 4)))
    assert codes(yesterday) == ["eligibility.referral_date_past"]
    today = attrs.evolve(SEED, referral=ReferralPreference.from_date(date(2024, 2, 5)))
    assert codes(today) == []


def test_referral_date_after_age_limit() -> None:
    # The child turns 6 on 2026-06-23: the day before is the last possible desired date.
    last = attrs.evolve(SEED, referral=ReferralPreference.from_date(date(2026, 6, 22)))
    assert codes(last) == []
    too_late = attrs.evolve(SEED, referral=ReferralPreference.from_date(date(2026, 6, 23)))
    assert codes(too_late) == ["eligibility.referral_date_after_age_limit"]


def test_second_active_application() -> None:
    other = attrs.evolve(SEED, number="1292999", status=ApplicationStatus.REFERRED)
    assert codes(active=[SEED, other]) == ["eligibility.second_active_application"]
    assert "#1292999" in violations(active=[other])[0].message
    # Itself, a withdrawn application and another child's application do not count.
    withdrawn = attrs.evolve(other, status=ApplicationStatus.WITHDRAWN)
    sibling = attrs.evolve(
        other, child=attrs.evolve(SEED.child, iin="200623600008"), status="active"
    )
    assert codes(active=[SEED, withdrawn, sibling]) == []


def test_second_active_applications_are_reported_in_number_order() -> None:
    others = [attrs.evolve(SEED, number=n) for n in ("99", "1000", "100")]
    found = violations(active=others)
    assert [re.search(r"#(\d+)", v.message).group(1) for v in found] == ["99", "100", "1000"]  # type: ignore[union-attr]


def test_second_active_applications_name_the_one_that_stays_live_first() -> None:
    later = attrs.evolve(SEED, number="99", submitted_at=SEED.submitted_at + timedelta(days=1))
    # the same instant as SEED's submission, written at another offset
    same = attrs.evolve(SEED, number="100", submitted_at=SEED.submitted_at.astimezone(UTC))
    found = violations(attrs.evolve(SEED, number="1"), active=[later, same, SEED])
    named = [re.search(r"#(\d+)", v.message).group(1) for v in found]  # type: ignore[union-attr]
    assert named == ["100", SEED.number, "99"]
    assert live_application([(1, n) for n in ("99", SEED.number, "100")] + [(2, "7")]) == min(
        ["99", SEED.number, "100"], key=int
    )


_SUBMISSIONS = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 10**9).map(str)),
    min_size=1,
    max_size=8,
    unique_by=lambda submission: submission[1],  # application numbers are unique
)


@given(_SUBMISSIONS.flatmap(lambda s: st.tuples(st.just(s), st.permutations(s))))
def test_the_live_application_does_not_depend_on_the_order_given(
    given_twice: tuple[list[tuple[int, str]], list[tuple[int, str]]],
) -> None:
    submissions, shuffled = given_twice
    live = live_application(submissions)
    assert live_application(shuffled) == live
    assert live_application(reversed(submissions)) == live
    # the earliest submitted, then the smaller number as an integer
    assert live == str(min((instant, int(number)) for instant, number in submissions)[1])


# --- all at once, in order ------------------------------------------------------------


def test_every_violation_is_reported_at_once_in_rule_then_choice_order() -> None:
    application = attrs.evolve(
        SEED,
        choices=[
            Choice("shakhtinsk-unknown", Language.RUSSIAN),
            Choice(SALTANAT.id, Language.ENGLISH),
            Choice(KARLYGASH.id, Language.KAZAKH),
        ],
        benefit=BenefitClaim(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS),
        consents=(),
        representative_status=LegalRepresentativeStatus.NOT_CONFIRMED,
        referral=ReferralPreference.from_date(date(2023, 1, 1)),
    )
    elsewhere = attrs.evolve(KARLYGASH, locality="г. Караганда")
    policy = KAZAKHSTAN_POLICY.amend("max_organizations", date(2020, 6, 22), 2, source="example")
    other = attrs.evolve(SEED, number="7")
    assert codes(application, [SALTANAT, elsewhere], active=[other], policy=policy) == [
        "eligibility.unknown_organization",
        "eligibility.no_group",
        "eligibility.too_many_organizations",
        "eligibility.mixed_localities",
        "eligibility.benefit_group",
        "eligibility.consent_missing",
        "eligibility.consent_missing",
        "eligibility.not_legal_representative",
        "eligibility.referral_date_past",
        "eligibility.second_active_application",
    ]


def test_ensure_eligible_raises_every_violation() -> None:
    application = attrs.evolve(SEED, consents=(), queue_kind=QueueKind.CORRECTIONAL)
    with pytest.raises(IneligibleApplicationError) as caught:
        ensure_eligible(application, ORGANIZATIONS, policy=KAZAKHSTAN_POLICY, as_of=AS_OF)
    error = caught.value
    assert error.code == "eligibility.failed"
    assert described(error.violations) == described(violations(application))
    assert [v.code for v in error.violations] == [
        "eligibility.no_group",
        "eligibility.no_group",
        "eligibility.pmpk_missing",
        "eligibility.consent_missing",
        "eligibility.consent_missing",
    ]
    assert "eligibility.pmpk_missing" in error.message


def test_the_order_of_other_inputs_does_not_matter() -> None:
    others = [attrs.evolve(SEED, number=n) for n in ("5", "3", "4")]
    assert described(violations(SEED, ORGANIZATIONS[::-1], active=others)) == described(
        violations(SEED, ORGANIZATIONS, active=others[::-1])
    )


# --- bad input ------------------------------------------------------------------------


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(TimeError) as caught:
        violations(as_of=datetime(2024, 2, 5, 10, 15))  # noqa: DTZ001 - on purpose
    assert caught.value.code == "time.naive"


def test_a_day_before_the_policy_is_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        violations(as_of=datetime(2020, 1, 1, 12, 0, tzinfo=KAZAKHSTAN))
    assert caught.value.code == "policy.no_value"


def test_organizations_must_have_unique_ids() -> None:
    assert violations(SEED, [SALTANAT, SALTANAT, KARLYGASH]) == ()
    renamed = attrs.evolve(SALTANAT, locality="г. Караганда")
    with pytest.raises(OrganizationError) as caught:
        violations(SEED, [SALTANAT, renamed, KARLYGASH])
    assert caught.value.code == "organization.id"
    with pytest.raises(OrganizationError) as wrong_key:
        violations(SEED, {SALTANAT.id: KARLYGASH, KARLYGASH.id: KARLYGASH})
    assert wrong_key.value.code == "organization.id"
    with pytest.raises(OrganizationError) as not_one:
        violations(SEED, [SALTANAT, "shakhtinsk-karlygash"])  # type: ignore[list-item]
    assert not_one.value.code == "organization.type"


# --- properties -----------------------------------------------------------------------

IDS = ("org-1", "org-2", "org-3", "org-4", "org-5")


def organization_for(
    choice: Choice, birth_year: int, kind: QueueKind, specialization: GroupSpecialization
) -> Organization:
    """An organization of Shakhtinsk with one group: the choice's language, ``birth_year``."""
    key = GroupKey(birth_year, choice.language, kind)
    return Organization(
        id=choice.organization_id,
        name=OrganizationName(f"Ясли-сад {choice.organization_id}"),
        ownership=Ownership.STATE,
        locality="г. Шахтинск",
        address="г. Шахтинск, улица Абая, 1",
        groups=[Group(key, 25, 0, specialization)],
    )


def moments(on: st.SearchStrategy[date]) -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda day, clock: datetime.combine(day, clock, tzinfo=KAZAKHSTAN), on, st.times()
    )


@st.composite
def eligible_cases(draw: st.DrawFn) -> tuple[Application, list[Organization], datetime]:
    """An application, organizations with its groups, and a moment when it is eligible."""
    application = draw(applications(organization_ids=IDS))
    born = application.child.birth_date
    limit = KAZAKHSTAN_POLICY.at(POLICY_START).age_limit_date(born)
    today = draw(st.dates(max(born, POLICY_START), limit - timedelta(days=1)))
    if application.referral.desired_date is not None:
        desired = draw(st.dates(today, limit - timedelta(days=1)))
        application = attrs.evolve(application, referral=ReferralPreference.from_date(desired))
    if application.queue_kind is QueueKind.CORRECTIONAL:
        application = attrs.evolve(application, pmpk=PmpkConclusion("17", date(2020, 1, 1)))
    benefit = application.benefit
    special = (
        benefit is not None
        and benefit.category is BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS
        and benefit.status in (BenefitStatus.PENDING, BenefitStatus.VERIFIED)
    )
    kinds = [GroupSpecialization.INCLUSIVE, GroupSpecialization.SANATORIUM]
    organizations = [
        organization_for(
            choice,
            application.birth_year,
            application.queue_kind,
            draw(st.sampled_from(kinds if special else list(GroupSpecialization))),
        )
        for choice in application.choices
    ]
    return application, organizations, draw(moments(st.just(today)))


@given(eligible_cases())
def test_eligible_applications_have_no_violation(
    case: tuple[Application, list[Organization], datetime],
) -> None:
    application, organizations, as_of = case
    assert violations(application, organizations, as_of=as_of) == ()


class Case(NamedTuple):
    application: Application
    organizations: list[Organization]
    as_of: datetime
    active: list[Application]
    policy: Policy

    def violations(self) -> tuple[EligibilityError, ...]:
        return violations(
            self.application,
            self.organizations,
            as_of=self.as_of,
            active=self.active,
            policy=self.policy,
        )

    def ensure(self) -> None:
        ensure_eligible(
            self.application,
            self.organizations,
            policy=self.policy,
            as_of=self.as_of,
            active_applications=self.active,
        )


@st.composite
def any_cases(draw: st.DrawFn) -> Case:
    """Anything goes: most draws break several rules at once."""
    application = draw(applications(organization_ids=IDS))
    special = BenefitClaim(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS)
    application = attrs.evolve(
        application,
        consents=draw(st.sets(st.sampled_from(Consent))),
        representative_status=draw(st.sampled_from(LegalRepresentativeStatus)),
        benefit=draw(st.sampled_from([application.benefit, special])),
    )
    organizations = [
        attrs.evolve(
            organization_for(
                attrs.evolve(choice, language=draw(st.sampled_from(["ru", "kk"]))),
                application.group_key(choice).birth_year,
                application.queue_kind,
                draw(st.sampled_from(GroupSpecialization)),
            ),
            locality=draw(st.sampled_from(["г. Шахтинск", "г. Караганда"])),
        )
        for choice in application.choices
        if draw(st.booleans())
    ]
    twin = attrs.evolve(application, number=application.number_value + 1)
    policy = KAZAKHSTAN_POLICY.amend(
        "max_organizations", POLICY_START, draw(st.integers(1, 4)), source="test"
    )
    return Case(
        application,
        organizations,
        draw(moments(st.dates(POLICY_START, date(2032, 12, 31)))),
        draw(st.lists(st.just(twin), max_size=1)),
        policy,
    )


def personal_data(application: Application) -> list[str]:
    people = (application.applicant, application.child)
    born = application.child.birth_date
    found = [p.iin.reveal() for p in people]
    found += [application.applicant.phone.reveal(), application.applicant.phone.reveal()[2:]]
    found += [part for p in people for part in (p.name.last, p.name.first)]
    found += [born.isoformat(), f"{born:%d.%m.%Y}"]
    return found


@given(any_cases())
def test_messages_hold_no_personal_data(case: Case) -> None:
    found = case.violations()
    with pytest.raises(IneligibleApplicationError) if found else nullcontext() as caught:
        case.ensure()
    errors: list[Exception] = [*found, *([caught.value] if caught is not None else [])]
    for error in errors:
        for secret in personal_data(case.application):
            assert secret not in str(error)
            assert secret not in repr(error)


@given(any_cases())
def test_check_and_ensure_agree(case: Case) -> None:
    found = case.violations()
    assert all(v.code in EligibilityError.CODES for v in found)
    if not found:
        case.ensure()
        return
    with pytest.raises(IneligibleApplicationError) as caught:
        case.ensure()
    assert described(caught.value.violations) == described(found)


# --- the reference page ---------------------------------------------------------------


def test_docs_rules_lists_every_eligibility_code_with_a_source() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(eligibility\.[a-z_]+)` \| (.+) \|$", text, re.MULTILINE))
    assert set(rows) == set(EligibilityError.CODES)
