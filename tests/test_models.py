"""Construction invariants of every model: an object that exists is valid."""

import pickle
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import (
    KAZAKHSTAN,
    Applicant,
    Application,
    ApplicationError,
    ApplicationStatus,
    BenefitCategory,
    BenefitClaim,
    BenefitError,
    BenefitStatus,
    BirthCertificate,
    Child,
    Choice,
    EdqueueError,
    FullName,
    Group,
    GroupKey,
    Language,
    Organization,
    OrganizationError,
    OrganizationName,
    Ownership,
    PersonError,
    Proof,
    QueueKind,
    Referral,
    ReferralError,
    ReferralPreference,
    ReferralStatus,
    Tier,
    TimeError,
    TransitionError,
)
from edqueue.models import by_number, instant, number_order
from edqueue.models.instants import later
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.testing import applications, benefit_claims, children, organizations

T0 = datetime(2026, 11, 20, 10, 15, tzinfo=KAZAKHSTAN)


def evolve_error(record: object, **changes: object) -> EdqueueError:
    with pytest.raises(EdqueueError) as caught:
        attrs.evolve(record, **changes)
    return caught.value


# --- applications -------------------------------------------------------------------


@given(applications())
def test_generated_applications_round_trip_through_evolve(application: Application) -> None:
    assert attrs.evolve(application) == application
    assert 1 <= len(application.choices) <= 4


def test_six_organizations_are_too_many() -> None:
    choices = [Choice(f"org-{i}", "ru") for i in range(6)]
    error = evolve_error(seed_application(), choices=choices)
    assert error.code == "application.too_many_organizations"
    assert isinstance(error, ApplicationError)


def test_five_organizations_are_too_many_and_four_are_fine() -> None:
    four = [Choice(f"org-{i}", "ru") for i in range(4)]
    assert len(attrs.evolve(seed_application(), choices=four).choices) == 4
    error = evolve_error(seed_application(), choices=[*four, Choice("org-9", "kk")])
    assert error.code == "application.too_many_organizations"


def test_no_organization_is_an_error() -> None:
    assert evolve_error(seed_application(), choices=[]).code == "application.no_organizations"


def test_the_same_organization_twice_is_an_error_even_in_another_language() -> None:
    choices = [Choice("org-1", "ru"), Choice("org-1", "kk")]
    assert evolve_error(seed_application(), choices=choices).code == (
        "application.duplicate_organization"
    )


def test_a_naive_submission_time_is_an_error() -> None:
    error = evolve_error(seed_application(), submitted_at=datetime(2024, 2, 5, 10, 15))  # noqa: DTZ001
    assert isinstance(error, TimeError)
    assert error.code == "time.naive"


@pytest.mark.parametrize("number", ["", "0", "012", "12a", "#", -5, 1.5, None, "1" * 19])
def test_bad_application_numbers_are_rejected(number: object) -> None:
    assert evolve_error(seed_application(), number=number).code == "application.number"


def test_numbers_accept_the_portal_hash_and_compare_numerically() -> None:
    assert attrs.evolve(seed_application(), number="#1292583").number == "1292583"
    assert attrs.evolve(seed_application(), number=42).number_value == 42


@given(st.lists(st.integers(1, 10**12).map(str)))
def test_by_number_sorts_as_number_order_does(numbers: list[str]) -> None:
    assert by_number(numbers) == sorted(numbers, key=number_order)
    assert by_number(numbers) == sorted(numbers, key=int)


def test_the_seed_application_joins_the_seed_queues() -> None:
    application = seed_application()
    labels = [key.label_ru for _, key in application.group_keys]
    assert labels == ["2020 ГР русский", "2020 ГР казахский"]
    organizations = {o.id: o for o in shakhtinsk_organizations()}
    for organization_id, key in application.group_keys:
        assert organizations[organization_id].group(key) is not None


def test_application_status_life_cycle() -> None:
    active = seed_application()
    referred = active.with_status(ApplicationStatus.REFERRED)
    assert referred.with_status(ApplicationStatus.ACTIVE).status is ApplicationStatus.ACTIVE
    enrolled = referred.with_status(ApplicationStatus.ENROLLED)
    for target in ApplicationStatus:
        with pytest.raises(TransitionError) as caught:
            enrolled.with_status(target)
        assert caught.value.code == "application.invalid_transition"
    with pytest.raises(TransitionError):
        active.with_status(ApplicationStatus.ENROLLED)  # only through a referral


