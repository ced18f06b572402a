"""An independent model of batch allocation, written from the textbook definitions.

Used by ``tests/test_allocation.py`` as the model :func:`edqueue.rules.allocation.allocate`
must agree with, and as brute-force judges of its guarantees. Deliberately naive and slow:
whole rounds of proposals, full re-sorts, and checks that try every pair. Nothing here is
taken from the library's own code; only the input shape (choices, queues, places) is shared.

Sources: D. Gale and L. S. Shapley, "College Admissions and the Stability of Marriage",
American Mathematical Monthly 69(1), 1962 (the round-based deferred acceptance and the
definition of stability); A. Abdulkadiroğlu and T. Sönmez, "School Choice: A Mechanism
Design Approach", American Economic Review 93(3), 2003 (justified envy, non-wastefulness,
serial dictatorship).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from edqueue.rules.events import QueueId

Choices = Mapping[str, Sequence[QueueId]]
Queues = Mapping[QueueId, Sequence[str]]
Places = Mapping[QueueId, int]
Assignment = Mapping[str, QueueId]


class Problem(Protocol):
    """Anything with the three inputs of a round (an ``AllocationProblem`` fits)."""

    @property
    def choices(self) -> Choices: ...

    @property
    def queues(self) -> Queues: ...

    @property
    def places(self) -> Places: ...


def deferred_acceptance(choices: Choices, queues: Queues, places: Places) -> dict[str, QueueId]:
    """Applicant-proposing deferred acceptance, round by round (Gale and Shapley, 1962).

    In every round, every applicant that holds no place and still has a choice it has not
    proposed to proposes to the next one, all at once. Every group then looks at the
    applicants it held from the last round together with the new proposers, keeps the best
    ``places`` of them by its queue order (a group not in ``places`` has none) and rejects
    the others. The rounds stop when nobody proposes; what the groups hold is the result.
    """
    position = {g: {n: i for i, n in enumerate(order)} for g, order in queues.items()}
    proposed = dict.fromkeys(choices, 0)  # how many of its choices each has proposed to
    held: dict[QueueId, list[str]] = {g: [] for g in queues}
    while True:
        holding = {n for kept in held.values() for n in kept}
        proposers = [n for n in choices if n not in holding and proposed[n] < len(choices[n])]
        if not proposers:
            break
        offers: dict[QueueId, list[str]] = {}
        for n in proposers:
            target = choices[n][proposed[n]]
            proposed[n] += 1
            offers.setdefault(target, []).append(n)
        for g, new in offers.items():
            pool = sorted(held[g] + new, key=position[g].__getitem__)
            held[g] = pool[: places.get(g, 0)]
    return {n: g for g, kept in held.items() for n in kept}


def allocate(problem: Problem) -> dict[str, QueueId]:
    """:func:`deferred_acceptance` of a problem's three inputs."""
    return deferred_acceptance(problem.choices, problem.queues, problem.places)


def serial_dictatorship(
    order: Sequence[str], choices: Choices, places: Places
) -> dict[str, QueueId]:
    """Serial dictatorship: each applicant of ``order`` in turn takes its first choice that
    still has a place left. Numbers in ``order`` that make no choices take nothing."""
    left = dict(places)
    result: dict[str, QueueId] = {}
    for n in order:
        for g in choices.get(n, ()):
            if left.get(g, 0) > 0:
                left[g] -= 1
                result[n] = g
                break
    return result


def prefers(choices: Choices, number: str, group: QueueId, assignment: Assignment) -> bool:
    """Whether ``number`` would rather have ``group`` than what it got: ``group`` is one of its
    choices and comes before its assigned group, or it got nothing at all."""
    chosen = list(choices[number])
    if group not in chosen:
        return False
    got = assignment.get(number)
    if got is None:
        return True
    return got in chosen and chosen.index(group) < chosen.index(got)


def holders(assignment: Assignment, group: QueueId) -> list[str]:
    """Everyone ``assignment`` places in ``group``, in no particular order."""
    return [n for n, g in assignment.items() if g == group]


def free_left(problem: Problem, assignment: Assignment, group: QueueId) -> int:
    """Places of ``group`` minus the applicants placed in it (negative when over-filled)."""
    return problem.places.get(group, 0) - len(holders(assignment, group))


def blocking_pairs(problem: Problem, assignment: Assignment) -> set[tuple[str, QueueId]]:
    """Every blocking pair ``(applicant, group)``, by the definition, trying every pair.

    ``a`` and ``g`` block when ``a`` prefers ``g`` to its assignment (see :func:`prefers`)
    and ``g`` either has a free place left or holds someone it ranks below ``a``.
    """
    found: set[tuple[str, QueueId]] = set()
    for a in problem.choices:
        for g in problem.choices[a]:
            if not prefers(problem.choices, a, g, assignment):
                continue
            order = list(problem.queues[g])
            has_room = free_left(problem, assignment, g) > 0
            holds_lower = any(order.index(h) > order.index(a) for h in holders(assignment, g))
            if has_room or holds_lower:
                found.add((a, g))
    return found


def wasteful(problem: Problem, assignment: Assignment) -> set[tuple[str, QueueId]]:
    """Every ``(applicant, group)`` where ``group`` has a free place left and ``applicant``
    prefers it to its assignment: a place left empty that someone wanted."""
    return {
        (a, g)
        for a in problem.choices
        for g in problem.choices[a]
        if prefers(problem.choices, a, g, assignment) and free_left(problem, assignment, g) > 0
    }


def is_feasible(problem: Problem, assignment: Assignment) -> bool:
    """Every applicant is placed only in a group it chose, and no group over its places."""
    return all(
        n in problem.choices and g in problem.choices[n] for n, g in assignment.items()
    ) and all(free_left(problem, assignment, g) >= 0 for g in set(assignment.values()))


def is_stable(problem: Problem, assignment: Assignment) -> bool:
    """Stable in the sense of Gale and Shapley: feasible and without a blocking pair."""
    return is_feasible(problem, assignment) and not blocking_pairs(problem, assignment)


def inversions(problem: Problem, assignment: Assignment) -> set[tuple[QueueId, str, str]]:
    """Every ``(group, higher, lower)``: ``lower`` holds a place in ``group`` while ``higher``,
    ahead of it in that queue and having chosen it, got no place at all."""
    found: set[tuple[QueueId, str, str]] = set()
    for g, order in problem.queues.items():
        for lower in holders(assignment, g):
            for higher in order[: list(order).index(lower)]:
                if (
                    higher in problem.choices
                    and g in problem.choices[higher]
                    and higher not in assignment
                ):
                    found.add((g, higher, lower))
    return found
