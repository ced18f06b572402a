"""Ports: what a host provides to :class:`~edqueue.service.ApplicationService`.

Each port is a :class:`typing.Protocol`; a host implements it over its own infrastructure
(the ED24 identity service, the SMS gateway 1414, the state registers, its database).
:mod:`edqueue.adapters.memory` implements every port in memory (for tests and the demo) and
:mod:`edqueue.adapters.sqlite` the stores with the standard library's ``sqlite3``.

Ports speak the domain's records (:mod:`edqueue.models`) and a few small value types
defined here. A port that fails raises :class:`~edqueue.errors.PortError` (``port.failed``
or ``port.timeout``); a store that refuses a change raises
:class:`~edqueue.errors.StorageError`. The service then changes nothing.

Source of what each port does: the seed's steps 0-5 (DOMAIN.md, "The flow in the seed").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from edqueue.errors import (
    already_stored,
    key_used,
    log_moved,
    not_stored,
    version_moved,
)
from edqueue.models import (
    Application,
    BenefitCategory,
    Child,
    FullName,
    Iin,
    LegalRepresentativeStatus,
    PhoneNumber,
)

__all__ = [
    "AccessAnswer",
    "ApplicationRepository",
    "AttemptCounter",
    "AttemptLimit",
    "AttemptTally",
    "BenefitRegistry",
    "Clock",
    "ConsentRegistry",
    "DeviceBinding",
    "DocumentStore",
    "DraftStore",
    "EventLog",
    "EventRecord",
    "EventWaiter",
    "FamilyMember",
    "FamilyRecord",
    "FamilyRegister",
    "IdentityProvider",
    "Message",
    "MonotonicClock",
    "Notifier",
    "NumberSequence",
    "SnapshotStore",
    "StoredApplication",
    "already_stored",
    "key_used",
    "log_moved",
    "not_stored",
    "version_moved",
]


# --- identity (step 0) ---------------------------------------------------------------------


@attrs.frozen
class DeviceBinding:
    """A device (the ED24 app on one phone) bound to a phone number since ``bound_at``."""

    device_id: str
    phone: PhoneNumber
    bound_at: datetime


@runtime_checkable
class IdentityProvider(Protocol):
    """The ED24 identity service and the register of mobile citizens (БМГ).

    Seed, step 0: the number "должен быть зарегистрирован в БМГ"; the code goes "в мобильное
    приложение ED24"; a number with no app gets a one-time password or QR code to bind one;
    a device is then tied to its number.
    """

    def in_mobile_register(self, phone: PhoneNumber) -> bool:
        """Whether the number is in the БМГ (база мобильных граждан)."""
        ...

    def owner(self, phone: PhoneNumber) -> Iin | None:
        """The person the БМГ binds the number to (DOMAIN.md: the register binds numbers
        to persons), or ``None`` if the number is not in it."""
        ...

    def app_bound(self, phone: PhoneNumber) -> bool:
        """Whether an ED24 app is bound to the number (so a code can be pushed to it)."""
        ...

    def push_code(self, phone: PhoneNumber, code: str) -> None:
        """Deliver a confirmation code to the ED24 app bound to the number."""
        ...

    def binding(self, device_id: str) -> DeviceBinding | None:
        """The number a device is bound to now, if any."""
        ...

    def bind(self, binding: DeviceBinding) -> None:
        """Bind a device to a number (replacing its previous binding)."""
        ...


# --- consents and family data (step 1) -----------------------------------------------------


class AccessAnswer(enum.StrEnum):
    """The citizen's answer to the SMS from 1414 asking for access to the family data."""

    GRANTED = "granted"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"


@runtime_checkable
class ConsentRegistry(Protocol):
    """Consents: the two the portal asks for, and access to the family data via SMS 1414.

    Seed, step 1: «Согласие или отказ осуществляется отправкой SMS-уведомления от 1414».
    """

    def request_access(self, applicant: Iin, phone: PhoneNumber) -> str:
        """Send the SMS from 1414 asking for access; return the request's id."""
        ...

    def access_answer(self, request_id: str) -> AccessAnswer:
        """The citizen's answer so far."""
        ...


@attrs.frozen
class FamilyMember:
    """A child in the applicant's family, and the applicant's status towards it."""

    child: Child
    status: LegalRepresentativeStatus


@attrs.frozen
class FamilyRecord:
    """What the family register says about an applicant: name and children."""

    applicant: Iin
    name: FullName
    children: tuple[FamilyMember, ...]


@runtime_checkable
class FamilyRegister(Protocol):
    """The family register (состав семьи) read after the citizen grants access."""

    def family(self, applicant: Iin) -> FamilyRecord | None:
        """The applicant's family, or ``None`` if the register has no such person."""
        ...


# --- benefits and documents (step 3) --------------------------------------------------------