def test_tier_counts_only_a_verified_benefit() -> None:
    for status in BenefitStatus:
        claim = BenefitClaim(BenefitCategory.MILITARY, status)
        application = attrs.evolve(seed_application(), benefit=claim)
        expected = Tier.EXTRAORDINARY if status is BenefitStatus.VERIFIED else Tier.NONE
        assert application.tier is expected
    assert seed_application().tier is Tier.NONE


def test_records_are_immutable() -> None:
    application = seed_application()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        application.number = "1"  # type: ignore[misc]


def test_referral_preference_rules() -> None:
    assert ReferralPreference.from_date(date(2027, 9, 1)).label_ru == "С желаемой даты: 01.09.2027"
    with pytest.raises(ApplicationError):
        ReferralPreference("immediately", date(2027, 9, 1))
    with pytest.raises(ApplicationError):
        ReferralPreference("from")
    with pytest.raises(ApplicationError):
        ReferralPreference("tomorrow")


# --- people ---------------------------------------------------------------------------


@given(children())
def test_a_child_iin_contradicting_the_birth_date_is_rejected(child: Child) -> None:
    with pytest.raises(PersonError) as caught:
        Child(child.iin, child.name, child.birth_date + timedelta(days=1))
    assert caught.value.code == "person.child_birth_date_mismatch"


def test_birth_certificate_reads_the_seed_form() -> None:
    certificate = BirthCertificate.parse("9-20-0000219 от 23.06.2020")
    assert certificate.number == "9-20-0000219"
    assert certificate.issued_on == date(2020, 6, 23)
    assert certificate.reveal() == "9-20-0000219 от 23.06.2020"
    for bad in ["9-20-0000219", "9-20-0000219 от 31.02.2020", "от 23.06.2020", "x/y от 01.01.2020"]:
        with pytest.raises(PersonError) as caught:
            BirthCertificate.parse(bad)
        assert caught.value.code == "person.birth_certificate"


def test_names_are_cleaned_and_must_not_be_empty() -> None:
    assert FullName(" Иванов ", "Иван  Петр").first == "Иван Петр"
    assert FullName("Ким", "Ли", "  ").patronymic is None
    for bad in ("", "   ", "a\x00b", "x" * 101):
        with pytest.raises(PersonError):
            FullName(bad, "Иван")


def test_applicant_converts_and_validates_its_parts() -> None:
    applicant = seed_application().applicant
    with pytest.raises(EdqueueError) as caught:
        Applicant("900315400018", applicant.name, applicant.phone)
    assert caught.value.code == "iin.checksum"
    with pytest.raises(EdqueueError) as caught:
        Applicant(applicant.iin, "Иванов Иван", applicant.phone)  # type: ignore[arg-type]
    assert caught.value.code == "person.type"


# --- organizations --------------------------------------------------------------------


@given(organizations())
def test_generated_organizations_keep_their_invariants(organization: Organization) -> None:
    keys = [g.key for g in organization.groups]
    assert keys == sorted(set(keys))
    for group in organization.groups:
        assert 0 <= group.free_places <= group.capacity
        assert organization.group(group.key) is group
    assert organization.free_places == sum(g.free_places for g in organization.groups)


def test_group_places_must_fit_the_capacity() -> None:
    key = GroupKey(2020, "ru")
    assert Group(key, 25, 25).free_places == 25
    for capacity, free in [(25, 26), (-1, 0), (5, -1)]:
        with pytest.raises(OrganizationError) as caught:
            Group(key, capacity, free)
        assert caught.value.code == "group.places"


def test_an_organization_has_one_group_per_key() -> None:
    saltanat = shakhtinsk_organizations()[0]
    doubled = [*saltanat.groups, Group(GroupKey(2020, "ru"), 10, 0)]
    error = evolve_error(saltanat, groups=doubled)
    assert error.code == "organization.duplicate_group"


