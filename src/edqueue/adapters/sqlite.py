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

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from edqueue.audit import GENESIS, seal
from edqueue.errors import EdqueueError, PortError, StorageError
from edqueue.models import Application, Iin, require_aware
from edqueue.ports import AttemptLimit, AttemptTally, EventRecord, StoredApplication
from edqueue.schemas import dump_application, load_application

__all__ = ["FIRST_NUMBER", "SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION: Final = 3
"""The version of the tables below, kept in ``PRAGMA user_version``."""

FIRST_NUMBER: Final = 1292583
"""The default first application number (the seed's "Заявлению присвоен номер: #1292583")."""

# The tables as of version 2. A new database runs these, then every later step
# (_TO_VERSION_3), so a new and an upgraded database have the same tables.
_SCHEMA: Final = (
    # body: the whole application as JSON; child_iin: the one field the flow looks up by
    # (one active application per child); idempotency_key: a resubmission finds its result.
    """CREATE TABLE applications (
        number TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        child_iin TEXT NOT NULL,
        idempotency_key TEXT UNIQUE,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX applications_by_child ON applications (child_iin)",
    "CREATE INDEX applications_in_number_order ON applications (length(number), number)",
    # at: ISO-8601 with its offset; at_us: microseconds since 1970 UTC, to order and compare;
    # zone: the IANA key when the time carried one, so a time in the hour that happened
    # twice (Asia/Almaty, 2024-03-01) comes back with the same zone and fold.
    """CREATE TABLE events (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        zone TEXT,
        reason TEXT NOT NULL,
        data TEXT NOT NULL,
        data_digest TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX events_by_number ON events (number)",
    "CREATE INDEX events_by_time ON events (at_us)",
    "CREATE TABLE drafts (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL)",
)

_TO_VERSION_3: Final = (
    # idempotency_owner: who used the key (an opaque digest the service gives).
    "ALTER TABLE applications ADD COLUMN idempotency_owner TEXT",
    # expires_at_us: microseconds since 1970 UTC; NULL: no expiry (gone at the next purge).
    "ALTER TABLE drafts ADD COLUMN expires_at_us INTEGER",
    # One row per key an attempt was counted under; key: an opaque digest, never a phone
    # number in clear; at_us: microseconds since 1970 UTC.
    """CREATE TABLE attempts (
        key TEXT NOT NULL,
        token TEXT NOT NULL,
        at_us INTEGER NOT NULL
    )""",
    "CREATE INDEX attempts_by_key ON attempts (key, at_us)",
    "CREATE INDEX attempts_by_token ON attempts (token)",
)

_NUMBER_COUNTER: Final = "application_number"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_SMALLEST_INTEGER: Final = -(2**63)  # SQLite's
_BUSY: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_DECODING_ERRORS: Final = (ValueError, TypeError, KeyError, AttributeError, EdqueueError)

_T = TypeVar("_T")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _port_error(error: sqlite3.Error) -> PortError:
    """The port error for a failure of SQLite; the message names only SQLite's error code."""
    code = getattr(error, "sqlite_errorcode", None)
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    if isinstance(code, int) and code & 0xFF in _BUSY:
        return PortError(
            "port.timeout",
            f"the SQLite database stayed locked by another writer ({name}); nothing was "
            "written, retry the command",
        )
    return PortError(
        "port.failed", f"the SQLite database failed ({name}); nothing was written, retry later"
    )


class SqliteStore:
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
        self._connection: sqlite3.Connection | None = connection
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
            self._write(lambda c: self._create_schema(c, first_number))
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
        return (_application(row) for row in rows)

    def add(
        self,
        application: Application,
        events: Sequence[EventRecord] = (),
        *,
        idempotency_key: str | None = None,
        idempotency_owner: str | None = None,
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
            if connection.execute(
                "SELECT 1 FROM applications WHERE number = ?", (number,)
            ).fetchone():
                raise StorageError(
                    "storage.duplicate",
                    f"application #{number} is already stored; read it with get()",
                )
            if idempotency_key is not None:
                used = connection.execute(
                    "SELECT number FROM applications WHERE idempotency_key = ?",
                    (idempotency_key,),
                ).fetchone()
                if used:
                    raise StorageError(
                        "storage.duplicate",
                        f"this idempotency key was already used for application #{used[0]}; "
                        "read it with by_idempotency_key()",
                    )
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
            cursor = connection.execute(
                "UPDATE applications SET version = version + 1, child_iin = ?, body = ? "
                "WHERE number = ? AND version = ?",
                (application.child.iin.reveal(), body, number, expected_version),
            )
            if cursor.rowcount != 1:
                if connection.execute(
                    "SELECT 1 FROM applications WHERE number = ?", (number,)
                ).fetchone():
                    raise StorageError(
                        "storage.conflict",
                        f"application #{number} changed since version {expected_version}; "
                        "read it again",
                    )
                raise StorageError(
                    "storage.unknown", f"application #{number} is not stored; add it first"
                )
            return _insert_events(connection, events, rows)

        self._write(write)
        return StoredApplication(application, expected_version + 1)

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

    def append(self, events: Iterable[EventRecord]) -> list[EventRecord]:
        """Append events that belong to no application change, in one transaction; return
        them numbered. O(e)."""
        records = list(events)
        rows = [_event_row(e) for e in records]
        if not records:
            return []
        return self._write(lambda c: _insert_events(c, records, rows))

    # --- DraftStore ----------------------------------------------------------------------

    def load(self, draft_id: str) -> Mapping[str, object] | None:
        """The draft with this id, if any. O(log drafts + size)."""
        rows = self._read("SELECT body FROM drafts WHERE id = ?", (draft_id,))
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
        except _DECODING_ERRORS:
            data = None
        if not isinstance(data, dict):
            raise StorageError(
                "storage.corrupt", "a stored draft could not be read; start the application again"
            )
        return data

    def save(
        self, draft_id: str, data: Mapping[str, object], *, expires_at: datetime | None = None
    ) -> None:
        """Create or replace a draft and its expiry. O(log drafts + size). Raises
        ``TypeError`` or ``ValueError`` for data that is not JSON-ready and
        :class:`~edqueue.errors.TimeError` for a naive ``expires_at``, before anything is
        written."""
        body = _json(dict(data))
        expiry = None if expires_at is None else _microseconds(expires_at, "the expiry")
        self._write(
            lambda c: c.execute(
                "INSERT INTO drafts (id, body, expires_at_us) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                "expires_at_us = excluded.expires_at_us",
                (draft_id, body, expiry),
            )
        )

    def delete(self, draft_id: str) -> None:
        """Forget a draft; a draft that is not stored is ignored. O(log drafts)."""
        self._write(lambda c: c.execute("DELETE FROM drafts WHERE id = ?", (draft_id,)))

    def purge(self, now: datetime) -> int:
        """Delete, in one transaction, every draft that expired at or before ``now``
        (compared as instants) and every draft saved without an expiry; return how many.
        O(drafts).

        Like :meth:`forget`, it then checkpoints and truncates the log, so the deleted
        drafts (IINs, a phone number) leave the files too. Raises
        :class:`~edqueue.errors.TimeError` for a naive ``now``, deleting nothing.
        """
        moment = _microseconds(now, "the time of the purge")
        deleted = self._write(
            lambda c: (
                c.execute(
                    "DELETE FROM drafts WHERE expires_at_us IS NULL OR expires_at_us <= ?",
                    (moment,),
                ).rowcount
            )
        )
        if deleted:
            self._checkpoint()
        return deleted

    # --- AttemptCounter ------------------------------------------------------------------

    def take(self, token: str, at: datetime, limits: Sequence[AttemptLimit]) -> AttemptTally:
        """Count, for each limit, the attempts under its key at instants after
        ``at - window`` (later ones included); if one limit is full, record nothing and
        return its index and the instant its window frees a place (in ``at``'s time
        zone); otherwise record one attempt named ``token`` at ``at`` under each distinct
        key (a key named by two limits, with two windows, gets one attempt).

        Counting and recording are one ``BEGIN IMMEDIATE`` transaction, so no two
        processes sharing the file count the same free place. O(limits * log attempts +
        attempts in the windows). Raises :class:`~edqueue.errors.TimeError` for a naive
        ``at``, recording nothing (an :class:`~edqueue.ports.AttemptLimit` is valid by
        construction).
        """
        moment = _microseconds(at, "the attempt time")
        checked = list(limits)

        def write(connection: sqlite3.Connection) -> AttemptTally:
            counts: list[int] = []
            refused: int | None = None
            until: datetime | None = None
            for i, limit in enumerate(checked):
                window = limit.window // _MICROSECOND
                start = max(moment - window, _SMALLEST_INTEGER)  # a window of centuries
                count = connection.execute(
                    "SELECT count(*) FROM attempts WHERE key = ? AND at_us > ?",
                    (limit.key, start),
                ).fetchone()[0]
                counts.append(count)
                if refused is None and count >= limit.limit:
                    oldest = connection.execute(
                        "SELECT at_us FROM attempts WHERE key = ? AND at_us > ? "
                        "ORDER BY at_us LIMIT 1 OFFSET ?",
                        (limit.key, start, count - limit.limit),
                    ).fetchone()[0]
                    refused = i
                    until = _instant(oldest + window).astimezone(at.tzinfo)
            if refused is not None:
                return AttemptTally(tuple(counts), refused, until)
            connection.executemany(
                "INSERT INTO attempts (key, token, at_us) VALUES (?, ?, ?)",
                [(key, token, moment) for key in dict.fromkeys(lim.key for lim in checked)],
            )
            return AttemptTally(tuple(count + 1 for count in counts))

        return self._write(write)

    def release(self, token: str) -> None:
        """Forget the attempts named ``token`` (a right code is not a failure).
        O(log attempts + released)."""
        self._write(lambda c: c.execute("DELETE FROM attempts WHERE token = ?", (token,)))

    def forget_attempts(self, before: datetime) -> int:
        """Delete every attempt at or before ``before`` (as instants); return how many.
        O(attempts). Raises :class:`~edqueue.errors.TimeError` for a naive ``before``."""
        moment = _microseconds(before, "the time to forget attempts before")
        return self._write(
            lambda c: c.execute("DELETE FROM attempts WHERE at_us <= ?", (moment,)).rowcount
        )

    # --- NumberSequence ------------------------------------------------------------------

    def next_number(self) -> str:
        """The next application number, unique across every object and process sharing the
        file (the counter is read and advanced in one write transaction). O(1)."""

        def write(connection: sqlite3.Connection) -> str:
            row = connection.execute(
                "SELECT next FROM counters WHERE name = ?", (_NUMBER_COUNTER,)
            ).fetchone()
            connection.execute(
                "UPDATE counters SET next = next + 1 WHERE name = ?", (_NUMBER_COUNTER,)
            )
            return str(row[0])

        return self._write(write)

    # --- transactions --------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("the SQLite store is closed")
        return self._connection

    def _checkpoint(self) -> None:
        """Copy the log into the database and truncate it, so deleted data leaves the
        files; best effort (a reader holding the log defers it to the next checkpoint)."""
        with self._lock, suppress(sqlite3.Error):
            self._open().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        """All rows of one query: one statement is one consistent snapshot."""
        with self._lock:
            try:
                return self._open().execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise _port_error(error) from error

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction: commit if it returns, roll
        back if anything raises (a refusal, a :class:`sqlite3.Error`, an interrupt)."""
        with self._lock:
            connection = self._open()
            try:
                with self._transaction(connection):
                    return work(connection)
            except sqlite3.Error as error:
                raise _port_error(error) from error

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
        connection.execute("BEGIN IMMEDIATE")  # takes the write lock now, waiting up to timeout
        try:
            yield
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _create_schema(connection: sqlite3.Connection, first_number: int) -> None:
        """Create the tables of a new database, or bring an older one up to
        ``SCHEMA_VERSION`` one step at a time, in the caller's transaction."""
        found = version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:  # a new database: the tables of version 2, then the later steps
            for statement in _SCHEMA:
                connection.execute(statement)
            version = 2
        elif version == 1:  # before the audit chain: add the digests and seal the log
            connection.execute("ALTER TABLE events ADD COLUMN data_digest TEXT NOT NULL DEFAULT ''")
            connection.execute("ALTER TABLE events ADD COLUMN digest TEXT NOT NULL DEFAULT ''")
            previous = GENESIS
            rows = connection.execute(
                "SELECT sequence, number, kind, at, zone, reason, data, '', '' FROM events "
                "ORDER BY sequence"
            ).fetchall()
            for row in rows:
                record = seal(previous, _event(row))
                connection.execute(
                    "UPDATE events SET data_digest = ?, digest = ? WHERE sequence = ?",
                    (record.data_digest, record.digest, record.sequence),
                )
                previous = record.digest
            version = 2
        if version == 2:  # before idempotency owners, draft expiry and attempts
            for statement in _TO_VERSION_3:
                connection.execute(statement)
            version = 3
        if version != SCHEMA_VERSION:
            raise StorageError(
                "storage.corrupt",
                f"the database has schema version {found}; this edqueue reads version "
                f"{SCHEMA_VERSION}: use the edqueue that wrote it",
            )
        if version != found:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute(
            "INSERT OR IGNORE INTO counters (name, next) VALUES (?, ?)",
            (_NUMBER_COUNTER, first_number),
        )


# --- rows <-> records ----------------------------------------------------------------------


def _application(row: tuple[Any, ...]) -> StoredApplication:
    """Decode an application row; ``storage.corrupt`` if it is damaged."""
    number, version, body = row
    try:
        application = load_application(json.loads(body))
    except _DECODING_ERRORS:
        application = None
    if (
        not isinstance(application, Application)
        or application.number != number
        or not isinstance(version, int)
        or version < 1
    ):
        raise StorageError(
            "storage.corrupt",
            f"application #{number} could not be read: its stored record is damaged; "
            "restore it from a backup",
        )
    return StoredApplication(application, version)


def _microseconds(moment: datetime, what: str) -> int:
    """An aware time as microseconds since 1970 UTC (exact: a datetime has no finer unit);
    :class:`~edqueue.errors.TimeError` if it is naive."""
    return (require_aware(moment, what) - _EPOCH) // _MICROSECOND


def _instant(microseconds: int) -> datetime:
    """The UTC datetime of microseconds since 1970 UTC."""
    return _EPOCH + microseconds * _MICROSECOND


_EventRow = tuple[str | None, str, str, int, str | None, str, str]


def _event_row(event: EventRecord) -> _EventRow:
    """The columns of an event (before numbering); raises before anything is written."""
    at = require_aware(event.at, "the event time")
    zone = at.tzinfo.key if isinstance(at.tzinfo, ZoneInfo) else None
    return (
        event.number,
        event.kind,
        at.isoformat(),
        (at - _EPOCH) // _MICROSECOND,
        zone,
        event.reason,
        _json(dict(event.data)),
    )


def _insert_events(
    connection: sqlite3.Connection, events: Sequence[EventRecord], rows: Sequence[_EventRow]
) -> list[EventRecord]:
    last = connection.execute(
        "SELECT sequence, digest FROM events ORDER BY sequence DESC LIMIT 1"
    ).fetchone()
    sequence, previous = (0, GENESIS) if last is None else (last[0], last[1])
    written = []
    for event, row in zip(events, rows, strict=True):
        sequence += 1
        record = seal(
            previous,
            EventRecord(
                kind=event.kind,
                at=event.at,
                number=event.number,
                reason=event.reason,
                data=json.loads(row[6]),
                sequence=sequence,
            ),
        )
        connection.execute(
            "INSERT INTO events (sequence, number, kind, at, at_us, zone, reason, data, "
            "data_digest, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sequence, *row, record.data_digest, record.digest),
        )
        previous = record.digest
        written.append(record)
    return written


def _event(row: tuple[Any, ...]) -> EventRecord:
    """Decode an event row; ``storage.corrupt`` if it is damaged."""
    sequence, number, kind, at_text, zone, reason, data_text, data_hash, digest = row
    try:
        at = datetime.fromisoformat(at_text)
        if zone is not None:
            at = at.astimezone(ZoneInfo(zone))
        data = json.loads(data_text)
        require_aware(at)
    except _DECODING_ERRORS:  # ZoneInfoNotFoundError is a KeyError
        data = None
    if not isinstance(data, dict):
        raise StorageError(
            "storage.corrupt",
            f"event {sequence} could not be read: its stored record is damaged; "
            "restore it from a backup",
        )
    return EventRecord(
        kind=kind,
        at=at,
        number=number,
        reason=reason,
        data=data,
        sequence=sequence,
        data_digest=data_hash,
        digest=digest,
    )
