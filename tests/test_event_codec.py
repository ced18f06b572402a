"""The one codec of queue events (issue 16, "One codec"): every event is stored under the
``KIND`` its class declares, the records of today's events are byte for byte those the
journal wrote before the codec, and a new event type needs its class and nothing else."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta, timezone
from typing import ClassVar

import attrs
import pytest

from edqueue import (
    KAZAKHSTAN,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    GroupKey,
    QueueKind,
    Tier,
)
from edqueue.adapters.sqlite import SqliteStore
from edqueue.audit import verify_audit_log
from edqueue.errors import StorageError
from edqueue.events_codec import EventClassError, event_data, read_event
from edqueue.journal import from_record, is_queue_record, to_record
from edqueue.models import Application
from edqueue.ports import EventRecord
from edqueue.rules.events import (
    ApplicationRemoved,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    BenefitChanged,
    BenefitConfirmed,
    ChoicesChanged,
    PlaceFreed,
    QueueEvent,
    QueueId,
    ReferralClosed,
    ReferralExtended,
    ReferralIssued,
    StopListed,
    event_type,
    event_types,
)
from edqueue.sample import seed_application

NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
FIXED = datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5)))
K20 = GroupKey(2020, "ru", QueueKind.GENERAL)
K21 = GroupKey(2021, "kk", QueueKind.GENERAL)
QUEUES: tuple[QueueId, ...] = (("shakhtinsk-saltanat", K20), ("shakhtinsk-karlygash", K21))
CLAIM = BenefitClaim(BenefitCategory(8), BenefitStatus.VERIFIED, NOW, FIXED)
SEED = attrs.evolve(seed_application(), benefit=CLAIM)

BOTH = "shakhtinsk-saltanat|2020|ru|general;shakhtinsk-karlygash|2021|kk|general"
SALTANAT = "shakhtinsk-saltanat|2020|ru|general"
NOW_TEXT = "2024-02-05T10:00:00+06:00[Asia/Almaty]"
FIXED_TEXT = "2024-03-01T09:30:15.123456+05:00"


# --- (a) golden records, computed with the journal as it was before the codec --------------------

Golden = tuple[QueueEvent, str, Application | None, str, str | None, dict[str, str | int | None]]

GOLDEN: list[Golden] = [
    (
        ApplicationSubmitted(at=NOW, queues=QUEUES, number=SEED.number, reason="submitted"),
        "applicant",
        SEED,
        "application_submitted",
        "1292583",
        {
            "journal": 1,
            "actor": "applicant",
            "queues": BOTH,
            "application_status": "active",
            "benefit_category": 8,
            "benefit_status": "verified",
            "benefit_claimed_at": NOW_TEXT,
            "benefit_decided_at": FIXED_TEXT,
        },
    ),
    (
        ApplicationSubmitted(at=NOW, queues=QUEUES, number="12", reason="submitted"),
        "applicant",
        None,
        "application_submitted",
        "12",
        {"journal": 1, "actor": "applicant", "queues": BOTH},
    ),
    (
        ApplicationSubmitted(at=NOW, queues=QUEUES, number=SEED.number, reason="submitted"),
        "applicant",
        attrs.evolve(SEED, benefit=None),
        "application_submitted",
        "1292583",
        {
            "journal": 1,
            "actor": "applicant",
            "queues": BOTH,
            "application_status": "active",
            "benefit_category": None,
        },
    ),
    (
        ApplicationWithdrawn(at=NOW, queues=QUEUES, number="12", reason="withdrawn"),
        "applicant",
        None,
        "application_withdrawn",
        "12",
        {"journal": 1, "actor": "applicant", "queues": BOTH},
    ),
    (
        ApplicationRemoved(
            at=FIXED, queues=QUEUES[:1], number="12", reason="child reached the age limit"
        ),
        "desk",
        None,
        "application_removed",
        "12",
        {"journal": 1, "actor": "desk", "queues": SALTANAT},
    ),
    (
        ChoicesChanged(
            at=NOW, queues=QUEUES, number="12", before=QUEUES[:1], after=QUEUES[1:], reason="c"
        ),
        "applicant",
        None,
        "choices_changed",
        "12",
        {
            "journal": 1,
            "actor": "applicant",
            "queues": BOTH,
            "before": SALTANAT,
            "after": "shakhtinsk-karlygash|2021|kk|general",
        },
    ),
    (
        BenefitChanged(
            at=NOW,
            queues=QUEUES,
            number="12",
            status=BenefitStatus.VERIFIED,
            tier_before=Tier(3),
            tier_after=Tier(1),
            claim=CLAIM,
            reason="verified",
        ),
        "desk",
        None,
        "benefit_changed",
        "12",
        {
            "journal": 1,
            "actor": "desk",
            "queues": BOTH,
            "status": "verified",
            "tier_before": 3,
            "tier_after": 1,
            "benefit_category": 8,
            "benefit_status": "verified",
            "benefit_claimed_at": NOW_TEXT,
            "benefit_decided_at": FIXED_TEXT,
        },
    ),
    (
        BenefitChanged(
            at=NOW,
            number="12",
            status=None,
            tier_before=Tier(1),
            tier_after=Tier(3),
            claim=None,
            reason="expired",
        ),
        "desk",
        None,
        "benefit_changed",
        "12",
        {
            "journal": 1,
            "actor": "desk",
            "queues": "",
            "status": None,
            "tier_before": 1,
            "tier_after": 3,
            "benefit_category": None,
        },
    ),
    (
        BenefitChanged(
            at=NOW,
            number="12",
            status=BenefitStatus.PENDING,
            tier_before=Tier(3),
            tier_after=Tier(3),
            claim=BenefitClaim(BenefitCategory(1), BenefitStatus.PENDING, None, None),
        ),
        "applicant",
        None,
        "benefit_changed",
        "12",
        {
            "journal": 1,
            "actor": "applicant",
            "queues": "",
            "status": "pending",
            "tier_before": 3,
            "tier_after": 3,
            "benefit_category": 1,
            "benefit_status": "pending",
            "benefit_claimed_at": None,
            "benefit_decided_at": None,
        },
    ),
    (
        PlaceFreed(
            at=NOW,
            queues=QUEUES[:1],
            organization_id="shakhtinsk-saltanat",
            group=K20,
            free_places=3,
            count=2,
            reason="freed",
        ),
        "desk",
        None,
        "place_freed",
        None,
        {
            "journal": 1,
            "actor": "desk",
            "queues": SALTANAT,
            "organization_id": "shakhtinsk-saltanat",
            "group": "2020|ru|general",
            "free_places": 3,
            "count": 2,
        },
    ),
    (
        ReferralIssued(
            at=NOW,
            queues=QUEUES[:1],
            number="12",
            referral_id="R-1",
            organization_id="shakhtinsk-saltanat",
            group=K20,
            deadline=NOW + timedelta(days=5),
            confirm_by=FIXED,
            reason="issued",
        ),
        "desk",
        None,
        "referral_issued",
        "12",
        {
            "journal": 1,
            "actor": "desk",
            "queues": SALTANAT,
            "referral_id": "R-1",
            "organization_id": "shakhtinsk-saltanat",
            "group": "2020|ru|general",
            "deadline": "2024-02-10T10:00:00+06:00[Asia/Almaty]",
            "confirm_by": FIXED_TEXT,
        },
    ),
    (
        ReferralIssued(
            at=NOW,
            queues=QUEUES[:1],
            number="12",
            referral_id="R-1",
            organization_id="shakhtinsk-saltanat",
            group=K20,
            deadline=FIXED,
        ),
        "desk",
        None,
        "referral_issued",
        "12",
        {
            "journal": 1,
            "actor": "desk",
            "queues": SALTANAT,
            "referral_id": "R-1",
            "organization_id": "shakhtinsk-saltanat",
            "group": "2020|ru|general",
            "deadline": FIXED_TEXT,
            "confirm_by": None,
        },
    ),
    (
        ReferralClosed(at=NOW, number="12", referral_id="R-1", outcome="used", reason="used"),
        "desk",
        None,
        "referral_closed",
        "12",
        {"journal": 1, "actor": "desk", "queues": "", "referral_id": "R-1", "outcome": "used"},
    ),
    (
        ReferralExtended(
            at=NOW,
            number="12",
            referral_id="R-1",
            deadline_before=NOW,
            deadline=NOW + timedelta(days=10),
            reason="asked",
        ),
        "applicant",
        None,
        "referral_extended",
        "12",
        {
            "journal": 1,
            "actor": "applicant",
            "queues": "",
            "referral_id": "R-1",
            "deadline_before": NOW_TEXT,
            "deadline": "2024-02-15T10:00:00+06:00[Asia/Almaty]",
        },
    ),
    (
        StopListed(at=NOW, number="12", until=NOW + timedelta(days=10), reason="x"),
        "desk",
        None,
        "stop_listed",
        "12",
        {
            "journal": 1,
            "actor": "desk",
            "queues": "",
            "until": "2024-02-15T10:00:00+06:00[Asia/Almaty]",
        },
    ),
    (
        BenefitConfirmed(at=NOW, queues=QUEUES, number="12", referral_id="R-1", reason="ok"),
        "desk",
        None,
        "benefit_confirmed",
        "12",
        {"journal": 1, "actor": "desk", "queues": BOTH, "referral_id": "R-1"},
    ),
]


@pytest.mark.parametrize(("event", "actor", "application", "kind", "number", "data"), GOLDEN)
def test_records_are_those_written_before_the_codec(
    event: QueueEvent,
    actor: str,
    application: Application | None,
    kind: str,
    number: str | None,
    data: dict[str, str | int | None],
) -> None:
    record = to_record(event, actor=actor, application=application)
    assert (record.kind, record.number, record.reason, record.at) == (
        kind,
        number,
        event.reason,
        event.at,
    )
    assert dict(record.data) == data
    assert list(record.data) == list(data)  # the same keys in the same order, too
    assert from_record(record) == event


AFTER_THE_CODEC = {"organization_changed"}
"""Kinds added after the codec, so with no record written before it."""


def test_the_golden_records_cover_every_event_type() -> None:
    ours = {k for k, cls in event_types().items() if cls.__module__ == "edqueue.rules.events"}
    assert {type(event).KIND for event, *_ in GOLDEN} == ours - AFTER_THE_CODEC
    assert len(ours) == 12


def test_an_organization_change_stores_the_organizations_file_record() -> None:
    """The whole record, as the organizations file writes it (keys sorted), and back."""
    import json

    from edqueue.rules.events import OrganizationChanged
    from edqueue.sample import shakhtinsk_organizations
    from edqueue.schemas import dump_organization, parse_organizations

    saltanat = shakhtinsk_organizations()[0]
    event = OrganizationChanged(
        at=NOW,
        queues=QUEUES[:1],
        organization_id=saltanat.id,
        organization=saltanat,
        reason="organization opened",
    )
    record = to_record(event, actor="locality")
    assert (record.kind, record.number) == ("organization_changed", None)
    text = record.data["organization"]
    assert isinstance(text, str)
    assert json.loads(text) == dump_organization(saltanat)
    assert list(json.loads(text)) == sorted(dump_organization(saltanat))
    assert parse_organizations(text) == [saltanat]
    assert from_record(record) == event


def test_the_hash_chain_of_golden_records_is_unchanged() -> None:
    """Sealing the golden records gives the digests it gave before the codec."""
    with SqliteStore(":memory:") as store:
        store.append([to_record(e, actor=a, application=app) for e, a, app, *_ in GOLDEN])
        events = store.events()
        assert verify_audit_log(events).ok
        # computed by the journal before the codec (HEAD 94cb687), on the same records
        assert events[-1].digest == (
            "dd774af0e8b82921ea64f658bc126f7be421834c527193c25ac9badfddf1e56e"
        )


# --- (c) a new event type: its class and nothing else --------------------------------------------


def test_a_new_event_type_round_trips_with_no_other_change() -> None:
    @attrs.frozen(kw_only=True)
    class AssessmentReceived(QueueEvent):
        """A ПМПК conclusion arrived for an application (invented for this test)."""

        KIND: ClassVar[str] = "test_assessment_received"

        number: str
        group: GroupKey
        valid_until: datetime
        tier: Tier
        status: BenefitStatus | None
        places: int = 0
        claim: BenefitClaim | None = None

    event = AssessmentReceived(
        at=NOW,
        queues=QUEUES[1:],
        number="31",
        group=K21,
        valid_until=FIXED,
        tier=Tier(2),
        status=None,
        places=2,
        claim=CLAIM,
        reason="conclusion",
    )
    record = to_record(event, actor="desk")
    assert (record.kind, record.number) == ("test_assessment_received", "31")
    assert dict(record.data) == {
        "journal": 1,
        "actor": "desk",
        "queues": "shakhtinsk-karlygash|2021|kk|general",
        "group": "2021|kk|general",
        "valid_until": FIXED_TEXT,
        "tier": 2,
        "status": None,
        "places": 2,
        "benefit_category": 8,
        "benefit_status": "verified",
        "benefit_claimed_at": NOW_TEXT,
        "benefit_decided_at": FIXED_TEXT,
    }
    assert is_queue_record(record)
    assert from_record(record) == event
    other = attrs.evolve(event, status=BenefitStatus.REJECTED, claim=None, places=0)
    assert from_record(to_record(other, actor="desk")) == other
    with SqliteStore(":memory:") as store:  # through JSON and back, as a store gives it
        [stored] = store.append([record])
        assert from_record(store.events()[0]) == event == from_record(stored)


def test_a_new_event_that_changes_the_queues_touches_its_class_and_the_replay_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second place: one entry in ``edqueue.rules._replay``. The codec, the journal and
    the store need nothing; the event goes through a real store and comes back in a rebuilt
    book."""
    from edqueue.journal import rebuild_desk
    from edqueue.rules import _replay
    from edqueue.sample import shakhtinsk_organizations

    @attrs.frozen(kw_only=True)
    class PlacesReturned(QueueEvent):
        """A group got places back from a closed annex (invented for this test)."""

        KIND: ClassVar[str] = "test_places_returned"

        organization_id: str
        group: GroupKey
        count: int

    monkeypatch.setitem(
        _replay._APPLY,
        PlacesReturned,
        lambda book, e, _: book.free_place(e.organization_id, e.group, e.at, e.count),
    )
    organizations = shakhtinsk_organizations()
    k20 = GroupKey(2020, "ru", QueueKind.GENERAL)
    event = PlacesReturned(at=NOW, organization_id="shakhtinsk-saltanat", group=k20, count=3)
    with SqliteStore(":memory:") as store:
        store.append([to_record(event, actor="locality")])
        book = rebuild_desk(store, organizations).book
    assert book.free_places("shakhtinsk-saltanat", k20) == 2 + 3


