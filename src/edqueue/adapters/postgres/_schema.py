"""The tables of :class:`~edqueue.adapters.postgres.PostgresStore`: versioned SQL steps, applied
in one transaction under a lock and recorded in ``schema_version``, and :func:`upgrade`.

A database is brought from the version recorded in ``schema_version`` (0: none) to
:data:`SCHEMA_VERSION` by running each later step of :data:`MIGRATIONS` in order, in one
transaction that first takes a transaction-level advisory lock: several processes that open
the same database at once migrate it once, the others wait and find it done, and a failed
step leaves the database as it was. A database whose recorded version is newer than this
edqueue knows is refused (``storage.corrupt``), never written.

Personal data go only in ``applications`` (the record as JSON, the child's IIN) and
``drafts``; the log, the attempts (under opaque keys) and the counters hold none.
"""

from __future__ import annotations

from typing import Final

import psycopg

from edqueue.adapters.postgres._connection import (
    Connection,
    _configurer,
    _port_error,
    _session_settings,
)
from edqueue.errors import StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "upgrade"]

_VERSION_1: Final = (
    # body: the whole application as JSON text (the SQLite store's format); child_iin: the
    # one field the flow looks up by; idempotency_key: a resubmission finds its result, and
    # idempotency_owner who used it (an opaque digest). Numbers are digits: "C" ordering.
    """CREATE TABLE applications (
        number text COLLATE "C" PRIMARY KEY,
        version integer NOT NULL CHECK (version >= 1),
        child_iin text NOT NULL,
        idempotency_key text UNIQUE,
        idempotency_owner text,
        body text NOT NULL
    )""",
    "CREATE INDEX applications_by_child ON applications (child_iin)",
    "CREATE INDEX applications_in_number_order ON applications (length(number), number)",
    # The log: at, ISO-8601 with its offset; at_us, microseconds since 1970 UTC; zone, the
    # IANA key when the time carried one; data, JSON text without personal data; the
    # digests of the hash chain (edqueue.audit). Sequences come from event_log_head.
    """CREATE TABLE events (
        sequence bigint PRIMARY KEY CHECK (sequence >= 1),
        number text COLLATE "C",
        kind text NOT NULL,
        at text NOT NULL,
        at_us bigint NOT NULL,
        zone text,
        reason text NOT NULL,
        data text NOT NULL,
        data_digest text NOT NULL,
        digest text NOT NULL
    )""",
    "CREATE INDEX events_by_number ON events (number)",
    "CREATE INDEX events_by_time ON events (at_us)",
    # One row: the last record's sequence (0: none) and digest. Every append locks it.
    """CREATE TABLE event_log_head (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        sequence bigint NOT NULL CHECK (sequence >= 0),
        digest text NOT NULL
    )""",
    # The digest before the first record: edqueue.audit.GENESIS, 64 zeros.
    "INSERT INTO event_log_head (only_row, sequence, digest) VALUES (true, 0, repeat('0', 64))",
    # expires_at_us: microseconds since 1970 UTC; NULL: no expiry (gone at the next purge).
    "CREATE TABLE drafts (id text PRIMARY KEY, body text NOT NULL, expires_at_us bigint)",
    "CREATE INDEX drafts_by_expiry ON drafts (expires_at_us)",
    # One row per key an attempt was counted under; key: an opaque digest.
    """CREATE TABLE attempts (
        key text NOT NULL,
        token text NOT NULL,
        at_us bigint NOT NULL
    )""",
    "CREATE INDEX attempts_by_key ON attempts (key, at_us)",
    "CREATE INDEX attempts_by_token ON attempts (token)",
    "CREATE TABLE counters (name text PRIMARY KEY, next bigint NOT NULL)",
)

_VERSION_2: Final = (
    # One snapshot of the queues per name (a locality): the service's compressed JSON,
    # without personal data, and the sequence of the last log record it covers.
    """CREATE TABLE snapshots (
        name text PRIMARY KEY,
        sequence bigint NOT NULL CHECK (sequence >= 0),
        data bytea NOT NULL
    )""",
)

MIGRATIONS: Final[tuple[tuple[int, tuple[str, ...]], ...]] = ((1, _VERSION_1), (2, _VERSION_2))
"""The steps, in order: ``(version, statements)``; a step is never edited once released
(a later change is a new step)."""

SCHEMA_VERSION: Final = MIGRATIONS[-1][0]
"""The version :data:`MIGRATIONS` bring a database to, recorded in ``schema_version``."""

# The key of the advisory lock the migrations run under ("edqueue" and 1, as one bigint).
_MIGRATION_LOCK: Final = int.from_bytes(b"edqueue\x01", "big")

_BOOKKEEPING: Final = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)


def _newer(found: int) -> StorageError:
    return StorageError(
        "storage.corrupt",
        f"the database has schema version {found}; this edqueue knows versions up to "
        f"{SCHEMA_VERSION}: use the edqueue that wrote it, or a newer one",
    )


def _recorded(connection: Connection) -> int:
    """The version recorded in ``schema_version`` (0: no such table or no row)."""
    exists = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = connection.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _check_version(connection: Connection) -> None:
    """Refuse a database that is not at :data:`SCHEMA_VERSION` (``storage.corrupt``)."""
    found = _recorded(connection)
    if found > SCHEMA_VERSION:
        raise _newer(found)
    if found < SCHEMA_VERSION:
        raise StorageError(
            "storage.corrupt",
            f"the database has schema version {found}; this edqueue needs version "
            f"{SCHEMA_VERSION}: run `edqueue db upgrade --dsn ...` or open the store with "
            "migrate=True",
        )


def _migrate(connection: Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the pending steps up to ``target`` in the caller's transaction, under the
    migration lock; return the version reached. Refuses a newer database
    (``storage.corrupt``)."""
    connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
    found = _recorded(connection)
    if not found:  # checked first: an existing table needs no DDL (nor the right to it)
        connection.execute(_BOOKKEEPING)
    if found > SCHEMA_VERSION:
        raise _newer(found)
    reached = found
    for version, statements in MIGRATIONS:
        if version <= found or version > target:
            continue
        for statement in statements:
            connection.execute(statement)  # the constants above
        connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        reached = version
    return reached


def _readable(dsn: str) -> None:
    """``ValueError`` (never quoting ``dsn``: it may hold a password) unless libpq can read
    ``dsn``."""
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ValueError("the connection string cannot be read (libpq's format)") from None


def upgrade(dsn: str, *, timeout: float = 30.0) -> int:
    """Bring the database at ``dsn`` up to :data:`SCHEMA_VERSION` (creating the tables of a
    new one) in one transaction; return the version reached. Safe to run while stores are
    open and from several processes at once.

    ``timeout`` (seconds) bounds the wait for the migration lock and for any table a step
    changes. Raises ``storage.corrupt`` for a database newer than this edqueue, and
    :class:`~edqueue.errors.PortError` when PostgreSQL fails or cannot be reached (the
    message never repeats the connection string, which may hold a password).
    """
    _readable(dsn)
    settings = _session_settings(timeout, None)
    try:
        with psycopg.connect(
            dsn, autocommit=True, connect_timeout=max(2, round(timeout))
        ) as connection:
            _configurer(settings)(connection)
            with connection.transaction():
                return _migrate(connection)
    except psycopg.Error as error:
        raise _port_error(error) from None
