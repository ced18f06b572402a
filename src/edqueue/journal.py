"""The queue journal: every queue event as a record of the store's event log, and back.

The service writes each :class:`~edqueue.rules.events.QueueEvent` of a command, and every
decision of the :class:`~edqueue.rules.referrals.ReferralDesk` (направления, стоп-лист,
комплектование), as an :class:`~edqueue.ports.EventRecord` (:func:`to_record`), in the same
transaction as the application it changes. :func:`from_record` reads one back exactly, and
:func:`rebuild_desk` / :func:`rebuild_book` rebuild the queues from the store alone: the
stored applications (which hold the personal data, at their current version) are rewound
to their state at submission with the ``application_submitted`` record, then every queue
record is replayed in order (:meth:`~edqueue.rules.queue.QueueBook.replay`).

A record's ``data`` holds only text, integers and ``None``, and never personal data
(the ``EventLog`` contract, :mod:`edqueue.ports`): application numbers, queues as
``"organization|birth year|language|queue kind"`` joined by ``";"``, tiers as integers,
benefit categories and statuses, referral ids, times as ISO 8601 with their offset (and
the zone's name in brackets, RFC 9557, when the time has one). ``data["journal"]`` is the
format's version (:data:`JOURNAL_VERSION`); records without it (written before the journal,
or erased by a store's ``forget``) are not queue records and rebuilding skips them.

The event's own fields are written and read by the one codec, ``edqueue.events_codec``,
for every event type alike, under the event class's ``KIND``; the journal adds its version,
the ``actor``, and for a submission the application's state at submission.

Source of the rule that the log must rebuild the queues: issue 7, "Audit log": "Replaying
the log rebuilds the same ``QueueBook``".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol
from zoneinfo import ZoneInfoNotFoundError

import attrs

from edqueue.errors import EdqueueError, StorageError
from edqueue.events_codec import (
    Data,
    EventClassError,
    claim_data,
    event_data,
    read_claim,
    read_event,
    record_number,
)
from edqueue.models import Application, ApplicationStatus, Choice, Organization, require_aware
from edqueue.ports import EventRecord, StoredApplication
from edqueue.rules import (
    KAZAKHSTAN_CALENDAR,
    KAZAKHSTAN_POLICY,
    OrderingPolicy,
    Policy,
    QueueBook,
    ReferralDesk,
    WorkingCalendar,
)
from edqueue.rules.events import ApplicationSubmitted, OrganizationChanged, QueueEvent, event_type

__all__ = [
    "JOURNAL_VERSION",
    "JournalSource",
    "Unapplied",
    "catch_up",
    "from_record",
    "is_queue_record",
    "rebuild_book",
    "rebuild_desk",
    "submitted_application",
    "to_record",
]

JOURNAL_VERSION = 1
"""The version of the record format, written as ``data["journal"]``."""


class JournalSource(Protocol):
    """What rebuilding reads: the stored applications and the event log (both stores
    edqueue ships are one object; so is :class:`edqueue.service.Store`)."""

    def all(self) -> Iterable[StoredApplication]:
        """Every stored application."""
        ...

    def get(self, number: str) -> StoredApplication | None:
        """The stored application with this number, if any."""
        ...

    def events(self, after: int = 0) -> list[EventRecord]:
        """The log's records, in order."""
        ...


# --- writing ---------------------------------------------------------------------------------


