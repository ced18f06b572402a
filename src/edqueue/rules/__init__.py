"""The rules: dated policy, eligibility, ordering, live queues, explanations and events.

Everything a host needs is re-exported here; each module names the source of its rules.
"""

from edqueue.rules.eligibility import Organizations, check_eligibility, ensure_eligible
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
from edqueue.rules.policy import (
    KAZAKHSTAN_POLICY,
    PARAMETER_NAMES,
    DatedValue,
    Duration,
    DurationUnit,
    ParameterHistory,
    Policy,
    PolicyValues,
    policy_date,
)
from edqueue.rules.queue import QueueBook, QueuePosition

__all__ = [
    "KAZAKHSTAN_POLICY",
    "PARAMETER_NAMES",
    "ApplicationRemoved",
    "ApplicationSubmitted",
    "ApplicationWithdrawn",
    "BenefitChanged",
    "BenefitTime",
    "ChoicesChanged",
    "DatedValue",
    "Duration",
    "DurationUnit",
    "Explanation",
    "OrderingPolicy",
    "Organizations",
    "ParameterHistory",
    "PlaceFreed",
    "Policy",
    "PolicyValues",
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
    "check_eligibility",
    "diff",
    "ensure_eligible",
    "policy_date",
    "rank",
]
