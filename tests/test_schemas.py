"""The JSON interchange format: the issue's examples, round trips, and every malformed input
giving an EdqueueError whose message names the field and never the person."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue.errors import (
    ApplicationError,
    BenefitError,
    EdqueueError,
    IinError,
    OrganizationError,
    PersonError,
    PhoneError,
)
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    ApplicationStatus,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Consent,
    FullName,
    GroupSpecialization,
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationName,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    Tier,
    instant,
)
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.schemas import (
    ApplicationSchema,
    OrganizationSchema,
    dump_application,
    dump_organization,
    json_schema,
    load_application,
    parse_application,
    parse_organizations,
)
from edqueue.testing import applications, organizations

# --- the format, written by hand --------------------------------------------------------------

SEED_LINE = (
    '{"number": "1292583", "submitted_at": "2024-02-05T10:15:00+06:00", '
    '"applicant": {"iin": "900315400017", "name": "Ахметова Айгуль Серикқызы", '
    '"phone": "+77010000001"}, '
    '"child": {"iin": "200623500011", "name": "Ахметов Алихан Ержанұлы", '
    '"birth_date": "2020-06-23", "birth_certificate": "9-20-0000219 от 23.06.2020"}, '
    '"queue": "general", '
    '"choices": [{"organization": "shakhtinsk-saltanat", "language": "ru"}, '
    '{"organization": "shakhtinsk-karlygash", "language": "kk"}], '
    '"referral": {"when": "immediately"}, "benefit": null}'
)

# The issue's own example line, with the seed's (invented, valid) people.
ISSUE_LINE = (
    '{"number": "1292583", "submitted_at": "2026-11-20T10:15:00+05:00", '
    '"applicant": {"iin": "900315400017", "name": "Ахметова Айгуль Серикқызы", '
    '"phone": "+77011234567"}, '
    '"child": {"iin": "200623500011", "name": "Ахметов Алихан Ержанұлы", '
    '"birth_date": "2020-06-23"}, '
    '"queue": "general", '
    '"choices": [{"organization": "shakhtinsk-saltanat", "language": "ru"}], '
    '"referral": {"when": "from", "date": "2027-09-01"}, '
    '"benefit": {"category": 8, "status": "verified"}}'
)

SEED_ORGANIZATIONS = """[
{"id": "shakhtinsk-saltanat", "name": "КГКП ясли-сад \\"Салтанат\\"",
 "name_kk": "\\"Салтанат\\" бөбекжай-бақшасы КМҚК", "kind": "state",
 "locality": "г. Шахтинск",
 "address": "город Шахтинск, улица Имени 40-летия Победы, здание 50/2",
 "location": [49.7116, 72.5925], "education_fee": 0, "food_cost": [16000, 17000],
 "electronic_contracts": true,
 "groups": [
  {"birth_year": 2020, "language": "ru", "queue": "general", "places": 25, "free_places": 2},
  {"birth_year": 2020, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2021, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2021, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2022, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2022, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2023, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2023, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2024, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2024, "language": "kk", "queue": "general", "places": 25, "free_places": 0}
 ]},
{"id": "shakhtinsk-karlygash", "name": "КГКП \\"Ясли-сад \\"Карлыгаш\\"",
 "name_kk": "\\"Қарлығаш\\" бөбекжай-бақшасы КМҚК", "kind": "state",
 "locality": "г. Шахтинск", "address": "город Шахтинск, улица Ленинградская, здание 69 А",
 "location": [49.7068, 72.6003], "food_cost": [16000, 17000], "electronic_contracts": true,
 "groups": [
  {"birth_year": 2024, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2024, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2023, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2023, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2022, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2022, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2021, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2021, "language": "ru", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2020, "language": "kk", "queue": "general", "places": 25, "free_places": 0},
  {"birth_year": 2020, "language": "ru", "queue": "general", "places": 25, "free_places": 0}
 ]}
]"""

# What the seed's people look like in clear: none of it may appear in an error.
PERSONAL = (
    "900315400017",
    "200623500011",
    "+77010000001",
    "7010000001",
    "Ахметова",
    "Айгуль",
    "Серикқызы",
    "Ахметов",
    "Алихан",
    "Ержанұлы",
)  # not the certificate 9-20-0000219: the domain's messages give it as the example


def seed_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SEED_LINE)
    return data


def shown(error: BaseException) -> str:
    """Everything a user or a log may see of ``error``."""
    return " ".join([str(error), repr(error), *getattr(error, "__notes__", [])])


def assert_no_personal_data(error: BaseException) -> None:
    text = shown(error)
    for value in PERSONAL:
        assert value not in text


def outcome(attempt: Callable[[], object]) -> object:
    """The result of ``attempt``, or the EdqueueError it raised (any other exception fails)."""
    try:
        return attempt()
    except EdqueueError as error:
        return error


# --- the examples parse to the expected records -------------------------------------------------


def test_the_seed_application_line_parses_to_the_seed_record() -> None:
    application = parse_application(SEED_LINE)
    assert application == seed_application()
    assert application.submitted_at.tzinfo is KAZAKHSTAN
    # the defaults of an export: both consents checked, the representative confirmed, active
    assert application.consents == frozenset(Consent)
    assert application.representative_status is LegalRepresentativeStatus.CONFIRMED
    assert application.status is ApplicationStatus.ACTIVE


def test_text_bytes_and_a_decoded_object_read_alike() -> None:
    expected = seed_application()
    assert parse_application(SEED_LINE.encode()) == expected
    assert parse_application(seed_data()) == expected
    assert load_application(seed_data()) == expected


def test_the_issue_example_line_parses() -> None:
    application = parse_application(ISSUE_LINE)
    assert application.number == "1292583"
    assert application.submitted_at == datetime(2026, 11, 20, 10, 15, tzinfo=KAZAKHSTAN)
    assert application.submitted_at.tzinfo is KAZAKHSTAN
    assert application.applicant.phone.reveal() == "+77011234567"
    assert application.child.name == FullName("Ахметов", "Алихан", "Ержанұлы")
    assert application.child.birth_certificate is None
    assert application.referral == ReferralPreference.from_date(date(2027, 9, 1))
    assert application.benefit == BenefitClaim(BenefitCategory.LARGE_FAMILY, BenefitStatus.VERIFIED)
    assert application.tier is Tier.FIRST_PRIORITY
    assert application.queue_kind is QueueKind.GENERAL
    assert [c.organization_id for c in application.choices] == ["shakhtinsk-saltanat"]


def test_the_seed_organizations_parse_from_an_array_and_from_json_lines() -> None:
    expected = list(shakhtinsk_organizations())
    assert parse_organizations(SEED_ORGANIZATIONS) == expected
    lines = "\r\n".join(json.dumps(item) for item in json.loads(SEED_ORGANIZATIONS))
    assert parse_organizations("\ufeff" + lines + "\r\n\n") == expected


def test_the_seed_application_is_written_in_the_documented_form() -> None:
    expected = seed_data() | {
        "pmpk": None,
        "status": "active",
        "consents": ["notifications", "offer_agreement"],
        "representative_status": "confirmed",
    }
    dumped = dump_application(seed_application())
    assert dumped == expected
    assert list(dumped) == list(expected)  # the issue's key order
    assert json.loads(json.dumps(dumped)) == dumped


def test_an_organization_is_written_with_every_field() -> None:
    saltanat = shakhtinsk_organizations()[0]
    dumped = dump_organization(saltanat)
    assert dumped["kind"] == "state"
    assert dumped["location"] == [49.7116, 72.5925]
    assert dumped["food_cost"] == [16000, 17000]
    assert dumped["groups"][0] == {
        "birth_year": 2020,
        "language": "kk",
        "queue": "general",
        "places": 25,
        "free_places": 0,
        "specialization": "regular",
    }
    assert parse_organizations(json.dumps([dumped])) == [saltanat]


def test_optional_fields_are_read() -> None:
    data = seed_data() | {
        "queue": "correctional",
        "pmpk": {"number": "ПМПК-17", "issued_on": "2023-04-01"},
        "status": "referred",
        "consents": ["notifications"],
        "representative_status": "not_confirmed",
        "benefit": {
            "category": 9,
            "status": "pending",
            "claimed_at": "2024-02-05T10:15:00+06:00",
            "decided_at": None,
        },
    }
    application = parse_application(data)
    assert application.pmpk == PmpkConclusion("ПМПК-17", date(2023, 4, 1))
    assert application.status is ApplicationStatus.REFERRED
    assert application.consents == frozenset({Consent.NOTIFICATIONS})
    assert application.representative_status is LegalRepresentativeStatus.NOT_CONFIRMED
    assert application.benefit is not None
    assert application.benefit.claimed_at == datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
    assert application.tier is Tier.NONE
    group = json.loads(SEED_ORGANIZATIONS)[0]["groups"][0] | {"specialization": "inclusive"}
    organization = parse_organizations(
        json.dumps([json.loads(SEED_ORGANIZATIONS)[0] | {"groups": [group]}])
    )[0]
    assert organization.groups[0].specialization is GroupSpecialization.INCLUSIVE


# --- names ------------------------------------------------------------------------------------


def with_names(applicant: Any, child: Any = None) -> dict[str, Any]:
    data = seed_data()
    data["applicant"]["name"] = applicant
    if child is not None:
        data["child"]["name"] = child
    return data


def test_a_name_is_surname_given_name_and_the_rest_as_patronymic() -> None:
    two_words = parse_application(with_names("Ахметова  Айгуль", " Ахметов Алихан Ержан ұлы "))
    assert two_words.applicant.name == FullName("Ахметова", "Айгуль")
    assert two_words.child.name == FullName("Ахметов", "Алихан", "Ержан ұлы")
    assert dump_application(two_words)["child"]["name"] == "Ахметов Алихан Ержан ұлы"


def test_a_name_of_one_word_is_refused_with_the_field_named() -> None:
    with pytest.raises(PersonError) as caught:
        parse_application(with_names("Ахметова"))
    assert caught.value.code == "person.name"
    assert "field: applicant.name" in caught.value.__notes__
    assert_no_personal_data(caught.value)


def test_a_surname_with_a_space_is_written_in_parts_and_read_back() -> None:
    name = FullName("Ким Ли", "Анна Мария", "Серик кызы")
    application = attrs.evolve(
        seed_application(), applicant=attrs.evolve(seed_application().applicant, name=name)
    )
    dumped = dump_application(application)
    assert dumped["applicant"]["name"] == {
        "last": "Ким Ли",
        "first": "Анна Мария",
        "patronymic": "Серик кызы",
    }
    assert load_application(json.loads(json.dumps(dumped))) == application
    parts = parse_application(with_names({"last": "Ахметова", "first": "Айгуль"}))
    assert parts.applicant.name == FullName("Ахметова", "Айгуль")


# --- times ------------------------------------------------------------------------------------


def submitted(text: str) -> datetime:
    return parse_application(seed_data() | {"submitted_at": text}).submitted_at


def test_a_kazakhstan_offset_gets_the_kazakhstan_zone() -> None:
    before = submitted("2023-05-01T09:00:00+06:00")  # UTC+6 in Almaty before 2024-03-01
    after = submitted("2024-05-01T09:00:00+05:00")
    assert before.tzinfo is KAZAKHSTAN
    assert after.tzinfo is KAZAKHSTAN
    assert before.utcoffset() == timedelta(hours=6)
    assert after.utcoffset() == timedelta(hours=5)


def test_the_repeated_hour_of_2024_02_29_keeps_its_fold() -> None:
    first = submitted("2024-02-29T23:30:00+06:00")
    second = submitted("2024-02-29T23:30:00+05:00")
    assert (first.fold, second.fold) == (0, 1)
    assert second == datetime(2024, 2, 29, 23, 30, fold=1, tzinfo=KAZAKHSTAN)
    assert instant(second) - instant(first) == timedelta(hours=1)


def test_another_offset_is_kept_as_a_fixed_offset() -> None:
    moscow = submitted("2024-05-01T09:00:00+03:00")
    utc = submitted("2024-05-01T09:00:00Z")
    assert type(moscow.tzinfo) is timezone
    assert moscow.utcoffset() == timedelta(hours=3)
    assert utc.tzinfo is UTC


def test_an_offset_in_seconds_is_written_in_utc() -> None:
    # Almaty kept local mean time (UTC+5:07:48) before 1924; RFC 3339 offsets are minutes.
    old = datetime(1920, 1, 1, 12, 0, tzinfo=KAZAKHSTAN)
    application = attrs.evolve(seed_application(), submitted_at=old)
    dumped = dump_application(application)
    assert dumped["submitted_at"].endswith("+00:00")
    assert load_application(dumped) == application


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("submitted_at", "2024-02-05T10:15:00", "submitted_at"),
        (
            "benefit",
            {"category": 8, "status": "verified", "claimed_at": "2024-02-05T10:15"},
            "benefit.claimed_at",
        ),
    ],
)
def test_a_naive_time_is_refused(key: str, value: Any, field: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        parse_application(seed_data() | {key: value})
    assert caught.value.code == "application.type"
    assert f"{field}: no UTC offset" in caught.value.message


def test_a_time_out_of_range_in_utc_is_refused() -> None:
    with pytest.raises(ApplicationError, match="out of range"):
        submitted("0001-01-01T00:00:00+05:00")


# --- round trips ------------------------------------------------------------------------------

_WORD = st.text(st.characters(exclude_categories=("Cc", "Cs", "Z")), min_size=1, max_size=12)
_PART = st.lists(_WORD, min_size=1, max_size=3).map(" ".join)
names = st.builds(FullName, _PART, _PART, st.none() | _PART)
pmpks = st.builds(
    PmpkConclusion,
    st.text(min_size=1, max_size=64).filter(str.strip),
    st.dates(date(2015, 1, 1), date(2030, 12, 31)),
)


@st.composite
def any_applications(draw: st.DrawFn) -> Application:
    """Applications with every field varied, not only those ``applications()`` varies."""
    application = draw(
        applications(
            languages=(Language.RUSSIAN, Language.KAZAKH, Language("en")),
            statuses=tuple(ApplicationStatus),
        )
    )
    return attrs.evolve(
        application,
        applicant=attrs.evolve(application.applicant, name=draw(names)),
        child=attrs.evolve(application.child, name=draw(names)),
        pmpk=draw(st.none() | pmpks),
        consents=draw(st.frozensets(st.sampled_from(Consent))),
        representative_status=draw(st.sampled_from(LegalRepresentativeStatus)),
    )


@st.composite
def any_organizations(draw: st.DrawFn) -> Organization:
    organization = draw(organizations(min_groups=0))
    kk = draw(st.none() | st.just(f"{organization.name.ru} (kk)"))
    return attrs.evolve(
        organization,
        name=OrganizationName(organization.name.ru, kk),
        location=draw(st.none() | st.just(organization.location)),
        food_cost=draw(st.none() | st.just(organization.food_cost)),
    )


@given(any_applications())
def test_an_application_survives_its_schema_and_its_json(application: Application) -> None:
    schema = ApplicationSchema.from_domain(application)
    assert schema.to_domain() == application
    assert schema.to_domain().submitted_at.tzinfo is application.submitted_at.tzinfo
    text = json.dumps(dump_application(application), ensure_ascii=False)
    back = parse_application(text)
    assert back == application
    assert back.submitted_at.utcoffset() == application.submitted_at.utcoffset()
    assert back.submitted_at.tzinfo is KAZAKHSTAN  # the strategy draws Almaty times
    assert load_application(json.loads(text)) == application


@given(any_organizations())
def test_an_organization_survives_its_schema_and_its_json(organization: Organization) -> None:
    assert OrganizationSchema.from_domain(organization).to_domain() == organization
    one = json.dumps(dump_organization(organization), ensure_ascii=False)
    assert parse_organizations(one) == [organization]
    assert parse_organizations(f"[{one}]") == [organization]


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(9000, 1, 1),  # noqa: DTZ001
        timezones=st.builds(
            lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-1439, 1439)
        ),
    )
)
def test_the_instant_and_the_offset_of_any_time_are_kept(moment: datetime) -> None:
    application = attrs.evolve(seed_application(), submitted_at=moment)
    assert ApplicationSchema.from_domain(application).to_domain().submitted_at is moment
    back = load_application(json.loads(json.dumps(dump_application(application))))
    assert instant(back.submitted_at) == instant(moment)
    assert back.submitted_at.utcoffset() == moment.utcoffset()


# --- malformed input --------------------------------------------------------------------------


def mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = seed_data()
    change(data)
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for key in parents:
            target = target[key]
        del target[last]

    return change


MALFORMED: list[tuple[str, Any, type[EdqueueError], str, str]] = [
    # (case, input, error class, code, text expected in the message or the notes)
    ("bad JSON", SEED_LINE[:-1], ApplicationError, "application.type", "not valid JSON"),
    ("not an object", "[1, 2]", ApplicationError, "application.type", "JSON object"),
    ("not JSON at all", 42, ApplicationError, "application.type", "not int"),
    ("bytes not UTF-8", b"\xff\xfe{}", ApplicationError, "application.type", "the application"),
    (
        "IIN checksum",
        mutate(_set("applicant.iin", "900315400018")),
        IinError,
        "iin.checksum",
        "field: applicant.iin",
    ),
    (
        "child IIN format",
        mutate(_set("child.iin", "20062350001")),
        IinError,
        "iin.format",
        "field: child.iin",
    ),
    (
        "IIN as a number",
        mutate(_set("child.iin", 200623500011)),
        ApplicationError,
        "application.type",
        "child.iin",
    ),
    (
        "naive submission time",
        mutate(_set("submitted_at", "2024-02-05T10:15:00")),
        ApplicationError,
        "application.type",
        "submitted_at",
    ),
    (
        "unknown field",
        mutate(_set("benfit", None)),
        ApplicationError,
        "application.type",
        "benfit: not a field",
    ),
    (
        "unknown field named by an IIN",
        mutate(_set("900315400017", 1)),
        ApplicationError,
        "application.type",
        "<key>: not a field",
    ),
    (
        "missing field",
        mutate(_delete("applicant.phone")),
        ApplicationError,
        "application.type",
        "applicant.phone: required",
    ),
    (
        "missing benefit",
        mutate(_delete("benefit")),
        ApplicationError,
        "application.type",
        "benefit: required",
    ),
    (
        "number as an int",
        mutate(_set("number", 1292583)),
        ApplicationError,
        "application.type",
        "number",
    ),
    (
        "choices not a list",
        mutate(_set("choices", {"organization": "x"})),
        ApplicationError,
        "application.type",
        "choices",
    ),
    (
        "category as text",
        mutate(_set("benefit", {"category": "8", "status": "verified"})),
        ApplicationError,
        "application.type",
        "benefit.category",
    ),
    (
        "unknown queue",
        mutate(_set("queue", "special")),
        ApplicationError,
        "application.type",
        "queue",
    ),
    (
        "referral from without a date",
        mutate(_set("referral", {"when": "from"})),
        ApplicationError,
        "application.referral_preference",
        "field: referral",
    ),
    (
        "referral immediately with a date",
        mutate(_set("referral", {"when": "immediately", "date": "2027-09-01"})),
        ApplicationError,
        "application.referral_preference",
        "field: referral",
    ),
    (
        "unknown benefit category",
        mutate(_set("benefit", {"category": 12, "status": "verified"})),
        BenefitError,
        "benefit.category",
        "field: benefit",
    ),
    (
        "landline phone",
        mutate(_set("applicant.phone", "+77212000000")),
        PhoneError,
        "phone.not_mobile",
        "field: applicant.phone",
    ),
    (
        "birth date against the IIN",
        mutate(_set("child.birth_date", "2020-06-24")),
        PersonError,
        "person.child_birth_date_mismatch",
        "field: child.birth_date",
    ),
    (
        "birth certificate text",
        mutate(_set("child.birth_certificate", "9-20-0000219")),
        PersonError,
        "person.birth_certificate",
        "field: child.birth_certificate",
    ),
    (
        "no organizations",
        mutate(_set("choices", [])),
        ApplicationError,
        "application.no_organizations",
        "at least one",
    ),
    (
        "five organizations",
        mutate(_set("choices", [{"organization": f"org-{i}", "language": "ru"} for i in range(5)])),
        ApplicationError,
        "application.too_many_organizations",
        "at most 4",
    ),
    (
        "language not a code",
        mutate(_set("choices.0.language", "русский")),
        OrganizationError,
        "group.language",
        "field: choices[0].language",
    ),
    (
        "pmpk without number",
        mutate(_set("pmpk", {"number": " ", "issued_on": "2023-04-01"})),
        ApplicationError,
        "application.pmpk",
        "field: pmpk",
    ),
    (
        "unknown consent",
        mutate(_set("consents", ["marketing"])),
        ApplicationError,
        "application.type",
        "consents[0]",
    ),
    (
        "decided before claimed",
        mutate(
            _set(
                "benefit",
                {
                    "category": 8,
                    "status": "verified",
                    "claimed_at": "2024-02-05T10:15:00+06:00",
                    "decided_at": "2024-02-04T10:15:00+06:00",
                },
            )
        ),
        BenefitError,
        "benefit.status",
        "field: benefit",
    ),
    (
        "a value Python has but JSON has not",
        mutate(_set("child.birth_date", date(2020, 6, 23))),
        ApplicationError,
        "application.type",
        "JSON values",
    ),
]


@pytest.mark.parametrize(
    ("line", "error_class", "code", "said"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_applications_raise_a_named_error_without_personal_data(
    line: Any, error_class: type[EdqueueError], code: str, said: str
) -> None:
    with pytest.raises(EdqueueError) as caught:
        parse_application(line)
    assert type(caught.value) is error_class
    assert caught.value.code == code
    assert said in shown(caught.value)
    assert_no_personal_data(caught.value)


def test_every_shape_problem_of_a_line_is_reported_at_once() -> None:
    data = mutate(_delete("applicant.phone"))
    data["queue"] = "special"
    data["child"]["name"] = 5
    with pytest.raises(ApplicationError) as caught:
        parse_application(data)
    for field in ("applicant.phone", "queue", "child.name"):
        assert f"{field}:" in caught.value.message


def organization_text(**changes: Any) -> str:
    item = json.loads(SEED_ORGANIZATIONS)[0] | changes
    return json.dumps(item, ensure_ascii=False)


def test_a_malformed_organization_line_is_named_by_its_line() -> None:
    good = organization_text()
    with pytest.raises(OrganizationError) as caught:
        parse_organizations(good + "\n\n" + good.replace("shakhtinsk-saltanat", "b")[:-1])
    assert caught.value.code == "organization.type"
    assert caught.value.message.startswith("line 3: ")
    assert "not valid JSON" in caught.value.message


@pytest.mark.parametrize(
    ("text", "code", "said"),
    [
        (organization_text(kind="public"), "organization.type", "kind: Input should be"),
        (organization_text(location=None) + "x", "organization.type", "line 1"),
        (
            organization_text(groups=[{"birth_year": 2020, "language": "ru", "queue": "general"}]),
            "organization.type",
            "groups[0].places: required",
        ),
        (
            organization_text(
                groups=[
                    {
                        "birth_year": 2020,
                        "language": "ru",
                        "queue": "general",
                        "places": "25",
                        "free_places": 0,
                    }
                ]
            ),
            "organization.type",
            "groups[0].places: Input should be a valid integer",
        ),
        (
            "[" + organization_text() + ", {}]",
            "organization.type",
            "[1].id: required",
        ),
        ('{"a": 1}', "organization.type", "a: not a field"),
        ("[1]", "organization.type", "[0]: must be a JSON object"),
        (
            organization_text(
                groups=[
                    {
                        "birth_year": 2020,
                        "language": "ru",
                        "queue": "general",
                        "places": 1,
                        "free_places": 2,
                    }
                ]
            ),
            "group.places",
            "field: groups[0]",
        ),
        (organization_text(location=[100, 72]), "organization.location", "field: location"),
        (organization_text(food_cost=[10, 5]), "organization.food_cost", "field: food_cost"),
        (
            organization_text() + "\n" + organization_text(),
            "organization.id",
            "line 1 and in line 2",
        ),
    ],
)
def test_malformed_organizations_raise_a_named_error(text: str, code: str, said: str) -> None:
    with pytest.raises(OrganizationError) as caught:
        parse_organizations(text)
    assert caught.value.code == code
    assert said in shown(caught.value)


def test_a_domain_error_in_an_organization_notes_where_it_is() -> None:
    with pytest.raises(OrganizationError) as caught:
        parse_organizations(organization_text() + "\n" + organization_text(id="x", address=" "))
    assert caught.value.code == "organization.address"
    assert "in line 2 (organization id 'x')" in caught.value.__notes__


def test_blank_text_is_no_organizations_and_not_text_is_an_error() -> None:
    assert parse_organizations(" \n\r\n") == []
    assert parse_organizations("[]") == []
    with pytest.raises(OrganizationError, match="JSON text"):
        parse_organizations(b"[]")  # type: ignore[arg-type]


def test_a_line_separator_inside_a_json_string_does_not_split_the_line() -> None:
    address = "город Шахтинск,\u2028улица Ленинградская"
    (organization,) = parse_organizations(organization_text(address=address))
    assert organization.address == address


# --- fuzz -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, inner in items:
        yield (*prefix, key)
        yield from paths(inner, (*prefix, key))


FULL_SEED = dump_application(
    attrs.evolve(
        seed_application(),
        benefit=BenefitClaim(
            BenefitCategory.ORPHANS,
            BenefitStatus.VERIFIED,
            datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN),
            datetime(2024, 2, 6, 10, 15, tzinfo=KAZAKHSTAN),
        ),
        pmpk=PmpkConclusion("17", date(2023, 4, 1)),
        referral=ReferralPreference.from_date(date(2024, 9, 1)),
    )
)
SEED_PATHS = sorted(paths(FULL_SEED), key=repr)
# text that comes close to what the fields want, so that the domain's checks are reached
near_values = st.sampled_from(
    (
        *("", " ", "0", "900315400017", "200623500011", "+77010000001", "8 701 000 00 01"),
        *("ru", "x y", "2020-06-23", "2024-02-05T10:15:00+06:00", "from", "immediately"),
        *("general", "correctional", "verified", "9 от 01.01.2020", "Ким Ли"),
    )
)


def checked(attempt: Callable[[], object]) -> None:
    """``attempt`` returns an Application or raises an EdqueueError that hides the person."""
    result = outcome(attempt)
    if isinstance(result, EdqueueError):
        assert_no_personal_data(result)
    else:
        assert isinstance(result, Application)


@given(json_values)
def test_any_json_value_gives_an_application_or_an_edqueue_error(value: Any) -> None:
    checked(lambda: parse_application(value))
    checked(lambda: parse_application(json.dumps(value)))


@given(st.text() | st.binary())
def test_any_text_gives_an_application_or_an_edqueue_error(text: str | bytes) -> None:
    checked(lambda: parse_application(text))
    if isinstance(text, str):
        result = outcome(lambda: parse_organizations(text))
        assert isinstance(result, EdqueueError | list)


@given(st.sampled_from(SEED_PATHS), st.none() | json_values | near_values, st.booleans())
def test_a_damaged_seed_gives_an_application_or_an_edqueue_error(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    data = json.loads(json.dumps(FULL_SEED))
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    checked(lambda: parse_application(data))


@given(st.sampled_from(sorted(paths(dump_organization(shakhtinsk_organizations()[0])), key=repr)))
def test_a_damaged_organization_gives_organizations_or_an_edqueue_error(
    path: tuple[Any, ...],
) -> None:
    data = dump_organization(shakhtinsk_organizations()[0])
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "x"
    result = outcome(lambda: parse_organizations(json.dumps([data])))
    assert isinstance(result, OrganizationError | list)


# --- JSON Schema ------------------------------------------------------------------------------


def test_the_json_schema_describes_both_formats() -> None:
    schema = json_schema()
    assert set(schema) == {"organization", "application"}
    application, organization = schema["application"], schema["organization"]
    assert json.loads(json.dumps(schema)) == schema
    assert set(application["required"]) == {
        "number",
        "submitted_at",
        "applicant",
        "child",
        "queue",
        "choices",
        "referral",
        "benefit",
    }
    assert set(organization["required"]) == {
        "id",
        "name",
        "kind",
        "locality",
        "address",
        "location",
        "groups",
    }
    assert application["additionalProperties"] is False
    assert application["properties"]["submitted_at"]["format"] == "date-time"
    assert organization["$defs"]["QueueKind"]["enum"] == ["general", "correctional"]
    assert application["properties"]["consents"]["default"] == ["notifications", "offer_agreement"]


@given(any_applications())
def test_the_written_keys_are_the_schema_properties(application: Application) -> None:
    schema = json_schema()["application"]
    dumped = dump_application(application)
    assert set(dumped) == set(schema["properties"])
    assert set(dumped["child"]) == set(schema["$defs"]["ChildSchema"]["properties"])
