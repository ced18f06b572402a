"""The synthetic city: deterministic, eligible, round-trips through JSON, lazy, realistic shares."""

import collections
import itertools
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import (
    KAZAKHSTAN,
    Application,
    BenefitCategory,
    BenefitStatus,
    GroupSpecialization,
    Organization,
    Ownership,
    QueueKind,
    ReferralTiming,
    Tier,
    TimeError,
)
from edqueue.errors import InputError
from edqueue.models.identity import iin_check_digit
from edqueue.rules import KAZAKHSTAN_POLICY, check_eligibility
from edqueue.schemas import (
    dump_application,
    dump_organization,
    parse_application,
    parse_organizations,
)
from edqueue.testing import kazakhstan_datetimes
from edqueue.testing.city import (
    BROKEN_CODES,
    _Generator,
    _Serials,
    generate_applications,
    generate_organizations,
    write_city,
)

AS_OF = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
SEED = 11


@pytest.fixture(scope="module")
def city() -> list[Organization]:
    return generate_organizations(60, seed=SEED, as_of=AS_OF.date())


@pytest.fixture(scope="module")
def country() -> list[Organization]:
    return generate_organizations(120, seed=SEED, as_of=AS_OF.date(), localities=6)


@pytest.fixture(scope="module")
def applications(country: list[Organization]) -> list[Application]:
    return list(generate_applications(3_000, country, seed=SEED, as_of=AS_OF))


def by_id(organizations: list[Organization]) -> dict[str, Organization]:
    return {o.id: o for o in organizations}


def line(application: Application) -> str:
    return json.dumps(dump_application(application), ensure_ascii=False)


# --- determinism --------------------------------------------------------------------------------


def test_the_same_arguments_give_the_same_city(
    country: list[Organization], applications: list[Application]
) -> None:
    again = generate_organizations(120, seed=SEED, as_of=AS_OF.date(), localities=6)
    assert again == country
    assert [dump_organization(o) for o in again] == [dump_organization(o) for o in country]
    replay = generate_applications(3_000, again, seed=SEED, as_of=AS_OF)
    assert [line(a) for a in replay] == [line(a) for a in applications]


def test_another_seed_gives_another_city(
    country: list[Organization], applications: list[Application]
) -> None:
    other = generate_organizations(120, seed=SEED + 1, as_of=AS_OF.date(), localities=6)
    assert [o.name for o in other] != [o.name for o in country]
    assert [o.location for o in other] != [o.location for o in country]
    others = list(generate_applications(300, country, seed=SEED + 1, as_of=AS_OF))
    assert {a.child.iin for a in others}.isdisjoint(a.child.iin for a in applications[:300])
    assert [a.choices for a in others] != [a.choices for a in applications[:300]]


def test_a_short_run_is_the_start_of_a_long_one(
    country: list[Organization], applications: list[Application]
) -> None:
    assert list(generate_applications(50, country, seed=SEED, as_of=AS_OF)) == applications[:50]


def test_the_iterator_is_lazy(city: list[Organization]) -> None:
    stream = generate_applications(10**9, city, seed=SEED, as_of=AS_OF)
    assert isinstance(stream, Iterator)
    assert not hasattr(stream, "__len__")
    first = list(itertools.islice(stream, 10))
    assert [a.number_value for a in first] == list(range(1_000_001, 1_000_011))
    assert next(stream).number == "1000011"


# --- validity -----------------------------------------------------------------------------------


def test_every_application_is_eligible(
    country: list[Organization], applications: list[Application], city: list[Organization]
) -> None:
    for organizations, generated in (
        (country, applications),
        (city, generate_applications(2_000, city, seed=SEED, as_of=AS_OF)),
    ):
        index = by_id(organizations)
        violations = collections.Counter(
            v.code
            for a in generated
            for v in check_eligibility(a, index, policy=KAZAKHSTAN_POLICY, as_of=AS_OF)
        )
        assert violations == collections.Counter()


