"""The stores over PostgreSQL (psycopg 3 and its pool): one database, any number of processes.

Needs the extra ``postgres`` (``pip install 'edqueue[postgres]'``).
:class:`PostgresStore` implements ``ApplicationRepository``, ``EventLog``, ``DraftStore``,
``AttemptCounter`` and ``NumberSequence`` (:mod:`edqueue.ports`, the source of every rule
here) as :class:`~edqueue.adapters.sqlite.SqliteStore` does, with the same rows. Its
guarantees:

- **One transaction per command**: an application and its events are written together or
  not at all; any error rolls the transaction back.
- **No lost update**: ``update`` runs ``UPDATE ... WHERE number = %s AND version = %s``;
  of writers racing from one version, one wins and the others get ``storage.conflict``.
- **A gap-free log in commit order**: every transaction that appends locks the one row of
  ``event_log_head`` (``SELECT ... FOR UPDATE``), numbers its records after it, seals them
  into the hash chain and moves the head, then commits and so releases the lock. Sequences
  are therefore given in commit order: a reader that has read up to record ``n`` never
  misses a record with a smaller number committed later, as it could with a ``bigserial``
  (numbers drawn before commit, committed in another order, with gaps after a rollback)
  or an unlocked ``max + 1`` (two writers read the same maximum). The price: appends are
  serialized, each holding the lock from its first record to its commit.
- **Decisions on a stale view are refused**: ``log_head`` (``add``, ``update``,
  ``append``) is compared with the locked head, so of two writers that saw the same head
  at most one writes; the other gets ``storage.conflict`` and nothing is written.
- **Limits hold across processes**: ``take`` counts and records in one transaction under
  an advisory lock per key.
- **Other processes learn of new records promptly**: every transaction that appends also
  runs ``pg_notify`` on the log's channel (``edqueue_log`` in the schema ``public``, see
  :mod:`edqueue.adapters.postgres._listen`) with the new head's sequence, delivered at
  commit only; :meth:`PostgresStore.wait_for_events` waits for it on a connection of its
  own, with the log as the truth, polling as the fallback and reconnection after a
  dropped connection.
- **Waits are bounded**: every connection has ``lock_timeout`` (``timeout``) and
  ``statement_timeout``; a wait past them is ``PortError("port.timeout")``, a server that
  cannot be reached or a dropped connection ``PortError("port.failed")``. Messages name the
  SQLSTATE only, never a row: personal data never appear in them. The pool checks each
  connection before lending it, so after a dropped connection the next command reconnects.
- **Schema versions**: the steps of :data:`MIGRATIONS`, applied at open
  (``migrate=True``) or by :func:`upgrade` (``edqueue db upgrade --dsn ...``).
- **Data minimisation** (Law of the Republic of Kazakhstan "On personal data and their
  protection", 21 May 2013 No. 94-V): personal data only in the ``applications`` and
  ``drafts`` tables; :meth:`PostgresStore.forget` erases an application, ``purge`` the
  drafts past their lifetime.
"""

from __future__ import annotations

try:
    import psycopg
    import psycopg_pool
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "edqueue.adapters.postgres needs psycopg 3 and psycopg_pool: "
        "pip install 'edqueue[postgres]'"
    ) from error

import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from edqueue.adapters._table_snapshots import TableSnapshots
from edqueue.adapters.postgres import _bulk
from edqueue.adapters.postgres._connection import (
    Connection,
    Pool,
    _configurer,
    _one,
    _port_error,
    _session_settings,
)
from edqueue.adapters.postgres._counters import _Attempts, _Numbers
from edqueue.adapters.postgres._drafts import _Drafts
from edqueue.adapters.postgres._listen import CHANNEL, LogListener, log_channel
from edqueue.adapters.postgres._rows import (
    _decode_event,
    _insert_events,
    _optional_text,
    _optional_untext,
    _text,
)
from edqueue.adapters.postgres._schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    _check_version,
    _migrate,
    _readable,
    upgrade,
)
from edqueue.adapters.sqlite._rows import _application, _event_row, _EventRow, _json
from edqueue.adapters.sqlite._schema import _NUMBER_COUNTER, FIRST_NUMBER
from edqueue.errors import StorageError
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

__all__ = [
    "CHANNEL",
    "FIRST_NUMBER",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "LogListener",
    "PostgresStore",
    "log_channel",
    "upgrade",
]

_COLUMNS = "SELECT number, version, body FROM applications "


