"""Rows <-> records for :class:`~edqueue.adapters.sqlite.SqliteStore`: applications and
events as the tables hold them, times as microseconds since 1970 UTC, and the numbered,
sealed insert of events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from edqueue.audit import GENESIS, seal
from edqueue.errors import EdqueueError, StorageError
from edqueue.models import Application, require_aware
from edqueue.ports import EventRecord, StoredApplication, log_moved
from edqueue.schemas import load_application, read_application

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_DECODING_ERRORS: Final = (ValueError, TypeError, KeyError, AttributeError, EdqueueError)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _application(row: tuple[Any, ...], made: dict[Any, Any] | None = None) -> StoredApplication:
    """Decode an application row; ``storage.corrupt`` if it is damaged.

    With ``made`` (a dict one read of many rows keeps, and drops with it), the row's JSON
    text is read by :func:`edqueue.schemas.read_application`: the same record and the same
    checks, with a family's phone number and the names met again shared instead of checked
    again (what a start over a national store reads)."""
    number, version, body = row
    try:
        if made is None:
            application = load_application(json.loads(body))
        else:
            application = read_application(body, made)
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


def _check_head(connection: sqlite3.Connection, log_head: int | None) -> None:
    """``storage.conflict`` unless the log's last record is ``log_head`` (when given). Run
    inside the write's ``BEGIN IMMEDIATE`` transaction, which holds the write lock: no
    other writer can append between the check and the write."""
    if log_head is None:
        return
    (head,) = connection.execute("SELECT COALESCE(MAX(sequence), 0) FROM events").fetchone()
    if head != log_head:
        raise log_moved(head, log_head)


def _sealed(
    events: Sequence[EventRecord], rows: Sequence[_EventRow], sequence: int, previous: str
) -> Iterator[tuple[int, _EventRow, EventRecord]]:
    """Each event with its columns, numbered after ``sequence`` and sealed into the chain
    after the digest ``previous``, exactly as the append path (``_insert_events``) seals
    it: the record's data is its stored JSON read back, so the digest is that of what a
    reader will find. Lazy: a caller streams the rows into its insert. O(size) each."""
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
        previous = record.digest
        yield sequence, row, record


def _insert_events(
    connection: sqlite3.Connection, events: Sequence[EventRecord], rows: Sequence[_EventRow]
) -> list[EventRecord]:
    last = connection.execute(
        "SELECT sequence, digest FROM events ORDER BY sequence DESC LIMIT 1"
    ).fetchone()
    head, previous = (0, GENESIS) if last is None else (last[0], last[1])
    written = []
    for sequence, row, record in _sealed(events, rows, head, previous):
        connection.execute(
            "INSERT INTO events (sequence, number, kind, at, at_us, zone, reason, data, "
            "data_digest, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sequence, *row, record.data_digest, record.digest),
        )
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
