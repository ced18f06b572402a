"""The tables of :class:`~edqueue.adapters.sqlite.SqliteStore`, their version and the steps
that bring an older database up to it."""

from __future__ import annotations

import sqlite3
from typing import Final

from edqueue.adapters.sqlite._rows import _event
from edqueue.audit import GENESIS, seal
from edqueue.errors import StorageError

SCHEMA_VERSION: Final = 4
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

_TO_VERSION_4: Final = (
    # One snapshot of the queues per name (a locality): the service's compressed JSON,
    # without personal data, and the sequence of the last log record it covers.
    """CREATE TABLE snapshots (
        name TEXT PRIMARY KEY,
        sequence INTEGER NOT NULL CHECK (sequence >= 0),
        data BLOB NOT NULL
    )""",
)

_NUMBER_COUNTER: Final = "application_number"


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
    if version == 3:  # before snapshots of the queues
        for statement in _TO_VERSION_4:
            connection.execute(statement)
        version = 4
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
