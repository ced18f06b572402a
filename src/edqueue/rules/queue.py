"""Live queues: a :class:`QueueBook` holds every queue of a locality and updates incrementally.

Each queue (one organization's group) keeps one sorted list per tier, so that the position
of an application is a bisection in its tier plus the
:class:`~edqueue.rules.ordering.OrderingPolicy`'s arithmetic over the tier sizes: O(log n).
A tier is a plain ``list`` kept sorted with :mod:`bisect` while it is short (most of a
nation's queues hold a few dozen applications) and a ``sortedcontainers.SortedList`` once it
grows past :data:`_SMALL` members, so an insertion stays O(log n) in the longest queue.

Only ``ACTIVE`` applications stand in queues; an application with an open referral, or that
enrolled, withdrew or was removed, stands in none.

Every command validates everything first and then applies; it either applies completely or
raises an :class:`~edqueue.errors.EdqueueError` and changes nothing. Each returns the typed
events (:mod:`edqueue.rules.events`) that describe what changed.

Complexities below use n for the size of one queue, c <= 4 for an application's choices and
k for the children of one family in one queue (1 unless twins are kept together).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta
from sortedcontainers import SortedList

from edqueue.errors import QueueError
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    ApplicationStatus,
    BenefitClaim,
    Choice,
    GroupKey,
    Organization,
    Referral,
    Tier,
    by_number,
    require_aware,
)
from edqueue.models.applications import shared_queue_id
from edqueue.rules.events import (
    ApplicationRemoved,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    BenefitChanged,
    ChoicesChanged,
    PlaceFreed,
    QueueEvent,
    QueueId,
    ReferralClosed,
    ReferralExtended,
    ReferralIssued,
)
from edqueue.rules.explain import Explanation, QueueSnapshot, Reason
from edqueue.rules.ordering import (
    BenefitTime,
    OrderingPolicy,
    StandardOrdering,
    from_instant_key,
)
from edqueue.rules.policy import policy_date

__all__ = ["QueueBook", "QueuePosition"]

# An element of a tier's sorted list. Plain mode: one int that packs the tier, the time and
# the number, ``tier << 120 | (time + 2**58) << 60 | number``: numbers have at most 18 digits
# (below 2**60) and every datetime's microseconds since 1970 lie within +-2**58, so within a
# tier the int sorts as the (time, number) key. An int sorts, compares and stores faster than
# a tuple, is not tracked by the garbage collector, and one object serves every queue of an
# application and the book's index. Siblings mode: the tuple (unit time, unit number, own
# tier, own time, own number). The number is always the low part (int) or last (tuple).
_Element = int | tuple[int, ...]
_SHIFT = 60
_MASK = (1 << _SHIFT) - 1
_TIER_SHIFT = 2 * _SHIFT
_TIME_OFFSET = 1 << 58
_KEY_MASK = (1 << _TIER_SHIFT) - 1  # the (time, number) bits of a plain-mode element
_TIER_OF = {int(tier): tier for tier in Tier}


def _pack(tier: Tier, key: tuple[int, int]) -> int:
    """One plain-mode element from an ordering's tier and ``(time, number)`` key."""
    return (tier << _TIER_SHIFT) | ((key[0] + _TIME_OFFSET) << _SHIFT) | key[1]


def _tier_members(elements: list[int]) -> Any:
    """A tier of sorted ``elements``: the list itself while short, else a ``SortedList``."""
    return elements if len(elements) <= _SMALL else SortedList(elements)


def _by_tier(elements: list[int]) -> Iterator[tuple[Tier, list[int]]]:
    """Sorted, non-empty plain-mode ``elements`` cut into their tiers (the list itself when
    they share one tier)."""
    first, last = elements[0] >> _TIER_SHIFT, elements[-1] >> _TIER_SHIFT
    if first == last:
        yield _TIER_OF[first], elements
        return
    start = 0
    for level in range(first, last + 1):
        end = bisect_left(elements, (level + 1) << _TIER_SHIFT, start)
        if end > start:
            yield _TIER_OF[level], elements[start:end]
        start = end


