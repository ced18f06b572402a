"""Rows <-> records for :class:`~edqueue.adapters.postgres.PostgresStore`, and the event
log's one writer at a time: the locked head, the numbered and sealed insert.

The columns are those of :class:`~edqueue.adapters.sqlite.SqliteStore` (times as ISO text
with microseconds since 1970 UTC beside them; data as JSON text), so the rows are decoded
by the same functions. PostgreSQL's text cannot hold the character NUL, which SQLite's
can: a caller's text (an event's kind and reason, a key, a draft's id) is stored with NUL
written ``\\0`` and a backslash ``\\\\`` (:func:`_text`); text without either is stored as
it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from edqueue.adapters.postgres._connection import Connection, _one
from edqueue.adapters.sqlite._rows import _event, _EventRow, _sealed
from edqueue.ports import EventRecord, log_moved

_ESCAPED: Final = re.compile(r"\\(.)", re.DOTALL)


def _text(value: str) -> str:
    """``value`` as a PostgreSQL text can hold it (see the module's docstring)."""
    if "\\" not in value and "\x00" not in value:
        return value
    return value.replace("\\", "\\\\").replace("\x00", "\\0")


def _untext(value: str) -> str:
    """The text :func:`_text` was given."""
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: "\x00" if m[1] == "0" else m[1], value)


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _optional_untext(value: str | None) -> str | None:
    return None if value is None else _untext(value)


def _decode_event(row: tuple[Any, ...]) -> EventRecord:
    """Decode an event row (``storage.corrupt`` if it is damaged)."""
    sequence, number, kind, at, zone, reason, data, data_digest, digest = row
    return _event(
        (
            sequence,
            _optional_untext(number),
            _untext(kind),
            at,
            zone,
            _untext(reason),
            data,
            data_digest,
            digest,
        )
    )


def _lock_head(connection: Connection, log_head: int | None) -> tuple[int, str]:
    """Lock the log's head row until the transaction ends; its sequence and digest.
    Raises ``storage.conflict`` when ``log_head`` is given and is not the head."""
    row = _one(
        connection.execute(
            "SELECT sequence, digest FROM event_log_head WHERE only_row FOR UPDATE"
        ).fetchone()
    )
    sequence, digest = int(row[0]), str(row[1])
    if log_head is not None and sequence != log_head:
        raise log_moved(sequence, log_head)
    return sequence, digest


def _event_columns(sequence: int, row: _EventRow, record: EventRecord) -> tuple[object, ...]:
    """The columns of a sealed record as the append path (``_insert_events``) writes them:
    the caller's texts escaped as PostgreSQL's text can hold them (``_text``)."""
    number, kind, at, at_us, zone, reason, data = row
    return (
        sequence,
        _optional_text(number),
        _text(kind),
        at,
        at_us,
        zone,
        _text(reason),
        data,
        record.data_digest,
        record.digest,
    )


def _insert_events(
    connection: Connection,
    events: Sequence[EventRecord],
    rows: Sequence[_EventRow],
    log_head: int | None,
) -> list[EventRecord]:
    """Append ``events`` (their columns in ``rows``) after the log's head, sealed into its
    chain, in the caller's transaction; check ``log_head`` first.

    The head row is locked (``SELECT ... FOR UPDATE``) until the transaction commits, so
    appenders take their turns: the sequences are given in commit order, without gaps,
    and a reader that has seen record ``n`` never later finds a record ``m < n`` it did not
    see (as it could with a ``bigserial``, whose numbers are taken before commit, or an
    unlocked ``max + 1``, which two writers read alike). With neither events nor
    ``log_head`` nothing is locked.
    """
    if not events and log_head is None:
        return []
    head, previous = _lock_head(connection, log_head)
    if not events:
        return []
    written: list[EventRecord] = []
    parameters: list[tuple[object, ...]] = []
    for sequence, row, record in _sealed(events, rows, head, previous):
        parameters.append(_event_columns(sequence, row, record))
        written.append(record)
    last, digest = (written[-1].sequence, written[-1].digest)
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO events (sequence, number, kind, at, at_us, zone, reason, data, "
            "data_digest, digest) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            parameters,
        )
    connection.execute(
        "UPDATE event_log_head SET sequence = %s, digest = %s WHERE only_row",
        (last, digest),
    )
    return written