@given(
    seed=st.integers(0, 2**63),
    as_of=kazakhstan_datetimes(datetime(2021, 1, 1), datetime(2031, 12, 31)),  # noqa: DTZ001
    localities=st.integers(1, 3),
)
def test_applications_are_eligible_whatever_the_seed_and_day(
    seed: int, as_of: datetime, localities: int
) -> None:
    organizations = generate_organizations(9, seed=seed, as_of=as_of.date(), localities=localities)
    index = by_id(organizations)
    for application in generate_applications(40, organizations, seed=seed, as_of=as_of):
        assert check_eligibility(application, index, policy=KAZAKHSTAN_POLICY, as_of=as_of) == ()


def test_applications_parse_back_from_their_json_lines(applications: list[Application]) -> None:
    for application in applications:
        assert parse_application(line(application)) == application


def test_organizations_parse_back_from_a_json_array(country: list[Organization]) -> None:
    text = json.dumps([dump_organization(o) for o in country], ensure_ascii=False)
    assert parse_organizations(text) == country


def test_numbers_are_consecutive_from_the_first_number(city: list[Organization]) -> None:
    generated = list(generate_applications(500, city, seed=SEED, as_of=AS_OF, first_number=7))
    assert [a.number_value for a in generated] == list(range(7, 507))


def test_children_are_distinct_and_under_the_age_limit(applications: list[Application]) -> None:
    assert len({a.child.iin for a in applications}) == len(applications)
    limit = KAZAKHSTAN_POLICY.at(AS_OF)
    for a in applications:
        born = a.child.birth_date
        assert a.child.iin.birth_date == born
        assert not limit.has_reached_age_limit(born, AS_OF.date())
        assert born <= AS_OF.date() - timedelta(days=90)
        assert AS_OF.year - 6 <= born.year <= AS_OF.year - 1
        assert a.applicant.iin.birth_date <= born - timedelta(days=20 * 365)


def test_every_choice_has_a_group_for_the_child(
    country: list[Organization], applications: list[Application]
) -> None:
    index = by_id(country)
    for a in applications:
        for choice in a.choices:
            assert index[choice.organization_id].group(a.group_key(choice)) is not None


def test_all_choices_are_in_one_locality_and_one_language(
    country: list[Organization], applications: list[Application]
) -> None:
    index = by_id(country)
    seen = set()
    for a in applications:
        localities = {index[c.organization_id].locality for c in a.choices}
        assert len(localities) == 1
        assert len({c.language for c in a.choices}) == 1
        seen |= localities
    assert len(seen) == 6


def test_choices_are_distinct_nearby_and_mostly_one_or_two(
    country: list[Organization], applications: list[Application]
) -> None:
    position = {o.id: i for i, o in enumerate(country)}
    counts = collections.Counter(len(a.choices) for a in applications)
    assert set(counts) == {1, 2, 3, 4}
    assert counts[1] + counts[2] > 0.6 * len(applications)
    for a in applications:
        if a.queue_kind is QueueKind.GENERAL and a.benefit is None:
            ids = [position[c.organization_id] for c in a.choices]
            assert max(ids) - min(ids) <= 8  # neighbours by id within the locality


def test_phones_are_kazakh_mobiles_distinct_per_family(applications: list[Application]) -> None:
    phones = {a.applicant.phone.reveal() for a in applications}
    assert all(
        p[:5] in {"+7700", "+7701", "+7702", "+7705", "+7707", "+7708"}
        or p[:5] in {"+7771", "+7775", "+7776", "+7777", "+7778"}
        for p in phones
    )
    assert len(phones) == len({a.applicant.iin for a in applications})


def test_submission_times_are_aware_in_the_five_years_before_as_of(
    applications: list[Application],
) -> None:
    for a in applications:
        assert a.submitted_at.tzinfo is KAZAKHSTAN
        assert AS_OF.timestamp() - 1826 * 86_400 <= a.submitted_at.timestamp()
        assert a.submitted_at.timestamp() <= AS_OF.timestamp()
        assert a.submitted_at.date() > a.child.birth_date
    years = {a.submitted_at.year for a in applications}
    assert years == set(range(AS_OF.year - 5, AS_OF.year + 1))


