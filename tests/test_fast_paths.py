"""The fast paths of reading a national file give what the reference paths give.

Each fast path (an IIN's check digit summed over its ASCII codes, the records of an
application or an organization built without naming fields, shared groups and choices, the
text of ``edqueue rank`` written without a dict per line) is compared with the way it
replaces, on generated valid values and on values damaged in the ways files damage them:
equal records, or the same error with the same code, message and notes.
"""

from __future__ import annotations

import gc
import json
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import attrs
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue.cli import _collector_paused, main
from edqueue.errors import EdqueueError, IinError, OrganizationError, PersonError
from edqueue.interchange import rank_lines, rank_text
from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
    Choice,
    FullName,
    Iin,
    Language,
    PhoneNumber,
    Sex,
)
from edqueue.models import identity as identity_module
from edqueue.rules import KAZAKHSTAN_POLICY, QueueBook, check_eligibility
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.schemas import (
    ApplicationSchema,
    OrganizationSchema,
    dump_application,
    dump_organization,
    parse_application,
    read_application,
)
from edqueue.testing import (
    applicants,
    applications,
    iin_prefix,
    iins,
    invalid_iin_texts,
    organizations,
    queue_books,
)

# --- IIN: the check digit over ASCII codes ------------------------------------------------------

_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


