"""The queues' sorted index: every speed trick of the live queues, and nothing of the domain.

:class:`~edqueue.rules.queue.QueueBook` holds the domain state (applications, referrals,
free places) and applies each event; this private module keeps, for every queue, who stands
in which order, so that a position is a bisection in one tier plus the ordering's
arithmetic over the tier sizes: O(log n).

A tier is a plain ``list`` kept sorted with :mod:`bisect` while it is short (most of a
nation's queues hold a few dozen applications) and a ``sortedcontainers.SortedList`` once it
grows past :data:`_SMALL` members, so an insertion stays O(log n) in the longest queue.

An element of a tier's sorted list. Plain mode: one int that packs the tier, the time and
the number, ``tier << 120 | (time + 2**58) << 60 | number``: numbers have at most 18 digits
(below 2**60) and every datetime's microseconds since 1970 lie within +-2**58, so within a
tier the int sorts as the (time, number) key. An int sorts, compares and stores faster than a
tuple, is not tracked by the garbage collector, and one object serves every queue of an
application. Siblings mode (twins kept together): the tuple (unit time, unit number, own
tier, own time, own number). The number is always the low part (int) or last (tuple).

The keys come from :func:`~edqueue.rules.ordering.sort_function`: the ordering states a
:class:`~edqueue.rules.ordering.Standing` in domain terms and never sees an element.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from dateutil.relativedelta import relativedelta
from sortedcontainers import SortedList

from edqueue.errors import QueueError
from edqueue.models import Application, ApplicationStatus, Organization, Tier
from edqueue.models.applications import shared_queue_id
from edqueue.rules.events import QueueId
from edqueue.rules.ordering import (
    BenefitTime,
    OrderingPolicy,
    SortKey,
    StandardOrdering,
    sort_function,
)

_Element = int | tuple[int, ...]
_SHIFT = 60
_MASK = (1 << _SHIFT) - 1
_TIER_SHIFT = 2 * _SHIFT
_TIME_OFFSET = 1 << 58
_KEY_MASK = (1 << _TIER_SHIFT) - 1  # the (time, number) bits of a plain-mode element
_TIER_OF = {int(tier): tier for tier in Tier}
_TIERS = tuple(Tier)  # iterating a tuple is several times faster than iterating the enum
_NO_ELEMENTS: tuple[_Element, ...] = ()
_NOTHING: Any = MappingProxyType({})  # plain mode keeps no members or families: read-only
_SMALL = 2048
"""The most members a tier keeps in a plain sorted ``list``; past it the tier becomes a
``SortedList``. Inserting into a list of 2,048 ints moves 16 KiB, which costs less than
``SortedList.add``'s Python-level bookkeeping; past that, the list's O(n) moves would grow."""


def pack(tier: Tier, key: SortKey) -> int:
    """One plain-mode element from a tier and its ``(time, number)`` key."""
    return (tier << _TIER_SHIFT) | ((key[0] + _TIME_OFFSET) << _SHIFT) | key[1]


def tier_of(element: int) -> Tier:
    """The tier packed in a plain-mode element."""
    return _TIER_OF[element >> _TIER_SHIFT]


def number_of(element: _Element) -> str:
    """The application number of an element."""
    if type(element) is int:
        return str(element & _MASK)
    return str(element[-1])  # type: ignore[index]


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


def each_once(organizations: Iterable[Organization]) -> Iterator[Organization]:
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


def unknown_queue(queue_id: QueueId) -> QueueError:
    """The error for a queue the book does not have."""
    return QueueError(
        "queue.unknown_queue",
        f"{queue_id[0]!r} has no group {queue_id[1].label_ru!r} in this queue book",
    )


def queue_sort_key(queue_id: QueueId) -> tuple[str, int, str, str]:
    """Queues by organization id, then group key."""
    return (queue_id[0], *queue_id[1].sort_key)


def queue_entry(application: Application, ordering: OrderingPolicy) -> int:
    """The one int that orders ``application`` in each of its queues under ``ordering``: its
    tier above its ``(time, number)`` key, as a :class:`~edqueue.rules.queue.QueueBook`
    keeps it. With :func:`ranked_queues`, what a reader that does not keep the records
    (``edqueue rank``) needs of each application."""
    return entry_function(ordering)(application)


def entry_function(ordering: OrderingPolicy) -> Callable[[Application], int]:
    """:func:`queue_entry` under ``ordering`` as one function, made once: what a reader
    calls for each of a million lines."""
    key = sort_function(ordering)

    def entry(application: Application) -> int:
        return pack(*key(application))

    return entry


def ranked_queues(
    organizations: Iterable[Organization],
    entries: Iterable[tuple[int, Iterable[QueueId]]],
    ordering: OrderingPolicy | None = None,
) -> Iterator[tuple[QueueId, list[str]]]:
    """``QueueBook.build(organizations, applications, ordering=ordering).queues()`` from
    each active application's :func:`queue_entry` and
    :attr:`~edqueue.models.Application.group_keys` alone: the same queues, in the same
    order, with the same numbers, and the same errors (``queue.invalid_operation``,
    ``queue.unknown_queue``). O(N c + Q n log n).

    The caller gives only active applications, each number once (as the book's
    ``queue.duplicate_number`` requires). Errors are raised as the queues are iterated."""
    merge = (ordering if ordering is not None else StandardOrdering()).merge
    buckets: dict[QueueId, list[int]] = {
        shared_queue_id(o.id, g.key): [] for o in each_once(organizations) for g in o.groups
    }
    for element, queue_ids in entries:
        for queue_id in queue_ids:
            bucket = buckets.get(queue_id)
            if bucket is None:
                raise unknown_queue(queue_id)
            bucket.append(element)
    for queue_id in sorted(buckets, key=queue_sort_key):
        elements = buckets[queue_id]
        if elements:
            elements.sort()
            yield queue_id, list(map(number_of, merge(dict(_by_tier(elements)))))


class _Queue:
    """One queue's order: a sorted list per tier that has members (made on first use, as
    most of a nation's queues are short) and their total. ``members`` (each member's tier and
    element) and ``families`` are kept only when siblings stand together."""

    __slots__ = ("families", "members", "size", "tiers")

    def __init__(self, siblings: bool) -> None:
        self.tiers: dict[Tier, Any] = {}
        self.size = 0
        self.members: dict[str, tuple[Tier, _Element]] = {} if siblings else _NOTHING
        self.families: dict[str, set[str]] = {} if siblings else _NOTHING

    def counts(self) -> dict[Tier, int]:
        counts = dict.fromkeys(_TIERS, 0)  # every tier: an ordering may read any of them
        for tier, members in self.tiers.items():
            counts[tier] = len(members)
        return counts

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


class QueueIndex:
    """Who stands where in every queue of a book, under one ordering.

    ``applications`` is the book's own mapping (read, never written): siblings mode reads a
    family's children from it. Only active applications are given to :meth:`enter`,
    :meth:`load` and :meth:`move`; the book decides who stands.
    """

    def __init__(
        self,
        queue_ids: Iterable[QueueId],
        ordering: OrderingPolicy,
        applications: Mapping[str, Application],
        *,
        siblings: bool,
        sibling_window: relativedelta,
    ) -> None:
        self._key = sort_function(ordering)
        self._merge = ordering.merge
        self._applications = applications
        self._siblings = siblings
        self._window = sibling_window
        self._queues = {queue_id: _Queue(siblings) for queue_id in queue_ids}
        # plain mode: the element of every application standing in its queues
        self._placed: dict[str, int] = {}
        self._submission_keyed = (
            type(ordering) is StandardOrdering and ordering.benefit_time is BenefitTime.SUBMISSION
        )

    def __contains__(self, queue_id: object) -> bool:
        return queue_id in self._queues

    def add_queues(self, queue_ids: Iterable[QueueId]) -> None:
        """New, empty queues (a book's first organizations, one opened, or a group added);
        a queue the index has stays as it is. O(queues)."""
        queues, siblings = self._queues, self._siblings
        for queue_id in queue_ids:
            if queue_id not in queues:
                queues[queue_id] = _Queue(siblings)

    # --- reading ----------------------------------------------------------------------------

    def length(self, queue_id: QueueId) -> int:
        """How many stand in the queue."""
        return self._queues[queue_id].size

    def locate(
        self, application: Application, queue_id: QueueId
    ) -> tuple[Tier, int, dict[Tier, int], int] | None:
        """The tier ``application`` stands in in the queue, how many of that tier stand
        before it, the queue's counts per tier and its length, in one look-up (a position is
        asked for millions of times); ``None`` when it does not stand there. O(log n)."""
        queue = self._queues[queue_id]
        if self._siblings:
            entry = queue.members.get(application.number)
            if entry is None:
                return None
            tier, element = entry
        else:
            packed = self._placed.get(application.number)
            if packed is None:
                return None
            tier, element = _TIER_OF[packed >> _TIER_SHIFT], packed
        return tier, queue.rank(tier, element), queue.counts(), queue.size

    def stands(self, application: Application, queue_id: QueueId) -> bool:
        """Whether ``application`` stands in the queue now. O(1)."""
        if self._siblings:
            return application.number in self._queues[queue_id].members
        return application.number in self._placed

    def order(self, queue_id: QueueId) -> Iterator[str]:
        """The queue's numbers in order. O(n)."""
        return map(number_of, self._merge(self._queues[queue_id].tiers))

    def first(self, queue_id: QueueId, tier: Tier) -> str:
        """The number at the head of one tier of the queue (it must have members)."""
        return number_of(self._queues[queue_id].tiers[tier][0])

    def tiers(self, queue_id: QueueId) -> dict[Tier, list[str]]:
        """The queue's numbers per tier, each in order. O(n)."""
        tiers = self._queues[queue_id].tiers
        return {tier: [number_of(e) for e in tiers.get(tier, _NO_ELEMENTS)] for tier in Tier}

    def tier_of_members(self, queue_id: QueueId) -> dict[str, Tier]:
        """Each member's tier. O(n)."""
        return {
            number_of(element): tier
            for tier, elements in self._queues[queue_id].tiers.items()
            for element in elements
        }

    def units(self, queue_id: QueueId) -> list[tuple[str, ...]]:
        """The queue in order, as units that take places together. O(n)."""
        if not self._siblings:
            return [(number,) for number in self.order(queue_id)]
        units: dict[tuple[int, ...], list[str]] = {}
        for element in self._merge(self._queues[queue_id].tiers):
            units.setdefault(element[:2], []).append(number_of(element))
        return [tuple(unit) for unit in units.values()]

    def queues(self) -> Iterator[tuple[QueueId, list[str]]]:
        """Every queue that has members, with its numbers in order, sorted by organization
        id and group key. O(Q log Q + N c)."""
        merge, queues = self._merge, self._queues
        for queue_id in sorted(queues, key=queue_sort_key):
            queue = queues[queue_id]
            if queue.size:
                yield queue_id, list(map(number_of, merge(queue.tiers)))

    def standing_numbers(self) -> Iterator[str]:
        """Siblings mode: every number standing in some queue (once per queue)."""
        for queue in self._queues.values():
            yield from queue.members

    def by_key(self) -> list[str]:
        """Plain mode: every standing number by tier, then key. O(N log N)."""
        return [number_of(element) for element in sorted(self._placed.values())]

    # --- changing ---------------------------------------------------------------------------

    def load(self, applications: Iterable[Application]) -> None:
        """Plain mode, into an empty index: ``applications`` (active, each number once) at
        once. Each queue's elements are collected and sorted once (an element packs its
        tier above its key, so one sort orders the tiers too) and split by tier. Raises
        ``queue.unknown_queue`` for a chosen queue the index does not have, before it changes
        anything in the queues."""
        key, placed = self._key, self._placed
        buckets: dict[QueueId, list[int]] = {}
        for application in applications:
            element = pack(*key(application))
            placed[application.number] = element
            for queue_id in application.group_keys:
                bucket = buckets.get(queue_id)
                if bucket is None:
                    buckets[queue_id] = [element]
                else:
                    bucket.append(element)
        queues = self._queues
        for queue_id in buckets:
            if queue_id not in queues:
                raise unknown_queue(queue_id)
        for queue_id, elements in buckets.items():
            queue = queues[queue_id]
            elements.sort()  # an element packs its tier above its key: by tier, then by key
            queue.size = len(elements)
            for tier, members in _by_tier(elements):
                queue.tiers[tier] = _tier_members(members)

    def enter(self, application: Application) -> None:
        """An active ``application`` joins every queue it chose. O(c log n)."""
        if not self._siblings:
            tier, key = self._key(application)
            element = pack(tier, key)
            self._placed[application.number] = element
            for queue_id in application.group_keys:
                self._queues[queue_id].add(tier, element)
            return
        family = application.applicant.iin.reveal()
        for queue_id in application.group_keys:
            queue = self._queues[queue_id]
            queue.families.setdefault(family, set()).add(application.number)
            self._regroup(queue, family)

    def move(
        self, previous: Application, application: Application
    ) -> tuple[Iterable[QueueId], tuple[QueueId, ...]]:
        """``previous`` became ``application`` (the book already stores it): it leaves,
        moves in or joins its queues as its status, tier, key and choices say. Returns the
        queues it no longer stands in, and the queues ``application`` chose (``previous``'s
        own tuple when they did not change: a record's ``group_keys`` is worked out on first
        use, and a command makes a new record). O(c log n)."""
        if self._siblings:
            self._leave(previous)
            if application.status is ApplicationStatus.ACTIVE:
                self.enter(application)
            return previous.group_keys, application.group_keys
        number = application.number
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
        elif application.status is ApplicationStatus.ACTIVE:
            after = pack(*self._key(application))
        else:
            after = None
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
            return (), joined  # e.g. a pending claim replaced: nothing moves
        gone: Iterable[QueueId] = ()
        if before is not None:
            tier = tier_of(before)
            for queue_id in left:
                self._queues[queue_id].discard(tier, before)
            gone = left if after is None else set(left).difference(joined)
        if after is not None:
            tier = tier_of(after)
            for queue_id in joined:
                self._queues[queue_id].add(tier, after)
        return gone, joined

    def _leave(self, application: Application) -> None:
        """Siblings mode: take ``application`` out of every queue it stands in."""
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
        """Place a family's children in one queue: units of siblings born within the
        window of one another."""
        numbers = queue.families[family]
        for number in numbers:
            if number in queue.members:
                queue.drop(number)
        children = sorted(
            (self._applications[n] for n in numbers),
            key=lambda a: (a.child.birth_date, a.number_value),
        )
        for unit in _sibling_units(children, self._window):
            placed = [(a, *self._key(a)) for a in unit]
            _, lead_tier, lead_key = min(placed, key=lambda p: (p[1], p[2]))
            for application, tier, key in placed:
                element = (*lead_key, int(tier), *key)
                queue.put(application.number, lead_tier, element)


def _sibling_units(
    children: list[Application], window: relativedelta
) -> Iterator[list[Application]]:
    """Split children sorted by birth date where two neighbours are more than ``window``
    apart."""
    unit: list[Application] = []
    last = None
    for application in children:
        born = application.child.birth_date
        if unit and last is not None and born > last + window:
            yield unit
            unit = []
        unit.append(application)
        last = born
    if unit:
        yield unit
