"""The audit of a batch allocation: :func:`check_allocation` lists every blocking pair,
wasted place and priority inversion of an allocation made elsewhere.

Part of batch allocation: :mod:`edqueue.rules.allocation` re-exports every name and says
what a fair allocation guarantees.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence

import attrs

from edqueue.models import Referral, by_number
from edqueue.rules.events import QueueId
from edqueue.rules.matching import AllocationProblem

__all__ = ["AllocationAudit", "BlockingPair", "PriorityInversion", "check_allocation"]


@attrs.frozen
class BlockingPair:
    """An application that prefers ``queue`` to what it got, and that ``queue`` should have
    taken: it had a free place (``instead_of`` is None) or holds ``instead_of``, ranked
    lower."""

    number: str
    queue: QueueId
    instead_of: str | None


@attrs.frozen
class PriorityInversion:
    """``lower`` got a place in ``queue`` while ``higher``, ahead of it in that queue and
    having chosen it, got no place at all. Judged without the families' order of choices."""

    queue: QueueId
    higher: str
    lower: str


@attrs.frozen
class AllocationAudit:
    """What :func:`check_allocation` found; an allocation is fair when :attr:`ok`.

    ``over_capacity``: groups given more referrals than free places (given, places).
    ``unchosen``: referrals to a group the application did not choose or does not stand in,
    and applications referred twice. ``wasted``: free places left in groups that a
    participant wanted more than what it got. ``blocking_pairs`` and ``inversions`` as their
    classes say.
    """

    over_capacity: Mapping[QueueId, tuple[int, int]]
    unchosen: tuple[str, ...]
    wasted: Mapping[QueueId, int]
    blocking_pairs: tuple[BlockingPair, ...]
    inversions: tuple[PriorityInversion, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not (
            self.over_capacity
            or self.unchosen
            or self.wasted
            or self.blocking_pairs
            or self.inversions
        )


def _pairs_of(referrals: Iterable[Referral] | Mapping[str, QueueId]) -> list[tuple[str, QueueId]]:
    if isinstance(referrals, Mapping):
        return list(referrals.items())
    return [(r.application_number, (r.organization_id, r.group)) for r in referrals]


def check_allocation(
    queues: Mapping[QueueId, Sequence[str]],
    places: Mapping[QueueId, int],
    referrals: Iterable[Referral] | Mapping[str, QueueId],
    *,
    choices: Mapping[str, Sequence[QueueId]] | None = None,
) -> AllocationAudit:
    """Audit an allocation made elsewhere against the queues and free places of its round.

    ``queues`` is each group's queue order at the time of the round, ``places`` its free
    places then, ``referrals`` the referrals issued (or a mapping of number to group).
    ``choices`` gives each participant's groups in its order of preference; without it,
    every application in a queue counts as a participant that chose the groups it stands in,
    in no known order, so only applications that got nothing can form blocking pairs.

    Every referral takes a place in its group, even one the application did not choose
    (reported in ``unchosen``, ranked below everyone in that group's queue). An application
    counts as placed only by a referral to a group it chose; with several, by the best of
    them (and it is reported in ``unchosen`` as referred twice).

    O(Q + N c) plus the findings. Every finding is listed, sorted, so that two audits of the
    same round compare equal.

    >>> from edqueue.models import GroupKey, Language, QueueKind
    >>> g = ("kg-a", GroupKey(2021, Language.RUSSIAN, QueueKind.GENERAL))
    >>> audit = check_allocation({g: ["1", "2"]}, {g: 1}, {"2": g})
    >>> audit.ok, [(i.higher, i.lower) for i in audit.inversions]
    (False, [('1', '2')])
    """
    known_order = choices is not None
    if choices is None:
        derived: dict[str, list[QueueId]] = {}
        for queue_id in sorted(queues):
            for number in queues[queue_id]:
                derived.setdefault(number, []).append(queue_id)
        choices = derived
    problem = AllocationProblem(choices=choices, queues=queues, places=places)
    ranks = {q: problem.ranks(q) for q in problem.queues}
    unchosen: set[str] = set()
    taken: dict[QueueId, list[str]] = {}  # every referral, chosen or not, by group
    got: dict[str, QueueId] = {}  # the best chosen group each application was referred to
    seen: set[str] = set()
    for number, queue_id in _pairs_of(referrals):
        if number in seen:
            unchosen.add(number)
        seen.add(number)
        taken.setdefault(queue_id, []).append(number)
        chosen = problem.choices.get(number, ())
        if queue_id not in chosen:
            unchosen.add(number)
        elif number not in got or chosen.index(queue_id) < chosen.index(got[number]):
            got[number] = queue_id
    over = {
        q: (len(given), problem.free(q))
        for q, given in sorted(taken.items())
        if len(given) > problem.free(q)
    }

    def rank(queue_id: QueueId, number: str) -> int:
        order = ranks.get(queue_id, {})
        return order.get(number, len(order))  # not in the queue: below everyone

    lowest: dict[QueueId, tuple[int, str]] = {
        q: max((rank(q, n), n) for n in given) for q, given in taken.items()
    }
    left = {q: problem.free(q) - len(taken.get(q, ())) for q in problem.queues}
    blocking: list[BlockingPair] = []
    wasted: dict[QueueId, int] = {}
    for number in by_number(problem.choices):
        chosen = problem.choices[number]
        placed = got.get(number)
        if placed is None:
            better = chosen
        elif known_order:
            better = chosen[: chosen.index(placed)]
        else:
            better = ()
        for queue_id in better:
            if left[queue_id] > 0:
                wasted[queue_id] = left[queue_id]
                blocking.append(BlockingPair(number, queue_id, None))
            elif queue_id in lowest and lowest[queue_id][0] > rank(queue_id, number):
                blocking.append(BlockingPair(number, queue_id, lowest[queue_id][1]))
    inversions: list[PriorityInversion] = []
    for queue_id, given in sorted(taken.items()):
        if queue_id not in problem.queues:
            continue
        order = problem.queues[queue_id]
        unplaced = [  # participants that chose this group and got nothing they chose, by rank
            r
            for r, n in enumerate(order)
            if n not in got and queue_id in problem.choices.get(n, ())
        ]
        for lower in given:
            below = bisect.bisect_left(unplaced, rank(queue_id, lower))
            inversions += (PriorityInversion(queue_id, order[r], lower) for r in unplaced[:below])
    return AllocationAudit(
        over_capacity=over,
        unchosen=tuple(by_number(unchosen)),
        wasted=dict(sorted(wasted.items())),
        blocking_pairs=tuple(blocking),
        inversions=tuple(sorted(inversions, key=lambda i: (i.queue, i.lower, i.higher))),
    )