def test_a_field_the_codec_cannot_store_is_refused_by_name() -> None:
    @attrs.frozen(kw_only=True)
    class Noted(QueueEvent):
        KIND: ClassVar[str] = "test_noted"

        notes: list[str]

    with pytest.raises(EventClassError, match=r"Noted\.notes: the event codec cannot store"):
        event_data(Noted(at=NOW, notes=["a"]))
    record = EventRecord(kind="test_noted", at=NOW, number=None, reason="", data={"journal": 1})
    with pytest.raises(EventClassError):  # a mistake in the class, not a damaged record
        from_record(record)


def test_an_event_class_must_declare_its_own_kind() -> None:
    with pytest.raises(TypeError, match="must declare its stored kind"):

        @attrs.frozen(kw_only=True)
        class Unnamed(QueueEvent):
            number: str

    with pytest.raises(TypeError, match="must declare its stored kind"):

        @attrs.frozen(kw_only=True)
        class Inherited(StopListed):  # StopListed's KIND is not its own
            pass

    with pytest.raises(TypeError, match="must declare its stored kind"):

        @attrs.frozen(kw_only=True)
        class Spaced(QueueEvent):
            KIND: ClassVar[str] = "Test Spaced"


def test_the_base_class_is_not_a_journal_event() -> None:
    with pytest.raises(StorageError) as caught:
        to_record(QueueEvent(at=NOW), actor="desk")
    assert caught.value.code == "journal.unreadable"