def test_languages_beyond_russian_and_kazakh_are_data() -> None:
    key = GroupKey(2021, "en")
    assert key.language == Language.ENGLISH
    assert key.label_ru == "2021 ГР английский"
    assert GroupKey(2021, "uz").label_ru == "2021 ГР узбекский"
    assert GroupKey(2021, "fr").label_ru == "2021 ГР fr"
    assert (
        GroupKey(2021, "ru", QueueKind.CORRECTIONAL).label_ru == "2021 ГР русский (коррекционная)"
    )
    for bad in ("", "RU", "russian", 7):
        with pytest.raises(OrganizationError) as caught:
            GroupKey(2021, bad)  # type: ignore[arg-type]
        assert caught.value.code == "group.language"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id", "", "organization.id"),
        ("id", "has space", "organization.id"),
        ("locality", "  ", "organization.locality"),
        ("address", "", "organization.address"),
        ("ownership", "public", "organization.type"),
        ("education_fee", -1, "organization.fee"),
    ],
)
def test_organization_fields_are_checked(field: str, value: object, code: str) -> None:
    assert evolve_error(shakhtinsk_organizations()[0], **{field: value}).code == code


def test_organization_name_and_price_ranges() -> None:
    assert str(OrganizationName("Ясли-сад", "Бөбекжай")) == "Ясли-сад"
    with pytest.raises(OrganizationError):
        OrganizationName("")
    saltanat = shakhtinsk_organizations()[0]
    assert saltanat.is_free and saltanat.ownership is Ownership.STATE
    assert saltanat.food_cost is not None and saltanat.food_cost.low == 16_000


# --- benefits -------------------------------------------------------------------------

DOMAIN_TITLES = {
    1: "Дети военнослужащих",
    2: "Дети сотрудников специальных государственных органов",
    3: "Дети сотрудников правоохранительных органов (в том числе тех, которые погибли, умерли "
    "или пропали без вести во время прохождения службы)",
    4: "Дети сотрудников государственной фельдъегерской службы",
    5: "Дети родителей-инвалидов",
    6: "Дети без попечения родителей",
    7: "Дети-сироты",
    8: "Дети из многодетных семей",
    9: "Дети с особыми образовательными потребностями (для зачисления в инклюзивные и "
    "санаторные группы)",
    10: "Дети из семей, имеющих ребенка-инвалида",
    11: "Дети, законные представители которых являются педагогами",
}


def test_benefit_categories_are_exactly_the_seed_list() -> None:
    assert [c.value for c in BenefitCategory] == list(range(1, 12))
    for category in BenefitCategory:
        assert category.title_ru == DOMAIN_TITLES[category.value]
        extraordinary = category.value <= 4
        assert category.tier is (Tier.EXTRAORDINARY if extraordinary else Tier.FIRST_PRIORITY)
        assert category.proof is (Proof.DOCUMENT if extraordinary else Proof.STATE_REGISTER)
        assert category.title_kk and category.title_en and category.source
        assert category.title("kk") == category.title_kk
    with pytest.raises(BenefitError):
        BenefitCategory.ORPHANS.title("de")


@pytest.mark.parametrize("category", [0, 12, "8", True, None])
def test_unknown_benefit_categories_are_rejected(category: object) -> None:
    with pytest.raises(BenefitError) as caught:
        BenefitClaim(category)  # type: ignore[arg-type]
    assert caught.value.code == "benefit.category"


@given(benefit_claims(statuses=[BenefitStatus.PENDING]))
def test_benefit_life_cycle(claim: BenefitClaim) -> None:
    later = (claim.claimed_at or T0) + timedelta(days=1)
    verified = claim.verify(later)
    assert verified.tier is claim.category.tier
    assert verified.decided_at == later
    assert verified.expire(later).tier is Tier.NONE
    assert claim.reject(later).tier is Tier.NONE
    with pytest.raises(TransitionError):
        verified.verify(later)
    with pytest.raises(TransitionError):
        claim.reject(later).verify(later)
    with pytest.raises(TimeError):
        claim.verify(datetime(2026, 1, 1))  # noqa: DTZ001


def test_a_benefit_is_not_decided_before_it_is_claimed() -> None:
    with pytest.raises(BenefitError):
        BenefitClaim(8, "verified", T0, T0 - timedelta(seconds=1))


# --- referrals ------------------------------------------------------------------------


def make_referral(**changes: object) -> Referral:
    fields: dict[str, object] = {
        "id": "r-1",
        "application_number": "1292583",
        "organization_id": "shakhtinsk-saltanat",
        "group": GroupKey(2020, "ru"),
        "issued_at": T0,
        "deadline": T0 + timedelta(days=5),
    }
    return Referral(**(fields | changes))  # type: ignore[arg-type]


