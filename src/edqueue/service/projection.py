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
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from edqueue.errors import EdqueueError, PortError, StorageError
from edqueue.journal import catch_up, is_queue_record, to_record
from edqueue.models import Application
from edqueue.ports import EventRecord
from edqueue.rules import QueueBook, ReferralDesk
from edqueue.rules.events import ApplicationSubmitted, QueueEvent
from edqueue.service.config import LocalityConfig, Store

__all__ = ["Projection"]

_T = TypeVar("_T")


class Projection:
    """The live desk and book over ``store``'s log, for one locality."""

    def __init__(self, store: Store, config: LocalityConfig, now: Callable[[], datetime]) -> None:
        self._store = store
        self._config = config
        self._now = now
        self._seen = 0  # the last record of the log the desk has taken in
        self._desk = self._rebuild()
        self._stale = False

    def _rebuild(self) -> ReferralDesk:
        """The desk rebuilt from the store alone (:func:`edqueue.journal.rebuild_desk`)."""
        config = self._config
        book = QueueBook(config.organizations, ordering=config.queue_ordering(self._now()))
        desk = ReferralDesk(book, policy=config.policy, calendar=config.calendar)
        self._seen = catch_up(desk, self._store)
        return desk

    def fresh(self) -> ReferralDesk:
        """The desk as the log stands now: rebuilt if a failed command left it unsure, else
        caught up with what other processes wrote since (O(records since))."""
        if self._stale:
            self._desk = self._rebuild()
            self._stale = False
        else:
            self._seen = catch_up(self._desk, self._store, after=self._seen)
        return self._desk

    @property
    def held(self) -> ReferralDesk:
        """The desk as it stands, without catching up (inside a command)."""
        return self._desk

    def _written(self, records: Sequence[EventRecord]) -> None:
        """After a write: take the log's new records in. If they are exactly ours, the desk
        already holds them; if another process wrote queue records meanwhile, our command
        was decided on an older desk, so the desk is rebuilt at the next call."""
        try:
            new = self._store.events(self._seen)
        except PortError:
            self._stale = True
            return
        theirs = [(r.kind, r.number, dict(r.data)) for r in new if is_queue_record(r)]
        if theirs == [(r.kind, r.number, dict(r.data)) for r in records]:
            self._seen = new[-1].sequence if new else self._seen
        else:
            self._stale = True

    def run(
        self,
        command: Callable[[], Sequence[QueueEvent]],
        write: Callable[[list[EventRecord]], _T],
        *,
        actor: str,
        submitted: Application | None = None,
    ) -> tuple[_T, list[EventRecord]]:
        """Run ``command`` on the desk, then ``write`` its events as journal records (one
        transaction). If either raises, the desk is rebuilt from the store before the error
        goes on, so the queues never hold what the store does not."""
        try:
            self.fresh()
            events = command()
            records = [
                to_record(
                    e,
                    actor=actor,
                    application=submitted if isinstance(e, ApplicationSubmitted) else None,
                )
                for e in events
            ]
            result = write(records)
        except BaseException:
            self._stale = True
            with contextlib.suppress(EdqueueError):
                self.fresh()  # a store that is down now is read again at the next call
            raise
        self._written(records)
        return result, records

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