def _reference_iin_check(value: str) -> None:
    """The IIN check as it was written before the fast path (the published algorithm)."""
    if not identity_module._IIN_SHAPE.fullmatch(value):
        raise IinError(
            "iin.format", f"an IIN is 12 digits 0-9; got {len(value)} characters that are not"
        )
    digits = [int(c) for c in value]
    if digits[6] not in _CENTURY:
        raise IinError("iin.century", "the 7th digit of an IIN (century and sex) must be 1 to 6")
    expected = Iin.check_digit(value[:11])
    if expected is None or expected != digits[11]:
        raise IinError(
            "iin.checksum", "the IIN's check digit does not match: check the number for a typo"
        )
    try:
        date(_CENTURY[digits[6]] + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise IinError(
            "iin.birth_date", "digits 1-6 of an IIN (YYMMDD) are not a real birth date"
        ) from None


def _outcome(check: Any, value: Any) -> tuple[str, ...]:
    try:
        check(value)
    except EdqueueError as error:
        return (type(error).__name__, error.code, error.message)
    return ("valid",)


_TWELVE_DIGITS = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(
    st.one_of(
        iins().map(Iin.reveal),
        invalid_iin_texts(),
        _TWELVE_DIGITS,
        # digits 1-7 a real or nearly real date, any serial and check digit
        st.builds(
            lambda yy, mm, dd, c, rest: f"{yy:02d}{mm:02d}{dd:02d}{c}{rest:05d}",
            st.integers(0, 99),
            st.integers(0, 13),
            st.integers(0, 32),
            st.integers(0, 9),
            st.integers(0, 99_999),
        ),
    )
)
def test_the_iin_check_gives_the_reference_outcome(text: str) -> None:
    identity_module._valid_iin.cache_clear()
    assert _outcome(identity_module._valid_iin, text) == _outcome(_reference_iin_check, text)
    assert _outcome(Iin, text) == _outcome(_reference_iin_check, text.strip())


@given(iins())
def test_an_iin_gives_the_birth_date_its_digits_encode(iin: Iin) -> None:
    value = iin.reveal()
    century = _CENTURY[int(value[6])]
    assert iin.birth_date == date(century + int(value[:2]), int(value[2:4]), int(value[4:6]))


@given(applicants())
def test_records_keep_an_iin_and_a_phone_of_their_type(applicant: Applicant) -> None:
    again = Applicant(iin=applicant.iin, name=applicant.name, phone=applicant.phone)
    from_text = Applicant(
        iin=applicant.iin.reveal(), name=applicant.name, phone=applicant.phone.reveal()
    )
    assert again == from_text == applicant
    assert again.iin is applicant.iin and again.phone is applicant.phone
    assert type(from_text.iin) is Iin and type(from_text.phone) is PhoneNumber


# --- applications: built without naming fields, errors as field by field -------------------------


def _reference_parse(line: str) -> Application:
    """:func:`parse_application` with the records built field by field only."""
    try:
        schema = ApplicationSchema.model_validate_json(line, strict=True)
    except pydantic.ValidationError:
        return parse_application(line)  # the shape's error: no record is built
    return schema._to_domain_by_field()


def _error_result(error: EdqueueError) -> tuple[Any, ...]:
    """An error as two ways of reading can be compared: its kind, code, message, notes."""
    return (type(error).__name__, error.code, error.message, tuple(getattr(error, "__notes__", ())))


def _result(parse: Any, line: str) -> tuple[Any, ...]:
    """What a parse gives, in a form two parses can be compared by: the record's every
    field as written, its times' zones, or the error's kind, code, message and notes."""
    try:
        application = parse(line)
    except EdqueueError as error:
        return _error_result(error)
    return (
        application,
        dump_application(application),
        repr(application.submitted_at.tzinfo),
        repr(application.child),
        repr(application.applicant),
    )


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


_DAMAGE: list[tuple[tuple[str, ...], st.SearchStrategy[Any]]] = [
    (("number",), st.sampled_from(["0123", " 17 ", "#17", "1" * 19, "", "x"])),
    (("applicant", "iin"), st.one_of(invalid_iin_texts(), _TWELVE_DIGITS)),
    (("child", "iin"), st.one_of(invalid_iin_texts(), iins().map(Iin.reveal))),
    (
        ("applicant", "phone"),
        st.sampled_from(
            [
                "+77172123456",
                "+79161234567",
                "8 (701) 123-45-67",
                "+77011234567 ext. 12",
                "abc",
                "+7701123456",
                "+4915112345678",
                " +77011234567",
            ]
        ),
    ),
    (
        ("applicant", "name"),
        st.one_of(
            st.sampled_from(["Ислам", "", "  A  B  C  D ", "A\x01 B", "A " + "Б" * 101]),
            st.text(max_size=12),
            st.fixed_dictionaries({"last": st.text(max_size=5), "first": st.text(max_size=5)}),
        ),
    ),
    (("child", "name"), st.text(max_size=20)),
    (("child", "birth_date"), st.sampled_from(["2020-01-01", "2021-02-28", "2024-02-29"])),
    (
        ("child", "birth_certificate"),
        st.one_of(
            st.none(),
            st.text(max_size=20),
            st.sampled_from(
                ["??? от 01.01.2020", "7-21-1 от 32.07.2021", "  7 21 2 от  12.07.2021 "]
            ),
        ),
    ),
    (
        ("choices",),
        st.lists(
            st.fixed_dictionaries(
                {
                    "organization": st.sampled_from(["org-1", "org-2", "org 3", "", "-x"]),
                    "language": st.sampled_from(["ru", "kk", "RU", "e", "abcd", "en"]),
                }
            ),
            max_size=5,
        ),
    ),
    (
        ("submitted_at",),
        st.sampled_from(
            [
                "2024-02-29T23:30:00+05:00",
                "2024-02-29T23:30:00+06:00",
                "2024-06-01T10:00:00+06:00",
                "0001-01-01T01:00:00+05:00",
                "9999-12-31T23:00:00-05:00",
                "2020-01-01T00:00:00+05:30",
                "2020-01-01T00:00:00Z",
            ]
        ),
    ),
    (
        ("referral",),
        st.sampled_from(
            [
                {"when": "from"},
                {"when": "immediately", "date": "2025-09-01"},
                {"when": "from", "date": "2035-09-01"},
            ]
        ),
    ),
    (
        ("benefit",),
        st.sampled_from(
            [
                {"category": 0, "status": "verified"},
                {"category": 9, "status": "verified"},
                {
                    "category": 8,
                    "status": "verified",
                    "claimed_at": "2024-01-02T00:00:00+05:00",
                    "decided_at": "2024-01-01T00:00:00+05:00",
                },
            ]
        ),
    ),
    (
        ("pmpk",),
        st.sampled_from([{"number": "", "issued_on": "2023-01-01"}, {"number": "1/2023"}]),
    ),
    (("consents",), st.sampled_from([[], ["notifications"], ["x"]])),
    (("status",), st.sampled_from(["withdrawn", "referred", "x"])),
]


@given(applications(), st.lists(st.sampled_from(range(len(_DAMAGE))), max_size=3), st.data())
def test_an_application_is_read_as_field_by_field(
    application: Any, damaged: list[int], data: st.DataObject
) -> None:
    record = dump_application(application)
    for index in damaged:
        path, values = _DAMAGE[index]
        _set(record, path, data.draw(values))
    line = json.dumps(record, ensure_ascii=data.draw(st.booleans()))
    assert _result(parse_application, line) == _result(_reference_parse, line)


def test_the_national_files_kind_of_line_is_read_as_field_by_field() -> None:
    line = (
        '{"number": "1000001", "submitted_at": "2023-10-26T10:11:51+06:00", "applicant": '
        '{"iin": "921221415457", "name": "Мукашева Меруерт Жандосовна", "phone": '
        '"+77052155558"}, "child": {"iin": "210711516028", "name": "Мукашев Ислам Ержанович", '
        '"birth_date": "2021-07-11", "birth_certificate": "7-21-2143428 от 12.07.2021"}, '
        '"queue": "correctional", "choices": [{"organization": "org-05078", "language": '
        '"kk"}], "referral": {"when": "immediately"}, "benefit": {"category": 8, "status": '
        '"verified", "claimed_at": "2023-10-26T10:11:51+06:00", "decided_at": '
        '"2023-10-26T10:22:54+06:00"}, "pmpk": {"number": "1/2023", "issued_on": '
        '"2023-08-26"}, "status": "active", "consents": ["notifications", '
        '"offer_agreement"], "representative_status": "confirmed"}'
    )
    assert _result(parse_application, line) == _result(_reference_parse, line)
    assert _result(parse_application, line)[0].child.iin.masked == "2107******28"


# --- organizations: shared groups, errors as field by field -------------------------------------

_GROUP_DAMAGE: list[tuple[str, Any]] = [
    ("birth_year", 1800),
    ("birth_year", 2201),
    ("language", "RU"),
    ("language", "e"),
    ("places", -1),
    ("free_places", 31),
    ("free_places", -1),
]


def _organization_result(schema: OrganizationSchema, fast: bool) -> tuple[Any, ...]:
    try:
        organization = schema.to_domain() if fast else schema._to_domain_by_field()
    except EdqueueError as error:
        return _error_result(error)
    return (organization, dump_organization(organization), repr(organization))


@given(
    organizations(),
    st.lists(st.tuples(st.integers(0, 7), st.sampled_from(_GROUP_DAMAGE)), max_size=2),
    st.booleans(),
)
def test_an_organization_is_read_as_field_by_field(
    organization: Any, damaged: list[tuple[int, tuple[str, Any]]], repeat_a_group: bool
) -> None:
    record = dump_organization(organization)
    for index, (field, value) in damaged:
        record["groups"][index % len(record["groups"])][field] = value
    if repeat_a_group:
        record["groups"].append(dict(record["groups"][0]))
    schema = OrganizationSchema.model_validate(record)
    assert _organization_result(schema, fast=True) == _organization_result(schema, fast=False)


def test_equal_groups_are_one_record_and_keep_their_order() -> None:
    group = {"birth_year": 2020, "language": "ru", "queue": "general", "places": 20}
    record = {
        "id": "org-1",
        "name": "Ясли-сад",
        "kind": "state",
        "locality": "г. Шахтинск",
        "address": "улица Абая, 1",
        "location": None,
        "groups": [{**group, "birth_year": 2021, "free_places": 2}, {**group, "free_places": 2}],
    }
    first = OrganizationSchema.model_validate(record).to_domain()
    second = OrganizationSchema.model_validate({**record, "id": "org-2"}).to_domain()
    assert first.groups == OrganizationSchema.model_validate(record)._to_domain_by_field().groups
    assert [g.key.birth_year for g in first.groups] == [2020, 2021]
    assert all(a is b for a, b in zip(first.groups, second.groups, strict=True))


# --- the text of edqueue rank -------------------------------------------------------------------


@given(queue_books())
def test_rank_text_is_what_json_dumps_writes_of_each_rank_line(book: QueueBook) -> None:
    expected = [json.dumps(line, ensure_ascii=False) for line in rank_lines(book)]
    assert list(rank_text(book)) == expected


# --- the collector while the organizations are read ---------------------------------------------


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_and_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with _collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), _collector_paused():
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


