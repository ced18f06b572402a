"""The stores over SQLite (the standard library's :mod:`sqlite3`): one file, many processes.

:class:`SqliteStore` implements ``ApplicationRepository``, ``EventLog``, ``DraftStore``,
``AttemptCounter`` and ``NumberSequence`` (:mod:`edqueue.ports`, the source of every rule
here). Its guarantees:

- **One transaction per command** (``BEGIN IMMEDIATE`` ... ``COMMIT``, ``ROLLBACK`` on any
  error): an application and its events are written together or not at all.
- **No lost update**, even between processes: ``update`` runs ``UPDATE ... WHERE number = ?
  AND version = ?`` and checks the row count; the loser of a race gets
  ``StorageError("storage.conflict")``, reads again and retries.
- **Durable commits**: ``PRAGMA synchronous=FULL`` in WAL mode syncs the log at every
  commit, so a committed application (a family's place in the queue) survives a power cut;
  ``NORMAL``, common with WAL, may lose the last commits then. WAL lets readers run while
  one writer writes.
- **Limits hold across processes**: ``take`` counts the attempts in their windows and
  records the new one in one ``BEGIN IMMEDIATE`` transaction, so processes sharing the file
  never together pass a limit (with limit 3, exactly 3 of any number of racing takes win).
- **Failures are port errors**: a :class:`sqlite3.Error` (database locked past ``timeout``,
  disk I/O error) becomes ``PortError("port.timeout")`` or ``PortError("port.failed")``;
  the transaction is rolled back, so the command may simply be retried.
- **Data minimisation** (Law of the Republic of Kazakhstan "On personal data and their
  protection", 21 May 2013 No. 94-V: collect only what the purpose needs, destroy it when
  the purpose is met): the tables hold the application, the one column the flow looks up
  by, events without personal data, drafts with their expiry, and attempts under opaque
  keys; :meth:`SqliteStore.forget` erases an application, :meth:`SqliteStore.purge` the
  drafts past their lifetime, and ``PRAGMA secure_delete`` overwrites what is deleted.

Applications are stored as JSON by :mod:`edqueue.schemas` (``dump_application`` /
``load_application``); a row that cannot be decoded raises ``StorageError("storage.corrupt")``
with no personal data in the message.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime
from types import TracebackType
from typing import Any

from edqueue.adapters._table_snapshots import TableSnapshots
from edqueue.adapters.sqlite import _bulk
from edqueue.adapters.sqlite._connection import _port_error
from edqueue.adapters.sqlite._counters import _Attempts, _Numbers
from edqueue.adapters.sqlite._drafts import _Drafts
from edqueue.adapters.sqlite._rows import _application, _check_head, _event, _event_row, _json
from edqueue.adapters.sqlite._rows import _EventRow as _EventRow
from edqueue.adapters.sqlite._rows import _insert_events as _insert_events
from edqueue.adapters.sqlite._schema import _SCHEMA as _SCHEMA
from edqueue.adapters.sqlite._schema import FIRST_NUMBER, SCHEMA_VERSION, _create_schema
from edqueue.models import Application, Iin
from edqueue.ports import (
    EventRecord,
    StoredApplication,
    already_stored,
    key_used,
    not_stored,
    version_moved,
)
from edqueue.schemas import dump_application

__all__ = ["FIRST_NUMBER", "SCHEMA_VERSION", "SqliteStore"]


# The mixins in reverse: the API page lists inherited methods from the last base first, so
# they read DraftStore, AttemptCounter, NumberSequence (the docstring's order).
class SqliteStore(_Numbers, _Attempts, _Drafts, TableSnapshots):
    """Applications, events, drafts, attempts and application numbers in one SQLite file.

    ``path`` is the database file (created with its tables on first open; ``":memory:"``
    works for a single object but has no WAL); ``timeout`` is how long, in seconds, a
    command waits for another process's write lock before ``port.timeout``;
    ``first_number`` starts the number counter of a new database (an existing counter is
    kept: numbers are never given twice).

    One connection per object, shared by threads under a lock; several objects or processes
    may open the same file. Complexities: ``n`` applications, ``k`` rows in an answer, ``e``
    events written; every write also costs one sync of the log (``synchronous=FULL``).

    How a host deletes a family's data: for each of the family's children,
    ``forget(stored.application.number, drafts=...)`` for every ``for_child(iin)`` result,
    naming the family's unfinished drafts (the host's sessions know their ids); a draft alone
    goes with ``delete(draft_id)``.
    """

    _MARK = "?"  # the parameter mark of its SQL (TableSnapshots)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        first_number: int = FIRST_NUMBER,
    ) -> None:
        if isinstance(first_number, bool) or not isinstance(first_number, int) or first_number < 1:
            raise ValueError("first_number must be a positive int, e.g. 1292583")
        self._path = os.fspath(path)
        self._lock = threading.RLock()
        try:
            connection = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _port_error(error) from error
        self._connection = connection
        try:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")  # see the module's docstring
                # No table references another today (events outlive a forgotten
                # application); the pragma makes any later reference enforced.
                connection.execute("PRAGMA foreign_keys=ON")
                connection.execute("PRAGMA secure_delete=ON")  # deleted data is zeroed
            except sqlite3.Error as error:
                raise _port_error(error) from error
            self._write(lambda c: _create_schema(c, first_number))
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        state = "open" if self._connection is not None else "closed"
        return f"SqliteStore({self._path!r}, {state})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent); later commands raise ``ValueError``."""
        with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                with suppress(sqlite3.Error):
                    connection.close()

    # --- ApplicationRepository ---------------------------------------------------------

    def get(self, number: str) -> StoredApplication | None:
        """The stored application with this number, if any. O(log n)."""
        rows = self._read(
            "SELECT number, version, body FROM applications WHERE number = ?", (number,)
        )
        return _application(rows[0]) if rows else None

    def by_idempotency_key(self, key: str) -> StoredApplication | None:
        """The application a submission with this key created, if any. O(log n)."""
        rows = self._read(
            "SELECT number, version, body FROM applications WHERE idempotency_key = ?", (key,)
        )
        return _application(rows[0]) if rows else None

    def idempotency_owner(self, key: str) -> str | None:
        """The owner stored with this key by :meth:`add`, if any (keys compared exactly).
        O(log n)."""
        rows = self._read(
            "SELECT idempotency_owner FROM applications WHERE idempotency_key = ?", (key,)
        )
        return rows[0][0] if rows else None

    def for_child(self, child: Iin) -> list[StoredApplication]:
        """Every application for this child, in order of number. O(log n + k log k)."""
        rows = self._read(
            "SELECT number, version, body FROM applications WHERE child_iin = ? "
            "ORDER BY length(number), number",
            (child.reveal(),),
        )
        return [_application(row) for row in rows]

    def all(self) -> Iterator[StoredApplication]:
        """Every application in numeric order of number, read at the call and decoded as
        the iterator advances. O(n)."""
        rows = self._read(
            "SELECT number, version, body FROM applications ORDER BY length(number), number", ()
        )
        made: dict[Any, Any] = {}  # shared records of this read only (see _application)
        return (_application(row, made) for row in rows)

    def add(
        self,
        application: Application,
        events: Sequence[EventRecord] = (),
        *,
        idempotency_key: str | None = None,
        idempotency_owner: str | None = None,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Store a new application as version 1, with its events, the idempotency key
        (compared exactly, never stripped) and its owner, in one transaction.
        O(log n + e).

        An owner given without a key is not stored (there is nothing to look it up by).
        Raises ``storage.duplicate`` if the number is stored or the idempotency key was
        already used; :class:`~edqueue.errors.TimeError` for a naive event time.
        """
        number = application.number
        owner = None if idempotency_key is None else idempotency_owner
        body = _json(dump_application(application))
        rows = [_event_row(e) for e in events]

        def write(connection: sqlite3.Connection) -> list[EventRecord]:
            _check_head(connection, log_head)
            if connection.execute(
                "SELECT 1 FROM applications WHERE number = ?", (number,)
            ).fetchone():
                raise already_stored(number)
            if idempotency_key is not None:
                used = connection.execute(
                    "SELECT number FROM applications WHERE idempotency_key = ?",
                    (idempotency_key,),
                ).fetchone()
                if used:
                    raise key_used(used[0])
            connection.execute(
                "INSERT INTO applications "
                "(number, version, child_iin, idempotency_key, idempotency_owner, body) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (number, application.child.iin.reveal(), idempotency_key, owner, body),
            )
            return _insert_events(connection, events, rows)

        self._write(write)
        return StoredApplication(application, 1)

    def update(
        self,
        application: Application,
        expected_version: int,
        events: Sequence[EventRecord] = (),
        *,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Replace the application if its stored version is ``expected_version``, in one
        transaction with its events; the new version is one more. O(log n + e).

        The version check is the ``UPDATE``'s own ``WHERE``, so two processes never both
        win. Raises ``storage.unknown`` for a number that is not stored, ``storage.conflict``
        when the stored version differs.
        """
        number = application.number
        body = _json(dump_application(application))
        rows = [_event_row(e) for e in events]

        def write(connection: sqlite3.Connection) -> list[EventRecord]:
            _check_head(connection, log_head)
            cursor = connection.execute(
                "UPDATE applications SET version = version + 1, child_iin = ?, body = ? "
                "WHERE number = ? AND version = ?",
                (application.child.iin.reveal(), body, number, expected_version),
            )
            if cursor.rowcount != 1:
                if connection.execute(
                    "SELECT 1 FROM applications WHERE number = ?", (number,)
                ).fetchone():
                    raise version_moved(number, expected_version)
                raise not_stored(number)
            return _insert_events(connection, events, rows)

        self._write(write)
        return StoredApplication(application, expected_version + 1)

    def import_applications(
        self,
        applications: Iterable[Application],
        *,
        actor: str = "import",
        at: datetime | None = None,
    ) -> int:
        """Store many new applications at once, each exactly as ``add(application,
        [to_record(event, actor=actor, application=application)])`` would (version 1, its
        ``application_submitted`` record numbered after the log's head and sealed into its
        hash chain), with executemany in one ``BEGIN IMMEDIATE`` transaction; return how
        many. The records are dated ``at`` when given, else each application's
        ``submitted_at``. Nothing is written when one number is stored already or given
        twice (``storage.duplicate``), or ``at`` is naive (``time.naive``). What a host
        migrating a region's existing queue into edqueue runs once, before the service
        starts (see
        :func:`edqueue.adapters.sqlite._bulk.import_applications`)."""
        return _bulk.import_applications(self, applications, actor=actor, at=at)

    def forget(self, number: str, *, drafts: Iterable[str] = ()) -> bool:
        """Erase an application: its row (the record, the child's IIN, the idempotency key
        and its owner), the ``data`` of its events, and the named drafts, in one
        transaction.

        The events keep their sequence, kind, time, number and reason: the audit trail of
        decisions, which by the ``EventLog`` contract holds no personal data. Deleted pages
        are zeroed (``secure_delete``) and the log is then checkpointed and truncated, so the
        data leaves the files too (unless another connection is reading at that moment;
        the next checkpoint then finishes it; the checkpoint waits at most ``timeout``).
        Returns whether the application was stored.
        O(log n + events of the application). Source: Law No. 94-V of 21.05.2013 on personal
        data (personal data are destroyed once the purpose of their collection is met).
        """
        draft_ids = list(drafts)

        def write(connection: sqlite3.Connection) -> bool:
            deleted = connection.execute("DELETE FROM applications WHERE number = ?", (number,))
            connection.execute("UPDATE events SET data = '{}' WHERE number = ?", (number,))
            connection.executemany("DELETE FROM drafts WHERE id = ?", [(d,) for d in draft_ids])
            return deleted.rowcount == 1

        found = self._write(write)
        self._checkpoint()
        return found

    # --- EventLog ------------------------------------------------------------------------

    def events(self, after: int = 0) -> list[EventRecord]:
        """The events with ``sequence > after``, in order. O(log total + k)."""
        rows = self._read(
            "SELECT sequence, number, kind, at, zone, reason, data, data_digest, digest "
            "FROM events WHERE sequence > ? ORDER BY sequence",
            (after,),
        )
        return [_event(row) for row in rows]

    def append(
        self, events: Iterable[EventRecord], *, log_head: int | None = None
    ) -> list[EventRecord]:
        """Append events that belong to no application change, in one transaction; return
        them numbered (``log_head``: see :class:`~edqueue.ports.ApplicationRepository`).
        O(e)."""
        records = list(events)
        rows = [_event_row(e) for e in records]
        if not records and log_head is None:
            return []

        def write(connection: sqlite3.Connection) -> list[EventRecord]:
            _check_head(connection, log_head)
            return _insert_events(connection, records, rows)

        return self._write(write)

    def wait_for_events(self, after: int, timeout: float, *, poll_interval: float = 0.05) -> int:
        """The sequence of the log's last record as soon as it is greater than ``after``;
        the head as it stands once ``timeout`` seconds pass without one (``EventWaiter``,
        :mod:`edqueue.ports`): the same worker loop runs over every store.

        SQLite tells no other process of a commit, so this reads the head every
        ``poll_interval`` seconds (one look-up of the largest sequence, O(log total)) and
        sleeps between the reads; a new record is seen within ``poll_interval``."""
        deadline = time.monotonic() + timeout
        while True:
            head = int(self._read("SELECT COALESCE(MAX(sequence), 0) FROM events", ())[0][0])
            remaining = deadline - time.monotonic()
            if head > after or remaining <= 0:
                return head
            time.sleep(min(poll_interval, remaining))