def to_record(
    event: QueueEvent, *, actor: str, application: Application | None = None
) -> EventRecord:
    """The log record of ``event``; ``actor`` says who acted, by role (``"applicant"``,
    ``"desk"``), never by name. O(size of the event).

    For an :class:`~edqueue.rules.events.ApplicationSubmitted`, pass the ``application`` as
    submitted: its queue-relevant state (status, benefit claim) goes in the record, so that
    :func:`rebuild_desk` can rewind the stored application to it. Nothing personal is
    written: the choices are the event's queues, the benefit is its category, status and
    times.

    >>> from edqueue.sample import seed_application
    >>> seed = seed_application()
    >>> event = ApplicationSubmitted(at=seed.submitted_at, queues=seed.group_keys,
    ...                              number=seed.number, reason="submitted")
    >>> record = to_record(event, actor="applicant", application=seed)
    >>> record.data["queues"]
    'shakhtinsk-saltanat|2020|ru|general;shakhtinsk-karlygash|2020|kk|general'
    >>> from_record(record) == event
    True
    """
    cls = type(event)
    if event_type(getattr(cls, "KIND", "")) is not cls:
        raise StorageError(
            "journal.unreadable", f"{cls.__name__} is not a queue event of the journal"
        )
    data: Data = {"journal": JOURNAL_VERSION, "actor": actor, **event_data(event)}
    if isinstance(event, ApplicationSubmitted) and application is not None:
        if application.number != event.number:
            raise StorageError(
                "journal.unreadable",
                f"the submission of #{event.number} was given application "
                f"#{application.number}; give the one submitted",
            )
        data["application_status"] = application.status.value
        data.update(claim_data(application.benefit))
    return EventRecord(
        kind=event.kind,
        at=require_aware(event.at, "the event time"),
        number=record_number(event),
        reason=event.reason,
        data=data,
    )


# --- reading ---------------------------------------------------------------------------------


def is_queue_record(record: EventRecord) -> bool:
    """Whether ``record`` was written by :func:`to_record` (and not erased since). O(1)."""
    return record.data.get("journal") == JOURNAL_VERSION and event_type(record.kind) is not None


