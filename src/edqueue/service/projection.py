"""The queues as a projection of the store: started from a snapshot and the log after it,
caught up with the log, and moved only together with a write to it.

**The store is the truth; the queues are its projection.** Every queue event of a command
(:mod:`edqueue.rules.events`) is written to the store's log as a journal record
(:mod:`edqueue.journal`) in the same transaction as the application it changes. At
construction the queues start from the newest snapshot the store keeps
(:mod:`edqueue.service.snapshot`) and replay only the records after it, or replay the whole
log when there is none; later calls apply only the records other processes wrote since.

A command runs inside :meth:`ReferralDesk.atomic`: when it is refused (bad input found
halfway) or its write is (another process wrote first, the store is down), the desk is put
back as it was and nothing is rebuilt (issue 17: "a refused command never triggers a
rebuild").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from edqueue.errors import EdqueueError, PortError, StorageError
from edqueue.journal import Unapplied, catch_up, to_record
from edqueue.models import Application
from edqueue.ports import EventRecord, EventWaiter, SnapshotStore
from edqueue.rules import QueueBook, ReferralDesk
from edqueue.rules._state import capture, restore
from edqueue.rules.events import ApplicationSubmitted, QueueEvent
from edqueue.service.config import LocalityConfig, Store
from edqueue.service.snapshot import Snapshot, decode, encode

__all__ = ["DECISIONS", "Projection"]

_LOG = logging.getLogger("edqueue")

DECISIONS = 3
"""How many times a command decided on a stale view (another process wrote to the log
meanwhile) is decided again before ``storage.conflict`` goes to the caller."""

_T = TypeVar("_T")


class Projection:
    """The live desk and book over ``store``'s log, for one locality."""

    def __init__(self, store: Store, config: LocalityConfig, now: Callable[[], datetime]) -> None:
        self._store = store
        self._config = config
        self._now = now
        self.unapplied: list[Unapplied] = []
        """Records of the log the queues could not apply (each reported once, logged as a
        warning to the ``edqueue`` logger); the service keeps serving without them."""
        self._seen = 0  # the last record of the log the desk has taken in
        self.started_from = 0
        """The log position the last start took the queues from: a snapshot's, or 0."""
        self._desk = self._start()
        self._stale = False
        after = self._config.snapshot_after
        if after is not None and self._seen - self.started_from >= after:
            self._save_quietly()

    def _start(self) -> ReferralDesk:
        """The desk from the newest snapshot the store keeps and the records after it, or
        from the whole log (:func:`edqueue.journal.catch_up`)."""
        started = self._from_snapshot()
        if started is None:
            config = self._config
            book = QueueBook(config.organizations, ordering=config.queue_ordering(self._now()))
            desk, after = ReferralDesk(book, policy=config.policy, calendar=config.calendar), 0
        else:
            desk, after = started
        unapplied: list[Unapplied] = []
        self._seen = catch_up(desk, self._store, after=after, unapplied=unapplied)
        self.started_from = after
        self._report(unapplied)
        return desk

    def _from_snapshot(self) -> tuple[ReferralDesk, int] | None:
        """The desk the store's snapshot gives, with the sequence it covers; ``None`` when
        the store keeps none, or none this service can use (it is then ignored, with a
        warning: the whole log is replayed)."""
        store = self._store
        if not isinstance(store, SnapshotStore):
            return None
        try:
            kept = store.load_snapshot(self._config.locality)
            if kept is None:
                return None
            snapshot = decode(kept[1])
            if snapshot.sequence != kept[0] or not self._covers(snapshot):
                raise StorageError("storage.corrupt", "the snapshot is not of this log")
            config = self._config
            desk = restore(
                snapshot.state,
                (s.application for s in store.all()),
                ordering=config.queue_ordering(self._now()),
                policy=config.policy,
                calendar=config.calendar,
            )
        except (EdqueueError, KeyError) as error:
            why = error.code if isinstance(error, EdqueueError) else "storage.unknown"
            _LOG.warning("the snapshot of the queues is not used (%s); replaying the log", why)
            return None
        return desk, snapshot.sequence

    def _covers(self, snapshot: Snapshot) -> bool:
        """Whether the log's record at the snapshot's sequence is the one it covered (same
        digest in the hash chain): a snapshot of another log, or of a log restored from an
        older backup, is not used."""
        return self._digest_at(snapshot.sequence) == snapshot.digest

    def _digest_at(self, sequence: int) -> str | None:
        """The hash-chain digest of the log's record ``sequence`` ("" for 0, ``None`` when
        the log holds no such record)."""
        if sequence == 0:
            return ""
        records = self._store.events(sequence - 1)
        return records[0].digest if records and records[0].sequence == sequence else None

    def save_snapshot(self) -> int | None:
        """Save a snapshot of the queues as the log stands now, if the store keeps
        snapshots; return the sequence it covers (``None``: the store keeps none). O(N)."""
        store = self._store
        if not isinstance(store, SnapshotStore):
            return None
        desk = self.fresh()
        sequence = self._seen
        data = encode(Snapshot(sequence, self._digest_at(sequence) or "", capture(desk)))
        store.save_snapshot(self._config.locality, sequence, data)
        return sequence

    def _save_quietly(self) -> None:
        """:meth:`save_snapshot`, logging a failure instead of raising it: the service
        serves without a snapshot (the next start replays more)."""
        try:
            self.save_snapshot()
        except EdqueueError as error:
            _LOG.warning("the snapshot of the queues was not saved: [%s]", error.code)

    def _report(self, unapplied: list[Unapplied]) -> None:
        known = {u.sequence for u in self.unapplied}
        for record in unapplied:
            if record.sequence not in known:
                self.unapplied.append(record)
                _LOG.warning(
                    "event %d (%s) of the log cannot be applied to the queues: [%s] %s",
                    record.sequence,
                    record.kind,
                    record.code,
                    record.message,
                )

    def fresh(self) -> ReferralDesk:
        """The desk as the log stands now: caught up with what other processes wrote
        since (O(records since)); started again (:meth:`_start`) only after a failure
        that was no :class:`~edqueue.errors.EdqueueError` left it unsure."""
        if self._stale:
            self._desk = self._start()
            self._stale = False
        else:
            unapplied: list[Unapplied] = []
            self._seen = catch_up(self._desk, self._store, after=self._seen, unapplied=unapplied)
            self._report(unapplied)
        return self._desk

    def wait(self, timeout: float) -> int:
        """Wait until the log holds a record this desk has not taken in (another process
        wrote), or ``timeout`` seconds pass, then catch up; return how many records were
        taken in. The store wakes the wait (:class:`~edqueue.ports.EventWaiter`: PostgreSQL's
        LISTEN/NOTIFY, with the log as the truth and polling as the fallback); a store
        that cannot wait is only caught up with, at once."""
        if self._stale:
            self.fresh()
        before = self._seen
        if isinstance(self._store, EventWaiter):
            self._store.wait_for_events(before, timeout)
        self.fresh()
        return self._seen - before

    @property
    def held(self) -> ReferralDesk:
        """The desk as it stands, without catching up (inside a command)."""
        return self._desk

    def run(
        self,
        command: Callable[[], Sequence[QueueEvent]],
        write: Callable[[list[EventRecord], int], _T],
        *,
        actor: str,
        submitted: Application | None = None,
    ) -> tuple[_T, list[EventRecord]]:
        """Run ``command`` on the desk (:attr:`held`), then ``write`` its events as journal
        records (one transaction), given the log head the desk has taken in: the write
        passes it to the store as ``log_head``, so it is made only if no other process
        wrote meanwhile. Both run inside :meth:`ReferralDesk.atomic`.

        If another process did write (``storage.conflict``), the command was decided on a
        stale view: nothing was written, the desk is put back, catches up and the command
        is decided again, up to :data:`DECISIONS` times in all, then the conflict goes to
        the caller. If the command or the write raises anything else, the desk is put back
        before the error goes on, so the queues never hold what the store does not (a
        write whose commit reached the store though the store said it failed comes back
        with the next catch-up). A failure that is no
        :class:`~edqueue.errors.EdqueueError` (a bug) makes the next call start again
        from the snapshot and the log."""
        for attempt in range(1, DECISIONS + 1):
            desk = self.fresh()
            head = self._seen
            try:
                with desk.atomic():
                    events = command()
                    records = [
                        to_record(
                            e,
                            actor=actor,
                            application=submitted if isinstance(e, ApplicationSubmitted) else None,
                        )
                        for e in events
                    ]
                    result = write(records, head)
            except StorageError as error:
                if error.code == "storage.conflict" and attempt < DECISIONS:
                    continue  # decided on a stale view: catch up, decide again
                raise
            except EdqueueError:
                raise
            except BaseException:
                self._stale = True
                raise
            # the store wrote our records right after ``head`` (it checked ``log_head`` in the
            # same transaction): the desk, which holds them, has taken the log in up to there
            self._seen = head + len(records)
            return result, records
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def queue_state(self, application: Application) -> Application:
        """``application`` (the repository's, with its personal data) with the queue state
        the book holds for it: choices, benefit, status."""
        held = self._desk.book.application(application.number)
        return attrs.evolve(
            application, choices=held.choices, benefit=held.benefit, status=held.status
        )

    def settle(self, records: Sequence[EventRecord], exclude: str | None = None) -> None:
        """Bring the stored applications the records name (but ``exclude``) to the queue
        state the book holds, each with its version. The log already holds the truth, so a
        store that refuses now does not fail the committed command: that application stays
        behind until its next write or :meth:`reconcile`."""
        for number in dict.fromkeys(r.number for r in records if r.number is not None):
            if number != exclude:
                self._sync(number)

    def _sync(self, number: str) -> bool:
        """Write the book's queue state of one application if the store's differs (one retry
        after a conflict). Returns whether the store now agrees.

        The desk catches up first and the write is guarded by ``log_head``: a state written
        late (after another process decided on the same application and moved the log on)
        would otherwise overwrite the newer one with what the log has moved past (found by
        ``tests/test_faults.py``: a late settle set a row back to ``referred`` after another
        desk's decline)."""
        for _ in range(2):
            try:
                self.fresh()
                stored = self._store.get(number)
                if stored is None or number not in self._desk.book:
                    return True
                target = self.queue_state(stored.application)
                if target == stored.application:
                    return True
                self._store.update(target, stored.version, log_head=self._seen)
                return True
            except StorageError as error:
                if error.code != "storage.conflict":
                    return False
            except PortError:
                return False
        return False

    def reconcile(self) -> int:
        """Bring every stored application to the queue state the log gives it (status,
        benefit, choices). Returns how many applications still differ (0 when all agree).
        O(N)."""
        self.fresh()
        return sum(not self._sync(s.application.number) for s in self._store.all())