def _each_once(organizations: Iterable[Organization]) -> Iterator[Organization]:
    """``organizations``; raises ``queue.invalid_operation`` for one given twice."""
    seen: set[str] = set()
    for organization in organizations:
        if organization.id in seen:
            raise QueueError(
                "queue.invalid_operation",
                f"organization {organization.id!r} is given twice; give each once",
            )
        seen.add(organization.id)
        yield organization


def _unknown_queue(queue_id: QueueId) -> QueueError:
    return QueueError(
        "queue.unknown_queue",
        f"{queue_id[0]!r} has no group {queue_id[1].label_ru!r} in this queue book",
    )


def queue_entry(application: Application, ordering: OrderingPolicy) -> int:
    """The one int that orders ``application`` in each of its queues under ``ordering``: its
    tier above its ``(time, number)`` key, as a :class:`QueueBook` keeps it. With
    :func:`ranked_queues`, what a reader that does not keep the records (``edqueue rank``)
    needs of each application."""
    return _pack(*ordering.tier_and_key(application))


def ranked_queues(
    organizations: Iterable[Organization],
    entries: Iterable[tuple[int, Iterable[QueueId]]],
    ordering: OrderingPolicy | None = None,
) -> Iterator[tuple[QueueId, list[str]]]:
    """``QueueBook.build(organizations, applications, ordering=ordering).queues()`` from
    each active application's :func:`queue_entry` and :attr:`~Application.group_keys`
    alone: the same queues, in the same order, with the same numbers, and the same errors
    (``queue.invalid_operation``, ``queue.unknown_queue``). O(N c + Q n log n).

    The caller gives only active applications, each number once (as the book's
    ``queue.duplicate_number`` requires). Errors are raised as the queues are iterated."""
    merge = (ordering if ordering is not None else StandardOrdering()).merge
    buckets: dict[QueueId, list[int]] = {
        shared_queue_id(o.id, g.key): [] for o in _each_once(organizations) for g in o.groups
    }
    for element, queue_ids in entries:
        for queue_id in queue_ids:
            bucket = buckets.get(queue_id)
            if bucket is None:
                raise _unknown_queue(queue_id)
            bucket.append(element)
    for queue_id in sorted(buckets, key=_queue_sort_key):
        elements = buckets[queue_id]
        if elements:
            elements.sort()
            yield queue_id, list(map(_number_of, merge(dict(_by_tier(elements)))))


def _tier_of(element: int) -> Tier:
    return _TIER_OF[element >> _TIER_SHIFT]


def _queue_sort_key(queue_id: QueueId) -> tuple[str, int, str, str]:
    return (queue_id[0], *queue_id[1].sort_key)


def _number_of(element: _Element) -> str:
    if type(element) is int:
        return str(element & _MASK)
    return str(element[-1])  # type: ignore[index]


def _time_of(element: _Element) -> int:
    if type(element) is int:
        return ((element >> _SHIFT) & _MASK) - _TIME_OFFSET
    return element[0]  # type: ignore[index]


@attrs.frozen
class QueuePosition:
    """Where one application stands in one queue.

    ``position`` is 1-based and equals ``1 + sum(ahead.values())``; ``ahead`` counts the
    applications ahead by tier; ``length`` is the number of applications in the queue.
    """

    number: str
    organization_id: str
    group: GroupKey
    position: int
    length: int
    tier: Tier
    ahead: Mapping[Tier, int]

    @property
    def ahead_total(self) -> int:
        """How many applications stand ahead."""
        return self.position - 1


_NO_ELEMENTS: tuple[_Element, ...] = ()
_NOTHING: Any = MappingProxyType({})  # plain mode keeps no members or families: read-only
_SMALL = 2048
"""The most members a tier keeps in a plain sorted ``list``; past it the tier becomes a
``SortedList``. Inserting into a list of 2,048 ints moves 16 KiB, which costs less than
``SortedList.add``'s Python-level bookkeeping; past that, the list's O(n) moves would grow."""
_TIERS = tuple(Tier)  # iterating a tuple is several times faster than iterating the enum