def from_record(record: EventRecord) -> QueueEvent:
    """The queue event :func:`to_record` wrote, equal to the original. O(size).

    Raises :class:`~edqueue.errors.StorageError` ``journal.unreadable`` for a record that is
    not a queue record (another kind, no journal version, erased data) or whose data is
    damaged; the message names the record by its sequence, never its data.
    """
    if event_type(record.kind) is None or record.data.get("journal") != JOURNAL_VERSION:
        raise _unreadable(record, "it is not a queue record of this journal version")
    try:
        return read_event(record.kind, record.at, record.number, record.reason, record.data)
    except EventClassError:
        raise  # a mistake in an event class's code, not in the record
    except (EdqueueError, KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
        raise _unreadable(record, "its data is damaged") from None


def submitted_application(
    record: EventRecord, stored: Application, event: QueueEvent | None = None
) -> Application:
    """``stored`` (the repository's current version, with its personal data) rewound to
    its queue state at submission, as the ``application_submitted`` ``record`` tells it:
    choices, benefit claim and status. O(c).

    ``event``: the record already read by :func:`from_record`, when the caller has it (a
    replay reads each record once). Raises ``journal.unreadable`` when the record carries
    no submission state (it was written by :func:`to_record` without the application).
    """
    if event is None:
        event = from_record(record)
    data = record.data
    if not isinstance(event, ApplicationSubmitted) or "application_status" not in data:
        raise _unreadable(record, "it does not carry the application's state at submission")
    try:
        choices = tuple(Choice(org, key.language) for org, key in event.queues)
        return attrs.evolve(
            stored,
            choices=choices,
            benefit=read_claim(data),
            status=ApplicationStatus(_text(data, "application_status")),
        )
    except (EdqueueError, KeyError, TypeError, ValueError):
        raise _unreadable(record, "its submission state is damaged") from None


# --- rebuilding -------------------------------------------------------------------------------


def rebuild_desk(
    store: JournalSource,
    organizations: Iterable[Organization],
    *,
    ordering: OrderingPolicy | None = None,
    policy: Policy = KAZAKHSTAN_POLICY,
    calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR,
) -> ReferralDesk:
    """The referral desk, with its queue book, rebuilt from the store alone (see
    :func:`catch_up`). ``organizations`` must be those the service started with (their
    groups and free places before any event), and ``ordering``, ``policy`` and
    ``calendar`` those it decided with.
    """
    desk = ReferralDesk(
        QueueBook(organizations, ordering=ordering), policy=policy, calendar=calendar
    )
    catch_up(desk, store)
    return desk


@attrs.frozen
class Unapplied:
    """A record of the log that a replay could not apply: its ``sequence`` and ``kind``, and
    the error's ``code`` and ``message`` (no personal data: a number, a referral id)."""

    sequence: int
    kind: str
    code: str
    message: str


def catch_up(
    desk: ReferralDesk,
    store: JournalSource,
    *,
    after: int = 0,
    unapplied: list[Unapplied] | None = None,
) -> int:
    """Replay onto ``desk`` every queue record of the log with ``sequence > after``, in
    order (:meth:`ReferralDesk.replay`, so the stop list, the benefit confirmations due and
    the referral numbering come back too); return the last sequence read (``after`` if
    none). O(N + E) for N applications and E records, plus the replayed commands.

    Each application the log submits is the stored one (it holds the personal data) rewound
    to its state at submission (:func:`submitted_application`). From the start
    (``after=0``, an empty desk), applications stored without a journaled submission
    (written before the journal existed) enter the book first, as stored; the
    applications are read before the log, so one submitted meanwhile is not taken for
    one of those. Records that are not queue records are skipped: notifications,
    refusals, and records of a forgotten application (a store's ``forget`` erases their
    data).

    From the start, each organization the log declares
    (``OrganizationChanged``) starts from its first record in the log, not from the one the
    desk was built with, so a locality's later changes count from what the log holds
    (``QueueBook.declare_organization``).

    Raises ``journal.unreadable`` for a damaged queue record, and ``storage.corrupt`` when
    the log submits an application the repository does not hold. With ``unapplied`` (a
    list), a record that cannot be read or applied is added to it instead, and the replay
    goes on with the next one (what a running service does: one bad record must not stop
    every process from starting); the book is as if that record were not in the log.
    """
    snapshot = {s.application.number: s.application for s in store.all()} if after == 0 else {}
    log = store.events(after)

    def fault(record: EventRecord, error: EdqueueError) -> None:
        if unapplied is None:
            raise error
        unapplied.append(Unapplied(record.sequence, record.kind, error.code, error.message))

    events: list[tuple[EventRecord, QueueEvent]] = []
    submitted: dict[str, Application] = {}
    for record in log:
        if not is_queue_record(record):
            continue
        try:
            event = from_record(record)
            if isinstance(event, ApplicationSubmitted):
                submitted[event.number] = _submitted(store, snapshot, record, event)
        except EdqueueError as error:
            fault(record, error)
            continue
        events.append((record, event))
    if after == 0:
        first: dict[str, Organization] = {}
        for _, event in events:
            if isinstance(event, OrganizationChanged):
                first.setdefault(event.organization_id, event.organization)
        desk.book.start_from(first.values())
    for number, application in snapshot.items():
        if number not in submitted:
            desk.book.submit(application)
    for record, event in events:
        try:
            desk.replay([event], submitted)
        except EdqueueError as error:
            fault(record, error)
    return log[-1].sequence if log else after


def _submitted(
    store: JournalSource,
    snapshot: Mapping[str, Application],
    record: EventRecord,
    event: ApplicationSubmitted,
) -> Application:
    """The application the submission ``record`` names, as stored, rewound to its state at
    submission; ``storage.corrupt`` when the repository does not hold it."""
    number = record.number or ""
    stored = snapshot.get(number)
    if stored is None:
        found = store.get(number)
        stored = None if found is None else found.application
    if stored is None:
        raise StorageError(
            "storage.corrupt",
            f"the event log submits application #{number} (record {record.sequence}) "
            "but the repository does not hold it; restore the store from a backup",
        )
    return submitted_application(record, stored, event)


def rebuild_book(
    store: JournalSource,
    organizations: Iterable[Organization],
    *,
    ordering: OrderingPolicy | None = None,
) -> QueueBook:
    """The queue book rebuilt from the store alone (see :func:`rebuild_desk`).

    >>> from edqueue.adapters.memory_store import MemoryRepository
    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> seed, store = seed_application(), MemoryRepository()
    >>> book = QueueBook(shakhtinsk_organizations())
    >>> [event] = book.submit(seed)
    >>> _ = store.add(seed, [to_record(event, actor="applicant", application=seed)])
    >>> rebuilt = rebuild_book(store, shakhtinsk_organizations())
    >>> rebuilt.positions(seed.number) == book.positions(seed.number)
    True
    """
    return rebuild_desk(store, organizations, ordering=ordering).book


# --- the format --------------------------------------------------------------------------------


def _unreadable(record: EventRecord, why: str) -> StorageError:
    return StorageError(
        "journal.unreadable",
        f"event {record.sequence} ({record.kind}) cannot be read as a queue event: {why}",
    )


def _text(data: Mapping[str, str | int | None], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(key)
    return value
