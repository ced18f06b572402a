"""The queues as a projection of the store: rebuilt from the log, caught up with it, and
moved only together with a write to it.

**The store is the truth; the queues are its projection.** Every queue event of a command
(:mod:`edqueue.rules.events`) is written to the store's log as a journal record
(:mod:`edqueue.journal`) in the same transaction as the application it changes. At
construction, and after any command that fails, the queues and the desk are rebuilt from the
store alone (:func:`edqueue.journal.catch_up`): O(N + E) plus the replayed commands.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from edqueue.errors import EdqueueError, PortError, StorageError
from edqueue.journal import Unapplied, catch_up, to_record
from edqueue.models import Application
from edqueue.ports import EventRecord
from edqueue.rules import QueueBook, ReferralDesk
from edqueue.rules.events import ApplicationSubmitted, QueueEvent
from edqueue.service.config import LocalityConfig, Store

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
        self._desk = self._rebuild()
        self._stale = False

    def _rebuild(self) -> ReferralDesk:
        """The desk rebuilt from the store alone (:func:`edqueue.journal.rebuild_desk`)."""
        config = self._config
        book = QueueBook(config.organizations, ordering=config.queue_ordering(self._now()))
        desk = ReferralDesk(book, policy=config.policy, calendar=config.calendar)
        unapplied: list[Unapplied] = []
        self._seen = catch_up(desk, self._store, unapplied=unapplied)
        self._report(unapplied)
        return desk

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
        """The desk as the log stands now: rebuilt if a failed command left it unsure, else
        caught up with what other processes wrote since (O(records since))."""
        if self._stale:
            self._desk = self._rebuild()
            self._stale = False
        else:
            unapplied: list[Unapplied] = []
            self._seen = catch_up(self._desk, self._store, after=self._seen, unapplied=unapplied)
            self._report(unapplied)
        return self._desk

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
        """Run ``command`` on the desk, then ``write`` its events as journal records (one
        transaction), given the log head the desk has taken in: the write passes it to the
        store as ``log_head``, so it is made only if no other process wrote meanwhile.

        If another process did (``storage.conflict``), the command was decided on a stale
        view: nothing was written, the desk catches up and the command is decided again, up
        to :data:`DECISIONS` times in all, then the conflict goes to the caller. If the
        command or the write raises anything else, the desk is rebuilt from the store before
        the error goes on, so the queues never hold what the store does not."""
        for attempt in range(1, DECISIONS + 1):
            try:
                self.fresh()
                head = self._seen
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
                self._stale = True
                if error.code == "storage.conflict" and attempt < DECISIONS:
                    continue  # decided on a stale view: catch up, decide again
                with contextlib.suppress(EdqueueError):
                    self.fresh()
                raise
            except BaseException:
                self._stale = True
                with contextlib.suppress(EdqueueError):
                    self.fresh()  # a store that is down now is read again at the next call
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
        after a conflict). Returns whether the store now agrees."""
        for _ in range(2):
            try:
                stored = self._store.get(number)
                if stored is None or number not in self._desk.book:
                    return True
                target = self.queue_state(stored.application)
                if target == stored.application:
                    return True
                self._store.update(target, stored.version)
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