@runtime_checkable
class BenefitRegistry(Protocol):
    """State registers that confirm first-priority categories 5-11 automatically.

    Seed, step 3: each of these shows «Не найдена» when the register has no record.
    """

    def has_benefit(self, child: Iin, applicant: Iin, category: BenefitCategory) -> bool:
        """Whether the registers confirm ``category`` for this child and applicant."""
        ...


@runtime_checkable
class DocumentStore(Protocol):
    """Uploaded documents: proofs of extraordinary categories 1-4, ПМПК conclusions.

    Seed, step 3: «Загрузить документ». The service keeps only the returned id.
    """

    def put(self, content: bytes, media_type: str) -> str:
        """Store a document; return its id."""
        ...

    def exists(self, document_id: str) -> bool:
        """Whether a document with this id is stored."""
        ...


# --- notifications and time ---------------------------------------------------------------


@attrs.frozen
class Message:
    """A notification to a family: what happened to which application, in Russian and
    Kazakh. It names the application by number and carries no other personal data."""

    kind: str
    number: str | None
    text_ru: str
    text_kk: str


@runtime_checkable
class Notifier(Protocol):
    """SMS, push (ED24) or e-mail to the family, as the host chooses.

    Seed, step 0: «Я даю согласие на использование своих контактных данных для получения
    уведомлений»; messages go only to families that gave it.
    """

    def send(self, phone: PhoneNumber, message: Message) -> None:
        """Deliver one message to the family's phone."""
        ...


