"""Bulk import into :class:`~edqueue.adapters.sqlite.SqliteStore`: many applications, each
with its submission record, in one transaction.

What a host loads once (a region moving its queue to edqueue, a test filling a store) would
otherwise be one ``add`` per application, each a transaction and a sync of the log: hours
for a million. :func:`import_applications` writes them in one transaction with
``executemany``, and writes each exactly as
``add(application, [to_record(submitted, actor=actor, application=application)])`` would,
one after the other in the order given, where ``submitted`` is the
:class:`~edqueue.rules.events.ApplicationSubmitted` that
:meth:`~edqueue.rules.queue.QueueBook.submit` makes: the same application row (the
schemas' JSON, the child's IIN), the same journal record, numbered after the log's head and
sealed into its hash chain as the append path seals it. So
:func:`~edqueue.audit.verify_audit_log` passes, and a service rebuilt over the store
(:func:`~edqueue.journal.rebuild_desk`) stands as if each had been added.

The helpers here (the rows made before the transaction, the numbering and sealing) are
shared with the PostgreSQL import (:mod:`edqueue.adapters.postgres._bulk`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from edqueue.adapters.sqlite._connection import _Connection
from edqueue.adapters.sqlite._rows import _event_row, _EventRow, _json, _sealed
from edqueue.audit import GENESIS
from edqueue.errors import StorageError
from edqueue.journal import to_record
from edqueue.models import Application, require_aware
from edqueue.ports import EventRecord, already_stored
from edqueue.rules.events import ApplicationSubmitted
from edqueue.schemas import dump_application

__all__ = ["import_applications"]

_ApplicationRow = tuple[str, str, str]
"""``(number, child_iin, body)``: the columns ``add`` fills for a new application without an
idempotency key (its version is 1)."""


class _Prepared:
    """The rows of an import, made before its transaction: every check and every encoding
    that can fail fails here, before anything is locked or written."""

    def __init__(
        self, applications: Iterable[Application], actor: str, at: datetime | None
    ) -> None:
        records = list(applications)
        if at is not None:
            require_aware(at, "the time of the imported submissions")
        seen: set[str] = set()
        for application in records:
            if application.number in seen:
                raise _repeated(application.number)
            seen.add(application.number)
        self.numbers: list[str] = [a.number for a in records]
        self.applications: list[_ApplicationRow] = [
            (a.number, a.child.iin.reveal(), _json(dump_application(a))) for a in records
        ]
        self.events: list[EventRecord] = [_submission(a, actor, at) for a in records]
        self.event_rows: list[_EventRow] = [_event_row(e) for e in self.events]

    def __len__(self) -> int:
        return len(self.numbers)


def _submission(application: Application, actor: str, at: datetime | None) -> EventRecord:
    """The journal record of the application's submission: the event
    :meth:`~edqueue.rules.queue.QueueBook.submit` makes (dated ``at`` when given), written
    by :func:`~edqueue.journal.to_record` with the application as submitted."""
    event = ApplicationSubmitted(
        at=application.submitted_at if at is None else at,
        queues=application.group_keys,
        number=application.number,
        reason="submitted",
    )
    return to_record(event, actor=actor, application=application)


def _repeated(number: str) -> StorageError:
    """``storage.duplicate``: a number given twice in one import."""
    return StorageError(
        "storage.duplicate",
        f"application #{number} is given twice in the import; nothing was imported: give "
        "each application once",
    )


def import_applications(
    store: _Connection,
    applications: Iterable[Application],
    *,
    actor: str = "import",
    at: datetime | None = None,
) -> int:
    """Store new applications, each as version 1 with its ``application_submitted`` record,
    in one transaction; return how many. O(n log N) for n applications into a store of N.

    Each is written exactly as ``store.add(application, [to_record(event, actor=actor,
    application=application)])`` would, in the order given, ``event`` being the
    :class:`~edqueue.rules.events.ApplicationSubmitted` that ``QueueBook.submit`` makes
    (at ``application.submitted_at``; at ``at`` when given): the same rows, and records
    numbered after the log's head and sealed into its hash chain. ``actor`` says who
    acted, by role (``"import"``), never by name. No idempotency key is stored.

    The rows (about 1 KB an application) are made before the transaction, so the write
    lock is held only while the records are numbered, sealed and written; other writers
    wait meanwhile, up to the store's ``timeout`` (import a very large set in parts if
    that is too long, or memory too short). Raises ``storage.duplicate`` if a number is
    already stored or given twice, :class:`~edqueue.errors.TimeError` for a naive ``at``;
    nothing is written then, nor when anything else fails.
    """
    prepared = _Prepared(applications, actor, at)
    if not len(prepared):
        return 0

    def write(connection: sqlite3.Connection) -> int:
        _refuse_stored(connection, prepared.numbers)
        connection.executemany(
            "INSERT INTO applications "
            "(number, version, child_iin, idempotency_key, idempotency_owner, body) "
            "VALUES (?, 1, ?, NULL, NULL, ?)",
            prepared.applications,
        )
        last = connection.execute(
            "SELECT sequence, digest FROM events ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
        head, previous = (0, GENESIS) if last is None else (last[0], last[1])
        connection.executemany(
            "INSERT INTO events (sequence, number, kind, at, at_us, zone, reason, data, "
            "data_digest, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (sequence, *row, record.data_digest, record.digest)
                for sequence, row, record in _sealed(
                    prepared.events, prepared.event_rows, head, previous
                )
            ),
        )
        return len(prepared)

    return store._write(write)


def _refuse_stored(connection: sqlite3.Connection, numbers: Sequence[str]) -> None:
    """``storage.duplicate`` for the first of ``numbers`` (in their order) already stored.
    Run in the write transaction, which holds the write lock: no number can be stored
    between this check and the insert. One index look-up a number (a few microseconds),
    none into an empty store."""
    if connection.execute("SELECT 1 FROM applications LIMIT 1").fetchone() is None:
        return  # an empty store, the usual first load: nothing to look up
    for number in numbers:
        if connection.execute("SELECT 1 FROM applications WHERE number = ?", (number,)).fetchone():
            raise already_stored(number)