def test_a_caller_of_main_gets_nothing_left_frozen(tmp_path: Path) -> None:
    organizations = tmp_path / "organizations.json"
    organizations.write_text(
        json.dumps([dump_organization(o) for o in shakhtinsk_organizations()]), encoding="utf-8"
    )
    applications = tmp_path / "applications.jsonl"
    applications.write_text(json.dumps(dump_application(seed_application())) + "\n")
    assert gc.get_freeze_count() == 0
    status = main(
        [
            "rank",
            f"--organizations={organizations}",
            f"--applications={applications}",
            "--as-of=2024-02-05T10:15:00+06:00",
        ]
    )
    assert status == 0
    assert gc.get_freeze_count() == 0


# --- one file read as a whole: phone numbers and names made once --------------------------------


@given(
    st.lists(applications(), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 5), st.sampled_from(range(len(_DAMAGE)))), max_size=4),
    st.data(),
)
def test_a_file_read_as_a_whole_gives_each_line_as_alone(
    drawn: list[Application], damaged: list[tuple[int, int]], data: st.DataObject
) -> None:
    records = [dump_application(a) for a in drawn]
    for record in records[1:]:  # the same family and names again, as files repeat them
        if data.draw(st.booleans()):
            record["applicant"] = dict(records[0]["applicant"])
            record["child"]["name"] = records[0]["child"]["name"]
    for index, damage in damaged:
        path, values = _DAMAGE[damage]
        _set(records[index % len(records)], path, data.draw(values))
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    made: dict[Any, Any] = {}
    for line in lines:
        assert _result(lambda text: read_application(text, made), line) == _result(
            parse_application, line
        )
    assert all(type(key[1]) is str for key in made)