# The mixins in reverse: the API page lists inherited methods from the last base first, so
# they read DraftStore, AttemptCounter, NumberSequence (the docstring's order).
class PostgresStore(_Numbers, _Attempts, _Drafts, TableSnapshots):
    """Applications, events, drafts, attempts and application numbers in one PostgreSQL
    database, shared by any number of objects and processes.

    Give either ``dsn``, a libpq connection string (``"postgresql://user@host/db"`` or
    ``"host=... dbname=..."``), and the store opens its own pool of up to ``pool_size``
    connections; or ``pool``, a :class:`psycopg_pool.ConnectionPool` of the host's (left
    open by :meth:`close`; give it ``check=ConnectionPool.check_connection`` so a dropped
    connection is replaced before use).

    ``timeout`` (seconds) bounds every wait for a lock and for a connection from the pool;
    ``statement_timeout`` (seconds, ``None``: none) every statement; past either, the
    command fails with ``port.timeout`` and changes nothing. On its own pool they are set
    on every connection; on a host's pool, in every write transaction (``SET LOCAL``), and
    the host's own settings bound the reads. ``migrate`` applies the pending schema steps
    at open (else a database not at :data:`SCHEMA_VERSION` is refused with
    ``storage.corrupt``); ``first_number`` starts the number counter of a new database (an
    existing counter is kept: numbers are never given twice). ``poll_interval`` (seconds)
    is how often :meth:`wait_for_events` reads the log's head when no notification comes:
    the fallback when one is lost.

    Complexities: ``n`` applications, ``k`` rows in an answer, ``e`` events written; every
    write is also one commit, and appends to the log take their turns (see the module).

    How a host deletes a family's data: for each of the family's children,
    ``forget(stored.application.number, drafts=...)`` for every ``for_child(iin)`` result,
    naming the family's unfinished drafts; a draft alone goes with ``delete(draft_id)``.
    """

    _MARK = "%s"  # the parameter mark of its SQL (TableSnapshots)

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: Pool | None = None,
        timeout: float = 5.0,
        statement_timeout: float | None = 60.0,
        migrate: bool = True,
        first_number: int = FIRST_NUMBER,
        pool_size: int = 4,
        poll_interval: float = 5.0,
    ) -> None:
        if isinstance(first_number, bool) or not isinstance(first_number, int) or first_number < 1:
            raise ValueError("first_number must be a positive int, e.g. 1292583")
        if (dsn is None) == (pool is None):
            raise ValueError("give either a connection string (dsn) or a pool, not both")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError("pool_size must be a positive int")
        if not timeout > 0 or (statement_timeout is not None and not statement_timeout > 0):
            raise ValueError("timeout and statement_timeout must be positive seconds")
        if not (poll_interval > 0 and math.isfinite(poll_interval)):
            raise ValueError("poll_interval must be positive seconds, e.g. 5")
        self._first_number = first_number
        self._owned = pool is None
        settings = _session_settings(timeout, statement_timeout)
        self._local_timeouts = None if pool is None else settings
        self._settings = settings
        self._poll_interval = poll_interval
        self._listener: LogListener | None = None
        self._listener_lock = threading.Lock()
        self._pool = pool if pool is not None else _own_pool(str(dsn), settings, timeout, pool_size)
        try:
            self._schema = self._write(lambda c: _open_schema(c, migrate, first_number))
        except BaseException:
            self.close()
            raise
        self._channel = log_channel(self._schema)

    def __repr__(self) -> str:  # never the DSN: it may hold a password
        return f"PostgresStore({'open' if self._pool is not None else 'closed'})"

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the listening connection of :meth:`wait_for_events` and the store's own
        pool (idempotent; a host's pool stays open); later commands raise ``ValueError``."""
        with self._listener_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        pool, self._pool = self._pool, None
        if pool is not None and self._owned:
            pool.close()

    # --- ApplicationRepository ---------------------------------------------------------

    def get(self, number: str) -> StoredApplication | None:
        """The stored application with this number, if any. O(log n)."""
        rows = self._read(_COLUMNS + "WHERE number = %s", (_text(number),))
        return _application(rows[0]) if rows else None

    def by_idempotency_key(self, key: str) -> StoredApplication | None:
        """The application a submission with this key created, if any. O(log n)."""
        rows = self._read(_COLUMNS + "WHERE idempotency_key = %s", (_text(key),))
        return _application(rows[0]) if rows else None

    def idempotency_owner(self, key: str) -> str | None:
        """The owner stored with this key by :meth:`add`, if any (keys compared exactly).
        O(log n)."""
        rows = self._read(
            "SELECT idempotency_owner FROM applications WHERE idempotency_key = %s",
            (_text(key),),
        )
        return _optional_untext(rows[0][0]) if rows else None

    def for_child(self, child: Iin) -> list[StoredApplication]:
        """Every application for this child, in order of number. O(log n + k log k)."""
        rows = self._read(
            _COLUMNS + "WHERE child_iin = %s ORDER BY length(number), number",
            (child.reveal(),),
        )
        return [_application(row) for row in rows]

    def all(self) -> Iterator[StoredApplication]:
        """Every application in numeric order of number, read at the call and decoded as
        the iterator advances. O(n)."""
        rows = self._read(_COLUMNS + "ORDER BY length(number), number", ())
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

        An owner given without a key is not stored. Raises ``storage.duplicate`` if the
        number is stored or the idempotency key was already used (two racing adds of one
        number: the second waits for the first's commit, then is refused);
        ``storage.conflict`` if ``log_head`` is given and the log moved on;
        :class:`~edqueue.errors.TimeError` for a naive event time.
        """
        number = application.number
        key = _optional_text(idempotency_key)
        owner = None if key is None else _optional_text(idempotency_owner)
        body = _json(dump_application(application))
        rows = [_event_row(e) for e in events]

        def write(connection: Connection) -> list[EventRecord]:
            inserted = connection.execute(
                "INSERT INTO applications "
                "(number, version, child_iin, idempotency_key, idempotency_owner, body) "
                "VALUES (%s, 1, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (number, application.child.iin.reveal(), key, owner, body),
            )
            if inserted.rowcount != 1:
                raise _duplicate(connection, number, key)
            return _notify(connection, self._channel, events, rows, log_head)

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

        The version check is the ``UPDATE``'s own ``WHERE`` (re-checked on the row a
        concurrent writer committed), so two processes never both win. Raises
        ``storage.unknown`` for a number that is not stored, ``storage.conflict`` when the
        stored version differs or, with ``log_head``, when the log moved on.
        """
        number = application.number
        body = _json(dump_application(application))
        rows = [_event_row(e) for e in events]

        def write(connection: Connection) -> list[EventRecord]:
            updated = connection.execute(
                "UPDATE applications SET version = version + 1, child_iin = %s, body = %s "
                "WHERE number = %s AND version = %s",
                (application.child.iin.reveal(), body, number, expected_version),
            )
            if updated.rowcount != 1:
                if connection.execute(
                    "SELECT 1 FROM applications WHERE number = %s", (number,)
                ).fetchone():
                    raise version_moved(number, expected_version)
                raise not_stored(number)
            return _notify(connection, self._channel, events, rows, log_head)

        self._write(write)
        return StoredApplication(application, expected_version + 1)

    def import_applications(
        self,
        applications: Iterable[Application],
        *,
        actor: str = "import",
        at: datetime | None = None,
    ) -> int:
        """As :meth:`edqueue.adapters.sqlite.SqliteStore.import_applications`: many new
        applications at once, each written exactly as one ``add`` with its submission
        record, here with
        ``COPY`` in one transaction that holds the log head's lock (other writers wait);
        return how many (:func:`edqueue.adapters.postgres._bulk.import_applications`)."""
        return _bulk.import_applications(self, applications, actor=actor, at=at)

    def forget(self, number: str, *, drafts: Iterable[str] = ()) -> bool:
        """Erase an application: its row (the record, the child's IIN, the idempotency key
        and its owner), the ``data`` of its events, and the named drafts, in one
        transaction. Returns whether the application was stored. O(log n + events of the
        application).

        The events keep their sequence, kind, time, number, reason and digests: the audit
        trail, which holds no personal data, still verifies (the records show as erased).
        Every reader stops seeing the data at commit; PostgreSQL overwrites the old rows'
        space only once a vacuum has freed it (autovacuum, or ``VACUUM applications,
        drafts``), and its write-ahead log and backups keep them for their retention: a
        host sets those with the law in mind. Source: Law No. 94-V of 21.05.2013 on
        personal data (personal data are destroyed once the purpose of their collection
        is met).
        """
        draft_ids = [_text(d) for d in drafts]
        stored = _text(number)

        def write(connection: Connection) -> bool:
            deleted = connection.execute("DELETE FROM applications WHERE number = %s", (stored,))
            connection.execute("UPDATE events SET data = '{}' WHERE number = %s", (stored,))
            if draft_ids:
                connection.execute("DELETE FROM drafts WHERE id = ANY(%s)", (draft_ids,))
            return deleted.rowcount == 1

        return self._write(write)

    # --- EventLog ------------------------------------------------------------------------

    def events(self, after: int = 0) -> list[EventRecord]:
        """The events with ``sequence > after``, in order. O(log total + k)."""
        rows = self._read(
            "SELECT sequence, number, kind, at, zone, reason, data, data_digest, digest "
            "FROM events WHERE sequence > %s ORDER BY sequence",
            (after,),
        )
        return [_decode_event(row) for row in rows]

    def append(
        self, events: Iterable[EventRecord], *, log_head: int | None = None
    ) -> list[EventRecord]:
        """Append events that belong to no application change, in one transaction; return
        them numbered. O(e). With ``log_head``, refused with ``storage.conflict`` (nothing
        written) unless the log's last record is ``log_head``."""
        records = list(events)
        rows = [_event_row(e) for e in records]
        if not records and log_head is None:
            return []
        return self._write(lambda c: _notify(c, self._channel, records, rows, log_head))

    def wait_for_events(self, after: int, timeout: float) -> int:
        """The sequence of the log's last record as soon as it is greater than ``after``
        (another process, or this one, appended); the head as it stands once ``timeout``
        seconds pass without one (``EventWaiter``, :mod:`edqueue.ports`). A worker loop
        calls it with the last sequence it has taken in, then catches up.

        It listens on a connection of its own (opened at the first call, closed by
        :meth:`close`), reads the head once listening (nothing committed since the
        caller's read is missed), again at each notification and every ``poll_interval``
        seconds (the fallback when one is lost), and after a dropped connection,
        reconnecting with pauses of 0.05 s doubling up to 2 s
        (:class:`~edqueue.adapters.postgres._listen.LogListener`). Raises ``PortError``
        when the server cannot be read before ``timeout`` passes.
        """
        return self._listening().wait(after, timeout)

    def _listening(self) -> LogListener:
        """The store's listener, made at the first wait."""
        pool = self._open()
        with self._listener_lock:
            if self._listener is None:
                self._listener = LogListener(
                    _connector(pool),
                    self._schema,
                    self._settings,
                    self._head,
                    poll_interval=self._poll_interval,
                )
            return self._listener

    def _head(self) -> int:
        """The sequence of the log's last record (0: none), read through the pool."""
        return int(self._read("SELECT sequence FROM event_log_head WHERE only_row", ())[0][0])


def _notify(
    connection: Connection,
    channel: str,
    events: Sequence[EventRecord],
    rows: Sequence[_EventRow],
    log_head: int | None,
) -> list[EventRecord]:
    """Append the events (:func:`_insert_events`), then notify the log's channel with the
    new head's sequence: in the caller's transaction, so the notification leaves at commit
    and never for a write rolled back."""
    written = _insert_events(connection, events, rows, log_head)
    if written:
        connection.execute("SELECT pg_notify(%s, %s)", (channel, str(written[-1].sequence)))
    return written


def _duplicate(connection: Connection, number: str, key: str | None) -> StorageError:
    """Why an insert found a conflict: the number, else the idempotency key."""
    if connection.execute("SELECT 1 FROM applications WHERE number = %s", (number,)).fetchone():
        return already_stored(number)
    used = connection.execute(
        "SELECT number FROM applications WHERE idempotency_key = %s", (key,)
    ).fetchone()
    return key_used(used[0] if used else None)


def _open_schema(connection: Connection, migrate: bool, first_number: int) -> str:
    """At open: migrate (or check the version), then make sure the number counter exists;
    the schema the tables are in (``current_schema()``)."""
    if migrate:
        _migrate(connection)
    else:
        _check_version(connection)
    connection.execute(
        "INSERT INTO counters (name, next) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (_NUMBER_COUNTER, first_number),
    )
    return str(_one(connection.execute("SELECT current_schema()").fetchone())[0])


def _connector(pool: Pool) -> Callable[[], Connection]:
    """How the listener opens its own connection: to the pool's server and database, with
    the pool's connection arguments, in autocommit, named ``edqueue-listener`` (so
    ``pg_stat_activity`` shows it), and a connection timeout (libpq's default waits
    without end)."""
    conninfo, kwargs = pool.conninfo, pool.kwargs

    def connect() -> Connection:
        info = conninfo() if callable(conninfo) else conninfo
        arguments = dict(kwargs() if callable(kwargs) else kwargs or {})
        arguments.setdefault("connect_timeout", 10)
        arguments.update(autocommit=True, application_name="edqueue-listener")
        return psycopg.Connection.connect(str(info or ""), **arguments)

    return connect


def _own_pool(dsn: str, settings: tuple[str, str], timeout: float, size: int) -> Pool:
    """A pool of up to ``size`` autocommit connections with the store's timeouts, each
    checked before it is lent; open once one connection works (``port.timeout`` if none
    does within ``timeout``)."""
    _readable(dsn)
    pool: Pool = psycopg_pool.ConnectionPool(
        dsn,
        min_size=1,
        max_size=size,
        open=False,
        kwargs={"autocommit": True, "connect_timeout": max(2, round(timeout))},
        configure=_configurer(settings),
        check=psycopg_pool.ConnectionPool.check_connection,
        timeout=timeout,
        name="edqueue",
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except psycopg.Error as error:
        pool.close()
        raise _port_error(error) from None
    return pool