def test_equal_submission_times_exist_to_exercise_tie_breaking(
    applications: list[Application],
) -> None:
    times = collections.Counter(a.submitted_instant for a in applications)
    assert sum(1 for n in times.values() if n > 1) >= 10
    twins = [(x, y) for x, y in itertools.pairwise(applications) if x.applicant == y.applicant]
    assert twins
    for x, y in twins:
        assert x.child.birth_date == y.child.birth_date
        assert x.child.iin != y.child.iin
        assert x.child.name.first != y.child.name.first
        assert (x.submitted_at, x.choices) == (y.submitted_at, y.choices)


def test_correctional_applications_have_a_pmpk_conclusion(
    applications: list[Application],
) -> None:
    correctional = [a for a in applications if a.queue_kind is QueueKind.CORRECTIONAL]
    assert 0.005 * len(applications) < len(correctional) < 0.04 * len(applications)
    for a in correctional:
        assert a.pmpk is not None
        assert a.child.birth_date + timedelta(days=365) <= a.pmpk.issued_on
        assert a.pmpk.issued_on <= a.submitted_at.date()
    assert all(a.pmpk is None for a in applications if a.queue_kind is QueueKind.GENERAL)


def test_referrals_from_a_date_fall_after_as_of_and_before_the_age_limit(
    applications: list[Application],
) -> None:
    values = KAZAKHSTAN_POLICY.at(AS_OF)
    wanted = [a for a in applications if a.referral.timing is ReferralTiming.FROM_DATE]
    assert 0.05 * len(applications) < len(wanted) < 0.15 * len(applications)
    for a in wanted:
        desired = a.referral.desired_date
        assert desired is not None
        assert AS_OF.date() < desired < values.age_limit_date(a.child.birth_date)


def test_benefit_shares_are_as_documented(country: list[Organization]) -> None:
    generated = list(generate_applications(10_000, country, seed=SEED + 2, as_of=AS_OF))
    claims = [a.benefit for a in generated if a.benefit is not None]
    extraordinary = [c for c in claims if c.category.tier is Tier.EXTRAORDINARY]
    first = [c for c in claims if c.category.tier is Tier.FIRST_PRIORITY]
    assert 0.01 < len(extraordinary) / len(generated) < 0.03
    assert 0.09 < len(first) / len(generated) < 0.15
    verified = sum(c.status is BenefitStatus.VERIFIED for c in extraordinary)
    assert 0.3 < verified / len(extraordinary) < 0.7
    assert sum(c.status is BenefitStatus.VERIFIED for c in first) / len(first) > 0.75
    assert {c.status for c in claims} == {BenefitStatus.VERIFIED, BenefitStatus.PENDING}
    assert {int(c.category) for c in claims} == set(range(1, 12))
    categories = collections.Counter(c.category for c in first)
    assert categories.most_common(1)[0][0] is BenefitCategory.LARGE_FAMILY
    for c in claims:
        assert c.claimed_at is not None
        assert c.claimed_at.timestamp() <= AS_OF.timestamp()
        if c.decided_at is not None:
            assert c.claimed_at.timestamp() <= c.decided_at.timestamp() <= AS_OF.timestamp()


def test_category_9_chooses_only_inclusive_or_sanatorium_groups(
    country: list[Organization],
) -> None:
    index = by_id(country)
    generated = generate_applications(10_000, country, seed=SEED + 2, as_of=AS_OF)
    special = [
        a
        for a in generated
        if a.benefit is not None and a.benefit.category is BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS
    ]
    assert special
    for a in special:
        for choice in a.choices:
            group = index[choice.organization_id].group(a.group_key(choice))
            assert group is not None
            assert group.specialization is not GroupSpecialization.REGULAR


# --- organizations ------------------------------------------------------------------------------


