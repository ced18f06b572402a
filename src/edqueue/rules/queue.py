"""Live queues: a :class:`QueueBook` holds every queue of a locality and updates incrementally.

The book holds the domain state (the applications as they stand now, the referrals, each
group's places) and applies each change; who stands where in each queue is kept by a private
sorted index (``edqueue.rules._index``), so that the position of an application is a
bisection in its tier plus the :class:`~edqueue.rules.ordering.OrderingPolicy`'s arithmetic
over the tier sizes: O(log n). The ordering states each application's
:class:`~edqueue.rules.ordering.Standing` in domain terms; the index alone packs it for speed.

Only ``ACTIVE`` applications stand in queues; an application with an open referral, or that
enrolled, withdrew or was removed, stands in none.

Every command validates everything first and then applies; it either applies completely or
raises an :class:`~edqueue.errors.EdqueueError` and changes nothing. Each returns the typed
events (:mod:`edqueue.rules.events`) that describe what changed.

Complexities below use n for the size of one queue, c <= 4 for an application's choices and
k for the children of one family in one queue (1 unless twins are kept together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from edqueue.errors import QueueError
from edqueue.models import (
    Application,
    ApplicationStatus,
    BenefitClaim,
    GroupKey,
    Organization,
    Referral,
    Tier,
    by_number,
    require_aware,
)
from edqueue.rules import _index
from edqueue.rules._places import Places, PlacesLedger
from edqueue.rules._replay import apply_event
from edqueue.rules.events import (
    ApplicationRemoved,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    BenefitChanged,
    ChoicesChanged,
    QueueEvent,
    QueueId,
)
from edqueue.rules.explain import Explanation, QueuePosition, QueueSnapshot, explanation
from edqueue.rules.ordering import OrderingPolicy, StandardOrdering, standing_of
from edqueue.rules.policy import policy_date

__all__ = ["QueueBook", "QueuePosition"]

queue_entry = _index.queue_entry
entry_function = _index.entry_function
ranked_queues = _index.ranked_queues


_TIERS = tuple(Tier)  # iterating a tuple is several times faster than iterating the enum


class QueueBook(PlacesLedger):
    """Every queue of one locality, kept up to date event by event.

    ``organizations`` fixes the queues (one per organization group) and their free places
    (later changes: :meth:`declare_organization`). ``ordering`` decides the order (default:
    :class:`StandardOrdering`). With ``keep_siblings_together=True``, children of one
    applicant born at most ``sibling_window_months`` calendar months apart (twins) stand
    together in each queue they share, as one unit at the place of the best of them: the
    dated policy's ``sibling_window_months``. Source of that rule: Astana practice from
    16.10.2019 (bilim.astana.kz/archives/51329): children of one family born no more than a
    month apart are registered "as a batch".

    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> book = QueueBook(shakhtinsk_organizations())
    >>> events = book.submit(seed_application())
    >>> [p.position for p in book.positions("1292583")]
    [1, 1]
    """

    def __init__(
        self,
        organizations: Iterable[Organization],
        *,
        ordering: OrderingPolicy | None = None,
        keep_siblings_together: bool = False,
        sibling_window_months: int = 1,
    ) -> None:
        self._ordering: OrderingPolicy = ordering if ordering is not None else StandardOrdering()
        self._siblings = keep_siblings_together
        self._organizations: dict[str, Organization] = {}
        self._places: dict[QueueId, Places] = {}
        self._declared: set[str] = set()
        self._applications: dict[str, Application] = {}
        self._latest: datetime | None = None  # the latest submission instant
        self._latest_known = True  # False after build(): worked out when first asked
        self._index = _index.QueueIndex(
            (),
            self._ordering,
            self._applications,
            siblings=keep_siblings_together,
            sibling_window=relativedelta(months=sibling_window_months),
        )
        self._open(_index.each_once(organizations))
        self._referrals: dict[str, Referral] = {}
        self._open_referral: dict[str, str] = {}  # application number -> open referral id
        # every application that chose a queue but stands or stood outside it (it left, or
        # was never active there), so snapshots can say why one left: with the members,
        # every application that ever chose the queue
        self._outside: dict[QueueId, set[str]] = {}

    @classmethod
    def build(
        cls,
        organizations: Iterable[Organization],
        applications: Iterable[Application],
        *,
        ordering: OrderingPolicy | None = None,
        keep_siblings_together: bool = False,
        sibling_window_months: int = 1,
    ) -> QueueBook:
        """A book of ``applications`` at once: the same book as :meth:`submit` of each in
        turn, built faster. O(N c + Q n log n).

        Each queue's entries are collected and sorted once (an entry packs its tier above
        its ordering key, so one sort orders the tiers too) and split by tier, instead of
        one insertion per application and queue. Raises as :meth:`submit` does
        (``queue.duplicate_number``, ``queue.unknown_queue``); a book that raises is never
        returned half-built. With ``keep_siblings_together`` the siblings are placed one
        application at a time.
        """
        book = cls(
            organizations,
            ordering=ordering,
            keep_siblings_together=keep_siblings_together,
            sibling_window_months=sibling_window_months,
        )
        if keep_siblings_together:
            for application in applications:
                book.submit(application)
            return book
        stored = book._applications
        active = ApplicationStatus.ACTIVE
        standing: list[Application] = []
        for application in applications:
            number = application.number
            if number in stored:
                book.submit(application)  # raises queue.duplicate_number
            stored[number] = application
            if application.status is active:
                standing.append(application)
                continue
            queue_ids = application.group_keys
            for queue_id in queue_ids:
                book._queue(queue_id)  # raises queue.unknown_queue
            book._stand_outside(number, queue_ids)
        book._index.load(standing)  # raises queue.unknown_queue
        book._latest_known = not stored
        return book

    # --- reading ------------------------------------------------------------------------

    @property
    def latest_submission(self) -> datetime | None:
        """The latest instant at which an application in the book was submitted (``None``
        for an empty book): the service submits no application before it, so submissions
        are ordered as they happened even if the clock steps back. O(1); O(N) the first
        time after :meth:`build`."""
        if not self._latest_known:
            self._latest = max(a.submitted_at for a in self._applications.values())
            self._latest_known = True
        return self._latest

    @property
    def ordering(self) -> OrderingPolicy:
        """The ordering policy in use."""
        return self._ordering

    @property
    def organizations(self) -> Mapping[str, Organization]:
        """The organizations, by id."""
        return self._organizations

    def __len__(self) -> int:
        """How many applications the book knows, in any status."""
        return len(self._applications)

    def __contains__(self, number: object) -> bool:
        return number in self._applications

    def numbers(self) -> list[str]:
        """Every application number the book knows, in numeric order. O(N log N)."""
        return by_number(self._applications)

    def application(self, number: str) -> Application:
        """The application with this number, in its current state. O(1)."""
        try:
            return self._applications[number]
        except KeyError:
            raise QueueError(
                "queue.unknown_application", f"no application #{number} in this queue book"
            ) from None

    def queue_ids(self) -> list[QueueId]:
        """Every queue, sorted by organization id and group key."""
        return sorted(self._places, key=_index.queue_sort_key)

    def queues(self) -> Iterator[tuple[QueueId, list[str]]]:
        """Every queue that has members, with its numbers in order (:meth:`queue`), sorted
        by organization id and group key as :meth:`queue_ids`: what an export of every
        queue reads, without looking up each queue id again. O(Q log Q + N c)."""
        return self._index.queues()

    def length(self, organization_id: str, group: GroupKey) -> int:
        """How many applications stand in one queue. O(1)."""
        return self._index.length(self._queue_id(organization_id, group))

    def queue(self, organization_id: str, group: GroupKey) -> list[str]:
        """The numbers of one queue, in order. O(n)."""
        return list(self._index.order(self._queue_id(organization_id, group)))

    def position(self, number: str, organization_id: str) -> QueuePosition:
        """Where ``number`` stands in its queue at ``organization_id``. O(log n).

        Raises ``queue.not_in_queue`` when the application does not stand there (it did not
        choose the organization, or it is not active).
        """
        application = self.application(number)
        for queue_id in application.group_keys:
            if queue_id[0] == organization_id:
                return self._position(application, queue_id)
        raise QueueError(
            "queue.not_in_queue", f"application #{number} did not choose {organization_id!r}"
        )

    def positions(self, number: str) -> list[QueuePosition]:
        """Where ``number`` stands in each chosen queue, in order of preference. O(c log n)."""
        application = self.application(number)
        return [self._position(application, queue_id) for queue_id in application.group_keys]

    def _position(self, application: Application, queue_id: QueueId) -> QueuePosition:
        if queue_id not in self._places:
            raise _index.unknown_queue(queue_id)
        located = self._index.locate(application, queue_id)
        if located is None:
            raise QueueError(
                "queue.not_in_queue",
                f"application #{application.number} is {application.status.value}: "
                "it stands in no queue",
            )
        tier, rank, counts, length = located
        ahead = self._ordering.ahead(tier, rank, counts)
        every_tier = dict.fromkeys(_TIERS, 0)
        every_tier.update(ahead)
        return QueuePosition(
            number=application.number,
            organization_id=queue_id[0],
            group=queue_id[1],
            position=1 + sum(ahead.values()),
            length=length,
            tier=tier,
            ahead=every_tier,
        )

    def explain(self, number: str, organization_id: str) -> Explanation:
        """Why ``number`` stands where it does at ``organization_id``. O(log n).

        The reasons: the position, how many stand ahead in each tier, the moment from which
        the application's own tier starts (the :class:`~edqueue.rules.ordering.Standing` of
        the tier's first application, as the ordering states it), and the ordering rule.
        """
        at = self.position(number, organization_id)
        first = self._index.first((at.organization_id, at.group), at.tier)
        standing = standing_of(self._ordering, self._applications[first])
        return explanation(at, standing, self._ordering.name)

    def snapshot(self, organization_id: str, group: GroupKey, at: datetime) -> QueueSnapshot:
        """One queue as it stands now, for a later :func:`~edqueue.rules.explain.diff`. O(n)."""
        queue_id = self._queue_id(organization_id, group)
        order = tuple(self._index.order(queue_id))
        return QueueSnapshot(
            organization_id=organization_id,
            group=group,
            taken_at=require_aware(at, "the snapshot time"),
            order=order,
            tiers=self._index.tier_of_members(queue_id),
            statuses={
                n: self._applications[n].status.value
                for n in self._outside.get(queue_id, set()).union(order)
            },
        )

    def units(self, organization_id: str, group: GroupKey) -> list[tuple[str, ...]]:
        """One queue in order, as units that take places together. O(n).

        Each unit is one application, or, with ``keep_siblings_together``, the siblings that
        stand together (in their order), at the place of the first of them.
        """
        return self._index.units(self._queue_id(organization_id, group))

    def tiers(self, organization_id: str, group: GroupKey) -> dict[Tier, list[str]]:
        """One queue's numbers per tier, each in order (what the ordering merges). O(n)."""
        return self._index.tiers(self._queue_id(organization_id, group))

    def priority_order(self) -> list[str]:
        """Every application standing in a queue, once, by tier and then by ordering key: the
        order each queue follows under the standard ordering (under others, an order close
        to theirs). Give it to :func:`~edqueue.rules.allocation.allocate` as its
        ``proposing_order`` to make a national round fast. O(N log N) for the N applications
        standing; with siblings kept together, by number.
        """
        if self._siblings:
            return by_number(set(self._index.standing_numbers()))
        return self._index.by_key()

    def common_order(self) -> list[str] | None:
        """The one order every queue follows, if the book has one: its
        :meth:`priority_order` under the standard ordering with siblings not kept together;
        ``None`` otherwise (under 1:3 interleaving each queue mixes its tiers by its own
        counts, and siblings stand at the best one's place). O(N log N)."""
        if self._siblings or not isinstance(self._ordering, StandardOrdering):
            return None
        return self.priority_order()

    def _queue_id(self, organization_id: str, group: GroupKey) -> QueueId:
        queue_id = (organization_id, group)
        self._queue(queue_id)
        return queue_id

    def _queue(self, queue_id: QueueId) -> Places:
        try:
            return self._places[queue_id]
        except KeyError:
            raise _index.unknown_queue(queue_id) from None

    # --- commands -----------------------------------------------------------------------

    def submit(self, application: Application) -> list[QueueEvent]:
        """Add a submitted application; an active one joins its chosen queues. O(c log n).

        Raises ``queue.duplicate_number`` for a number already in the book and
        ``queue.unknown_queue`` when a chosen group does not exist. Eligibility is judged by
        :mod:`edqueue.rules.eligibility` before this.
        """
        if application.number in self._applications:
            raise QueueError(
                "queue.duplicate_number",
                f"application #{application.number} is already in this queue book",
            )
        queue_ids = application.group_keys
        for queue_id in queue_ids:
            self._queue(queue_id)
        self._keep_application(application.number)
        self._applications[application.number] = application
        if self._latest_known and (self._latest is None or application.submitted_at > self._latest):
            self._latest = application.submitted_at
        if application.status is ApplicationStatus.ACTIVE:
            self._index.enter(application)
        else:
            self._stand_outside(application.number, queue_ids)
        return [
            ApplicationSubmitted(
                at=application.submitted_at,
                queues=queue_ids,
                number=application.number,
                reason="submitted",
            )
        ]

    def withdraw(self, number: str, at: datetime) -> list[QueueEvent]:
        """The family withdraws the application; it leaves every queue. O(c log n)."""
        application = self._transition(number, ApplicationStatus.WITHDRAWN, at)
        queues = self._replace(application)
        return [ApplicationWithdrawn(at=at, queues=queues, number=number, reason="withdrawn")]

    def remove(self, number: str, at: datetime, reason: str) -> list[QueueEvent]:
        """The rules take the application out of every queue (``reason`` says why)."""
        application = self._transition(number, ApplicationStatus.REMOVED, at)
        queues = self._replace(application)
        return [ApplicationRemoved(at=at, queues=queues, number=number, reason=reason)]

    def change_choices(self, number: str, choices: Iterable[Any], at: datetime) -> list[QueueEvent]:
        """The family changes its organizations; the queue date stays the submission date.

        O(c log n). The new choices are validated as at construction (1 to 4, distinct) and
        every new group must exist.
        """
        require_aware(at, "the change time")
        current = self.application(number)
        if current.status.is_final:
            raise QueueError(
                "queue.invalid_operation",
                f"application #{number} is {current.status.value}; it cannot be changed",
            )
        changed = current.replace(choices=tuple(choices))
        for queue_id in changed.group_keys:
            self._queue(queue_id)
        self._replace(changed)
        if changed.status is not ApplicationStatus.ACTIVE:
            self._stand_outside(number, changed.group_keys)
        return [
            ChoicesChanged(
                at=at,
                queues=tuple(dict.fromkeys(current.group_keys + changed.group_keys)),
                number=number,
                before=current.group_keys,
                after=changed.group_keys,
                reason="choices changed",
            )
        ]

    def set_benefit(
        self, number: str, claim: BenefitClaim | None, at: datetime
    ) -> list[QueueEvent]:
        """Claim, replace, verify, reject or expire the benefit (``None`` drops it). O(c log n).

        Only a verified claim gives priority; the tier moves at once in every queue.
        """
        require_aware(at, "the benefit change time")
        current = self.application(number)
        if current.status.is_final:
            raise QueueError(
                "queue.invalid_operation",
                f"application #{number} is {current.status.value}; its benefit cannot change",
            )
        changed = current.replace(benefit=claim)
        queues = self._replace(changed)
        return [
            BenefitChanged(
                at=at,
                queues=queues,
                number=number,
                status=None if claim is None else claim.status,
                tier_before=current.tier,
                tier_after=changed.tier,
                claim=claim,
                reason="benefit " + ("removed" if claim is None else claim.status.value),
            )
        ]

    def verify_benefit(self, number: str, at: datetime) -> list[QueueEvent]:
        """The pending benefit is confirmed at ``at``."""
        return self.set_benefit(number, self._claim(number).verify(at), at)

    def reject_benefit(self, number: str, at: datetime) -> list[QueueEvent]:
        """The benefit is refused (not found in the register, or the document refused)."""
        return self.set_benefit(number, self._claim(number).reject(at), at)

    def expire_benefit(self, number: str, at: datetime) -> list[QueueEvent]:
        """The benefit lapses (not confirmed in time, or its basis ended)."""
        return self.set_benefit(number, self._claim(number).expire(at), at)

    def _claim(self, number: str) -> BenefitClaim:
        claim = self.application(number).benefit
        if claim is None:
            raise QueueError(
                "queue.invalid_operation", f"application #{number} has no benefit claim"
            )
        return claim

    def replay(self, events: Iterable[QueueEvent], submitted: Mapping[str, Application]) -> None:
        """Apply ``events`` that another book emitted, in order, to this book (built with the
        same organizations and ordering): afterwards it stands exactly as that book did.

        Events carry no personal data, so the applications as submitted come from
        ``submitted`` (by number; the host's store keeps them); every later change is in the
        events. O(sum of the commands). Raises like the commands themselves, e.g.
        ``queue.unknown_application`` for a submission not in ``submitted``.
        """
        for event in events:
            apply_event(self, event, submitted)

    def remove_aged_out(self, limit_date: Callable[[date], date], at: datetime) -> list[QueueEvent]:
        """Remove every application whose child has reached the age limit. O(N log n).

        ``limit_date`` maps a birth date to the date the child reaches the limit: the dated
        policy's ``KAZAKHSTAN_POLICY.at(at).age_limit_date``. ``at`` is read as its calendar
        day in Kazakhstan (:func:`~edqueue.rules.policy.policy_date`).
        """
        today = policy_date(at)
        events: list[QueueEvent] = []
        for number in by_number(self._applications):
            application = self._applications[number]
            if application.status.is_final or number in self._open_referral:
                continue  # a child holding a referral may still use it
            if limit_date(application.child.birth_date) <= today:
                events += self.remove(number, at, "child reached the age limit")
        return events

    def _transition(self, number: str, status: ApplicationStatus, at: datetime) -> Application:
        require_aware(at, "the time of the change")
        current = self.application(number)
        if number in self._open_referral:
            raise QueueError(
                "queue.invalid_operation",
                f"application #{number} has an open referral; close it first",
            )
        return current.with_status(status)

    # --- keeping the sorted lists ----------------------------------------------------------

    def _replace(self, application: Application) -> tuple[QueueId, ...]:
        """Swap the stored application for ``application`` and move it in every queue;
        return the queues ``application`` chose."""
        previous = self._applications[application.number]
        self._keep_application(application.number)
        self._applications[application.number] = application
        left, joined = self._index.move(previous, application)
        self._stand_outside(application.number, left)
        return joined
