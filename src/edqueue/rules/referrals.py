"""Referrals (направления): who gets a freed place, by when, and what happens next.

A :class:`ReferralDesk` runs the life cycle of referrals over a
:class:`~edqueue.rules.queue.QueueBook` with the dated policy and the working-day calendar:

* **A place frees** in a group: the referral goes to the first application in that queue that
  may take a place now (:func:`referral_hold` says why another may not: its desired date has
  not come, the child is too young, it is on the stop list). Twins kept together as one unit
  get referrals only when the group has places for all of them; otherwise the places go on
  down the queue and the twins keep their place. Source: DOMAIN.md, "Referral"; seed step 2
  («Сразу, при появлении места» / «С желаемой даты»); the minimum age is the policy's
  ``referral_min_age_months``.
* **Deadline**: the policy's ``referral_enrolment_window`` (5 working days) counted by the
  calendar (:mod:`edqueue.rules.calendar`). Source: Almaty 2023 «в течение пяти рабочих
  дней»; Astana (bilim.astana.kz/en/archives/49434).
* **Used**: the child enrolled, the application leaves every queue for good and frees nothing.
* **Declined or expired**: the place goes to the next in line; the application is back in
  its queues with its original queue date but on the stop list for the policy's
  ``stop_list_period`` (10 days). Source: Astana, "taken to STOP LIST for 10 days ... you
  return to the queue according to the original date" (bilim.astana.kz/en/archives/49453);
  Almaty 2023 «стоп-лист на 10 дней».
* **Extraordinary benefit**: a referral issued on an extraordinary benefit must have the
  benefit confirmed within the policy's ``benefit_confirmation_window`` (5 working days);
  otherwise the referral is cancelled and the benefit lapses, so the child stands in the
  general tier at its original date. Source: Astana, "you are given 5 working days to do
  this ... returns to the place without an exemption, according to your queuing date"
  (bilim.astana.kz/en/archives/49457).

Every command returns the typed events (:mod:`edqueue.rules.events`) with the reason in each.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime

import attrs

from edqueue.errors import QueueError
from edqueue.models import (
    Application,
    GroupKey,
    Referral,
    Tier,
    by_number,
    require_aware,
)
from edqueue.rules._undo import Undo
from edqueue.rules.allocation import (
    AllocationProblem,
    allocate,
    serial_dictatorship,
)
from edqueue.rules.calendar import KAZAKHSTAN_CALENDAR, WorkingCalendar
from edqueue.rules.events import (
    BenefitConfirmed,
    QueueEvent,
    QueueId,
    ReferralClosed,
    ReferralIssued,
    StopListed,
)
from edqueue.rules.explain import Reason
from edqueue.rules.holds import _day, _first_in_line, _hold_on, referral_hold
from edqueue.rules.ordering import standing_of
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy, PolicyValues, policy_date
from edqueue.rules.queue import QueueBook
from edqueue.rules.rounds import AllocationRound

__all__ = ["AllocationRound", "ReferralDesk", "referral_hold"]


class ReferralDesk:
    """Issues and closes referrals over a queue book, by the policy and the calendar.

    The desk keeps what the book does not: the stop list and the benefit confirmations due.
    Referral ids are ``"{prefix}-{n}"``, numbered in issue order. Complexities use n for the
    size of one queue.

    >>> from datetime import datetime
    >>> from edqueue.models import KAZAKHSTAN
    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> desk = ReferralDesk(QueueBook(shakhtinsk_organizations()))
    >>> _ = desk.book.submit(seed_application())
    >>> events = desk.offer_all(datetime(2024, 2, 5, 12, 0, tzinfo=KAZAKHSTAN))
    >>> [(e.kind, e.number, e.organization_id, f"{e.deadline:%d.%m.%Y}") for e in events]
    [('referral_issued', '1292583', 'shakhtinsk-saltanat', '13.02.2024')]
    """

    def __init__(
        self,
        book: QueueBook,
        *,
        policy: Policy = KAZAKHSTAN_POLICY,
        calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR,
        prefix: str = "R",
    ) -> None:
        self._book = book
        self._policy = policy
        self._calendar = calendar
        self._prefix = prefix
        self._issued = 0
        self._undo: Undo | None = None  # inside atomic()
        self._stop_until: dict[str, datetime] = {}
        self._confirm_by: dict[str, datetime] = {}  # referral id -> confirmation deadline

    @property
    def book(self) -> QueueBook:
        """The queue book the desk works on."""
        return self._book

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """A block whose changes to the desk and its book are all kept, or, if it raises,
        all put back (:meth:`QueueBook.atomic`, with the stop list, the confirmations due
        and the referral numbering): a command refused halfway, or whose write the store
        refused, leaves the desk as it was, without a rebuild."""
        with self._book.atomic() as undo:
            undo.attribute(self, "_issued")
            outer, self._undo = self._undo, undo
            try:
                yield
            finally:
                self._undo = outer

    def _keep(self, container: dict[str, datetime], key: str) -> None:
        """Inside :meth:`atomic`: note ``container[key]`` before it changes."""
        if self._undo is not None:
            self._undo.entry(container, key)

    @property
    def policy(self) -> Policy:
        """The dated policy the desk reads its windows from."""
        return self._policy

    @property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar that counts the windows."""
        return self._calendar

    def stop_list(self, at: datetime) -> dict[str, datetime]:
        """Applications on the stop list at ``at``, with the end of their stay."""
        require_aware(at, "the time")
        return {n: until for n, until in sorted(self._stop_until.items()) if at < until}

    def confirmation_due(self, referral_id: str) -> datetime | None:
        """When the benefit behind an open referral must be confirmed by, if it must."""
        return self._confirm_by.get(referral_id)

    def hold(self, number: str, at: datetime) -> Reason | None:
        """Why application ``number`` may not take a place at ``at`` (see
        :func:`referral_hold`), or ``None``."""
        return self._hold(number, at, self._policy.at(at))

    def _hold(self, number: str, at: datetime, values: PolicyValues) -> Reason | None:
        application = self._book.application(number)
        return referral_hold(application, at, values, self._stop_until.get(number))

    # --- places freeing ----------------------------------------------------------------

    def submit(self, application: Application) -> list[QueueEvent]:
        """Add a submitted application to the book, then offer the free places of its queues
        at its submission time (a place may be waiting for someone who may take it). O(c n).
        """
        events = self._book.submit(application)
        for organization_id, group in application.group_keys:
            events += self.offer(organization_id, group, application.submitted_at)
        return events

    def free_place(
        self, organization_id: str, group: GroupKey, at: datetime, count: int = 1
    ) -> list[QueueEvent]:
        """``count`` places freed in a group; they are offered at once. O(n)."""
        events = self._book.free_place(organization_id, group, at, count)
        return events + self.offer(organization_id, group, at)

    def offer(self, organization_id: str, group: GroupKey, at: datetime) -> list[QueueEvent]:
        """Offer the group's free places to the first in its queue who may take one. O(n).

        Units that may not take a place now, or twins for whom the group has too few places,
        are passed over and keep their place; the reason of each referral says how many
        were passed over and why.
        """
        require_aware(at, "the time of the offer")
        free = self._book.free_places(organization_id, group)
        if free == 0:
            return []
        values = self._policy.at(at)
        events: list[QueueEvent] = []
        passed: Counter[str] = Counter()
        for unit in self._book.units(organization_id, group):
            if free == 0:
                break
            hold = next((h for n in unit if (h := self._hold(n, at, values)) is not None), None)
            if hold is not None:
                passed[hold.code] += len(unit)
                continue
            if len(unit) > free:
                passed["hold.siblings"] += len(unit)
                continue
            reason = _first_in_line(passed)
            for number in unit:
                events += self._issue(number, (organization_id, group), at, values, reason)
            free -= len(unit)
        return events

    def offer_all(self, at: datetime) -> list[QueueEvent]:
        """Offer the free places of every group, group by group in the order of queue ids.

        For a place that frees now use :meth:`free_place`; this catches places that found no
        one earlier (everyone in line was waiting). For many places at once prefer
        :meth:`allocate`, which also respects each family's order of choices.
        """
        events: list[QueueEvent] = []
        for organization_id, group in self._book.queue_ids():
            events += self.offer(organization_id, group, at)
        return events

    # --- the family's answer -------------------------------------------------------------

    def use(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The child enrolled: the application leaves every queue; the place stays taken.

        Raises ``queue.invalid_operation`` while an extraordinary benefit behind the
        referral still waits for its confirmation (:meth:`confirm_benefit`).
        """
        if referral_id in self._confirm_by:
            raise QueueError(
                "queue.invalid_operation",
                f"referral {referral_id!r} waits for the extraordinary benefit to be "
                "confirmed; confirm it before enrolment",
            )
        return self._book.use_referral(referral_id, at)

    def extend(self, referral_id: str, at: datetime, deadline: datetime) -> list[QueueEvent]:
        """The family asks at ``at`` for more time to enrol, until ``deadline``. O(1).

        The new deadline may be at most the policy's ``referral_enrolment_window_max`` after
        the referral was issued (Astana: "up to 30 days at the request of the parent",
        bilim.astana.kz/en/archives/49434). Raises ``queue.invalid_operation`` past it or
        after the current deadline, and ``referral.deadline`` for a deadline that is not
        later than the current one.
        """
        require_aware(at, "the time of the request")
        referral = self._book.referral(referral_id)
        latest = self._calendar.deadline(
            referral.issued_at, self._policy.at(referral.issued_at).referral_enrolment_window_max
        )
        if at >= referral.deadline:
            raise QueueError(
                "queue.invalid_operation",
                f"referral {referral_id!r} lapsed at {_day(referral.deadline)}; "
                "it can no longer be extended",
            )
        if require_aware(deadline, "the new deadline") > latest:
            raise QueueError(
                "queue.invalid_operation",
                f"a referral may be extended to {_day(latest)} at the latest",
            )
        return self._book.extend_referral(referral_id, deadline, at)

    def decline(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The family declined: stop list, and the place goes to the next in line. O(n)."""
        referral = self._book.referral(referral_id)
        events = self._book.decline_referral(referral_id, at)
        return events + self._after_refusal(referral, at, at)

    def confirm_benefit(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The extraordinary benefit behind an open referral is confirmed in time. O(1).

        Raises ``queue.invalid_operation`` when the referral needs no confirmation, is no
        longer open, or the window closed (:meth:`advance` then cancels it).
        """
        require_aware(at, "the confirmation time")
        referral = self._book.referral(referral_id)
        due = self._confirm_by.get(referral_id)
        if due is None or not referral.is_open:
            raise QueueError(
                "queue.invalid_operation",
                f"referral {referral_id!r} has no benefit confirmation pending",
            )
        if at >= due:
            raise QueueError(
                "queue.invalid_operation",
                f"the confirmation window of referral {referral_id!r} closed at {_day(due)}",
            )
        self._keep(self._confirm_by, referral_id)
        del self._confirm_by[referral_id]
        return [
            BenefitConfirmed(
                at=at,
                queues=(),
                number=referral.application_number,
                referral_id=referral_id,
                reason="extraordinary benefit confirmed",
            )
        ]

    def withdraw(self, number: str, at: datetime) -> list[QueueEvent]:
        """The family withdraws; an open referral is cancelled first and its place offered
        to the next in line, so the place is freed once. O(c log n + n)."""
        referral = self._book.open_referral(number)
        events: list[QueueEvent] = []
        if referral is not None:
            events += self._book.cancel_referral(referral.id, at, "application withdrawn")
            self._keep(self._confirm_by, referral.id)
            self._confirm_by.pop(referral.id, None)
        events += self._book.withdraw(number, at)
        if referral is not None:
            events += self.offer(referral.organization_id, referral.group, at)
        return events

    # --- time passing ----------------------------------------------------------------------

    def advance(self, at: datetime) -> list[QueueEvent]:
        """Apply everything due by ``at``, in time order, then offer the free places.

        Benefit confirmations past their window cancel their referrals (the benefit lapses);
        referrals past their deadline expire (stop list); children who reached the age limit
        leave the queues; each freed place goes to the next in line. O(r log r + N + Q) for r
        open referrals.
        """
        require_aware(at, "the time")
        due: list[tuple[datetime, int, str]] = []
        for referral in self._book.open_referrals():
            confirm_by = self._confirm_by.get(referral.id)
            if confirm_by is not None and confirm_by <= min(at, referral.deadline):
                due.append((confirm_by, 0, referral.id))
            elif referral.deadline <= at:
                due.append((referral.deadline, 1, referral.id))
        events: list[QueueEvent] = []
        for when, kind, referral_id in sorted(due):
            referral = self._book.referral(referral_id)
            if kind == 0:
                events += self._unconfirmed(referral, when, at)
            else:
                events += self._book.expire_referral(referral_id, when)
                events += self._after_refusal(referral, when, at)
        events += self._book.remove_aged_out(self._policy.at(at).age_limit_date, at)
        # the stop list keeps the stays that ended (one per application at most): dropping
        # them here would leave no record in the log, so a replayed desk would keep them
        return events + self.offer_all(at)

    # --- batch allocation --------------------------------------------------------------------

    def allocate(self, at: datetime) -> AllocationRound:
        """Fill every group's free places at once (комплектование) and issue the referrals.

        Every active application that may take a place now takes part with its choices in
        its order; the others wait and keep their places (``AllocationRound.waiting``). The
        allocation is :func:`~edqueue.rules.allocation.allocate` (deferred acceptance);
        when every queue follows the book's :meth:`~edqueue.rules.queue.QueueBook.common_order`
        the round's choices are listed in that order and the allocation is computed as the
        equal :func:`~edqueue.rules.allocation.serial_dictatorship`, several times faster.
        ``waiting`` is listed by number. Each child counts alone here, twins included.
        O(Q + N c log p).
        """
        require_aware(at, "the time of the round")
        values = self._policy.at(at)
        book = self._book
        queues = {q: book.queue(*q) for q in book.queue_ids()}
        places = {q: book.free_places(*q) for q in queues}
        choices: dict[str, tuple[QueueId, ...]] = {}
        waiting: dict[str, Reason] = {}
        # under a common order the choices are listed in it, and the serial dictatorship
        # takes them in turn without looking a million numbers up (docs/performance.md)
        common = book.common_order()
        numbers = (
            by_number({number for order in queues.values() for number in order})
            if common is None
            else common
        )
        today, stops = policy_date(at), self._stop_until
        by_birth: dict[date, Reason | None] = {}
        for number in numbers:
            application = book.application(number)
            stop = stops.get(number)
            hold = (  # referral_hold's answer, with the day worked out once for the round
                referral_hold(application, at, values, stop)
                if stop is not None and at < stop
                else _hold_on(application, today, values, by_birth)
            )
            if hold is None:
                choices[number] = application.group_keys
            else:
                waiting[number] = hold
        problem = AllocationProblem(choices=choices, queues=queues, places=places)
        allocation = (
            allocate(problem, proposing_order=book.priority_order())
            if common is None
            else serial_dictatorship(problem)  # the same allocation, when common
        )
        events: list[QueueEvent] = []
        for number, queue_id in allocation.assignment.items():
            choice = choices[number].index(queue_id) + 1
            events += self._issue(
                number, queue_id, at, values, f"batch allocation: choice {choice}"
            )
        referrals = tuple(
            self._book.referral(e.referral_id) for e in events if isinstance(e, ReferralIssued)
        )
        last: dict[QueueId, tuple[Tier, str]] = {}
        for queue_id in places:
            holders = allocation.holders(queue_id)
            if holders:
                standing = standing_of(book.ordering, book.application(holders[-1]))
                last[queue_id] = (standing.tier, _day(standing.instant))
        return AllocationRound(
            at=at,
            allocation=allocation,
            referrals=referrals,
            events=tuple(events),
            waiting={number: waiting[number] for number in by_number(waiting)},
            last=last,
        )

    # --- replay ------------------------------------------------------------------------------

    def replay(self, events: Iterable[QueueEvent], submitted: Mapping[str, Application]) -> None:
        """Apply the events another desk emitted, in order: the book as
        :meth:`QueueBook.replay` does, and what only the desk keeps (the stop list, the
        benefit confirmations due, the referral numbering). Afterwards this desk decides as
        that one would. O(sum of the commands).
        """
        for event in events:
            self._book.replay((event,), submitted)
            if isinstance(event, ReferralIssued):
                self._issued += 1
                if event.confirm_by is not None:
                    self._keep(self._confirm_by, event.referral_id)
                    self._confirm_by[event.referral_id] = event.confirm_by
            elif isinstance(event, ReferralClosed | BenefitConfirmed):
                self._keep(self._confirm_by, event.referral_id)
                self._confirm_by.pop(event.referral_id, None)
            elif isinstance(event, StopListed):
                self._keep(self._stop_until, event.number)
                self._stop_until[event.number] = event.until

    # --- inside ------------------------------------------------------------------------------

    def _issue(
        self, number: str, queue_id: QueueId, at: datetime, values: PolicyValues, reason: str
    ) -> list[QueueEvent]:
        application = self._book.application(number)
        referral = Referral(
            id=self._next_id(),
            application_number=number,
            organization_id=queue_id[0],
            group=queue_id[1],
            issued_at=at,
            deadline=self._calendar.deadline(at, values.referral_enrolment_window),
        )
        confirm_by = None
        if application.tier is Tier.EXTRAORDINARY:
            confirm_by = self._calendar.deadline(at, values.benefit_confirmation_window)
        events = self._book.issue_referral(referral)
        if confirm_by is not None:
            self._keep(self._confirm_by, referral.id)
            self._confirm_by[referral.id] = confirm_by
        return [
            attrs.evolve(e, confirm_by=confirm_by, reason=reason)
            if isinstance(e, ReferralIssued)
            else e
            for e in events
        ]

    def _next_id(self) -> str:
        while True:
            self._issued += 1
            candidate = f"{self._prefix}-{self._issued}"
            try:
                self._book.referral(candidate)
            except QueueError:
                return candidate

    def _after_refusal(
        self, referral: Referral, at: datetime, offer_at: datetime
    ) -> list[QueueEvent]:
        """Stop list from ``at`` for a declined or expired referral, then offer its place
        at ``offer_at`` (later than ``at`` when :meth:`advance` catches up)."""
        self._keep(self._confirm_by, referral.id)
        self._confirm_by.pop(referral.id, None)
        events: list[QueueEvent] = []
        period = self._policy.at(at).stop_list_period
        number = referral.application_number
        if period.amount > 0:
            until = self._calendar.deadline(at, period)
            self._keep(self._stop_until, number)
            self._stop_until[number] = until
            outcome = self._book.referral(referral.id).status.value
            events.append(
                StopListed(
                    at=at,
                    queues=self._book.application(number).group_keys,
                    number=number,
                    until=until,
                    reason=f"referral {outcome}: stop list for {period}",
                )
            )
        return events + self.offer(referral.organization_id, referral.group, offer_at)

    def _unconfirmed(
        self, referral: Referral, at: datetime, offer_at: datetime
    ) -> list[QueueEvent]:
        """Cancel a referral whose extraordinary benefit was not confirmed; the benefit
        lapses and the child stands in the general tier at its original date."""
        self._keep(self._confirm_by, referral.id)
        del self._confirm_by[referral.id]
        reason = "extraordinary benefit not confirmed in time"
        events = self._book.cancel_referral(referral.id, at, reason)
        events += self._book.expire_benefit(referral.application_number, at)
        return events + self.offer(referral.organization_id, referral.group, offer_at)
