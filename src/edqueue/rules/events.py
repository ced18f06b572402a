"""Typed events: every change of a queue book says what happened, to whom, when and why.

A host turns these into notifications (SMS, push) and into its audit log. Events carry
application numbers and organization ids, never personal data.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from edqueue.models import BenefitClaim, BenefitStatus, GroupKey, Tier

__all__ = [
    "ApplicationRemoved",
    "ApplicationSubmitted",
    "ApplicationWithdrawn",
    "BenefitChanged",
    "BenefitConfirmed",
    "ChoicesChanged",
    "PlaceFreed",
    "QueueEvent",
    "QueueId",
    "ReferralClosed",
    "ReferralExtended",
    "ReferralIssued",
    "StopListed",
]

QueueId = tuple[str, GroupKey]
"""One queue: (organization id, group key)."""


@attrs.frozen(kw_only=True)
class QueueEvent:
    """The base of every event: when it happened and which queues it touched."""

    at: datetime
    queues: tuple[QueueId, ...] = ()
    reason: str = ""

    @property
    def kind(self) -> str:
        """A stable name of the event type (``"application_submitted"``)."""
        name = type(self).__name__
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@attrs.frozen(kw_only=True)
class ApplicationSubmitted(QueueEvent):
    """An application entered the queues of its chosen organizations."""

    number: str


@attrs.frozen(kw_only=True)
class ApplicationWithdrawn(QueueEvent):
    """The family withdrew the application; it left every queue."""

    number: str


@attrs.frozen(kw_only=True)
class ApplicationRemoved(QueueEvent):
    """The rules took the application out of every queue (e.g. the child aged out)."""

    number: str


@attrs.frozen(kw_only=True)
class ChoicesChanged(QueueEvent):
    """The family changed its organizations; ``queues`` lists the old and new ones."""

    number: str
    before: tuple[QueueId, ...]
    after: tuple[QueueId, ...]


@attrs.frozen(kw_only=True)
class BenefitChanged(QueueEvent):
    """A benefit was claimed, verified, rejected or expired; the tier may have moved."""

    number: str
    status: BenefitStatus | None
    tier_before: Tier
    tier_after: Tier
    claim: BenefitClaim | None = None
    """The claim as it now stands (category, status, times), so the change can be replayed."""


@attrs.frozen(kw_only=True)
class PlaceFreed(QueueEvent):
    """A place became free in a group."""

    organization_id: str
    group: GroupKey
    free_places: int
    count: int = 1
    """How many places freed (``free_places`` is the total after)."""


@attrs.frozen(kw_only=True)
class ReferralIssued(QueueEvent):
    """A referral went to an application; it left the queues while the referral is open.

    ``organization_id`` and ``group`` say where; ``deadline`` is when the referral lapses
    unless used; ``confirm_by`` is set when an extraordinary benefit must be confirmed by
    then or the referral is cancelled.
    """

    number: str
    referral_id: str
    organization_id: str
    group: GroupKey
    deadline: datetime
    confirm_by: datetime | None = None


@attrs.frozen(kw_only=True)
class ReferralClosed(QueueEvent):
    """A referral was used, declined, expired or cancelled (``outcome``)."""

    number: str
    referral_id: str
    outcome: str


@attrs.frozen(kw_only=True)
class ReferralExtended(QueueEvent):
    """An open referral's deadline moved later at the family's request."""

    number: str
    referral_id: str
    deadline_before: datetime
    deadline: datetime


@attrs.frozen(kw_only=True)
class StopListed(QueueEvent):
    """The application is on the stop list (стоп-лист) until ``until``: it keeps its place
    and its original queue date, but no referral is offered to it before then."""

    number: str
    until: datetime


@attrs.frozen(kw_only=True)
class BenefitConfirmed(QueueEvent):
    """The extraordinary benefit behind an open referral was confirmed in time."""

    number: str
    referral_id: str
