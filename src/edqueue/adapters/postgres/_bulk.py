"""Bulk import into :class:`~edqueue.adapters.postgres.PostgresStore`: many applications, each
with its submission record, by ``COPY`` in one transaction under the log's head lock.

:func:`import_applications` writes what the SQLite store's import writes
(:mod:`edqueue.adapters.sqlite._bulk`, whose rows, numbering and sealing it shares): each
application exactly as ``add(application, [to_record(submitted, actor=actor,
application=application)])`` would, in the order given. The rows go by ``COPY ... FROM
STDIN`` (psycopg 3's ``cursor.copy``) into ``applications`` and ``events``, in statements
of :data:`_COPY_ROWS` rows, so that each stays well inside the store's
``statement_timeout``. The transaction first locks the log's head row, as every append
does: the records are numbered after it without gaps, no other writer appends until the
import commits, and the head moves to the last record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Final, TypeVar

import psycopg

from edqueue.adapters.postgres._connection import Connection, _Connection
from edqueue.adapters.postgres._rows import _event_columns, _lock_head
from edqueue.adapters.sqlite._bulk import _Prepared
from edqueue.adapters.sqlite._rows import _sealed
from edqueue.errors import StorageError
from edqueue.models import Application
from edqueue.ports import already_stored

__all__ = ["import_applications"]

_COPY_ROWS: Final = 50_000
"""Rows per ``COPY`` statement: a few seconds' work at most."""

_T = TypeVar("_T")


def import_applications(
    store: _Connection,
    applications: Iterable[Application],
    *,
    actor: str = "import",
    at: datetime | None = None,
) -> int:
    """Store new applications, each as version 1 with its ``application_submitted`` record,
    by ``COPY`` in one transaction; return how many. O(n log N) for n applications into a
    store of N.

    Each is written exactly as ``store.add(application, [to_record(event, actor=actor,
    application=application)])`` would, in the order given, ``event`` being the
    :class:`~edqueue.rules.events.ApplicationSubmitted` that ``QueueBook.submit`` makes
    (at ``application.submitted_at``; at ``at`` when given): the same rows, and records
    numbered after the log's head and sealed into its hash chain. ``actor`` says who
    acted, by role (``"import"``), never by name. No idempotency key is stored.

    The rows (about 1 KB an application) are made before the transaction. The transaction
    holds the log's head lock from its start to its commit, so other processes' appends
    wait meanwhile, each up to its ``timeout`` (import a very large set in parts if that is
    too long). Raises ``storage.duplicate`` if a number is already stored or given twice
    (also when another process stores one of the numbers during the import),
    :class:`~edqueue.errors.TimeError` for a naive ``at``; nothing is written then, nor
    when anything else fails.
    """
    prepared = _Prepared(applications, actor, at)
    if not len(prepared):
        return 0

    def write(connection: Connection) -> int:
        head, previous = _lock_head(connection, None)
        _refuse_stored(connection, prepared.numbers)
        try:
            for chunk in _chunks(prepared.applications):
                _copy(
                    connection,
                    "COPY applications (number, version, child_iin, body) FROM STDIN",
                    ((number, 1, iin, body) for number, iin, body in chunk),
                )
        except psycopg.errors.UniqueViolation:
            raise _stored_meanwhile() from None
        last = previous
        for records in _chunks(_sealed(prepared.events, prepared.event_rows, head, previous)):
            _copy(
                connection,
                "COPY events (sequence, number, kind, at, at_us, zone, reason, data, "
                "data_digest, digest) FROM STDIN",
                (_event_columns(*sealed) for sealed in records),
            )
            last = records[-1][2].digest
        connection.execute(
            "UPDATE event_log_head SET sequence = %s, digest = %s WHERE only_row",
            (head + len(prepared), last),
        )
        return len(prepared)

    return store._write(write)


def _chunks(rows: Iterable[_T]) -> Iterator[list[_T]]:
    """``rows`` in lists of :data:`_COPY_ROWS`, one ``COPY`` statement each."""
    iterator = iter(rows)
    while chunk := list(islice(iterator, _COPY_ROWS)):
        yield chunk


def _copy(connection: Connection, statement: str, rows: Iterable[Sequence[object]]) -> None:
    """One ``COPY ... FROM STDIN`` of ``rows`` (text format: psycopg escapes each value)."""
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _refuse_stored(connection: Connection, numbers: Sequence[str]) -> None:
    """``storage.duplicate`` for the first of ``numbers`` (in their order) already stored,
    as the transaction sees the table."""
    found = {
        row[0]
        for row in connection.execute(
            "SELECT number FROM applications WHERE number = ANY(%s)", (list(numbers),)
        )
    }
    if found:
        raise already_stored(next(n for n in numbers if n in found))


def _stored_meanwhile() -> StorageError:
    """``storage.duplicate``: another process stored one of the numbers after the check
    (an ``add`` without events takes no head lock)."""
    return StorageError(
        "storage.duplicate",
        "another process stored one of the imported numbers during the import; nothing was "
        "imported: import again, and the stored number will be named",
    )
