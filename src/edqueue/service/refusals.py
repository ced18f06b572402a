"""Refused requests (``access.denied``), counted rather than logged one by one.

A record per refusal let anyone grow the hash-chained log without signing in (issue 22:
5,000 records in 1.3 s). Refusals are counted by reason (:attr:`Refusals.counts`, the
counter an operator watches) and written as one ``access_denied`` record per
``refusal_log_interval`` (dated policy) and process.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime

from edqueue.errors import AccessError, PortError
from edqueue.models.instants import later
from edqueue.ports import EventRecord
from edqueue.rules import Policy
from edqueue.rules.identity import minutes
from edqueue.service.config import Store

__all__ = ["Refusals"]


class Refusals:
    """The refusals of one service: counted, and written to ``store``'s log at most once
    per ``refusal_log_interval``. Thread-safe."""

    def __init__(self, store: Store, policy: Policy, now: Callable[[], datetime]) -> None:
        self._store = store
        self._policy = policy
        self._now = now
        self._lock = threading.Lock()
        self._counted: Counter[str] = Counter()  # every refusal since the start, by reason
        self._unwritten: Counter[str] = Counter()  # those not yet in the log
        self._unwritten_numbers: set[str | None] = set()
        self._written_at: datetime | None = None

    def denied(self, number: str | None, why: str) -> AccessError:
        """Count the refusal (writing the counts if the interval has passed); the
        ``access.denied`` error to raise. No personal data."""
        now = self._now()
        with self._lock:
            self._counted[why] += 1
            self._unwritten[why] += 1
            self._unwritten_numbers.add(number)
            written = self._written_at
        interval = minutes(self._policy.at(now).refusal_log_interval)
        if written is None or now >= later(written, interval):
            with contextlib.suppress(PortError):  # the counts wait for the next write
                self.flush()
        return AccessError(
            "access.denied",
            "only the applicant, signed in with their own number, may do this"
            if number is None
            else f"you may not act on application #{number}; sign in with the applicant's number",
        )

    @property
    def counts(self) -> Mapping[str, int]:
        """How many requests were refused since the service started, by reason."""
        with self._lock:
            return dict(self._counted)

    def flush(self) -> int:
        """Write the refusals counted since the last record as one ``access_denied``
        record: ``data`` has ``count``, ``applications`` (how many distinct numbers) and a
        count per reason; ``number`` is the application's when all concern one. Returns how
        many refusals it wrote (0: none waited)."""
        now = self._now()
        with self._lock:
            counts, numbers = self._unwritten, self._unwritten_numbers
            self._unwritten, self._unwritten_numbers = Counter(), set()
            self._written_at = now
        total = sum(counts.values())
        if not total:
            return 0
        data: dict[str, str | int | None] = {"count": total, "applications": len(numbers - {None})}
        data.update(sorted(counts.items()))
        record = EventRecord(
            kind="access_denied",
            at=now,
            number=next(iter(numbers)) if len(numbers) == 1 else None,
            reason=next(iter(counts)) if len(counts) == 1 else "several reasons",
            data=data,
        )
        try:
            self._store.append([record])
        except PortError:
            with self._lock:
                self._unwritten.update(counts)
                self._unwritten_numbers |= numbers
            raise
        return total
