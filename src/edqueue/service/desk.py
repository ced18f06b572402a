"""The referral desk's decisions (направления, комплектование), logged with the
applications they change.

Staff decisions: the host checks who may take them; ``actor`` names the role in the log.
Atomicity: all of a decision's records go in one transaction, together with the first
application whose queue state they change; the others follow one transaction each, and the
log is the truth (:meth:`~edqueue.service.ApplicationService.reconcile`). Run the desk's
decisions from any number of processes: each is written only if no other process wrote to
the log since this one caught up (``log_head``), else it is decided again on the fresh view
(:data:`~edqueue.service.projection.DECISIONS` times at most), so no free place is given
twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from edqueue.errors import QueueError
from edqueue.models import GroupKey, Organization, instant, require_aware
from edqueue.ports import EventRecord
from edqueue.rules import AllocationRound
from edqueue.rules.events import QueueEvent
from edqueue.service.core import Core

__all__ = ["DeskDecisions"]


class DeskDecisions:
    """The desk's decisions through the service (see the module)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def free_place(
        self,
        organization_id: str,
        group: GroupKey,
        count: int = 1,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """``count`` places freed in a group; they are offered at once
        (:meth:`ReferralDesk.free_place`). Logged as :meth:`_decide` says."""
        return self._decide(
            lambda when: self._core.projection.held.free_place(organization_id, group, when, count),
            at,
            actor,
        )

    def declare_organizations(
        self,
        organizations: Iterable[Organization],
        *,
        at: datetime | None = None,
        actor: str = "locality",
    ) -> list[QueueEvent]:
        """The locality's records of ``organizations`` from now on
        (:meth:`QueueBook.declare_organization`): an organization opens, gains groups, or a
        group's capacity or free places change. Only what differs from the log's records is
        logged; all of it in one transaction, or nothing."""
        records = list(organizations)

        def declare(when: datetime) -> list[QueueEvent]:
            book = self._core.projection.held.book
            events: list[QueueEvent] = []
            for organization in records:
                events += book.declare_organization(organization, when)
            return events

        return self._decide(declare, at, actor)

    def offer_all(self, *, at: datetime | None = None, actor: str = "desk") -> list[QueueEvent]:
        """Offer every group's free places (:meth:`ReferralDesk.offer_all`)."""
        return self._decide(lambda when: self._core.projection.held.offer_all(when), at, actor)

    def use_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The child enrolled (:meth:`ReferralDesk.use`); the application is ``enrolled``."""
        return self._decide(
            lambda when: self._core.projection.held.use(
                referral_id, self._not_before_issue(referral_id, when, at)
            ),
            at,
            actor,
        )

    def decline_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The family declined (:meth:`ReferralDesk.decline`): stop list, next in line."""
        return self._decide(
            lambda when: self._core.projection.held.decline(
                referral_id, self._not_before_issue(referral_id, when, at)
            ),
            at,
            actor,
        )

    def extend_referral(
        self,
        referral_id: str,
        deadline: datetime,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """More time to enrol, as the family asked (:meth:`ReferralDesk.extend`)."""
        return self._decide(
            lambda when: self._core.projection.held.extend(referral_id, when, deadline), at, actor
        )

    def confirm_benefit(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The extraordinary benefit behind a referral is confirmed in time
        (:meth:`ReferralDesk.confirm_benefit`)."""
        return self._decide(
            lambda when: self._core.projection.held.confirm_benefit(referral_id, when), at, actor
        )

    def advance(self, at: datetime | None = None, *, actor: str = "desk") -> list[QueueEvent]:
        """Apply everything due by ``at`` (default: now): lapsed referrals and benefit
        confirmations, children at the age limit, then offers (:meth:`ReferralDesk.advance`)."""
        return self._decide(lambda when: self._core.projection.held.advance(when), at, actor)

    def allocate(self, at: datetime | None = None, *, actor: str = "desk") -> AllocationRound:
        """Fill every group's free places at once (комплектование,
        :meth:`ReferralDesk.allocate`); the round's referrals are logged."""
        rounds: list[AllocationRound] = []

        def run(when: datetime) -> list[QueueEvent]:
            rounds[:] = [self._core.projection.held.allocate(when)]  # the round decided last
            return list(rounds[0].events)

        self._decide(run, at, actor)
        return rounds[0]

    def _not_before_issue(self, referral_id: str, when: datetime, at: datetime | None) -> datetime:
        """``when``, or the referral's issue if that is later and no time was given: another
        process, whose clock runs a little ahead, may have issued it a moment "after" this
        one's now. A time the caller gives is kept (and refused if before the issue)."""
        if at is not None:
            return when
        try:
            issued = self._core.projection.held.book.referral(referral_id).issued_at
        except QueueError:
            return when  # the command itself says the referral is unknown
        return issued if instant(issued) > instant(when) else when

    def _decide(
        self,
        command: Callable[[datetime], Sequence[QueueEvent]],
        at: datetime | None,
        actor: str,
    ) -> list[QueueEvent]:
        """Run one decision of the desk at ``at`` (default: now) and log its events.

        Atomicity: all the decision's records go in one transaction, together with the
        first application whose queue state they change (its status, e.g. ``referred`` or
        ``enrolled``, or its benefit), written with its version; a decision that changes no
        application is appended alone. If that write fails (``storage.conflict``, a store
        that is down), nothing is logged and the desk is rebuilt from the store. The other
        applications the decision touched are written next, one transaction each (the
        repository port changes one application per transaction); the log is the truth, so
        one that fails stays behind until its next write or :meth:`reconcile`, and
        rebuilding never depends on it.
        """
        when = self._core.now() if at is None else require_aware(at, "the time of the decision")
        primary: list[str] = []

        def write(records: list[EventRecord], head: int) -> None:
            primary.clear()  # a decision taken again starts afresh
            for number in dict.fromkeys(r.number for r in records if r.number is not None):
                stored = self._core.ports.store.get(number)
                if stored is None:
                    continue
                target = self._core.projection.queue_state(stored.application)
                if target != stored.application:
                    primary.append(number)
                    self._core.ports.store.update(target, stored.version, records, log_head=head)
                    return
            if records:
                self._core.ports.store.append(records, log_head=head)

        events: list[QueueEvent] = []

        def run() -> list[QueueEvent]:
            events[:] = command(when)  # a decision taken again replaces the stale one
            return events

        _, records = self._core.projection.run(run, write, actor=actor)
        self._core.projection.settle(records, exclude=primary[0] if primary else None)
        return events
