"""The stores in memory: submitted applications with their event log, drafts, and attempts.

For tests, the demo and a host's own tests (cosmicpython's fake repository: fast and honest).
They keep the same contract as :class:`~edqueue.adapters.sqlite.SqliteStore`
(the suites of :mod:`edqueue.testing.contracts` run against both): every write is
all-or-nothing, versions guard against lost updates, events are numbered 1, 2, ... in the
order they are written. Thread-safe: one lock around every operation. Nothing survives the
process.

Source of every rule: :mod:`edqueue.ports` (``ApplicationRepository``, ``EventLog``,
``DraftStore``, ``AttemptCounter``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from edqueue.audit import GENESIS, seal
from edqueue.models import Application, Iin, by_number, instant, number_order, require_aware
from edqueue.ports import (
    AttemptLimit,
    AttemptTally,
    EventRecord,
    StoredApplication,
    already_stored,
    key_used,
    log_moved,
    not_stored,
    version_moved,
)

__all__ = ["MemoryAttempts", "MemoryDrafts", "MemoryRepository"]


class MemoryRepository:
    """Applications with versions, and the event log written with them (ports
    ``ApplicationRepository`` and ``EventLog``).

    ``n`` is the number of applications, ``k`` the size of an answer, ``e`` the number of
    events a call writes. Reads return the stored, immutable records.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)  # wait_for_events
        self._applications: dict[str, StoredApplication] = {}
        self._keys: dict[str, str] = {}  # idempotency key -> number
        self._owners: dict[str, str] = {}  # idempotency key -> its owner, when one was given
        self._children: dict[Iin, set[str]] = {}  # child's IIN -> numbers
        self._events: list[EventRecord] = []  # sequence n is at index n - 1
        self._snapshots: dict[str, tuple[int, bytes]] = {}  # name -> sequence, bytes

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"MemoryRepository(applications={len(self._applications)}, "
                f"events={len(self._events)})"
            )

    # --- snapshots of the queues (SnapshotStore) --------------------------------------------

    def save_snapshot(self, name: str, sequence: int, data: bytes) -> bool:
        """Keep ``data`` as snapshot ``name`` unless the kept one covers as much of the log
        or more; return whether it was kept. O(1)."""
        with self._lock:
            kept = self._snapshots.get(name)
            if kept is not None and kept[0] >= sequence:
                return False
            self._snapshots[name] = (sequence, bytes(data))
            return True

    def load_snapshot(self, name: str) -> tuple[int, bytes] | None:
        """The snapshot kept as ``name``, with the sequence it covers, if any. O(1)."""
        with self._lock:
            return self._snapshots.get(name)

    # --- reads -------------------------------------------------------------------------

    def get(self, number: str) -> StoredApplication | None:
        """The stored application with this number, if any. O(1)."""
        with self._lock:
            return self._applications.get(number)

    def by_idempotency_key(self, key: str) -> StoredApplication | None:
        """The application a submission with this key created, if any. O(1)."""
        with self._lock:
            number = self._keys.get(key)
            return None if number is None else self._applications[number]

    def idempotency_owner(self, key: str) -> str | None:
        """The owner stored with this key by :meth:`add`, if any (keys compared exactly).
        O(1)."""
        with self._lock:
            return self._owners.get(key)

    def for_child(self, child: Iin) -> list[StoredApplication]:
        """Every application for this child (IINs compared by equality), in order of
        number. O(k log k)."""
        with self._lock:
            numbers = by_number(self._children.get(child, ()))
            return [self._applications[n] for n in numbers]

    def all(self) -> Iterator[StoredApplication]:
        """Every application in numeric order of number (``number_order``), as a snapshot
        taken at the call. O(n log n)."""
        with self._lock:
            snapshot = sorted(
                self._applications.values(), key=lambda s: number_order(s.application.number)
            )
        return iter(snapshot)

    def events(self, after: int = 0) -> list[EventRecord]:
        """The events with ``sequence > after``, in order. O(k)."""
        with self._lock:
            return self._events[max(after, 0) :]

    # --- writes: each checks everything first, then changes state in steps that cannot fail

    def add(
        self,
        application: Application,
        events: Sequence[EventRecord] = (),
        *,
        idempotency_key: str | None = None,
        idempotency_owner: str | None = None,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Store a new application as version 1, with its events, and remember the
        idempotency key (compared exactly, never stripped) with its owner. O(e).

        An owner given without a key is not stored (there is nothing to look it up by).
        Raises ``storage.duplicate`` if the number is stored, or if the idempotency key was
        already used (for another number); :class:`~edqueue.errors.TimeError` for an event
        with a naive time. Either way nothing is written.
        """
        number = application.number
        with self._lock:
            self._check_head(log_head)
            if number in self._applications:
                raise already_stored(number)
            if idempotency_key is not None and idempotency_key in self._keys:
                raise key_used(self._keys[idempotency_key])
            numbered = self._numbered(events)
            stored = StoredApplication(application, 1)
            self._applications[number] = stored
            if idempotency_key is not None:
                self._keys[idempotency_key] = number
                if idempotency_owner is not None:
                    self._owners[idempotency_key] = idempotency_owner
            self._children.setdefault(application.child.iin, set()).add(number)
            self._events.extend(numbered)
            return stored

    def update(
        self,
        application: Application,
        expected_version: int,
        events: Sequence[EventRecord] = (),
        *,
        log_head: int | None = None,
    ) -> StoredApplication:
        """Replace the application if its stored version is ``expected_version``; the new
        version is one more. O(e).

        Raises ``storage.unknown`` for a number that is not stored, ``storage.conflict``
        when the stored version differs (someone changed it since it was read).
        """
        number = application.number
        with self._lock:
            self._check_head(log_head)
            current = self._applications.get(number)
            if current is None:
                raise not_stored(number)
            if current.version != expected_version:
                raise version_moved(number, expected_version)
            numbered = self._numbered(events)
            stored = StoredApplication(application, current.version + 1)
            old_child = current.application.child.iin
            if old_child != application.child.iin:
                self._children[old_child].discard(number)
                if not self._children[old_child]:
                    del self._children[old_child]
                self._children.setdefault(application.child.iin, set()).add(number)
            self._applications[number] = stored
            self._events.extend(numbered)
            return stored

    def append(
        self, events: Iterable[EventRecord], *, log_head: int | None = None
    ) -> list[EventRecord]:
        """Append events that belong to no application change; return them numbered
        (``log_head``: see :class:`~edqueue.ports.ApplicationRepository`). O(e)."""
        with self._lock:
            self._check_head(log_head)
            numbered = self._numbered(list(events))
            self._events.extend(numbered)
            return numbered

    def wait_for_events(self, after: int, timeout: float) -> int:
        """The sequence of the log's last record as soon as it is greater than ``after``;
        the head as it stands once ``timeout`` seconds pass without one (``EventWaiter``,
        :mod:`edqueue.ports`): the same worker loop runs over every store. Woken by every
        append of another thread, so it returns at once, without polling."""
        with self._appended:
            self._appended.wait_for(lambda: len(self._events) > after, timeout)
            return len(self._events)

    def _check_head(self, log_head: int | None) -> None:
        """``storage.conflict`` unless the log ends at ``log_head`` (when given). Under the
        lock, so the check and the write are one step."""
        head = len(self._events)
        if log_head is not None and head != log_head:
            raise log_moved(head, log_head)

    def forget(self, number: str) -> bool:
        """Delete an application, its idempotency key (and the key's owner) and the data of
        its events.

        The events keep their kind, time, number and reason (the audit trail, which by the
        ``EventLog`` contract holds no personal data); their ``data`` becomes empty. Returns
        whether the application was stored. O(n + all events). Source: minimisation under
        the Law of the Republic of Kazakhstan "On personal data and their protection"
        (21 May 2013 No. 94-V).
        """
        with self._lock:
            stored = self._applications.pop(number, None)
            if stored is None:
                return False
            keys = [k for k, n in self._keys.items() if n == number]
            for key in keys:
                del self._keys[key]
                self._owners.pop(key, None)
            child = stored.application.child.iin
            self._children[child].discard(number)
            if not self._children[child]:
                del self._children[child]
            self._events = [
                attrs.evolve(e, data={}) if e.number == number else e for e in self._events
            ]
            return True

    def _numbered(self, events: Sequence[EventRecord]) -> list[EventRecord]:
        """The events with their sequence numbers and a copy of their data (so the caller
        can reuse its dict); raises before anything is written. Every append comes here
        under the lock: the waiters of :meth:`wait_for_events` are woken, and look once the
        lock is released, when the records are in."""
        self._appended.notify_all()
        start = len(self._events) + 1
        previous = self._events[-1].digest if self._events else GENESIS
        sealed = []
        for i, e in enumerate(events):
            numbered = attrs.evolve(
                e, at=require_aware(e.at, "the event time"), data=dict(e.data), sequence=start + i
            )
            numbered = seal(previous, numbered)
            previous = numbered.digest
            sealed.append(numbered)
        return sealed


class MemoryDrafts:
    """Drafts of applications in progress (port ``DraftStore``), kept as JSON text.

    ``save`` stores the mapping's JSON, so later changes by the caller do not leak in and
    every ``load`` returns a fresh copy; data that is not JSON-ready (a datetime, a set)
    fails here as it would in SQLite (``TypeError``/``ValueError``). Each draft keeps its
    expiry as an instant (UTC), so :meth:`purge` compares moments, never wall clocks.
    O(size of the draft) per operation; ``purge`` is O(drafts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drafts: dict[str, tuple[str, datetime | None]] = {}  # id -> (JSON, expiry)

    def __repr__(self) -> str:
        with self._lock:
            return f"MemoryDrafts(drafts={len(self._drafts)})"

    def load(self, draft_id: str) -> Mapping[str, object] | None:
        """The draft with this id (a fresh copy), if any, expired or not."""
        with self._lock:
            stored = self._drafts.get(draft_id)
        if stored is None:
            return None
        data: dict[str, object] = json.loads(stored[0])
        return data

    def save(
        self, draft_id: str, data: Mapping[str, object], *, expires_at: datetime | None = None
    ) -> None:
        """Create or replace a draft (and its expiry). Raises ``TypeError``/``ValueError``
        for data that is not JSON-ready and :class:`~edqueue.errors.TimeError` for a naive
        ``expires_at``, before anything changes."""
        text = json.dumps(dict(data), ensure_ascii=False, sort_keys=True, allow_nan=False)
        expiry = None if expires_at is None else instant(require_aware(expires_at, "the expiry"))
        with self._lock:
            self._drafts[draft_id] = (text, expiry)

    def delete(self, draft_id: str) -> None:
        """Forget a draft; a draft that is not stored is ignored."""
        with self._lock:
            self._drafts.pop(draft_id, None)

    def purge(self, now: datetime) -> int:
        """Delete every draft that expired at or before ``now`` (compared as instants) and
        every draft saved without an expiry; return how many. Raises
        :class:`~edqueue.errors.TimeError` for a naive ``now``, deleting nothing."""
        moment = instant(require_aware(now, "the time of the purge"))
        with self._lock:
            gone = [
                draft_id
                for draft_id, (_, expiry) in self._drafts.items()
                if expiry is None or expiry <= moment
            ]
            for draft_id in gone:
                del self._drafts[draft_id]
            return len(gone)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _microseconds(moment: datetime, what: str) -> int:
    """An aware time as microseconds since 1970 UTC (exact, and comparable as instants);
    :class:`~edqueue.errors.TimeError` if it is naive."""
    return (instant(require_aware(moment, what)) - _EPOCH) // _MICROSECOND


class MemoryAttempts:
    """Attempts counted over rolling windows (port ``AttemptCounter``): the rate limits on
    confirmation codes.

    Each attempt is kept as ``(microseconds since 1970 UTC, token)`` under its key, as
    :class:`~edqueue.adapters.sqlite.SqliteStore` keeps it, until
    :meth:`release` or :meth:`forget_attempts` removes it; ``take`` counts, decides and
    records under the one lock, so threads never together pass a limit. Keys are opaque
    (the service gives digests). ``a`` is the number of attempts stored under the call's
    keys: ``take`` is O(a log a); ``release`` and ``forget_attempts`` are O(all attempts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[str, list[tuple[int, str]]] = {}  # key -> [(at_us, token)]

    def __repr__(self) -> str:
        with self._lock:
            count = sum(len(attempts) for attempts in self._attempts.values())
            return f"MemoryAttempts(attempts={count})"

    def take(self, token: str, at: datetime, limits: Sequence[AttemptLimit]) -> AttemptTally:
        """Count, for each limit, the attempts under its key at instants after
        ``at - window`` (later ones included); if one limit is full, record nothing and
        return its index and the instant its window frees a place (in ``at``'s time
        zone); otherwise record one attempt named ``token`` at ``at`` under each distinct
        key (a key named by two limits, with two windows, gets one attempt).

        Raises :class:`~edqueue.errors.TimeError` for a naive ``at``, recording nothing
        (an :class:`~edqueue.ports.AttemptLimit` is valid by construction).
        """
        moment = _microseconds(at, "the attempt time")
        checked = list(limits)
        with self._lock:
            counts: list[int] = []
            refused: int | None = None
            until: datetime | None = None
            for i, limit in enumerate(checked):
                window = limit.window // _MICROSECOND
                inside = sorted(
                    t for t, _ in self._attempts.get(limit.key, ()) if t > moment - window
                )
                counts.append(len(inside))
                if refused is None and len(inside) >= limit.limit:
                    refused = i
                    oldest = inside[len(inside) - limit.limit]
                    until = (_EPOCH + (oldest + window) * _MICROSECOND).astimezone(at.tzinfo)
            if refused is not None:
                return AttemptTally(tuple(counts), refused, until)
            for key in dict.fromkeys(limit.key for limit in checked):
                self._attempts.setdefault(key, []).append((moment, token))
            return AttemptTally(tuple(count + 1 for count in counts))

    def release(self, token: str) -> None:
        """Forget the attempts named ``token`` (a right code is not a failure)."""
        with self._lock:
            self._remove(lambda t, name: name == token)

    def forget_attempts(self, before: datetime) -> int:
        """Delete every attempt at or before ``before`` (as instants); return how many.
        Raises :class:`~edqueue.errors.TimeError` for a naive ``before``."""
        moment = _microseconds(before, "the time to forget attempts before")
        with self._lock:
            return self._remove(lambda t, name: t <= moment)

    def _remove(self, doomed: Callable[[int, str], bool]) -> int:
        """Drop the attempts ``doomed`` picks (under the lock); return how many."""
        removed = 0
        for key in list(self._attempts):
            kept = [(t, name) for t, name in self._attempts[key] if not doomed(t, name)]
            removed += len(self._attempts[key]) - len(kept)
            if kept:
                self._attempts[key] = kept
            else:
                del self._attempts[key]
        return removed
