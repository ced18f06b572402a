"""The record of a batch allocation round run by the referral desk: its result, the
referrals issued, and why each application got what it got.

Part of the referral desk: :mod:`edqueue.rules.referrals` re-exports
:class:`AllocationRound`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from edqueue.models import Referral, Tier
from edqueue.rules.allocation import Allocation
from edqueue.rules.events import QueueEvent, QueueId
from edqueue.rules.explain import Reason

__all__ = ["AllocationRound"]


@attrs.frozen
class AllocationRound:
    """A batch allocation run by
    :meth:`ReferralDesk.allocate <edqueue.rules.referrals.ReferralDesk.allocate>`: its
    result, the referrals it issued, their events, and why each application got what it got.

    ``waiting`` holds the applications that stood in the queues but could not take part
    (with the :func:`~edqueue.rules.referrals.referral_hold` reason); they kept their places.
    """

    at: datetime
    allocation: Allocation
    referrals: tuple[Referral, ...]
    events: tuple[QueueEvent, ...]
    waiting: Mapping[str, Reason]
    _last: Mapping[QueueId, tuple[Tier, str]] = attrs.field(alias="last")

    def explain(self, number: str) -> tuple[Reason, ...]:
        """Why ``number`` got its choice or not, choice by choice. O(c n).

        Raises ``allocation.not_in_queue`` for an application that was not in the round.
        """
        hold = self.waiting.get(number)
        if hold is not None:
            return (hold,)
        reasons: list[Reason] = []
        for outcome in self.allocation.outcomes(number):
            params: dict[str, str | int] = {
                "choice": outcome.choice,
                "organization": outcome.queue[0],
                "group": outcome.queue[1].label_ru,
                "places": outcome.places,
            }
            if outcome.outcome == "placed":
                params["rank"] = outcome.rank or 0
            elif outcome.outcome == "full" and outcome.queue in self._last:
                tier, since = self._last[outcome.queue]
                params.update(tier=int(tier), since=since)
            reasons.append(Reason(f"allocation.{outcome.outcome}", params))
        if number not in self.allocation.assignment:
            reasons.append(Reason("allocation.nothing"))
        return tuple(reasons)