def test_a_phone_number_met_again_in_a_file_is_one_record() -> None:
    first, second = (
        dump_application(attrs.evolve(seed_application(), number=n)) for n in ("1", "2")
    )
    made: dict[Any, Any] = {}
    one = read_application(json.dumps(first, ensure_ascii=False), made)
    two = read_application(json.dumps(second, ensure_ascii=False), made)
    assert one.applicant.phone is two.applicant.phone
    assert one.applicant.name is two.applicant.name
    assert parse_application(json.dumps(first)).applicant.phone is not one.applicant.phone


# --- a name part of one word is kept as it is ---------------------------------------------------


def _reference_clean_name(value: Any) -> str:
    """How a name part was cleaned before the one-word fast path."""
    if not isinstance(value, str):
        raise PersonError("person.type", "a name must be a string")
    text = " ".join(value.split())
    if not text:
        raise PersonError("person.name", "a name part is empty; give the name as in the ID")
    if len(text) > 100 or re.search(r"[\x00-\x1f\x7f]", text):
        raise PersonError("person.name", "a name part must be at most 100 printable characters")
    return text


@given(
    st.one_of(
        st.text(max_size=8),
        st.text(min_size=95, max_size=105),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
        st.sampled_from(["Ержан ұлы", "Ан\u00a0на", "А\u2028Б", "\x85", "Ә" * 100, "Ә" * 101]),
    )
)
def test_a_name_part_is_cleaned_as_before(text: str) -> None:
    def made(value: str) -> str:
        return FullName(value, "Имя").last

    assert _outcome(made, text) == _outcome(_reference_clean_name, text)
    if _outcome(made, text) == ("valid",):
        assert made(text) == _reference_clean_name(text)


# --- eligibility: each choice's organization and group looked up once ---------------------------


def _iin_born(born: date) -> Iin:
    prefix = iin_prefix(born, Sex.MALE)
    serial = next(n for n in range(10_000) if Iin.check_digit(f"{prefix}{n:04d}") is not None)
    first_eleven = f"{prefix}{serial:04d}"
    return Iin(f"{first_eleven}{Iin.check_digit(first_eleven)}")


def test_a_group_key_is_made_only_for_an_organization_the_queue_knows() -> None:
    """A child born before 1900 has no group key (``group.birth_year``): as before, that is
    found only when a chosen organization is known, and otherwise the rules say why not."""
    born = date(1899, 3, 4)
    seed = seed_application()
    child = attrs.evolve(seed.child, iin=_iin_born(born), birth_date=born)
    organizations = shakhtinsk_organizations()
    as_of = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
    unknown = attrs.evolve(seed, child=child, choices=[Choice("org-unknown", Language.RUSSIAN)])
    codes = [
        v.code
        for v in check_eligibility(unknown, organizations, policy=KAZAKHSTAN_POLICY, as_of=as_of)
    ]
    assert codes == ["eligibility.child_too_old", "eligibility.unknown_organization"]
    known = attrs.evolve(seed, child=child)
    with pytest.raises(OrganizationError) as raised:
        check_eligibility(known, organizations, policy=KAZAKHSTAN_POLICY, as_of=as_of)
    assert raised.value.code == "group.birth_year"
