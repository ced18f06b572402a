"""The audit log: every decision as an append-only event, hash-chained so tampering shows.

Each :class:`~edqueue.ports.EventRecord` a store appends is sealed (:func:`seal`): its
``data_digest`` is the SHA-256 of its data, and its ``digest`` the SHA-256 of the previous
record's digest together with its own sequence, kind, instant, application number, reason
and data digest. :func:`verify_audit_log` walks the records and reports every one that was
edited, removed, inserted or moved: each breaks the chain from that point.

A family's data may have to be deleted by law (Law of the Republic of Kazakhstan "On
personal data and their protection", 21 May 2013 No. 94-V): a store's ``forget`` empties
the events' data but keeps their data digests, so the chain still verifies and the
verdict lists those records as erased rather than tampered with.

The chain detects changes by anyone who cannot recompute it; a host that must resist its
own administrators also publishes the latest digest somewhere they cannot write (the
practice of transparency logs), and compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import attrs

from edqueue.models import instant
from edqueue.ports import EventRecord
from edqueue.rules.ordering import instant_key

__all__ = ["GENESIS", "AuditVerdict", "data_digest", "seal", "verify_audit_log"]

GENESIS = "0" * 64
"""The "previous digest" of the first record."""


def data_digest(data: Mapping[str, object]) -> str:
    """The SHA-256 of an event's data, written as canonical JSON (sorted keys)."""
    text = json.dumps(dict(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _chain_digest(previous: str, record: EventRecord, data_hash: str) -> str:
    fields = [
        previous,
        record.sequence,
        record.kind,
        instant_key(instant(record.at)),
        record.number,
        record.reason,
        data_hash,
    ]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def seal(previous: str, record: EventRecord) -> EventRecord:
    """``record`` (already numbered) with its data digest and its digest after
    ``previous`` (the digest of the record before it, or :data:`GENESIS`). O(size)."""
    data_hash = data_digest(record.data)
    return attrs.evolve(
        record, data_digest=data_hash, digest=_chain_digest(previous, record, data_hash)
    )


@attrs.frozen
class AuditVerdict:
    """What :func:`verify_audit_log` found.

    ``problems`` lists ``(sequence, what)`` for each record that breaks the chain (the first
    one marks where the log was changed); ``erased`` the records whose data was deleted
    by ``forget`` with their digests intact.
    """

    checked: int
    problems: tuple[tuple[int, str], ...]
    erased: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """Whether the whole log is intact (erasures allowed)."""
        return not self.problems


_EMPTY = data_digest({})


def verify_audit_log(records: Sequence[EventRecord], *, previous: str = GENESIS) -> AuditVerdict:
    """Check a log (all of it, from sequence 1, in order; or a later part with the digest of
    the record before it as ``previous``). O(n).

    >>> from datetime import datetime
    >>> from edqueue.models import KAZAKHSTAN
    >>> first = seal(GENESIS, EventRecord("submitted", datetime(2024, 2, 5, tzinfo=KAZAKHSTAN),
    ...                                   "1292583", "submitted", sequence=1))
    >>> verify_audit_log([first]).ok
    True
    >>> import attrs
    >>> verify_audit_log([attrs.evolve(first, reason="edited")]).problems
    ((1, 'the record was changed: its digest does not match'),)
    """
    problems: list[tuple[int, str]] = []
    erased: list[int] = []
    expected_sequence = records[0].sequence if records and previous != GENESIS else 1
    for record in records:
        if record.sequence != expected_sequence:
            problems.append(
                (
                    record.sequence,
                    f"expected sequence {expected_sequence}: a record was removed, "
                    "inserted or moved",
                )
            )
        data_hash = data_digest(record.data)
        if data_hash != record.data_digest:
            if dict(record.data) or record.data_digest == _EMPTY:
                problems.append((record.sequence, "the record's data was changed"))
            else:
                erased.append(record.sequence)
        if _chain_digest(previous, record, record.data_digest) != record.digest:
            problems.append((record.sequence, "the record was changed: its digest does not match"))
        previous = record.digest
        expected_sequence = record.sequence + 1
    return AuditVerdict(len(records), tuple(problems), tuple(erased))
