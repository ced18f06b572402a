"""The batch allocation's algorithm: an :class:`AllocationProblem` (who takes part, every
group's queue and free places), its :class:`Allocation`, and the two ways of solving it,
:func:`allocate` (deferred acceptance) and :func:`serial_dictatorship`.

Part of batch allocation: :mod:`edqueue.rules.allocation` re-exports every name and says
where the method comes from and what it guarantees.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any, Literal

import attrs

from edqueue.errors import AllocationError
from edqueue.models import by_number
from edqueue.rules.events import QueueId

__all__ = [
    "Allocation",
    "AllocationProblem",
    "ChoiceOutcome",
    "allocate",
    "serial_dictatorship",
]


def _queue_label(queue_id: QueueId) -> str:
    return f"{queue_id[0]} {queue_id[1].label_ru}"


def _choices(value: Mapping[str, Sequence[QueueId]]) -> dict[str, tuple[QueueId, ...]]:
    return {number: tuple(choices) for number, choices in value.items()}


def _queues(value: Mapping[QueueId, Sequence[str]]) -> dict[QueueId, tuple[str, ...]]:
    return {queue_id: tuple(order) for queue_id, order in value.items()}


def _places(value: Mapping[QueueId, int]) -> dict[QueueId, int]:
    places = dict(value)
    for queue_id, count in places.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise AllocationError(
                "allocation.places",
                f"free places of {_queue_label(queue_id)} must be a whole number >= 0",
            )
    return places


@attrs.frozen
class AllocationProblem:
    """One round of allocation: who takes part, every group's queue, and its free places.

    ``choices`` maps each application that may take a place now to its chosen groups, best
    first. ``queues`` gives each group's queue order, best first; it may hold applications
    that do not take part (they wait for their desired date, say): they keep their rank but
    claim nothing. ``places`` gives the free places per group (a group not listed has none).
    The order in which ``choices`` lists the applications matters to one thing only:
    :func:`serial_dictatorship` without an order gives them their turns in it (equality of
    problems ignores it, as dictionaries' equality does).

    Checked at construction: every choice names a queue that is given and in which the
    application stands; no queue lists an application twice; no application chooses a group
    twice; places are whole numbers >= 0. Raises :class:`~edqueue.errors.AllocationError`.
    O(Q + N c) to check.
    """

    choices: Mapping[str, tuple[QueueId, ...]] = attrs.field(converter=_choices)
    queues: Mapping[QueueId, tuple[str, ...]] = attrs.field(converter=_queues)
    places: Mapping[QueueId, int] = attrs.field(converter=_places)
    # worked out with the checks: the queues in a list, each choice as its index there and
    # the places by index, so that serial_dictatorship indexes a list instead of hashing
    # (organization id, group key) tuples, millions of times in a national round
    _queue_ids: tuple[QueueId, ...] = attrs.field(init=False, repr=False, eq=False)
    _indexed: dict[str, tuple[int, ...]] = attrs.field(init=False, repr=False, eq=False)
    _free: tuple[int, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        for queue_id in self.places:
            if queue_id not in self.queues:
                raise AllocationError(
                    "allocation.unknown_queue",
                    f"places are given for {_queue_label(queue_id)}, which has no queue",
                )
        members: dict[QueueId, tuple[int, frozenset[str]]] = {}
        for index, (queue_id, order) in enumerate(self.queues.items()):
            queue = frozenset(order)
            if len(queue) != len(order):
                raise AllocationError(
                    "allocation.duplicate",
                    f"the queue of {_queue_label(queue_id)} lists an application twice",
                )
            members[queue_id] = (index, queue)
        indexed: dict[str, tuple[int, ...]] = {}
        for number, chosen in self.choices.items():
            if len(set(chosen)) != len(chosen):
                raise AllocationError(
                    "allocation.duplicate", f"application #{number} chose one group twice"
                )
            indexes = []
            for queue_id in chosen:
                member = members.get(queue_id)
                if member is None:
                    raise AllocationError(
                        "allocation.unknown_queue",
                        f"application #{number} chose {_queue_label(queue_id)}, "
                        "which has no queue in this round",
                    )
                if number not in member[1]:
                    raise AllocationError(
                        "allocation.not_in_queue",
                        f"application #{number} chose {_queue_label(queue_id)} "
                        "but does not stand in its queue",
                    )
                indexes.append(member[0])
            indexed[number] = tuple(indexes)
        object.__setattr__(self, "_queue_ids", tuple(self.queues))
        object.__setattr__(self, "_indexed", indexed)
        object.__setattr__(self, "_free", tuple(self.places.get(q, 0) for q in self.queues))

    def free(self, queue_id: QueueId) -> int:
        """Free places of one group in this round (0 if not given)."""
        return self.places.get(queue_id, 0)

    def ranks(self, queue_id: QueueId) -> dict[str, int]:
        """Each application's 0-based rank in one group's queue. O(n)."""
        order = self.queues[queue_id]
        return dict(zip(order, range(len(order)), strict=True))


Outcome = Literal["placed", "full", "no_places", "not_needed"]


@attrs.frozen
class ChoiceOutcome:
    """What became of one choice of one application in a round.

    ``outcome``: ``placed`` (this choice was given), ``full`` (every place went to
    applications the group ranks higher; ``last_placed`` is the lowest of them),
    ``no_places`` (the group had no free place this round), ``not_needed`` (a better choice
    was given).
    """

    choice: int
    queue: QueueId
    outcome: Outcome
    places: int
    last_placed: str | None = None
    rank: int | None = None


@attrs.frozen
class Allocation:
    """The result of :func:`allocate`: which group each placed application got.

    ``assignment`` maps application numbers to queues; applications that got nothing are
    absent. Read it through :meth:`holders`, :meth:`outcomes` and :meth:`unfilled`.
    """

    problem: AllocationProblem
    assignment: Mapping[str, QueueId]

    def holders(self, queue_id: QueueId) -> tuple[str, ...]:
        """The applications placed in one group, in its queue order. O(n)."""
        return tuple(n for n in self.problem.queues[queue_id] if self.assignment.get(n) == queue_id)

    def unfilled(self) -> dict[QueueId, int]:
        """Groups with places left over, and how many: no participant wanted them."""
        taken: dict[QueueId, int] = {}
        for queue_id in self.assignment.values():
            taken[queue_id] = taken.get(queue_id, 0) + 1
        left = {q: p - taken.get(q, 0) for q, p in self.problem.places.items()}
        return {q: n for q, n in sorted(left.items()) if n > 0}

    def outcomes(self, number: str) -> tuple[ChoiceOutcome, ...]:
        """Why ``number`` got its choice or not, choice by choice. O(c n).

        Raises ``allocation.not_in_queue`` for an application that did not take part.
        """
        chosen = self.problem.choices.get(number)
        if chosen is None:
            raise AllocationError(
                "allocation.not_in_queue", f"application #{number} did not take part"
            )
        got = self.assignment.get(number)
        result: list[ChoiceOutcome] = []
        reached = True
        for index, queue_id in enumerate(chosen, start=1):
            places = self.problem.free(queue_id)
            if not reached:
                result.append(ChoiceOutcome(index, queue_id, "not_needed", places))
                continue
            holders = self.holders(queue_id)
            if queue_id == got:
                rank = holders.index(number) + 1
                result.append(ChoiceOutcome(index, queue_id, "placed", places, rank=rank))
                reached = False
            elif places == 0:
                result.append(ChoiceOutcome(index, queue_id, "no_places", 0))
            else:
                last = holders[-1] if holders else None
                result.append(ChoiceOutcome(index, queue_id, "full", places, last_placed=last))
        return tuple(result)


def allocate(
    problem: AllocationProblem, *, proposing_order: Iterable[str] | None = None
) -> Allocation:
    """Allocate every free place at once by applicant-proposing deferred acceptance.

    Deterministic and independent of the input's order: the applicant-optimal stable
    allocation is unique (Gale and Shapley, 1962; Roth, 1982), so ``proposing_order`` (the
    order in which applications propose; by default their numbers) changes only the speed.
    When every queue follows one common order, as under the standard ordering, proposing in
    that order makes deferred acceptance serial dictatorship: nobody is ever displaced, and
    a group's ranks are read only when it is full and asked again. O(Q + N c log p) time.

    >>> from edqueue.models import GroupKey, Language, QueueKind
    >>> ru = GroupKey(2021, Language.RUSSIAN, QueueKind.GENERAL)
    >>> a, b = ("kg-a", ru), ("kg-b", ru)
    >>> problem = AllocationProblem(
    ...     choices={"1": [a, b], "2": [a], "3": [a, b]},
    ...     queues={a: ["2", "3", "1"], b: ["1", "3"]},
    ...     places={a: 1, b: 1},
    ... )
    >>> {number: queue[0] for number, queue in allocate(problem).assignment.items()}
    {'1': 'kg-b', '2': 'kg-a'}
    """
    choices = problem.choices
    # per group with places: [places, holders, ranks]. The holders are a list of numbers
    # while the group has room; once full and asked again, a heap of (-rank, number) whose
    # top is the holder it ranks lowest, and the group's ranks are read then (one lookup
    # per proposal: this loop runs a million times in a national round)
    groups: dict[QueueId, list[Any]] = {
        queue_id: [places, [], None] for queue_id, places in problem.places.items() if places > 0
    }
    following: dict[str, int] = {}  # where a placed application goes on if displaced
    for start, _ in _participants(choices, proposing_order):
        proposer, index = start, 0
        while True:
            chosen = choices[proposer]
            displaced: str | None = None
            while index < len(chosen):
                group = groups.get(chosen[index])
                index += 1
                if group is None:
                    continue
                holders = group[1]
                if len(holders) < group[0]:
                    holders.append(proposer)
                    following[proposer] = index
                    break
                rank_of = group[2]
                if rank_of is None:
                    rank_of = group[2] = problem.ranks(chosen[index - 1])
                    holders[:] = [(-rank_of[number], number) for number in holders]
                    heapq.heapify(holders)
                rank = rank_of[proposer]
                if -holders[0][0] > rank:  # holds someone it ranks lower: swap them
                    displaced = heapq.heapreplace(holders, (-rank, proposer))[1]
                    following[proposer] = index
                    break
            if displaced is None:
                break
            proposer, index = displaced, following[displaced]
    assignment = {
        (entry if group[2] is None else entry[1]): queue_id
        for queue_id, group in groups.items()
        for entry in group[1]
    }
    return Allocation(problem, {number: assignment[number] for number in by_number(assignment)})


def serial_dictatorship(
    problem: AllocationProblem, order: Iterable[str] | None = None
) -> Allocation:
    """Each application in ``order`` in turn takes its best choice that still has a free
    place; participants ``order`` leaves out come after it, by number. Without ``order``,
    the applications take their turns in the order ``problem.choices`` lists them. O(N c).

    When every group ranks the participants as ``order`` does, this is the allocation of
    :func:`allocate` (deferred acceptance then never displaces anyone; a property test
    checks the two agree): under the standard ordering every queue follows
    :meth:`QueueBook.common_order() <edqueue.rules.queue.QueueBook.common_order>`, and
    :meth:`ReferralDesk.allocate <edqueue.rules.referrals.ReferralDesk.allocate>` fills a
    round this way. Source: Abdulkadiroğlu and Sönmez (1998) on serial dictatorship in
    house allocation; it is the order in which the seed's queue hands out places.

    Listing the choices in the order and leaving ``order`` out is the fast way, and the
    desk's: an ``order`` costs a look-up of each of its numbers in the problem, which at
    national scale (a million numbers) takes longer than the allocation itself.

    >>> from edqueue.models import GroupKey, Language, QueueKind
    >>> ru = GroupKey(2021, Language.RUSSIAN, QueueKind.GENERAL)
    >>> a, b = ("kg-a", ru), ("kg-b", ru)
    >>> problem = AllocationProblem(
    ...     choices={"3": [a, b], "1": [a], "2": [a, b]},  # listed in the order of the queues
    ...     queues={a: ["3", "1", "2"], b: ["3", "2"]},
    ...     places={a: 1, b: 1},
    ... )
    >>> {number: queue[0] for number, queue in serial_dictatorship(problem).assignment.items()}
    {'2': 'kg-b', '3': 'kg-a'}
    """
    free = list(problem._free)
    indexed = problem._indexed  # each choice as the index of its queue
    assignment: dict[str, int] = {}
    if order is None:  # the choices in turn: no lookup, no repeat, nobody left out
        for number, chosen in indexed.items():
            for queue in chosen:
                if free[queue]:
                    free[queue] -= 1
                    assignment[number] = queue
                    break
    else:
        unplaced: set[str] = set()
        # one loop, no generator and no copy of ``order``: a national round's hot path
        for number in chain(order, _left_out(indexed, assignment, unplaced)):
            given = indexed.get(number)
            if given is None:
                continue
            for queue in given:
                if free[queue]:
                    if number not in assignment:  # else ``order`` gave it twice: one place
                        free[queue] -= 1
                        assignment[number] = queue
                    break
            else:
                unplaced.add(number)
    queue_ids = problem._queue_ids
    return Allocation(problem, {n: queue_ids[assignment[n]] for n in by_number(assignment)})


def _left_out(
    choices: Mapping[str, Any],
    assignment: Mapping[str, Any],
    unplaced: set[str],
) -> Iterator[str]:
    """The participants an order left out, by number, once the order is done (``chain``
    asks for them only then): those neither placed nor turned away."""
    visited = len(assignment) + len(unplaced) - len(assignment.keys() & unplaced)
    if visited < len(choices):
        yield from by_number(choices.keys() - assignment.keys() - unplaced)


def _participants(
    choices: Mapping[str, tuple[QueueId, ...]], order: Iterable[str] | None
) -> Iterator[tuple[str, tuple[QueueId, ...]]]:
    """Every application of the round once, with its choices: those of ``order`` first, in
    it, then the others by number (all by number without an ``order``)."""
    if order is None:
        for number in by_number(choices):
            yield number, choices[number]
        return
    given = dict.fromkeys(order)
    seen = 0
    for number in given:
        chosen = choices.get(number)
        if chosen is not None:
            seen += 1
            yield number, chosen
    if seen < len(choices):
        for number in by_number(choices.keys() - given.keys()):
            yield number, choices[number]
