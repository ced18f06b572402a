"""Batch allocation (комплектование): fill many groups at once, fairly, and prove it.

When a region fills its groups for a new school year it has many free places and many
families at once. :func:`allocate` gives the places by **applicant-proposing deferred
acceptance** (Gale and Shapley, 1962): each family proposes to its choices in its own order
(up to 4, the order of the application, seed step 2), each group keeps the applications it
ranks best by its queue order (:mod:`edqueue.rules.ordering`) and lets the others go on to
their next choice. The result is the one stable allocation every family likes best:

* no group holds more applications than it has free places;
* no **blocking pair** (no justified envy): no family prefers a group that has a free place
  left or holds an application it ranks lower;
* no place stays empty while an application that takes part wants it;
* no family gains by misreporting the order of its choices (strategy-proofness);
* when every group ranks applications in one common order, the result is the serial
  dictatorship in that order (each family in turn takes its best choice with a place);
* the result does not depend on the order of the input.

Source of the method: the seed lets a family rank up to four organizations and the
application text orders every queue by benefit and submission time; deferred acceptance is
the allocation that respects both at once (Abdulkadiroğlu and Sönmez, "School Choice: A
Mechanism Design Approach", American Economic Review 93(3), 2003). The tests check every
guarantee above with hypothesis.

:func:`check_allocation` audits an allocation made elsewhere (a region's past round) against
the same queues and places, listing every blocking pair, wasted place and priority
inversion.

Complexities use N for the applications taking part, c <= 4 for their choices and Q for the
queue entries of groups with places: :func:`allocate` is O(Q + N c log p) for p places per
group.
"""

from edqueue.rules.fairness import (
    AllocationAudit,
    BlockingPair,
    PriorityInversion,
    check_allocation,
)
from edqueue.rules.matching import (
    Allocation,
    AllocationProblem,
    ChoiceOutcome,
    allocate,
    serial_dictatorship,
)
from edqueue.rules.matching import Outcome as Outcome  # what became of a choice

__all__ = [
    "Allocation",
    "AllocationAudit",
    "AllocationProblem",
    "BlockingPair",
    "ChoiceOutcome",
    "PriorityInversion",
    "allocate",
    "check_allocation",
    "serial_dictatorship",
]