class _Queue:
    """One queue: a sorted list per tier that has members (made on first use, as most of a
    nation's queues are short) and their total. ``members`` (each member's tier and element)
    and ``families`` are kept only when siblings stand together; in plain mode an active
    application stands in every queue it chose, at the element its ordering key gives."""

    __slots__ = ("capacity", "families", "free", "members", "size", "tiers")

    def __init__(self, capacity: int = 0, free: int = 0, siblings: bool = False) -> None:
        self.capacity = capacity  # the group's places, and how many of them are free
        self.free = free
        self.tiers: dict[Tier, Any] = {}
        self.size = 0
        self.members: dict[str, tuple[Tier, _Element]] = {} if siblings else _NOTHING
        self.families: dict[str, set[str]] = {} if siblings else _NOTHING

    def counts(self) -> dict[Tier, int]:
        counts = dict.fromkeys(_TIERS, 0)  # every tier: an ordering may read any of them
        for tier, members in self.tiers.items():
            counts[tier] = len(members)
        return counts

    def elements(self, tier: Tier) -> Any:
        return self.tiers.get(tier, _NO_ELEMENTS)

    def __len__(self) -> int:
        return self.size

    def add(self, tier: Tier, element: _Element) -> None:
        members = self.tiers.get(tier)
        if members is None:
            self.tiers[tier] = [element]
        elif type(members) is list:
            insort(members, element)
            if len(members) > _SMALL:
                self.tiers[tier] = SortedList(members)
        else:
            members.add(element)
        self.size += 1

    def discard(self, tier: Tier, element: _Element) -> None:
        members = self.tiers[tier]
        if type(members) is list:
            index = bisect_left(members, element)
            if index == len(members) or members[index] != element:
                raise ValueError(f"{element!r} not in list")  # as SortedList.remove says
            del members[index]
        else:
            members.remove(element)
        self.size -= 1

    def rank(self, tier: Tier, element: _Element) -> int:
        """How many of ``tier`` stand before ``element``. O(log n)."""
        members = self.tiers[tier]
        if type(members) is list:
            return bisect_left(members, element)
        rank: int = members.bisect_left(element)
        return rank

    def put(self, number: str, tier: Tier, element: _Element) -> None:
        self.add(tier, element)
        self.members[number] = (tier, element)

    def drop(self, number: str) -> None:
        tier, element = self.members.pop(number)
        self.discard(tier, element)


