"""The ``AttemptCounter`` and ``NumberSequence`` of
:class:`~edqueue.adapters.postgres.PostgresStore`: attempts counted and recorded in one
transaction under a lock per key, and the application number counter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from edqueue.adapters.postgres._connection import Connection, _Connection, _one
from edqueue.adapters.postgres._rows import _text
from edqueue.adapters.sqlite._rows import _MICROSECOND, _instant, _microseconds
from edqueue.adapters.sqlite._schema import _NUMBER_COUNTER
from edqueue.ports import AttemptLimit, AttemptTally

_SMALLEST_BIGINT: Final = -(2**63)
# The first key of the advisory locks that serialize takes under one attempt key (the second
# is the key's hash): "edq" and 2 as one int; the migration lock is a one-key lock, another
# space of advisory locks.
_ATTEMPTS_LOCK: Final = int.from_bytes(b"edq\x02", "big")


class _Attempts(_Connection):
    """``AttemptCounter`` (:mod:`edqueue.ports`) in the ``attempts`` table."""

    def take(self, token: str, at: datetime, limits: Sequence[AttemptLimit]) -> AttemptTally:
        """Count, for each limit, the attempts under its key at instants after
        ``at - window`` (later ones included); if one limit is full, record nothing and
        return its index and the instant its window frees a place (in ``at``'s time
        zone); otherwise record one attempt named ``token`` at ``at`` under each distinct
        key (a key named by two limits, with two windows, gets one attempt).

        Counting and recording are one transaction that first takes a transaction-level
        advisory lock on each key (in sorted order, so two takes never wait on each other
        in a cycle): no two processes count the same free place. O(limits * log attempts
        + attempts in the windows). Raises :class:`~edqueue.errors.TimeError` for a naive
        ``at``, recording nothing.
        """
        moment = _microseconds(at, "the attempt time")
        checked = list(limits)
        keys = sorted({_text(limit.key) for limit in checked})

        def write(connection: Connection) -> AttemptTally:
            for key in keys:
                connection.execute(
                    "SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
                    (_ATTEMPTS_LOCK, key),
                )
            counts: list[int] = []
            refused: int | None = None
            until: datetime | None = None
            for i, limit in enumerate(checked):
                key = _text(limit.key)
                window = limit.window // _MICROSECOND
                start = max(moment - window, _SMALLEST_BIGINT)  # a window of centuries
                row = connection.execute(
                    "SELECT count(*) FROM attempts WHERE key = %s AND at_us > %s",
                    (key, start),
                ).fetchone()
                count = int(_one(row)[0])
                counts.append(count)
                if refused is None and count >= limit.limit:
                    oldest = _one(
                        connection.execute(
                            "SELECT at_us FROM attempts WHERE key = %s AND at_us > %s "
                            "ORDER BY at_us LIMIT 1 OFFSET %s",
                            (key, start, count - limit.limit),
                        ).fetchone()
                    )
                    refused = i
                    until = _instant(int(oldest[0]) + window).astimezone(at.tzinfo)
            if refused is not None:
                return AttemptTally(tuple(counts), refused, until)
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO attempts (key, token, at_us) VALUES (%s, %s, %s)",
                    [(key, _text(token), moment) for key in keys],
                )
            return AttemptTally(tuple(count + 1 for count in counts))

        return self._write(write)

    def release(self, token: str) -> None:
        """Forget the attempts named ``token`` (a right code is not a failure).
        O(log attempts + released)."""
        self._write(lambda c: c.execute("DELETE FROM attempts WHERE token = %s", (_text(token),)))

    def forget_attempts(self, before: datetime) -> int:
        """Delete every attempt at or before ``before`` (as instants); return how many.
        O(attempts). Raises :class:`~edqueue.errors.TimeError` for a naive ``before``."""
        moment = _microseconds(before, "the time to forget attempts before")
        return self._write(
            lambda c: c.execute("DELETE FROM attempts WHERE at_us <= %s", (moment,)).rowcount
        )


class _Numbers(_Connection):
    """``NumberSequence`` (:mod:`edqueue.ports`) in the ``counters`` table."""

    _first_number: int

    def next_number(self) -> str:
        """The next application number, unique across every object and process sharing the
        database: one ``INSERT ... ON CONFLICT DO UPDATE`` reads and advances the counter
        under its row lock (the first draw of a new database gives ``first_number``).
        O(1)."""

        def write(connection: Connection) -> str:
            row = connection.execute(
                "INSERT INTO counters (name, next) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET next = counters.next + 1 "
                "RETURNING next - 1",
                (_NUMBER_COUNTER, self._first_number + 1),
            ).fetchone()
            return str(_one(row)[0])

        return self._write(write)
