"""A draft's stored form goes through :class:`~edqueue.schemas.DraftSchema`, and stays what
the hand-written ``Draft.to_data`` / ``Draft.from_data`` wrote and read before it.

Drafts already stored (in SQLite files, in a host's store) are read as before: the forms
below were taken from ``to_data`` before the schema, and the reference functions are the code
it replaced, compared on generated drafts and on damaged stored forms.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue.errors import EdqueueError, FlowError
from edqueue.models import (
    KAZAKHSTAN,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Choice,
    Consent,
    Iin,
    Language,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    ReferralTiming,
)
from edqueue.sample import seed_application
from edqueue.schemas import DraftSchema
from edqueue.service import Draft
from edqueue.testing import benefit_claims, iins, mobile_numbers

# --- drafts as edqueue stored them before the schema ---------------------------------------------

FULL = (
    '{"id": "flow-1", "phone": "+77010000001", "queue_kind": "correctional", "salt": '
    '"0123456789abcdef", "code_digest": "dddddddddddddddddddddddddddddddddddddddddddddddddddddd'
    'dddddddddd", "code_sent_at": "2024-02-05T10:15:00+06:00", "code_id": "code-7", '
    '"binding_digest": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", '
    '"binding_offered_at": "2024-02-05T10:16:30.123456+00:00", "confirmed_at": '
    '"2024-02-29T23:30:00+05:00", "consents": ["notifications", "offer_agreement"], '
    '"applicant_iin": "900315400017", "access_request": "req-1", "child_iin": "200623500011", '
    '"choices": [["shakhtinsk-saltanat", "ru"], ["shakhtinsk-karlygash", "kk"]], "referral": '
    '["from", "2025-09-01"], "benefit": [8, "verified", "2024-02-05T10:15:00+06:00", null], '
    '"benefit_document": "doc-1", "pmpk": ["1/2023", "2023-08-26"], "submitted_number": '
    '"1292583"}'
)
"""``json.dumps(draft.to_data(), ensure_ascii=False)`` of :func:`full_draft`, before the schema."""

EMPTY = (
    '{"id": "flow-2", "phone": "+77010000001", "queue_kind": "general", "salt": '
    '"fedcba9876543210", "code_digest": null, "code_sent_at": null, "code_id": null, '
    '"binding_digest": null, "binding_offered_at": null, "confirmed_at": null, "consents": [], '
    '"applicant_iin": null, "access_request": null, "child_iin": null, "choices": [], '
    '"referral": ["immediately", null], "benefit": null, "benefit_document": null, "pmpk": '
    'null, "submitted_number": null}'
)
"""The same of a draft just started (``Draft(id="flow-2", phone=..., salt=...)``)."""


def full_draft() -> Draft:
    """A draft with every field given (the draft :data:`FULL` was written from)."""
    seed = seed_application()
    return Draft(
        id="flow-1",
        phone=seed.applicant.phone,
        queue_kind=QueueKind.CORRECTIONAL,
        salt="0123456789abcdef",
        code_digest="d" * 64,
        code_sent_at=datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN),
        code_id="code-7",
        binding_digest="b" * 64,
        binding_offered_at=datetime(2024, 2, 5, 10, 16, 30, 123456, tzinfo=dt.UTC),
        confirmed_at=datetime(2024, 2, 29, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=5))),
        consents=frozenset(Consent),
        applicant_iin=seed.applicant.iin,
        access_request="req-1",
        child_iin=seed.child.iin,
        choices=tuple(seed.choices),
        referral=ReferralPreference(ReferralTiming.FROM_DATE, date(2025, 9, 1)),
        benefit=BenefitClaim(
            BenefitCategory(8),
            BenefitStatus.VERIFIED,
            datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN),
            None,
        ),
        benefit_document="doc-1",
        pmpk=PmpkConclusion("1/2023", date(2023, 8, 26)),
        submitted_number="1292583",
    )


def _text(data: Mapping[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize("stored", [FULL, EMPTY])
def test_a_draft_stored_before_the_schema_is_read_and_written_again_as_it_was(
    stored: str,
) -> None:
    data = json.loads(stored)
    draft = Draft.from_data(data)
    assert draft == _reference_from_data(data)
    assert repr(draft) == repr(_reference_from_data(data))
    assert _text(draft.to_data()) == stored
    assert Draft.from_data(draft.to_data()) == draft


def test_the_stored_form_of_a_draft_is_what_it_was_byte_for_byte() -> None:
    draft = full_draft()
    assert _text(draft.to_data()) == FULL
    assert _text(draft.to_data()) == _text(_reference_to_data(draft))
    assert Draft.from_data(json.loads(FULL)) == draft
    seed = seed_application()
    started = Draft(id="flow-2", phone=seed.applicant.phone, salt="fedcba9876543210")
    assert _text(started.to_data()) == EMPTY


def test_keys_stored_beside_the_draft_are_left_aside() -> None:
    """The expiry the service saves with a draft, and the count of wrong codes drafts held
    before codes were counted in the store (those drafts had no ``code_id`` either)."""
    data = json.loads(FULL)
    saved = {**data, "expires_at": "2024-02-05T11:15:00+06:00"}
    assert Draft.from_data(saved) == Draft.from_data(data)
    older = {key: value for key, value in data.items() if key != "code_id"}
    older["code_attempts"] = 2
    assert Draft.from_data(older) == _reference_from_data(older)
    assert Draft.from_data(older).code_id is None
    without_number = {key: value for key, value in data.items() if key != "submitted_number"}
    assert Draft.from_data(without_number).submitted_number is None


# --- the schema against the code it replaced, on generated drafts --------------------------------

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_OFFSETS = st.integers(-1439, 1439).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_TIMES = st.none() | st.datetimes(
    timezones=st.sampled_from([KAZAKHSTAN, dt.UTC]) | st.timezones() | _OFFSETS
)
_REFERRALS = st.just(ReferralPreference.immediately()) | st.builds(
    ReferralPreference, st.just(ReferralTiming.FROM_DATE), st.dates()
)
_CHOICES = st.builds(
    Choice,
    st.sampled_from(["shakhtinsk-saltanat", "org-1", "a.b_c:d-9"]),
    st.sampled_from([Language.RUSSIAN, Language.KAZAKH, Language("uz")]),
)


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    """Drafts with any of their fields given, each field any value it can hold."""

    def maybe(values: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | values)

    return Draft(
        id=draw(_TEXT),
        phone=draw(mobile_numbers()),
        queue_kind=draw(st.sampled_from(QueueKind)),
        salt=draw(_TEXT),
        code_digest=maybe(_TEXT),
        code_sent_at=draw(_TIMES),
        code_id=maybe(_TEXT),
        binding_digest=maybe(_TEXT),
        binding_offered_at=draw(_TIMES),
        confirmed_at=draw(_TIMES),
        consents=draw(st.frozensets(st.sampled_from(Consent))),
        applicant_iin=maybe(iins()),
        access_request=maybe(_TEXT),
        child_iin=maybe(iins()),
        choices=tuple(draw(st.lists(_CHOICES, max_size=4))),
        referral=draw(_REFERRALS),
        benefit=maybe(benefit_claims()),
        benefit_document=maybe(_TEXT),
        pmpk=maybe(st.builds(PmpkConclusion, st.sampled_from(["1/2023", "ПМПК 7"]), st.dates())),
        submitted_number=maybe(st.from_regex(r"[1-9][0-9]{0,8}", fullmatch=True)),
    )


@given(drafts())
def test_a_draft_is_stored_and_read_as_by_the_code_the_schema_replaced(draft: Draft) -> None:
    data = draft.to_data()
    assert _text(data) == _text(_reference_to_data(draft))
    stored = json.loads(_text(data))  # as a store gives it back
    again = Draft.from_data(stored)
    assert again == _reference_from_data(stored)
    assert repr(again) == repr(_reference_from_data(stored))  # the times' zones included
    assert _text(again.to_data()) == _text(data)


# --- damaged stored drafts: flow.unknown_draft, as before ----------------------------------------

_DAMAGE: list[tuple[str, object]] = [
    ("phone", "+7701"),
    ("phone", None),
    ("queue_kind", "other"),
    ("code_sent_at", "yesterday"),
    ("code_sent_at", 5),
    ("confirmed_at", "2024-02-30T10:00:00+06:00"),
    ("consents", ["notifications", "x"]),
    ("consents", "notifications"),
    ("applicant_iin", "900315400018"),
    ("child_iin", "1"),
    ("choices", [["shakhtinsk-saltanat"]]),
    ("choices", [["shakhtinsk saltanat", "ru"]]),
    ("choices", [["shakhtinsk-saltanat", "RU!"]]),
    ("choices", None),
    ("referral", ["later", None]),
    ("referral", ["immediately", "2025-09-01"]),
    ("referral", ["from", None]),
    ("referral", ["from"]),
    ("referral", None),
    ("benefit", [0, "verified", None, None]),
    ("benefit", [8, "maybe", None, None]),
    ("benefit", [8, "verified", "2024-02-05T10:15:00", None]),
    ("pmpk", ["", "2023-08-26"]),
    ("pmpk", ["1/2023", "26.08.2023"]),
    ("pmpk", ["1"] * 3),
]

_REFUSED_NOW: list[tuple[str, object]] = [
    ("id", None),  # before: a draft without an id
    ("salt", None),  # before: a draft without a salt (its digests could not be checked)
    ("benefit", [8]),  # before: IndexError, not an EdqueueError
    ("pmpk", ["1/2023"]),  # before: IndexError
]


def _outcome(read: Any, data: Any) -> object:
    try:
        return read(data)
    except FlowError as error:
        return (error.code, error.message)


@pytest.mark.parametrize(("field", "value"), _DAMAGE)
def test_a_damaged_stored_draft_is_refused_as_before(field: str, value: object) -> None:
    data = {**json.loads(FULL), field: value}
    expected = ("flow.unknown_draft", "the stored draft cannot be read; start the flow again")
    assert _outcome(Draft.from_data, data) == expected
    assert _outcome(_reference_from_data, data) == expected


@pytest.mark.parametrize(("field", "value"), _REFUSED_NOW)
def test_a_stored_draft_the_code_before_took_or_failed_on_is_refused(
    field: str, value: object
) -> None:
    """Values of the wrong type for the form, which the hand-written code took as they were
    (or on which it raised an untyped error), are refused as every other damage is."""
    data = {**json.loads(FULL), field: value}
    expected = ("flow.unknown_draft", "the stored draft cannot be read; start the flow again")
    assert _outcome(Draft.from_data, data) == expected


@pytest.mark.parametrize(
    "missing", sorted(json.loads(EMPTY).keys() - {"code_id", "submitted_number"})
)
def test_a_stored_draft_without_a_key_is_refused_as_before(missing: str) -> None:
    data = {key: value for key, value in json.loads(FULL).items() if key != missing}
    assert _outcome(Draft.from_data, data) == _outcome(_reference_from_data, data)
    assert _outcome(Draft.from_data, data)[0] == "flow.unknown_draft"  # type: ignore[index]


@pytest.mark.parametrize("data", [[1, 2], "draft", None, {"id": {"nested": [[[]]]}}])
def test_what_is_not_a_stored_draft_is_refused(data: Any) -> None:
    with pytest.raises(FlowError) as refused:
        Draft.from_data(data)
    assert refused.value.code == "flow.unknown_draft"


def test_a_key_the_stored_form_does_not_have_is_refused() -> None:
    """The schema forbids unknown keys (the code before it ignored them): only the keys
    that :meth:`Draft.from_data` names are left aside."""
    with pytest.raises(FlowError) as refused:
        Draft.from_data({**json.loads(FULL), "step": 3})
    assert refused.value.code == "flow.unknown_draft"


def test_the_schema_reads_strictly() -> None:
    data = json.loads(FULL)
    assert DraftSchema.read(data).to_domain()["phone"] == PhoneNumber("+77010000001")
    with pytest.raises(ValueError, match="queue_kind"):
        DraftSchema.read({**data, "queue_kind": 1})
    with pytest.raises(ValueError, match="benefit"):
        DraftSchema.read({**data, "benefit": ["8", "verified", None, None]})
    assert copy.deepcopy(data) == json.loads(FULL)  # nothing read is changed


# --- the code the schema replaced (src/edqueue/service/drafts.py before it) ----------------------


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _reference_to_data(draft: Draft) -> dict[str, object]:
    claim = draft.benefit
    return {
        "id": draft.id,
        "phone": draft.phone.reveal(),
        "queue_kind": draft.queue_kind.value,
        "salt": draft.salt,
        "code_digest": draft.code_digest,
        "code_sent_at": _iso(draft.code_sent_at),
        "code_id": draft.code_id,
        "binding_digest": draft.binding_digest,
        "binding_offered_at": _iso(draft.binding_offered_at),
        "confirmed_at": _iso(draft.confirmed_at),
        "consents": sorted(c.value for c in draft.consents),
        "applicant_iin": None if draft.applicant_iin is None else draft.applicant_iin.reveal(),
        "access_request": draft.access_request,
        "child_iin": None if draft.child_iin is None else draft.child_iin.reveal(),
        "choices": [[c.organization_id, c.language.code] for c in draft.choices],
        "referral": [draft.referral.timing.value, _iso(draft.referral.desired_date)],
        "benefit": None
        if claim is None
        else [
            int(claim.category),
            claim.status.value,
            _iso(claim.claimed_at),
            _iso(claim.decided_at),
        ],
        "benefit_document": draft.benefit_document,
        "pmpk": None
        if draft.pmpk is None
        else [draft.pmpk.number, draft.pmpk.issued_on.isoformat()],
        "submitted_number": draft.submitted_number,
    }


def _reference_from_data(data: Mapping[str, Any]) -> Draft:
    try:
        timing, desired = data["referral"]
        benefit = data["benefit"]
        pmpk = data["pmpk"]
        return Draft(
            id=data["id"],
            phone=PhoneNumber(data["phone"]),
            queue_kind=QueueKind(data["queue_kind"]),
            salt=data["salt"],
            code_digest=data["code_digest"],
            code_sent_at=_time(data["code_sent_at"]),
            code_id=data.get("code_id"),
            binding_digest=data["binding_digest"],
            binding_offered_at=_time(data["binding_offered_at"]),
            confirmed_at=_time(data["confirmed_at"]),
            consents=frozenset(Consent(c) for c in data["consents"]),
            applicant_iin=None if data["applicant_iin"] is None else Iin(data["applicant_iin"]),
            access_request=data["access_request"],
            child_iin=None if data["child_iin"] is None else Iin(data["child_iin"]),
            choices=tuple(Choice(o, Language(code)) for o, code in data["choices"]),
            referral=ReferralPreference(
                timing, None if desired is None else date.fromisoformat(desired)
            ),
            benefit=None
            if benefit is None
            else BenefitClaim(
                BenefitCategory(benefit[0]),
                BenefitStatus(benefit[1]),
                _time(benefit[2]),
                _time(benefit[3]),
            ),
            benefit_document=data["benefit_document"],
            pmpk=None if pmpk is None else PmpkConclusion(pmpk[0], date.fromisoformat(pmpk[1])),
            submitted_number=data.get("submitted_number"),
        )
    except (KeyError, TypeError, ValueError, EdqueueError):
        raise FlowError(
            "flow.unknown_draft", "the stored draft cannot be read; start the flow again"
        ) from None
