"""The rules: ordering, live queues with positions and explanations, and their events.

Everything a host needs is re-exported here; each module names the source of its rules.
"""

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
    ReferralIssued,
)
from edqueue.rules.explain import Explanation, PositionChange, QueueSnapshot, Reason, diff
from edqueue.rules.ordering import (
    BenefitTime,
    OrderingPolicy,
    RatioOrdering,
    SortKey,
    StandardOrdering,
    rank,
)
from edqueue.rules.queue import QueueBook, QueuePosition

__all__ = [
    "ApplicationRemoved",
    "ApplicationSubmitted",
    "ApplicationWithdrawn",
    "BenefitChanged",
    "BenefitTime",
    "ChoicesChanged",
    "Explanation",
    "OrderingPolicy",
    "PlaceFreed",
    "PositionChange",
    "QueueBook",
    "QueueEvent",
    "QueueId",
    "QueuePosition",
    "QueueSnapshot",
    "RatioOrdering",
    "Reason",
    "ReferralClosed",
    "ReferralIssued",
    "SortKey",
    "StandardOrdering",
    "diff",
    "rank",
]
