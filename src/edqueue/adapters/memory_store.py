"""The stores in memory: submitted applications with their event log, and drafts.

For tests, the demo and a host's own tests (cosmicpython's fake repository: fast and honest).
They keep the same contract as :class:`~edqueue.adapters.sqlite.SqliteStore`
(``tests/repository_contract.py`` runs one test suite against both): every write is
all-or-nothing, versions guard against lost updates, events are numbered 1, 2, ... in the
order they are written. Thread-safe: one lock around every operation. Nothing survives the
process.

Source of every rule: :mod:`edqueue.ports` (``ApplicationRepository``, ``EventLog``,
``DraftStore``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs

from edqueue.audit import GENESIS, seal
from edqueue.errors import StorageError
from edqueue.models import Application, Iin, by_number, number_order, require_aware
from edqueue.ports import EventRecord, StoredApplication

__all__ = ["MemoryDrafts", "MemoryRepository"]


class MemoryRepository:
    """Applications with versions, and the event log written with them (ports
    ``ApplicationRepository`` and ``EventLog``).

    ``n`` is the number of applications, ``k`` the size of an answer, ``e`` the number of
    events a call writes. Reads return the stored, immutable records.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._applications: dict[str, StoredApplication] = {}
        self._keys: dict[str, str] = {}  # idempotency key -> number
        self._children: dict[Iin, set[str]] = {}  # child's IIN -> numbers
        self._events: list[EventRecord] = []  # sequence n is at index n - 1

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"MemoryRepository(applications={len(self._applications)}, "
                f"events={len(self._events)})"
            )

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
    ) -> StoredApplication:
        """Store a new application as version 1, with its events. O(e).

        Raises ``storage.duplicate`` if the number is stored, or if the idempotency key was
        already used (for another number); :class:`~edqueue.errors.TimeError` for an event
        with a naive time. Either way nothing is written.
        """
        number = application.number
        with self._lock:
            if number in self._applications:
                raise StorageError(
                    "storage.duplicate",
                    f"application #{number} is already stored; read it with get()",
                )
            if idempotency_key is not None and idempotency_key in self._keys:
                raise StorageError(
                    "storage.duplicate",
                    f"this idempotency key was already used for application "
                    f"#{self._keys[idempotency_key]}; read it with by_idempotency_key()",
                )
            numbered = self._numbered(events)
            stored = StoredApplication(application, 1)
            self._applications[number] = stored
            if idempotency_key is not None:
                self._keys[idempotency_key] = number
            self._children.setdefault(application.child.iin, set()).add(number)
            self._events.extend(numbered)
            return stored

    def update(
        self,
        application: Application,
        expected_version: int,
        events: Sequence[EventRecord] = (),
    ) -> StoredApplication:
        """Replace the application if its stored version is ``expected_version``; the new
        version is one more. O(e).

        Raises ``storage.unknown`` for a number that is not stored, ``storage.conflict``
        when the stored version differs (someone changed it since it was read).
        """
        number = application.number
        with self._lock:
            current = self._applications.get(number)
            if current is None:
                raise StorageError(
                    "storage.unknown", f"application #{number} is not stored; add it first"
                )
            if current.version != expected_version:
                raise StorageError(
                    "storage.conflict",
                    f"application #{number} changed since version {expected_version}; "
                    "read it again",
                )
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

    def append(self, events: Iterable[EventRecord]) -> list[EventRecord]:
        """Append events that belong to no application change; return them numbered. O(e)."""
        with self._lock:
            numbered = self._numbered(list(events))
            self._events.extend(numbered)
            return numbered

    def forget(self, number: str) -> bool:
        """Delete an application, its idempotency key and the data of its events.

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
            self._keys = {k: n for k, n in self._keys.items() if n != number}
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
        can reuse its dict); raises before anything is written."""
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
    fails here as it would in SQLite (``TypeError``/``ValueError``). O(size of the draft)
    per operation.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drafts: dict[str, str] = {}

    def __repr__(self) -> str:
        with self._lock:
            return f"MemoryDrafts(drafts={len(self._drafts)})"

    def load(self, draft_id: str) -> Mapping[str, object] | None:
        """The draft with this id (a fresh copy), if any."""
        with self._lock:
            text = self._drafts.get(draft_id)
        if text is None:
            return None
        data: dict[str, object] = json.loads(text)
        return data

    def save(self, draft_id: str, data: Mapping[str, object]) -> None:
        """Create or replace a draft."""
        text = json.dumps(dict(data), ensure_ascii=False, sort_keys=True, allow_nan=False)
        with self._lock:
            self._drafts[draft_id] = text

    def delete(self, draft_id: str) -> None:
        """Forget a draft; a draft that is not stored is ignored."""
        with self._lock:
            self._drafts.pop(draft_id, None)
