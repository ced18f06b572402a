"""Bad input: whatever comes in from outside gives a result or an EdqueueError, never another
exception, never a hang.

The entry points that take outside data: :func:`~edqueue.schemas.parse_application` (text,
bytes or a decoded object), :func:`~edqueue.schemas.parse_organizations`, :class:`Iin`,
:class:`PhoneNumber`, :func:`~edqueue.interchange.read_applications` and the CLI's ``rank``.
The inputs: objects drawn from our own JSON Schema (hypothesis-jsonschema), the seed's line
and organizations damaged the ways files get damaged (a key dropped, a value replaced, the
text cut short, a byte flipped, stray bytes and characters inserted), arbitrary text and
values, a million characters, and files of valid lines interleaved with broken ones.

``tests/test_schemas.py`` already feeds arbitrary JSON values and text, and the seed object
with one key deleted or set to a plain value; this module does not repeat those. The atheris
target and the million-line run of the CLI are in ``fuzz/`` (see ``fuzz/README.md``); the
last test here is that run on 2,000 lines.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from edqueue.errors import EdqueueError, IinError, PhoneError, all_codes
from edqueue.interchange import ReadResult, rank_applications, read_applications
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Iin,
    Organization,
    PhoneNumber,
    PmpkConclusion,
    ReferralPreference,
)
from edqueue.rules import QueueBook
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.schemas import (
    dump_application,
    dump_organization,
    json_schema,
    parse_application,
    parse_organizations,
)
from edqueue.testing import iins, invalid_iin_texts, mobile_numbers, phone_spellings
from edqueue.testing.city import BROKEN_CODES, generate_applications, generate_organizations

CODES = all_codes()

# hypothesis-jsonschema builds the strategies of nested objects again for every example
# (~70 ms an application), so the tests drawing whole objects take a share of the profile's
# examples: 25 with HYPOTHESIS_PROFILE=ci, 500 with dev.
FEW = settings(max_examples=max(10, settings().max_examples // 4))

# --- the outcome of one attempt ---------------------------------------------------------------

_DIGIT_RUN = re.compile(r"\d{7,}")
_NON_LATIN_WORD = re.compile(r"[^\W\d_A-Za-z]{2,}")


def masked(value: object, limit: int = 300) -> str:
    """``value`` as a failure message shows it: digit runs masked as edqueue masks an IIN
    (``2006******11``), words not in Latin letters (names, addresses) as a name (``А***``),
    then cut to ``limit`` characters."""
    text = _DIGIT_RUN.sub(lambda m: m[0][:4] + "*" * (len(m[0]) - 6) + m[0][-2:], repr(value))
    text = _NON_LATIN_WORD.sub(lambda m: m[0][0] + "***", text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def outcome(
    attempt: Callable[[], object],
    given_input: object,
    *,
    result: type | tuple[type, ...],
    error: type[EdqueueError] = EdqueueError,
) -> Any:
    """What ``attempt()`` gives: a ``result``, or an ``error`` raised on purpose, of the very
    class that declares its code. Anything else fails, showing the input masked (and not the
    exception's own message, which may quote the input)."""
    try:
        value = attempt()
    except EdqueueError as raised:
        if isinstance(raised, error) and CODES.get(raised.code) is type(raised):
            return raised
        problem = (
            f"{type(raised).__name__} [{raised.code}] is not an {error.__name__} of the class "
            "declaring its code"
        )
    except Exception as escaped:  # noqa: BLE001 - anything but an EdqueueError is the bug
        frame = traceback.extract_tb(escaped.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno} ({frame.name})"
        problem = f"{type(escaped).__name__} escaped at {where}"
    else:
        if isinstance(value, result):
            return value
        problem = f"{type(value).__name__} returned"
    pytest.fail(f"{problem}; input: {masked(given_input)}")  # outside the handler: no chaining


def same_outcome(first: object, second: object) -> bool:
    """Two attempts on one input written two ways agree: equal records, or one error code."""
    if isinstance(first, EdqueueError) and isinstance(second, EdqueueError):
        return first.code == second.code
    return first == second


# --- the valid inputs the damage starts from ----------------------------------------------------

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
"""The seed's application with every optional field given, as JSON."""
SEED_LINE = json.dumps(dump_application(seed_application()), ensure_ascii=False)
SEED_ORGANIZATIONS = [dump_organization(o) for o in shakhtinsk_organizations()]


def draft_7(schema: Any) -> Any:
    """Our JSON Schema (draft 2020-12) in draft 7, the last draft hypothesis-jsonschema
    knows: a tuple's ``prefixItems`` become ``items`` (else drawn at random and filtered)."""
    if isinstance(schema, list):
        return [draft_7(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: draft_7(value) for key, value in schema.items()}
    if "prefixItems" in converted:
        converted["items"] = converted.pop("prefixItems")
        converted["additionalItems"] = False
    if "$schema" in converted:
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
    return converted


SCHEMAS = json_schema()
APPLICATION_SCHEMA = draft_7(SCHEMAS["application"])
ORGANIZATION_SCHEMA = draft_7(SCHEMAS["organization"])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and index in ``value``, as paths from its root, parents first."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[tuple[Any, ...]] = []
    for key, inner in items:
        found += [(*prefix, key), *paths(inner, (*prefix, key))]
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of ``value`` with the item at ``path`` set to ``new``."""
    copy = json.loads(json.dumps(value))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


def _field_schema(schema: dict[str, Any], defs: dict[str, Any], key: Any) -> dict[str, Any]:
    """The schema of ``key`` (a property or an index) inside a value of ``schema``."""
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    found: dict[str, Any]
    if "properties" in schema:
        found = schema["properties"][key]
    elif "items" in schema:  # a list, or a tuple: [latitude, longitude], [min, max]
        items = schema["items"]
        found = items[key] if isinstance(items, list) else items
    else:
        for alternative in schema.get("anyOf", []) + schema.get("oneOf", []):
            if alternative.get("type") != "null":
                return _field_schema(alternative, defs, key)
        raise KeyError(key)
    return found


def field_strategies(
    value: Any, schema: dict[str, Any]
) -> list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]]:
    """For every path in ``value``: the values our JSON Schema allows there."""
    defs = schema["$defs"]
    found = []
    for path in paths(value):
        field = schema
        for key in path:
            field = _field_schema(field, defs, key)
        found.append((path, from_schema({**field, "$defs": defs})))
    return found


def one_field_replaced(
    value: Any, schema: dict[str, Any]
) -> st.SearchStrategy[tuple[tuple[Any, ...], Any]]:
    """``value`` with one item (a leaf or a whole object) replaced by one the JSON Schema
    allows there: the object stays valid by the schema, the other fields valid by the rules."""
    fields = field_strategies(value, schema)
    return st.sampled_from(fields).flatmap(
        lambda pair: pair[1].map(lambda new: (pair[0], replaced(value, pair[0], new)))
    )


# --- objects of our own JSON Schema ---------------------------------------------------------------


@FEW
@given(from_schema(APPLICATION_SCHEMA))
def test_an_object_of_the_json_schema_gives_an_application_or_an_edqueue_error(
    data: dict[str, Any],
) -> None:
    by_object = outcome(lambda: parse_application(data), data, result=Application)
    text = json.dumps(data, ensure_ascii=False)
    by_text = outcome(lambda: parse_application(text), data, result=Application)
    by_bytes = outcome(lambda: parse_application(text.encode()), data, result=Application)
    assert same_outcome(by_object, by_text) and same_outcome(by_text, by_bytes)


@given(one_field_replaced(FULL_SEED, APPLICATION_SCHEMA))
def test_a_seed_with_one_field_of_the_json_schema_gives_an_application_or_an_edqueue_error(
    change: tuple[tuple[Any, ...], dict[str, Any]],
) -> None:
    _, data = change
    by_object = outcome(lambda: parse_application(data), data, result=Application)
    by_text = outcome(lambda: parse_application(json.dumps(data)), data, result=Application)
    assert same_outcome(by_object, by_text)


@FEW
@given(from_schema(ORGANIZATION_SCHEMA))
def test_an_object_of_the_json_schema_gives_an_organization_or_an_edqueue_error(
    data: dict[str, Any],
) -> None:
    check_organizations([data])


@given(one_field_replaced(SEED_ORGANIZATIONS[0], ORGANIZATION_SCHEMA))
def test_an_organization_with_one_field_of_the_json_schema_gives_one_or_an_edqueue_error(
    change: tuple[tuple[Any, ...], dict[str, Any]],
) -> None:
    _, data = change
    check_organizations([data, SEED_ORGANIZATIONS[1]])


def check_organizations(items: list[dict[str, Any]]) -> None:
    """The items as a JSON array and as JSON Lines: as many organizations, or one error."""
    array = json.dumps(items, ensure_ascii=False)
    lines = "\n".join(json.dumps(item, ensure_ascii=False) for item in items)
    by_array = outcome(lambda: parse_organizations(array), items, result=list)
    by_lines = outcome(lambda: parse_organizations(lines), items, result=list)
    assert same_outcome(by_array, by_lines)
    if isinstance(by_array, list):
        assert len(by_array) == len(items)
        assert all(isinstance(o, Organization) for o in by_array)


# --- the seed's line and organizations, damaged --------------------------------------------------

_RAW = "\x00raw\x00"  # stands for a JSON token that json.dumps cannot write, until it is written
RAW_TOKENS = (
    "[" * 3_000 + "]" * 3_000,  # deeper than json.loads and pydantic go
    "{" + '"a":{' * 2_000 + "}" * 2_001,
    "9" * 5_000,  # more digits than int() converts
    "-" + "9" * 30,
    *("NaN", "Infinity", "-Infinity", "1e999", "-0", "1.", ".5", "+1", "01", "0x1F", "1_000"),
    *("tru", "nul", "'x'", '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"a\\qb"', '"a" "b"'),
    *("{}", "[]", '{"": 1}', '{"a": 1, "a": 2}', "[1,]", "{,}"),
)
NASTY_BYTES = (
    *(b"\x00", b"\xff", b"\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80"),
    *(b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b"\xc2\xa0"),
    *("\u200f".encode(), "\u202e".encode(), "\u0301".encode(), "٣".encode(), "𝟗".encode()),
    *(b"\\", b'"', b"{", b"}", b"[", b"]", b",", b":", b"\n", b"\r", b"\t", b" "),
    *(b"\\ud800", b"\\u0000", b"\\", b"\\u"),
)
# Characters of every kind, lone surrogates (written to bytes with "surrogatepass") included.
any_characters = st.characters() | st.characters(categories=("Cs", "Cf", "Cc", "Zl", "Zp", "Nd"))
awkward_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from((63, 64, 100, 4_000)).map(lambda n: 2**n),  # past int64, and long
        st.floats(),  # NaN and infinities come out as NaN and Infinity
        st.text(any_characters, max_size=30),
        st.integers(0, len(RAW_TOKENS) - 1).map(lambda i: _RAW + RAW_TOKENS[i]),
        st.sampled_from(("1292583", "900315400017", "+77010000001", "ru", "2020-06-23")),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def to_json(value: Any, ensure_ascii: bool) -> str:
    """``json.dumps``, with each raw token (``_RAW + token``) written as it is."""
    text = json.dumps(value, ensure_ascii=ensure_ascii)
    escaped = json.dumps(_RAW, ensure_ascii=ensure_ascii)[1:-1]
    return re.sub(
        '"' + re.escape(escaped) + r'((?:[^"\\]|\\.)*)"',
        lambda m: json.loads(f'"{m[1]}"'),
        text,
    )


@st.composite
def damaged(draw: st.DrawFn, value: Any, *, lines: bool = False) -> bytes:
    """``value`` written as JSON (or JSON Lines, one item a line) with up to two keys dropped
    or values replaced, then up to three cuts, flipped bits or inserted bytes."""
    for _ in range(draw(st.integers(0, 2))):
        where = paths(value)
        if not where:
            break
        path = draw(st.sampled_from(where))
        if draw(st.booleans()):
            value = replaced(value, path, draw(awkward_values))
        else:
            value = replaced(value, path, None)
            parent = value
            for key in path[:-1]:
                parent = parent[key]
            del parent[path[-1]]
    ascii_only = draw(st.booleans())
    if lines and isinstance(value, list):
        text = "\n".join(to_json(item, ascii_only) for item in value)
    else:
        text = to_json(value, ascii_only)
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(("cut", "flip", "insert", "insert text")))
        if how == "cut":
            data = data[:at]
        elif how == "flip" and at < len(data):
            bit = 1 << draw(st.integers(0, 7))
            data = data[:at] + bytes([data[at] ^ bit]) + data[at + 1 :]
        elif how == "insert":
            data = data[:at] + draw(st.sampled_from(NASTY_BYTES)) + data[at:]
        else:
            inserted = draw(st.text(any_characters, min_size=1, max_size=8))
            data = data[:at] + inserted.encode("utf-8", "surrogatepass") + data[at:]
    return data


def as_text(data: bytes) -> str:
    """The bytes as a Python string: lone surrogates kept, other bad bytes escaped."""
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


@given(damaged(FULL_SEED))
@example(SEED_LINE.encode()[:-1])
@example(SEED_LINE.encode().replace(b"\xd0\x90", b"\xed\xa0\x80", 1))
@example(SEED_LINE.replace('"900315400017"', '"90031540\\u00001"').encode())
@example(b"\xef\xbb\xbf" + SEED_LINE.encode())
def test_a_damaged_line_gives_an_application_or_an_edqueue_error(data: bytes) -> None:
    by_bytes = outcome(lambda: parse_application(data), data, result=Application)
    text = as_text(data)
    by_text = outcome(lambda: parse_application(text), data, result=Application)
    assert same_outcome(by_bytes, by_text)


@given(damaged(SEED_ORGANIZATIONS, lines=True) | damaged(SEED_ORGANIZATIONS))
def test_damaged_organizations_give_organizations_or_an_edqueue_error(data: bytes) -> None:
    text = as_text(data)
    organizations = outcome(lambda: parse_organizations(text), data, result=list)
    if isinstance(organizations, list):
        assert all(isinstance(o, Organization) for o in organizations)


# --- IINs and phone numbers ----------------------------------------------------------------------


class Text(str):
    """A ``str`` subclass, as a host's own string type may be."""

    __slots__ = ()


@st.composite
def typo(draw: st.DrawFn, text: str) -> str:
    """``text`` with one character replaced, inserted or deleted."""
    at = draw(st.integers(0, len(text)))
    new = draw(st.sampled_from("0123456789 +-()") | any_characters)
    how = draw(st.sampled_from(("replace", "insert", "delete")))
    if how == "insert":
        return text[:at] + new + text[at:]
    return text[:at] + (new if how == "replace" else "") + text[at + 1 :]


near_numbers = st.one_of(
    invalid_iin_texts(),
    iins().map(Iin.reveal).flatmap(typo),
    mobile_numbers().flatmap(phone_spellings),
    mobile_numbers().flatmap(phone_spellings).flatmap(typo),
    st.text("0123456789", min_size=12, max_size=12),  # the length of an IIN
    st.text("+0123456789 ()-.", max_size=20),
    st.builds(
        str.__add__,
        st.sampled_from(("+7", "8", "+7 9", "+1", "+86", "tel:+7")),  # +7 9: Russia
        st.text("0123456789", max_size=11),
    ),
    st.builds(  # landlines of Astana, Almaty and Karaganda
        "{}{:06d}".format,
        st.sampled_from(("+7 7172 ", "8 727 2", "8 (7212) ")),
        st.integers(0, 10**6 - 1),
    ),
)
any_text = st.one_of(
    st.text(),
    st.text(any_characters, max_size=20),
    st.text(st.characters(categories=["Nd"]), min_size=10, max_size=12),  # digits, not 0-9
    near_numbers,
    st.text().map(Text),
    st.integers(0, 3).map(lambda n: "0" * 10**n + "1" * 10**n),
)
not_text = st.one_of(
    *(st.none(), st.booleans(), st.integers(), st.floats(), st.complex_numbers()),
    *(st.decimals(), st.fractions(), st.binary(), st.binary().map(bytearray)),
    *(st.dates(), st.datetimes(), st.timedeltas(), st.builds(object)),
    *(st.lists(st.text(max_size=3), max_size=3), st.tuples(st.text(max_size=12))),
    *(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(Ellipsis)),
    st.text(max_size=12).map(str.encode),
)


@given(near_numbers | any_text | not_text | iins())
@example("200623500011")
@example(" 200623500011\n")
@example("٢٠٠٦٢٣٥٠٠٠١١")
@example(200623500011)
def test_anything_gives_an_iin_or_an_iin_error(value: object) -> None:
    iin = outcome(lambda: Iin(value), value, result=Iin, error=IinError)
    if isinstance(iin, Iin):
        clear = iin.reveal()
        assert re.fullmatch("[0-9]{12}", clear)
        assert Iin.check_digit(clear[:11]) == int(clear[11])
        assert Iin(clear) == iin
        assert clear not in repr(iin)


@given(near_numbers | any_text | not_text | mobile_numbers())
@example("+77010000001")
@example("+٧٧٠١٠٠٠٠٠٠١")
@example("+77010000001 ext. 1234")
@example(77010000001)
def test_anything_gives_a_phone_number_or_a_phone_error(value: object) -> None:
    phone = outcome(lambda: PhoneNumber(value), value, result=PhoneNumber, error=PhoneError)
    if isinstance(phone, PhoneNumber):
        clear = phone.reveal()
        assert re.fullmatch(r"\+7[0-9]{10}", clear)
        assert PhoneNumber(clear) == phone
        assert clear not in repr(phone)


# --- a million characters ------------------------------------------------------------------------

MILLION = 1_000_000
FILLERS = {"spaces": " " * MILLION, "digits and spaces": "9 " * (MILLION // 2)}


def _long_values() -> list[Any]:
    cases: list[Any] = [
        pytest.param(lambda: Iin("1" * MILLION), id="Iin-digits"),
        pytest.param(lambda: Iin("1 " * (MILLION // 2)), id="Iin-digits-and-spaces"),
        pytest.param(lambda: PhoneNumber("7" * MILLION), id="PhoneNumber-digits"),
        pytest.param(lambda: PhoneNumber("+7 (" * (MILLION // 4)), id="PhoneNumber-prefixes"),
        pytest.param(lambda: parse_application("x" * MILLION), id="application-text"),
        pytest.param(lambda: parse_application(b"{" * MILLION), id="application-open-braces"),
        pytest.param(lambda: parse_application("[" * MILLION), id="application-open-brackets"),
        pytest.param(
            lambda: parse_application('{"number": "' + "1" * MILLION + '"}'),
            id="application-long-number",
        ),
        pytest.param(lambda: parse_organizations("[" * MILLION), id="organizations-nested"),
        pytest.param(lambda: parse_organizations("{}\n" * MILLION), id="organizations-lines"),
    ]
    for path in paths(FULL_SEED):
        if isinstance(_at(FULL_SEED, path), str):
            for name, filler in FILLERS.items():
                cases.append(
                    pytest.param(
                        lambda p=path, f=filler: parse_application(replaced(FULL_SEED, p, f)),
                        id=f"application-{'.'.join(map(str, path))}-{name}",
                    )
                )
    organization = SEED_ORGANIZATIONS[0]
    for path in paths(organization):
        if isinstance(_at(organization, path), str):
            for name, filler in FILLERS.items():
                cases.append(
                    pytest.param(
                        lambda p=path, f=filler: parse_organizations(
                            json.dumps([replaced(organization, p, f)])
                        ),
                        id=f"organizations-{'.'.join(map(str, path))}-{name}",
                    )
                )
    return cases


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@pytest.mark.parametrize("attempt", _long_values())
def test_a_million_characters_give_an_edqueue_error(attempt: Callable[[], object]) -> None:
    """It returns, quickly (no timing is asserted: a hang would fail the run).

    ``child.birth_certificate`` of a million spaces hung: the certificate's pattern was
    cubic in a run of whitespace (3,000 spaces took 12 s).
    """
    assert isinstance(outcome(attempt, "a million characters", result=()), EdqueueError)


# --- the lines of an applications file -----------------------------------------------------------

AS_OF = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
CITY = generate_organizations(4, seed=7, as_of=AS_OF.date())
VALID = list(generate_applications(40, CITY, seed=7, as_of=AS_OF))
VALID_LINES = [json.dumps(dump_application(a), ensure_ascii=False) for a in VALID]
INELIGIBLE = list(  # each with one violation of BROKEN_CODES
    generate_applications(9, CITY, seed=8, as_of=AS_OF, first_number=5_000_001, broken_share=1)
)
INELIGIBLE_LINES = [json.dumps(dump_application(a), ensure_ascii=False) for a in INELIGIBLE]
NESTED_TOO_DEEP = "[" * 5_000 + "]" * 5_000


def second_application(line: str, copy: int) -> str:
    """Another application for the same child (the ``copy``-th), submitted a second later."""
    data = json.loads(line)
    data["number"] = f"9{copy}{data['number']}"
    moment = datetime.fromisoformat(data["submitted_at"]) + timedelta(seconds=1)
    data["submitted_at"] = moment.isoformat()
    return json.dumps(data, ensure_ascii=False)


def _is_broken(line: str | bytes) -> bool:
    # a byte-order mark alone is blank to the reader (it strips one at the start of a file)
    bom = b"\xef\xbb\xbf" if isinstance(line, bytes) else "\ufeff"
    return bool(line.removeprefix(bom).strip()) and isinstance(  # type: ignore[arg-type]
        outcome(lambda: parse_application(line), line, result=Application), EdqueueError
    )


written_as = st.tuples(st.sampled_from(("str", "bytes")), st.sampled_from(("", "\n", "\r\n")))


def write(line: str | bytes, how: tuple[str, str]) -> str | bytes:
    """``line`` as it comes from a file: text or bytes, with its end of line."""
    kind, end = how
    data = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    data += end.encode()
    return data if kind == "bytes" else as_text(data)


unparsable_lines = st.builds(
    write,
    st.one_of(
        st.integers(0, len(VALID_LINES) - 1).flatmap(lambda i: damaged(json.loads(VALID_LINES[i]))),
        st.text(min_size=1) | st.binary(min_size=1),
        st.integers(1_000, 5_000).map(lambda n: "[" * n + "]" * n),
    ),
    written_as,
).filter(_is_broken)
blank_lines = st.builds(write, st.sampled_from(("", " ", "\t", " \t ")), written_as)

Entry = tuple[str, Any, tuple[str, str]]
"""One line of a file: what it is, what it is made from, how it is written."""


@st.composite
def applications_files(draw: st.DrawFn) -> list[Entry]:
    """The lines of a file: valid (an index into VALID), unparsable (a line), ineligible (an
    index into INELIGIBLE), blank (a line), and after some valid lines a duplicate (the same
    line) or a second application for the same child (a copy number)."""
    chosen = draw(st.lists(st.integers(0, len(VALID) - 1), unique=True, max_size=10))
    entries: list[Entry] = [("valid", i, draw(written_as)) for i in chosen]
    entries += [
        ("unparsable", line, ("", "")) for line in draw(st.lists(unparsable_lines, max_size=8))
    ]
    ineligible = st.lists(st.integers(0, len(INELIGIBLE) - 1), unique=True, max_size=3)
    entries += [("ineligible", i, draw(written_as)) for i in draw(ineligible)]
    entries += [("blank", line, ("", "")) for line in draw(st.lists(blank_lines, max_size=3))]
    entries = list(draw(st.permutations(entries)))
    for copy, kind in enumerate(
        draw(st.lists(st.sampled_from(("duplicate", "second")), max_size=3))
    ):
        earlier = [k for k, (what, _, _) in enumerate(entries) if what == "valid"]
        if not earlier:
            break
        original = draw(st.sampled_from(earlier))
        at = draw(st.integers(original + 1, len(entries)))
        made_from = entries[original][1] if kind == "duplicate" else (entries[original][1], copy)
        entries.insert(at, (kind, made_from, draw(written_as)))
    return entries


def render(entry: Entry) -> str | bytes:
    kind, made_from, how = entry
    if kind == "second":
        index, copy = made_from
        return write(second_application(VALID_LINES[index], copy), how)
    if kind in {"valid", "duplicate"}:
        return write(VALID_LINES[made_from], how)
    if kind == "ineligible":
        return write(INELIGIBLE_LINES[made_from], how)
    line: str | bytes = made_from  # unparsable and blank lines are written already
    return line


EXPECTED_CODES = {
    "duplicate": {"queue.duplicate_number"},
    "second": {"eligibility.second_active_application"},
}


@given(applications_files())
def test_read_applications_keeps_every_valid_line_and_reports_every_other(
    entries: list[Entry],
) -> None:
    lines = [render(entry) for entry in entries]
    result = outcome(lambda: read_applications(lines, CITY, as_of=AS_OF), lines, result=ReadResult)
    kinds = {number: entry[0] for number, entry in enumerate(entries, start=1)}
    expected = [VALID[made_from] for kind, made_from, _ in entries if kind == "valid"]
    assert list(result.applications) == expected  # the same records, in file order
    broken = [number for number, kind in kinds.items() if kind not in {"valid", "blank"}]
    assert [error.line for error in result.errors] == broken
    assert result.read == len(lines) - list(kinds.values()).count("blank")
    assert result.valid + result.invalid == result.read
    for error in result.errors:
        kind, made_from, _ = entries[error.line - 1]
        codes = [code for code, _ in error.errors]
        if kind in EXPECTED_CODES:
            assert set(codes) == EXPECTED_CODES[kind]
        elif kind == "ineligible":
            assert error.number == INELIGIBLE[made_from].number
            assert len(codes) == 1 and codes[0] in BROKEN_CODES
        else:
            assert len(codes) == 1 and codes[0] in CODES


@given(applications_files())
def test_ranking_a_file_gives_the_queues_of_the_book_of_its_valid_lines(
    entries: list[Entry],
) -> None:
    """rank_applications keeps only each line's queue entry: the same queues, errors and
    counts as read_applications and QueueBook.build."""
    lines = [render(entry) for entry in entries]
    read = read_applications(lines, CITY, as_of=AS_OF)
    ranking = rank_applications(lines, CITY, as_of=AS_OF)
    book = QueueBook.build(CITY, read.applications)
    assert [(q, list(numbers)) for q, numbers in ranking.queues] == list(book.queues())
    assert (ranking.errors, ranking.read, ranking.valid) == (read.errors, read.read, read.valid)


def test_a_line_nested_too_deep_is_reported_with_its_line_number() -> None:
    """Finding the number of a broken line with json.loads raised RecursionError out of
    read_applications (and out of the CLI, losing the whole file)."""
    result = read_applications([NESTED_TOO_DEEP, VALID_LINES[0]], CITY, as_of=AS_OF)
    assert list(result.applications) == [VALID[0]]
    assert [(e.line, e.number, e.errors[0][0]) for e in result.errors] == [
        (1, None, "application.type")
    ]


# --- the CLI on a file with broken lines ----------------------------------------------------------


def load_million_lines(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``fuzz/million_lines.py``, the million-line run, as a module."""
    path = Path(__file__).parents[1] / "fuzz" / "million_lines.py"
    spec = importlib.util.spec_from_file_location("million_lines", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_cli_ranks_every_valid_line_and_reports_every_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fuzz/million_lines.py`` on 2,000 lines instead of 1,000,000, in this process."""
    million_lines = load_million_lines(monkeypatch)
    organizations, applications, written = million_lines.write_files(
        tmp_path, lines=2_000, seed=5, organizations=20, broken_share=0.3
    )
    assert set(written.broken.values()) == set(million_lines.KINDS)  # every kind was written
    out, err = tmp_path / "rank.jsonl", tmp_path / "rank.stderr.jsonl"
    status = million_lines.run_rank(organizations, applications, out, err, in_process=True)
    assert million_lines.check(written, status, out, err) == []