class QueueBook:
    """Every queue of one locality, kept up to date event by event.

    ``organizations`` fixes the queues (one per organization group) and their free places.
    ``ordering`` decides the order (default: :class:`StandardOrdering`). With
    ``keep_siblings_together=True``, children of one applicant born at most a month apart
    (twins) stand together in each queue they share, as one unit at the place of the best of
    them. Source of that rule: Astana practice from 16.10.2019 (bilim.astana.kz/archives/51329):
    children of one family born no more than a month apart are registered "as a batch".

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
    ) -> None:
        self._ordering: OrderingPolicy = ordering if ordering is not None else StandardOrdering()
        self._submission_keyed = (
            type(self._ordering) is StandardOrdering
            and self._ordering.benefit_time is BenefitTime.SUBMISSION
        )
        self._siblings = keep_siblings_together
        self._organizations: dict[str, Organization] = {}
        self._queues: dict[QueueId, _Queue] = {}
        for organization in _each_once(organizations):
            self._organizations[organization.id] = organization
            for group in organization.groups:
                queue_id = shared_queue_id(organization.id, group.key)  # the records' own
                self._queues[queue_id] = _Queue(
                    group.capacity, group.free_places, keep_siblings_together
                )
        self._applications: dict[str, Application] = {}
        self._latest: datetime | None = None  # the latest submission instant
        self._latest_known = True  # False after build(): worked out when first asked
        # plain mode: the tier and element of every application standing in its queues
        self._placed: dict[str, int] = {}
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
        book = cls(organizations, ordering=ordering, keep_siblings_together=keep_siblings_together)
        if keep_siblings_together:
            for application in applications:
                book.submit(application)
            return book
        tier_and_key = book._ordering.tier_and_key
        queues = book._queues
        stored = book._applications
        placed = book._placed
        active = ApplicationStatus.ACTIVE
        buckets: dict[QueueId, list[int]] = {}
        for application in applications:
            number = application.number
            if number in stored:
                book.submit(application)  # raises queue.duplicate_number
            queue_ids = application.group_keys
            stored[number] = application
            if application.status is not active:
                for queue_id in queue_ids:
                    book._queue(queue_id)  # raises queue.unknown_queue
                book._stand_outside(number, queue_ids)
                continue
            element = _pack(*tier_and_key(application))
            placed[number] = element
            for queue_id in queue_ids:
                bucket = buckets.get(queue_id)
                if bucket is None:
                    buckets[queue_id] = [element]
                else:
                    bucket.append(element)
        for queue_id, elements in buckets.items():
            if queue_id not in queues:
                book._queue(queue_id)  # raises queue.unknown_queue
            queue = queues[queue_id]
            elements.sort()  # an element packs its tier above its key: by tier, then by key
            queue.size = len(elements)
            for tier, members in _by_tier(elements):
                queue.tiers[tier] = _tier_members(members)
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

    def referral(self, referral_id: str) -> Referral:
        """A referral issued through this book. O(1)."""
        try:
            return self._referrals[referral_id]
        except KeyError:
            raise QueueError(
                "queue.invalid_operation", f"no referral {referral_id!r} in this queue book"
            ) from None

    def queue_ids(self) -> list[QueueId]:
        """Every queue, sorted by organization id and group key."""
        return sorted(self._queues, key=_queue_sort_key)

    def queues(self) -> Iterator[tuple[QueueId, list[str]]]:
        """Every queue that has members, with its numbers in order (:meth:`queue`), sorted
        by organization id and group key as :meth:`queue_ids`: what an export of every
        queue reads, without looking up each queue id again. O(Q log Q + N c)."""
        merge, queues = self._ordering.merge, self._queues
        for queue_id in sorted(self._queues, key=_queue_sort_key):
            queue = queues[queue_id]
            if queue.size:
                yield queue_id, list(map(_number_of, merge(queue.tiers)))

    def free_places(self, organization_id: str, group: GroupKey) -> int:
        """Free places of one group now. O(1)."""
        return self._queue(self._queue_id(organization_id, group)).free

    def length(self, organization_id: str, group: GroupKey) -> int:
        """How many applications stand in one queue. O(1)."""
        return len(self._queue(self._queue_id(organization_id, group)))

    def queue(self, organization_id: str, group: GroupKey) -> list[str]:
        """The numbers of one queue, in order. O(n)."""
        return list(self._iter_queue(self._queue_id(organization_id, group)))

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
        entry = None if self._siblings else self._plain_entry(number)
        return [self._position(application, queue_id, entry) for queue_id in application.group_keys]

    def _position(
        self,
        application: Application,
        queue_id: QueueId,
        entry: tuple[Tier, _Element] | None = None,
    ) -> QueuePosition:
        queue = self._queue(queue_id)
        if entry is None:
            entry = self._entry(queue, application)
        if entry is None:
            raise QueueError(
                "queue.not_in_queue",
                f"application #{application.number} is {application.status.value}: "
                "it stands in no queue",
            )
        tier, element = entry
        rank = queue.rank(tier, element)
        ahead = self._ordering.ahead(tier, rank, queue.counts())
        every_tier = dict.fromkeys(_TIERS, 0)
        every_tier.update(ahead)
        return QueuePosition(
            number=application.number,
            organization_id=queue_id[0],
            group=queue_id[1],
            position=1 + sum(ahead.values()),
            length=queue.size,
            tier=tier,
            ahead=every_tier,
        )

    def _entry(self, queue: _Queue, application: Application) -> tuple[Tier, _Element] | None:
        """The tier and element of ``application`` in ``queue`` (one it chose), if it stands
        there. O(1)."""
        if self._siblings:
            return queue.members.get(application.number)
        return self._plain_entry(application.number)

    def _plain_entry(self, number: str) -> tuple[Tier, _Element] | None:
        """Plain mode: the tier and element of an application standing in the queues it
        chose (every active one does), else ``None``. O(1)."""
        element = self._placed.get(number)
        return None if element is None else (_tier_of(element), element)

    def _element(self, application: Application) -> int | None:
        """Plain mode: the element ``application`` stands at when it is active."""
        if application.status is not ApplicationStatus.ACTIVE:
            return None
        tier, key = self._ordering.tier_and_key(application)
        return _pack(tier, key)

    def explain(self, number: str, organization_id: str) -> Explanation:
        """Why ``number`` stands where it does at ``organization_id``. O(log n).

        The reasons: the position, how many stand ahead in each tier, the submission time
        from which the application's own tier starts, and the ordering rule.
        """
        at = self.position(number, organization_id)
        queue = self._queues[(at.organization_id, at.group)]
        first = queue.tiers[at.tier][0]
        since = from_instant_key(_time_of(first)).astimezone(KAZAKHSTAN)
        reasons = [Reason("position", {"position": at.position, "length": at.length})]
        reasons += [
            Reason("ahead.tier", {"tier": int(tier), "count": count})
            for tier, count in sorted(at.ahead.items())
            if count
        ]
        reasons.append(
            Reason("tier.starts", {"tier": int(at.tier), "since": f"{since:%d.%m.%Y %H:%M:%S}"})
        )
        reasons.append(Reason("ordering", {"name": self._ordering.name}))
        return Explanation(
            number=number,
            organization_id=at.organization_id,
            group=at.group,
            position=at.position,
            length=at.length,
            tier=at.tier,
            ahead=at.ahead,
            reasons=tuple(reasons),
        )

    def snapshot(self, organization_id: str, group: GroupKey, at: datetime) -> QueueSnapshot:
        """One queue as it stands now, for a later :func:`~edqueue.rules.explain.diff`. O(n)."""
        queue_id = self._queue_id(organization_id, group)
        queue = self._queues[queue_id]
        return QueueSnapshot(
            organization_id=organization_id,
            group=group,
            taken_at=require_aware(at, "the snapshot time"),
            order=tuple(self._iter_queue(queue_id)),
            tiers={
                _number_of(element): tier
                for tier, elements in queue.tiers.items()
                for element in elements
            },
            statuses={
                n: self._applications[n].status.value
                for n in self._outside.get(queue_id, set()).union(
                    map(_number_of, self._ordering.merge(queue.tiers))
                )
            },
        )

    def units(self, organization_id: str, group: GroupKey) -> list[tuple[str, ...]]:
        """One queue in order, as units that take places together. O(n).

        Each unit is one application, or, with ``keep_siblings_together``, the siblings that
        stand together (in their order), at the place of the first of them.
        """
        queue_id = self._queue_id(organization_id, group)
        if not self._siblings:
            return [(number,) for number in self._iter_queue(queue_id)]
        units: dict[tuple[int, ...], list[str]] = {}
        for element in self._ordering.merge(self._queues[queue_id].tiers):
            units.setdefault(element[:2], []).append(_number_of(element))
        return [tuple(unit) for unit in units.values()]

    def tiers(self, organization_id: str, group: GroupKey) -> dict[Tier, list[str]]:
        """One queue's numbers per tier, each in order (what the ordering merges). O(n)."""
        queue = self._queue(self._queue_id(organization_id, group))
        return {tier: [_number_of(e) for e in queue.elements(tier)] for tier in Tier}

    def priority_order(self) -> list[str]:
        """Every application standing in a queue, once, by tier and then by ordering key: the
        order each queue follows under the standard ordering (under others, an order close
        to theirs). Give it to :func:`~edqueue.rules.allocation.allocate` as its
        ``proposing_order`` to make a national round fast. O(N log N) for the N applications
        standing; with siblings kept together, by number.
        """
        if self._siblings:
            standing = {n for q in self._queues.values() for n in q.members}
            return by_number(standing)
        # a plain-mode element packs the tier above the key: sorting them is the order
        return [_number_of(element) for element in sorted(self._placed.values())]

    def common_order(self) -> list[str] | None:
        """The one order every queue follows, if the book has one: its
        :meth:`priority_order` under the standard ordering with siblings not kept together;
        ``None`` otherwise (under 1:3 interleaving each queue mixes its tiers by its own
        counts, and siblings stand at the best one's place). O(N log N)."""
        if self._siblings or not isinstance(self._ordering, StandardOrdering):
            return None
        return self.priority_order()

    def referrals(self) -> list[Referral]:
        """Every referral recorded in the book, open or closed, in the order recorded. O(r)."""
        return list(self._referrals.values())

    def open_referrals(self) -> list[Referral]:
        """Every referral still waiting for its family, by application number. O(r log r)."""
        return [
            self._referrals[self._open_referral[number]]
            for number in by_number(self._open_referral)
        ]

    def open_referral(self, number: str) -> Referral | None:
        """The open referral of application ``number``, if it has one. O(1)."""
        referral_id = self._open_referral.get(number)
        return None if referral_id is None else self._referrals[referral_id]

    def _iter_queue(self, queue_id: QueueId) -> Iterator[str]:
        queue = self._queue(queue_id)
        return map(_number_of, self._ordering.merge(queue.tiers))

    def _queue_id(self, organization_id: str, group: GroupKey) -> QueueId:
        queue_id = (organization_id, group)
        self._queue(queue_id)
        return queue_id

    def _queue(self, queue_id: QueueId) -> _Queue:
        try:
            return self._queues[queue_id]
        except KeyError:
            raise _unknown_queue(queue_id) from None

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
        self._applications[application.number] = application
        if self._latest_known and (self._latest is None or application.submitted_at > self._latest):
            self._latest = application.submitted_at
        if application.status is ApplicationStatus.ACTIVE:
            self._enter(application)
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

    def free_place(
        self, organization_id: str, group: GroupKey, at: datetime, count: int = 1
    ) -> list[QueueEvent]:
        """``count`` places became free in a group (a child left). O(1)."""
        require_aware(at, "the time the place freed")
        queue_id = self._queue_id(organization_id, group)
        queue = self._queues[queue_id]
        if count < 1 or queue.free + count > queue.capacity:
            raise QueueError(
                "queue.invalid_operation",
                "free places cannot exceed the group's capacity; check the count",
            )
        queue.free += count
        return [
            PlaceFreed(
                at=at,
                queues=(queue_id,),
                organization_id=organization_id,
                group=group,
                free_places=queue.free,
                count=count,
                reason="place freed",
            )
        ]

    def issue_referral(self, referral: Referral) -> list[QueueEvent]:
        """Record a referral: a free place of its group goes to its application. O(c log n).

        The application must stand in that queue and the group must have a free place. The
        application leaves every queue while the referral is open. Which application gets
        the place is decided by :mod:`edqueue.rules` (referrals), not here.
        """
        if referral.id in self._referrals:
            raise QueueError(
                "queue.invalid_operation", f"referral {referral.id!r} is already recorded"
            )
        if not referral.is_open:
            raise QueueError("queue.invalid_operation", "only an open referral can be issued")
        queue_id = self._queue_id(referral.organization_id, referral.group)
        application = self.application(referral.application_number)
        if (
            queue_id not in application.group_keys
            or self._entry(self._queues[queue_id], application) is None
        ):
            raise QueueError(
                "queue.not_in_queue",
                f"application #{application.number} does not stand in this queue",
            )
        if self._queues[queue_id].free < 1:
            raise QueueError("queue.invalid_operation", "the group has no free place to refer")
        referred = application.with_status(ApplicationStatus.REFERRED)
        self._queues[queue_id].free -= 1
        self._referrals[referral.id] = referral
        self._open_referral[application.number] = referral.id
        self._replace(referred)
        return [
            ReferralIssued(
                at=referral.issued_at,
                queues=application.group_keys,
                number=application.number,
                referral_id=referral.id,
                organization_id=referral.organization_id,
                group=referral.group,
                deadline=referral.deadline,
                reason="referral issued",
            )
        ]

    def extend_referral(
        self, referral_id: str, deadline: datetime, at: datetime
    ) -> list[QueueEvent]:
        """Move an open referral's deadline later, as the family asked at ``at``. O(1)."""
        require_aware(at, "the time of the request")
        referral = self.referral(referral_id)
        extended = referral.extend(deadline)
        self._referrals[referral_id] = extended
        return [
            ReferralExtended(
                at=at,
                queues=((referral.organization_id, referral.group),),
                number=referral.application_number,
                referral_id=referral_id,
                deadline_before=referral.deadline,
                deadline=extended.deadline,
                reason="enrolment extended on request",
            )
        ]

    def use_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The child enrolled: the application leaves every queue for good."""
        return self._close_referral(self.referral(referral_id).use(at), ApplicationStatus.ENROLLED)

    def decline_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The family declined: the place is free again and the application is back in the
        queues with its original date."""
        closed = self.referral(referral_id).decline(at)
        return self._close_referral(closed, ApplicationStatus.ACTIVE)

    def expire_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The deadline passed: as a decline (the stop list is the referrals rules' matter)."""
        return self._close_referral(self.referral(referral_id).expire(at), ApplicationStatus.ACTIVE)

    def cancel_referral(self, referral_id: str, at: datetime, reason: str) -> list[QueueEvent]:
        """Cancelled by the rules (e.g. benefit not confirmed): back to the queues."""
        closed = self.referral(referral_id).cancel(at, reason)
        return self._close_referral(closed, ApplicationStatus.ACTIVE)

    def _close_referral(self, closed: Referral, status: ApplicationStatus) -> list[QueueEvent]:
        application = self.application(closed.application_number)
        changed = application.with_status(status)
        queue_id = (closed.organization_id, closed.group)
        if status is ApplicationStatus.ACTIVE:
            self._queues[queue_id].free += 1
        self._referrals[closed.id] = closed
        self._open_referral.pop(application.number, None)
        self._replace(changed)
        return [
            ReferralClosed(
                at=closed.closed_at or closed.issued_at,
                queues=application.group_keys,
                number=application.number,
                referral_id=closed.id,
                outcome=closed.status.value,
                reason=closed.reason or closed.status.value,
            )
        ]

    def replay(self, events: Iterable[QueueEvent], submitted: Mapping[str, Application]) -> None:
        """Apply ``events`` that another book emitted, in order, to this book (built with the
        same organizations and ordering): afterwards it stands exactly as that book did.

        Events carry no personal data, so the applications as submitted come from
        ``submitted`` (by number; the host's store keeps them); every later change is in the
        events. O(sum of the commands). Raises like the commands themselves, e.g.
        ``queue.unknown_application`` for a submission not in ``submitted``.
        """
        for event in events:
            self._apply(event, submitted)

    def _apply(self, event: QueueEvent, submitted: Mapping[str, Application]) -> None:
        if isinstance(event, ApplicationSubmitted):
            if event.number not in submitted:
                raise QueueError(
                    "queue.unknown_application",
                    f"application #{event.number} is not among the submitted records",
                )
            self.submit(submitted[event.number])
        elif isinstance(event, ApplicationWithdrawn):
            self.withdraw(event.number, event.at)
        elif isinstance(event, ApplicationRemoved):
            self.remove(event.number, event.at, event.reason)
        elif isinstance(event, ChoicesChanged):
            choices = [Choice(org, key.language) for org, key in event.after]
            self.change_choices(event.number, choices, event.at)
        elif isinstance(event, BenefitChanged):
            self.set_benefit(event.number, event.claim, event.at)
        elif isinstance(event, PlaceFreed):
            self.free_place(event.organization_id, event.group, event.at, event.count)
        elif isinstance(event, ReferralIssued):
            referral = Referral(
                id=event.referral_id,
                application_number=event.number,
                organization_id=event.organization_id,
                group=event.group,
                issued_at=event.at,
                deadline=event.deadline,
            )
            self.issue_referral(referral)
        elif isinstance(event, ReferralExtended):
            self.extend_referral(event.referral_id, event.deadline, event.at)
        elif isinstance(event, ReferralClosed):
            self._replay_closing(event)
        # other events (stop lists, confirmations) belong to the referral desk, not the book

    def _replay_closing(self, event: ReferralClosed) -> None:
        if event.outcome == "used":
            self.use_referral(event.referral_id, event.at)
        elif event.outcome == "declined":
            self.decline_referral(event.referral_id, event.at)
        elif event.outcome == "expired":
            self.expire_referral(event.referral_id, event.at)
        else:
            self.cancel_referral(event.referral_id, event.at, event.reason)

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
        if self._siblings:
            self._leave(previous)
            self._applications[application.number] = application
            if application.status is ApplicationStatus.ACTIVE:
                self._enter(application)
            return application.group_keys
        number = application.number
        self._applications[number] = application
        before = self._placed.get(number)
        if (
            before is not None
            and self._submission_keyed
            and application.status is ApplicationStatus.ACTIVE
            and application.submitted_at is previous.submitted_at
        ):
            # the standard ordering by submission keys by (submitted instant, number), which
            # did not change: only the tier can (a benefit decided), so keep the key's bits
            after: int | None = (application.tier << _TIER_SHIFT) | (before & _KEY_MASK)
        else:
            after = self._element(application)
        if after is None:
            self._placed.pop(number, None)
        else:
            self._placed[number] = after
        left = previous.group_keys
        same_groups = (
            application.choices is previous.choices
            and application.child is previous.child
            and application.queue_kind is previous.queue_kind
        )
        joined = left if same_groups else application.group_keys
        if before == after and left == joined:
            return joined  # e.g. a pending claim replaced: nothing moves
        if before is not None:
            tier = _tier_of(before)
            for queue_id in left:
                self._queues[queue_id].discard(tier, before)
            self._stand_outside(
                application.number, left if after is None else set(left).difference(joined)
            )
        if after is not None:
            tier = _tier_of(after)
            for queue_id in joined:
                self._queues[queue_id].add(tier, after)
        return joined

    def _stand_outside(self, number: str, queue_ids: Iterable[QueueId]) -> None:
        for queue_id in queue_ids:
            self._outside.setdefault(queue_id, set()).add(number)

    def _enter(self, application: Application) -> None:
        if not self._siblings:
            tier, key = self._ordering.tier_and_key(application)
            element = _pack(tier, key)
            self._placed[application.number] = element
            for queue_id in application.group_keys:
                self._queues[queue_id].add(tier, element)
            return
        for queue_id in application.group_keys:
            queue = self._queues[queue_id]
            family = application.applicant.iin.reveal()
            queue.families.setdefault(family, set()).add(application.number)
            self._regroup(queue, family)

    def _leave(self, application: Application) -> None:
        """Siblings mode: take ``application`` out of every queue it stands in."""
        self._stand_outside(application.number, application.group_keys)
        for queue_id in application.group_keys:
            queue = self._queues[queue_id]
            if application.number not in queue.members:
                continue
            queue.drop(application.number)
            family = application.applicant.iin.reveal()
            members = queue.families[family]
            members.discard(application.number)
            if members:
                self._regroup(queue, family)
            else:
                del queue.families[family]

    def _regroup(self, queue: _Queue, family: str) -> None:
        """Place a family's children in one queue: units of siblings born within a month."""
        numbers = queue.families[family]
        for number in numbers:
            if number in queue.members:
                queue.drop(number)
        children = sorted(
            (self._applications[n] for n in numbers),
            key=lambda a: (a.child.birth_date, a.number_value),
        )
        for unit in _sibling_units(children):
            placed = [(a, *self._ordering.tier_and_key(a)) for a in unit]
            _, lead_tier, lead_key = min(placed, key=lambda p: (p[1], p[2]))
            for application, tier, key in placed:
                element = (*lead_key, int(tier), *key)
                queue.put(application.number, lead_tier, element)


def _sibling_units(children: list[Application]) -> Iterator[list[Application]]:
    """Split children sorted by birth date where two neighbours are more than a month apart."""
    unit: list[Application] = []
    last: date | None = None
    for application in children:
        born = application.child.birth_date
        if unit and last is not None and born > last + relativedelta(months=1):
            yield unit
            unit = []
        unit.append(application)
        last = born
    if unit:
        yield unit
