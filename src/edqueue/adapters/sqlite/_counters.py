"""The ``AttemptCounter`` and ``NumberSequence`` of
:class:`~edqueue.adapters.sqlite.SqliteStore`: attempts counted and recorded in one
transaction, and the application number counter."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from edqueue.adapters.sqlite._connection import _Connection
from edqueue.adapters.sqlite._rows import _MICROSECOND, _instant, _microseconds
from edqueue.adapters.sqlite._schema import _NUMBER_COUNTER
from edqueue.ports import AttemptLimit, AttemptTally

_SMALLEST_INTEGER: Final = -(2**63)  # SQLite's


class _Attempts(_Connection):
    """``AttemptCounter`` (:mod:`edqueue.ports`) in the ``attempts`` table."""

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


class _Numbers(_Connection):
    """``NumberSequence`` (:mod:`edqueue.ports`) in the ``counters`` table."""

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
