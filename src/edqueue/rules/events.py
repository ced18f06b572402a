"""Typed events: every change of a queue book says what happened, to whom, when and why.

A host turns these into notifications (SMS, push) and into its audit log. Events carry
application numbers and organization ids, never personal data.

Each event class declares the name under which its records are stored, ``KIND``; the class
name is free to change, the stored kind never does (a rename would otherwise silently
change the journal, and the hash chain over it). A kind names one class: a second class
declaring a kind already taken is refused when it is created. The codec that turns events
into log records and back is ``edqueue.events_codec``.

Source of the explicit kind: issue 16, "One codec": "Each event class declares its stored
``kind`` explicitly; one registry turns events into log records and back".
"""

from __future__ import annotations

import re
import weakref
from datetime import datetime
from typing import ClassVar

import attrs

from edqueue.models import BenefitClaim, BenefitStatus, GroupKey, Organization, Tier

__all__ = [
    "ApplicationRemoved",
    "ApplicationSubmitted",
    "ApplicationWithdrawn",
    "BenefitChanged",
    "BenefitConfirmed",
    "ChoicesChanged",
    "OrganizationChanged",
    "PlaceFreed",
    "QueueEvent",
    "QueueId",
    "ReferralClosed",
    "ReferralExtended",
    "ReferralIssued",
    "StopListed",
    "event_type",
    "event_types",
]

QueueId = tuple[str, GroupKey]
"""One queue: (organization id, group key)."""

_KIND = re.compile(r"[a-z][a-z0-9_]*")

_EVENT_TYPES: weakref.WeakValueDictionary[str, type[QueueEvent]] = weakref.WeakValueDictionary()
"""Each stored kind and the one class that declares it. Weak: a class nothing refers to any
more (one defined inside a test) gives its kind back."""


def event_type(kind: str) -> type[QueueEvent] | None:
    """The event class whose ``KIND`` is ``kind``, if any. O(1).

    >>> event_type("stop_listed") is StopListed
    True
    """
    return _EVENT_TYPES.get(kind)


def event_types() -> dict[str, type[QueueEvent]]:
    """Every event class by its stored kind, sorted by kind. O(k log k) for k kinds."""
    return dict(sorted(_EVENT_TYPES.items()))


def _register(cls: type[QueueEvent]) -> None:
    """Enter ``cls`` under its ``KIND``; raise ``TypeError`` when it declares none of its
    own, or one that another class declares."""
    kind = cls.__dict__.get("KIND")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise TypeError(
            f"{cls.__qualname__} must declare its stored kind in its own body, as "
            f'KIND: ClassVar[str] = "snake_case_name" (got {kind!r})'
        )
    taken = _EVENT_TYPES.get(kind)
    # attrs builds a slotted class a second time; a module reloaded defines its classes
    # again: the same module and qualified name is the same class and takes the place
    same = taken is not None and (taken.__module__, taken.__qualname__) == (
        cls.__module__,
        cls.__qualname__,
    )
    if taken is not None and not same:
        raise TypeError(
            f"{cls.__qualname__} declares the stored kind {kind!r} of "
            f"{taken.__module__}.{taken.__qualname__}; a kind names one event class, "
            "choose another"
        )
    _EVENT_TYPES[kind] = cls


@attrs.frozen(kw_only=True)
class QueueEvent:
    """The base of every event: when it happened and which queues it touched.

    A subclass declares ``KIND``, the name its records are stored under (see the module's
    docstring), and its fields, of the types ``edqueue.events_codec`` stores.
    """

    KIND: ClassVar[str]
    """The stored name of the event type; part of the log's format, never to change."""

    at: datetime
    queues: tuple[QueueId, ...] = ()
    reason: str = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        _register(cls)

    @property
    def kind(self) -> str:
        """The stored name of the event type, its class's ``KIND``
        (``"application_submitted"``)."""
        return type(self).KIND


@attrs.frozen(kw_only=True)
class ApplicationSubmitted(QueueEvent):
    """An application entered the queues of its chosen organizations."""

    KIND: ClassVar[str] = "application_submitted"

    number: str


@attrs.frozen(kw_only=True)
class ApplicationWithdrawn(QueueEvent):
    """The family withdrew the application; it left every queue."""

    KIND: ClassVar[str] = "application_withdrawn"

    number: str


@attrs.frozen(kw_only=True)
class ApplicationRemoved(QueueEvent):
    """The rules took the application out of every queue (e.g. the child aged out)."""

    KIND: ClassVar[str] = "application_removed"

    number: str


@attrs.frozen(kw_only=True)
class ChoicesChanged(QueueEvent):
    """The family changed its organizations; ``queues`` lists the old and new ones."""

    KIND: ClassVar[str] = "choices_changed"

    number: str
    before: tuple[QueueId, ...]
    after: tuple[QueueId, ...]


@attrs.frozen(kw_only=True)
class BenefitChanged(QueueEvent):
    """A benefit was claimed, verified, rejected or expired; the tier may have moved."""

    KIND: ClassVar[str] = "benefit_changed"

    number: str
    status: BenefitStatus | None
    tier_before: Tier
    tier_after: Tier
    claim: BenefitClaim | None = None
    """The claim as it now stands (category, status, times), so the change can be replayed."""


@attrs.frozen(kw_only=True)
class PlaceFreed(QueueEvent):
    """A place became free in a group."""

    KIND: ClassVar[str] = "place_freed"

    organization_id: str
    group: GroupKey
    free_places: int
    count: int = 1
    """How many places freed (``free_places`` is the total after)."""


@attrs.frozen(kw_only=True)
class OrganizationChanged(QueueEvent):
    """The locality opened an organization or changed its record (groups, capacity, free
    places): ``organization`` is the record from now on. Organizations hold no personal
    data, so the whole record is in the log and a replay needs nothing else."""

    KIND: ClassVar[str] = "organization_changed"

    organization_id: str
    organization: Organization


@attrs.frozen(kw_only=True)
class ReferralIssued(QueueEvent):
    """A referral went to an application; it left the queues while the referral is open.

    ``organization_id`` and ``group`` say where; ``deadline`` is when the referral lapses
    unless used; ``confirm_by`` is set when an extraordinary benefit must be confirmed by
    then or the referral is cancelled.
    """

    KIND: ClassVar[str] = "referral_issued"

    number: str
    referral_id: str
    organization_id: str
    group: GroupKey
    deadline: datetime
    confirm_by: datetime | None = None


@attrs.frozen(kw_only=True)
class ReferralClosed(QueueEvent):
    """A referral was used, declined, expired or cancelled (``outcome``)."""

    KIND: ClassVar[str] = "referral_closed"

    number: str
    referral_id: str
    outcome: str


@attrs.frozen(kw_only=True)
class ReferralExtended(QueueEvent):
    """An open referral's deadline moved later at the family's request."""

    KIND: ClassVar[str] = "referral_extended"

    number: str
    referral_id: str
    deadline_before: datetime
    deadline: datetime


@attrs.frozen(kw_only=True)
class StopListed(QueueEvent):
    """The application is on the stop list (стоп-лист) until ``until``: it keeps its place
    and its original queue date, but no referral is offered to it before then."""

    KIND: ClassVar[str] = "stop_listed"

    number: str
    until: datetime


@attrs.frozen(kw_only=True)
class BenefitConfirmed(QueueEvent):
    """The extraordinary benefit behind an open referral was confirmed in time."""

    KIND: ClassVar[str] = "benefit_confirmed"

    number: str
    referral_id: str