def test_referral_life_cycle() -> None:
    referral = make_referral()
    assert referral.is_open
    used = referral.use(T0 + timedelta(days=1))
    assert used.status is ReferralStatus.USED and not used.is_open
    for close in (
        lambda r: r.use(T0 + timedelta(days=2)),
        lambda r: r.decline(T0 + timedelta(days=2)),
        lambda r: r.cancel(T0 + timedelta(days=2), "benefit not confirmed"),
        lambda r: r.extend(T0 + timedelta(days=30)),
    ):
        with pytest.raises(TransitionError) as caught:
            close(used)
        assert caught.value.code == "referral.invalid_transition"
    with pytest.raises(TransitionError):
        referral.expire(T0 + timedelta(days=4))
    assert referral.expire(T0 + timedelta(days=5)).status is ReferralStatus.EXPIRED
    extended = referral.extend(T0 + timedelta(days=30))
    assert extended.deadline == T0 + timedelta(days=30)
    with pytest.raises(ReferralError):
        referral.extend(T0 + timedelta(days=1))


def test_referral_invariants() -> None:
    with pytest.raises(ReferralError) as caught:
        make_referral(deadline=T0)
    assert caught.value.code == "referral.deadline"
    with pytest.raises(TimeError):
        make_referral(issued_at=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ReferralError):
        make_referral(status="used")  # closed without a closing time
    with pytest.raises(ReferralError):
        make_referral(status="lost")
    with pytest.raises(ReferralError):
        make_referral(id="")


# --- time -----------------------------------------------------------------------------


def test_times_compare_as_instants_across_the_2024_zone_change() -> None:
    before = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)
    after = datetime(2024, 3, 1, 0, 30, tzinfo=KAZAKHSTAN)
    assert before.utcoffset() == timedelta(hours=6)
    assert after.utcoffset() == timedelta(hours=5)
    assert instant(after) - instant(before) == timedelta(hours=2)
    # 23:30 on 29 February happened twice; the second time (fold=1) is UTC+5 and later.
    first = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)
    second = first.replace(fold=1)
    assert instant(second) - instant(first) == timedelta(hours=1)
    early = attrs.evolve(seed_application(), submitted_at=first, number=2)
    late = attrs.evolve(seed_application(), submitted_at=second, number=1)
    assert early.submitted_instant < late.submitted_instant


# --- pickling and hashing ---------------------------------------------------------------


@given(applications())
def test_records_pickle_and_hash_by_value(application: Application) -> None:
    copy = pickle.loads(pickle.dumps(application))
    assert copy == application
    assert hash(copy) == hash(application)
    assert copy.child.iin.reveal() == application.child.iin.reveal()


def test_errors_pickle_with_their_code() -> None:
    error = ApplicationError("application.number", "an application number is digits")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.message) == (ApplicationError, error.code, error.message)


def test_a_benefit_decided_across_the_2024_clock_change_compares_instants() -> None:
    # 23:50 at +06 on 29.02.2024, then 15 minutes later it is 23:05 at +05 (clocks went back)
    from edqueue import KAZAKHSTAN, BenefitCategory, BenefitClaim, BenefitStatus

    claimed = datetime(2024, 2, 29, 23, 50, tzinfo=KAZAKHSTAN)
    decided = (claimed.astimezone(UTC) + timedelta(minutes=15)).astimezone(KAZAKHSTAN)
    assert decided.replace(tzinfo=None) < claimed.replace(tzinfo=None)  # the wall clock
    claim = BenefitClaim(BenefitCategory(8), BenefitStatus.VERIFIED, claimed, decided)
    assert claim.decided_at == decided


def test_generated_decisions_count_their_hours_in_instants_across_the_2024_change() -> None:
    """The strategy once added hours to the wall clock: a claim drawn in the second pass of
    23:00 on 29.02.2024 (UTC+5) got a decision at the first pass (UTC+6), an hour earlier,
    which BenefitClaim refuses."""
    claimed = datetime(2024, 2, 29, 23, 0, fold=1, tzinfo=KAZAKHSTAN)
    for hours in (0, 1, 25):
        decided = later(claimed, timedelta(hours=hours))
        assert instant(decided) - instant(claimed) == timedelta(hours=hours)
        assert BenefitClaim(8, BenefitStatus.VERIFIED, claimed, decided).decided_at == decided