@runtime_checkable
class Clock(Protocol):
    """The time: always timezone-aware."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


@runtime_checkable
class MonotonicClock(Clock, Protocol):
    """A clock that also tells the real time elapsed, which no step of the wall clock
    changes (:func:`time.monotonic`). With it, the service measures lifetimes across a
    clock that steps back (:mod:`edqueue.timekeeping`)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (its zero means nothing)."""
        ...


# --- stores ------------------------------------------------------------------------------


@attrs.frozen
class StoredApplication:
    """An application as stored, with its version for optimistic concurrency (1, 2, ...)."""

    application: Application
    version: int


@attrs.frozen
class EventRecord:
    """One entry of the event log: what happened, when, to which application, and why.

    ``data`` holds the event's details as text and numbers; never personal data.
    ``sequence``, ``data_digest`` and ``digest`` are given by the log when the record is
    appended: the log is hash-chained (:mod:`edqueue.audit`).
    """

    kind: str
    at: datetime
    number: str | None
    reason: str
    data: Mapping[str, str | int | None] = attrs.field(factory=dict)
    sequence: int = 0
    data_digest: str = ""
    digest: str = ""


@runtime_checkable
class ApplicationRepository(Protocol):
    """Submitted applications, each with a version, and the event log written with them.

    Every write is one transaction: the application and its events are stored together or
    not at all. ``add`` and ``update`` raise :class:`~edqueue.errors.StorageError`:
    ``storage.duplicate`` for a number already stored, ``storage.unknown`` for one that is
    not, ``storage.conflict`` when ``expected_version`` is not the stored version.

    ``log_head`` (on ``add``, ``update`` and ``EventLog.append``): when given, the write is
    made only if the last record of the event log has the sequence ``log_head`` (0: the log
    is empty), that is, if no other writer appended since the writer read the log; else
    ``storage.conflict`` and nothing is written. The check and the write are one
    transaction, so two writers that saw the same head never both write. The service writes
    every queue decision this way: a decision made on a stale view of the queues is refused,
    never applied (issue 17).
    """

    def get(self, number: str) -> StoredApplication | None:
        """The stored application with this number, if any."""
        ...

    def add(
        self,
        application: Application,
        events: Sequence[EventRecord] = (),
        *,
        idempotency_key: str | None = None,
        idempotency_owner: str | None = None,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Store a new application (version 1) and its events; remember the key (compared
        exactly, never stripped) and who used it (``idempotency_owner``: an opaque digest
        the service gives, e.g. of the draft that was submitted)."""
        ...

    def update(
        self,
        application: Application,
        expected_version: int,
        events: Sequence[EventRecord] = (),
        *,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Replace the application if its stored version is ``expected_version``."""
        ...

    def by_idempotency_key(self, key: str) -> StoredApplication | None:
        """The application a submission with this key created, if any."""
        ...

    def idempotency_owner(self, key: str) -> str | None:
        """The owner stored with this key by :meth:`add`, or ``None`` (no such key, or no
        owner was given)."""
        ...

    def for_child(self, child: Iin) -> list[StoredApplication]:
        """Every stored application for this child."""
        ...

    def all(self) -> Iterator[StoredApplication]:
        """Every stored application, in order of number (to rebuild the queues)."""
        ...


@runtime_checkable
class EventLog(Protocol):
    """The events written with the applications, in order (for notifications and audit),
    each sealed into a hash chain by :func:`edqueue.audit.seal` as it is appended."""

    def events(self, after: int = 0) -> list[EventRecord]:
        """The records with ``sequence > after``, in order."""
        ...

    def append(
        self, events: Iterable[EventRecord], *, log_head: int | None = None
    ) -> list[EventRecord]:
        """Append records that belong to no application change; return them numbered
        (``log_head``: see :class:`ApplicationRepository`)."""
        ...


@runtime_checkable
class EventWaiter(Protocol):
    """Optional: a store that can wait for new records of its log, so a worker loop learns
    of other processes' writes promptly instead of polling the log itself; the service
    uses it when a store offers it (``isinstance(store, EventWaiter)``). The memory, SQLite
    and PostgreSQL stores offer it (PostgreSQL: LISTEN/NOTIFY, the log as the truth)."""

    def wait_for_events(self, after: int, timeout: float) -> int:
        """The sequence of the log's last record as soon as it is greater than ``after``;
        the head as it stands once ``timeout`` seconds pass without one."""
        ...


@runtime_checkable
class DraftStore(Protocol):
    """Applications in progress (the flow's state between steps), as JSON-ready mappings.

    The service writes a draft after every step, so the flow survives a restart, and
    deletes it when it is submitted, signed out or past its lifetime: a draft holds IINs
    and a phone number in clear, so none is kept longer than its purpose (Law No. 94-V of
    21.05.2013 on personal data).
    """

    def load(self, draft_id: str) -> Mapping[str, object] | None:
        """The draft with this id, if any (expired or not: the service checks)."""
        ...

    def save(
        self, draft_id: str, data: Mapping[str, object], *, expires_at: datetime | None = None
    ) -> None:
        """Create or replace a draft; ``expires_at`` (aware) is when :meth:`purge` may
        delete it (``None``: at the next purge)."""
        ...

    def delete(self, draft_id: str) -> None:
        """Forget a draft (after submission); a draft that is not stored is ignored."""
        ...

    def purge(self, now: datetime) -> int:
        """Delete every draft that expired at or before ``now``, and every draft saved
        without an expiry; return how many were deleted."""
        ...


# --- attempts (limits on codes sent and wrong guesses) ---------------------------------------


def _positive_limit(_: object, __: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("an attempt limit must be an int of at least 1")


def _positive_window(_: object, __: object, value: Any) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ValueError("an attempt window must be a positive timedelta")


@attrs.frozen
class AttemptLimit:
    """At most ``limit`` (at least 1) attempts counted under ``key`` in any window of
    length ``window`` (positive); checked at construction, so a store can trust it.

    ``key`` is opaque to the store (the service gives a digest, never a phone number or a
    device id in clear)."""

    key: str
    limit: int = attrs.field(validator=_positive_limit)
    window: timedelta = attrs.field(validator=_positive_window)


@attrs.frozen
class AttemptTally:
    """What :meth:`AttemptCounter.take` found: for each limit, in the order given, the
    attempts in its window (this one included when it was taken); if one was full,
    ``refused`` is its index (the first full one), ``until`` the instant its window frees
    a place, and nothing was recorded."""

    counts: tuple[int, ...]
    refused: int | None = None
    until: datetime | None = None


@runtime_checkable
class AttemptCounter(Protocol):
    """Attempts counted over rolling windows, atomically across every process sharing the
    store: the rate limits on confirmation codes (DOMAIN.md, "Who attacks a queue")."""

    def take(self, token: str, at: datetime, limits: Sequence[AttemptLimit]) -> AttemptTally:
        """In one atomic step: count, for each limit, the attempts under its key at
        instants ``t > at - window`` (later ones too: another process's clock may run
        ahead); if any count has reached its
        ``limit``, record nothing and say which limit refused and until when (the
        ``(count - limit + 1)``-th oldest counted instant plus ``window``); otherwise record
        one attempt at ``at`` under every key, all named ``token``."""
        ...

    def release(self, token: str) -> None:
        """Forget the attempts named ``token`` (a right code is not a failure)."""
        ...

    def forget_attempts(self, before: datetime) -> int:
        """Delete every attempt at or before ``before``; return how many."""
        ...


@runtime_checkable
class NumberSequence(Protocol):
    """Application numbers: digits, no leading zeros, never given twice (seed: #1292583)."""

    def next_number(self) -> str:
        """The next number."""
        ...


@runtime_checkable
class SnapshotStore(Protocol):
    """Snapshots of the queues, each with the sequence of the last log record it covers
    (optional: a store that offers it lets a service start from the newest snapshot and
    replay only the records after it, instead of the whole log; issue 17).

    The bytes are the service's (:mod:`edqueue.service.snapshot`: compressed JSON, no
    personal data); the store keeps them as they are, one snapshot per ``name`` (the
    locality's), and never replaces a snapshot with one that covers less of the log.
    """

    def save_snapshot(self, name: str, sequence: int, data: bytes) -> bool:
        """Keep ``data`` as the snapshot ``name`` covering the log up to ``sequence``,
        unless the one kept covers as much or more; return whether it was kept."""
        ...

    def load_snapshot(self, name: str) -> tuple[int, bytes] | None:
        """The snapshot kept as ``name``, with the sequence it covers, if any."""
        ...