# --- (d) one kind, one class --------------------------------------------------------------------


def test_two_classes_declaring_the_same_kind_are_refused() -> None:
    @attrs.frozen(kw_only=True)
    class FirstNote(QueueEvent):
        KIND: ClassVar[str] = "test_note_added"

        number: str

    with pytest.raises(TypeError, match=r"'test_note_added' of .*\.FirstNote"):

        @attrs.frozen(kw_only=True)
        class SecondNote(QueueEvent):
            KIND: ClassVar[str] = "test_note_added"

            text: str

    assert event_type("test_note_added") is FirstNote
    with pytest.raises(TypeError, match=r"'stop_listed' of edqueue\.rules\.events\.StopListed"):

        @attrs.frozen(kw_only=True)
        class Stopped(QueueEvent):
            KIND: ClassVar[str] = "stop_listed"

    assert event_type("stop_listed") is StopListed


# --- (e) the class's name is not its stored kind --------------------------------------------------


def _record_under_the_old_name() -> EventRecord:
    """A record written by a class that is then renamed: after this returns, the class is
    gone, as from the code after a rename."""

    @attrs.frozen(kw_only=True)
    class PMPKReceived(QueueEvent):
        KIND: ClassVar[str] = "test_pmpk_received"

        number: str
        valid_until: datetime

    event = PMPKReceived(at=NOW, number="12", valid_until=FIXED, reason="conclusion")
    assert event.kind == "test_pmpk_received"  # not "p_m_p_k_received", as a name would give
    return to_record(event, actor="desk")


def test_renaming_a_class_keeps_its_stored_kind() -> None:
    record = _record_under_the_old_name()
    gc.collect()  # the old class is collected: its kind is free for the renamed class
    assert event_type("test_pmpk_received") is None

    @attrs.frozen(kw_only=True)
    class PsychologicalAssessmentReceived(QueueEvent):
        KIND: ClassVar[str] = "test_pmpk_received"

        number: str
        valid_until: datetime

    event = from_record(record)
    assert event == PsychologicalAssessmentReceived(
        at=NOW, number="12", valid_until=FIXED, reason="conclusion"
    )
    assert to_record(event, actor="desk") == record


def test_read_event_refuses_a_kind_no_class_declares() -> None:
    with pytest.raises(ValueError, match="no event class declares the kind"):
        read_event("test_never_declared", NOW, "1", "", {"queues": ""})