def test_organizations_have_the_documented_shape(country: list[Organization]) -> None:
    ids = [o.id for o in country]
    assert ids == sorted(ids) == [f"org-{i:05d}" for i in range(1, 121)]
    years = set(range(AS_OF.year - 6, AS_OF.year))
    for o in country:
        general = [g for g in o.groups if g.key.queue_kind is QueueKind.GENERAL]
        assert {(g.key.birth_year, g.key.language.code) for g in general} == {
            (y, lang) for y in years for lang in ("ru", "kk")
        }
        assert all(15 <= g.capacity <= 30 for g in general)
        assert all(0 <= g.free_places <= 3 for g in o.groups)
        assert o.is_free or o.ownership is Ownership.PRIVATE
        assert o.address.startswith(o.locality + ", улица ")
    state = sum(o.ownership is Ownership.STATE for o in country) / len(country)
    assert 0.7 < state < 0.95
    assert any(g.key.queue_kind is QueueKind.CORRECTIONAL for o in country for g in o.groups)
    assert any(
        g.specialization is not GroupSpecialization.REGULAR for o in country for g in o.groups
    )
    free = collections.Counter(g.free_places for o in country for g in o.groups)
    assert free.most_common(1)[0][0] == 0


def test_localities_are_consecutive_blocks_of_ids(country: list[Organization]) -> None:
    localities = [o.locality for o in country]
    assert list(dict.fromkeys(localities)) == [f"г. Город-00{k}" for k in range(1, 7)]
    assert collections.Counter(localities) == {f"г. Город-00{k}": 20 for k in range(1, 7)}
    city = generate_organizations(5, seed=SEED, as_of=AS_OF.date(), locality="г. Сатпаев")
    assert {o.locality for o in city} == {"г. Сатпаев"}


def test_neighbours_by_id_are_near_on_the_map() -> None:
    organizations = generate_organizations(400, seed=SEED, as_of=AS_OF.date())
    points = [o.location for o in organizations if o.location is not None]
    assert len(points) == 400
    near = [a.distance_km(b) for a, b in itertools.pairwise(points)]
    far = [a.distance_km(b) for a, b in zip(points, points[200:] + points[:200], strict=True)]
    assert sum(near) / len(near) < 0.5 * sum(far) / len(far)
    shakhtinsk = (49.7116, 72.5925)  # the default centre
    assert max(math.dist((p.latitude, p.longitude), shakhtinsk) for p in points) < 0.5


# --- broken applications, files, errors ---------------------------------------------------------


def test_broken_share_breaks_each_application_once(city: list[Organization]) -> None:
    index = by_id(city)
    codes: collections.Counter[str] = collections.Counter()
    generated = list(generate_applications(600, city, seed=SEED, as_of=AS_OF, broken_share=0.2))
    for a in generated:
        found = [v.code for v in check_eligibility(a, index, policy=KAZAKHSTAN_POLICY, as_of=AS_OF)]
        assert len(found) <= 1
        codes.update(found)
    assert set(codes) == set(BROKEN_CODES)
    assert 60 < sum(codes.values()) < 180
    for a in generated:  # broken or not, each still round-trips
        assert parse_application(line(a)) == a


def test_write_city_writes_files_that_parse(tmp_path: Path, city: list[Organization]) -> None:
    organizations_path, applications_path = write_city(
        tmp_path / "city", applications=300, organizations=60, seed=SEED, as_of=AS_OF
    )
    assert (organizations_path.name, applications_path.name) == (
        "organizations.json",
        "applications.jsonl",
    )
    organizations_text = organizations_path.read_text(encoding="utf-8")
    assert organizations_text.startswith("[\n{") and organizations_text.endswith("}\n]\n")
    assert parse_organizations(organizations_text) == city
    lines = applications_path.read_text(encoding="utf-8").splitlines()
    expected = generate_applications(300, city, seed=SEED, as_of=AS_OF)
    assert [parse_application(text) for text in lines] == list(expected)
    again = write_city(
        tmp_path / "again", applications=300, organizations=60, seed=SEED, as_of=AS_OF
    )
    assert [p.read_bytes() for p in again] == [
        organizations_path.read_bytes(),
        applications_path.read_bytes(),
    ]


def test_write_city_checks_its_arguments_before_writing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least one organization"):
        write_city(tmp_path / "none", applications=10, organizations=0, seed=1, as_of=AS_OF)
    assert not (tmp_path / "none").exists()


def test_bad_arguments_are_refused(city: list[Organization]) -> None:
    with pytest.raises(InputError, match="count"):
        generate_organizations(-1, seed=1, as_of=AS_OF.date())
    with pytest.raises(InputError, match="localities"):
        generate_organizations(3, seed=1, as_of=AS_OF.date(), localities=4)
    with pytest.raises(InputError, match="count"):
        generate_applications(-1, city, seed=1, as_of=AS_OF)
    with pytest.raises(InputError, match="broken_share"):
        generate_applications(1, city, seed=1, as_of=AS_OF, broken_share=1.5)
    with pytest.raises(InputError, match="at least one organization"):
        generate_applications(1, [], seed=1, as_of=AS_OF)
    with pytest.raises(InputError, match="share an id"):
        generate_applications(1, [city[0], city[0]], seed=1, as_of=AS_OF)
    with pytest.raises(InputError, match="no organization has a general group"):
        generate_applications(1, city, seed=1, as_of=AS_OF + timedelta(days=3_000))
    with pytest.raises(TimeError):
        generate_applications(1, city, seed=1, as_of=datetime(2024, 9, 2))  # noqa: DTZ001


def test_the_same_city_in_two_processes_is_byte_identical(tmp_path: Path) -> None:
    """Determinism across processes and hash seeds: nothing depends on set or dict order
    of strings, the clock or global random state."""
    script = (
        "import sys; from datetime import datetime; from pathlib import Path; "
        "from edqueue.testing.city import write_city; from edqueue.models import KAZAKHSTAN; "
        "write_city(Path(sys.argv[1]), applications=300, organizations=12, seed=2024, "
        "as_of=datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN))"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        directory = tmp_path / hash_seed
        directory.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(directory)], check=True, env=env)
        outputs.append(b"".join(p.read_bytes() for p in sorted(directory.iterdir())))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) > 10_000


# --- where the generator lives: edqueue.testing.city, and the old edqueue.generate ----------


def test_the_old_module_still_gives_each_name_and_warns() -> None:
    import edqueue.generate
    from edqueue.testing import city

    for name in edqueue.generate.__all__:
        with pytest.warns(DeprecationWarning, match=rf"import {name} from edqueue\.testing\.city"):
            moved = getattr(edqueue.generate, name)
        assert moved is getattr(city, name)
    with pytest.warns(DeprecationWarning, match="edqueue.testing.city"):
        from edqueue.generate import write_city as old_write_city
    assert old_write_city is write_city
    with pytest.raises(AttributeError, match="_Generator"):
        edqueue.generate._Generator  # noqa: B018 - only the public names moved with a warning


def test_the_city_needs_neither_hypothesis_nor_pytest() -> None:
    """``edqueue generate`` runs without the testing extra: importing the city (and the
    package edqueue.testing) imports neither; a strategy imports hypothesis when asked for."""
    code = (
        "import sys, edqueue.testing.city, edqueue.cli; "
        "print('hypothesis' in sys.modules, 'pytest' in sys.modules); "
        "from edqueue.testing import iins; "
        "print('hypothesis' in sys.modules, 'pytest' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["False False", "True False"]


@given(st.dates(date(1900, 1, 1), date(2099, 12, 31)), st.booleans(), st.integers(0, 9_999))
def test_the_generators_split_check_sums_follow_the_iin_rule(
    born: date, male: bool, serial: int
) -> None:
    key = 2 * born.toordinal() + male
    state = SimpleNamespace(iin_serials={key: _Serials(born, male, serial)})
    made = _Generator.iin(state, born.toordinal(), male)  # type: ignore[arg-type]
    eleven = f"{state.iin_serials[key].prefix}{serial:04d}"
    expected = iin_check_digit(eleven.encode("ascii"))
    if expected is None:  # no IIN on this serial: the next one that has a check digit
        assert made is None or made[:11] > eleven
    else:
        assert made == f"{eleven}{expected}"
