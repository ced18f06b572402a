"""The one place where a logged event is applied to a book on replay.

A command of :class:`~edqueue.rules.queue.QueueBook` validates, changes the book and returns
the events that say what changed; replaying an event runs the same command again with the
event's values, so a replayed book is checked exactly as the live one was (a log that two
processes wrote inconsistently raises here instead of giving a different book). Each event
type that changes the book has one entry in :data:`_APPLY`; other events (stop lists,
confirmations) belong to the referral desk (:meth:`~edqueue.rules.ReferralDesk.replay`).
Adding an event type that changes the book is declaring its class
(:mod:`edqueue.rules.events`) and adding its entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from edqueue.errors import QueueError
from edqueue.models import Application, Choice, Referral
from edqueue.rules.events import (
    ApplicationRemoved,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    BenefitChanged,
    ChoicesChanged,
    OrganizationChanged,
    PlaceFreed,
    QueueEvent,
    ReferralClosed,
    ReferralExtended,
    ReferralIssued,
)

if TYPE_CHECKING:
    from edqueue.rules.queue import QueueBook

__all__ = ["apply_event"]

_Submitted = Mapping[str, Application]


def apply_event(book: QueueBook, event: QueueEvent, submitted: _Submitted) -> None:
    """Apply one logged ``event`` to ``book``; the applications as submitted come from
    ``submitted`` (events carry no personal data). Events that do not change the book are
    skipped. O(the command)."""
    apply = _APPLY.get(type(event))
    if apply is not None:
        apply(book, event, submitted)


def _submitted(book: QueueBook, event: ApplicationSubmitted, submitted: _Submitted) -> None:
    if event.number not in submitted:
        raise QueueError(
            "queue.unknown_application",
            f"application #{event.number} is not among the submitted records",
        )
    book.submit(submitted[event.number])


def _choices(book: QueueBook, event: ChoicesChanged, _: _Submitted) -> None:
    choices = [Choice(organization, key.language) for organization, key in event.after]
    book.change_choices(event.number, choices, event.at)


def _issued(book: QueueBook, event: ReferralIssued, _: _Submitted) -> None:
    referral = Referral(
        id=event.referral_id,
        application_number=event.number,
        organization_id=event.organization_id,
        group=event.group,
        issued_at=event.at,
        deadline=event.deadline,
    )
    book.issue_referral(referral)


def _closed(book: QueueBook, event: ReferralClosed, _: _Submitted) -> None:
    if event.outcome == "used":
        book.use_referral(event.referral_id, event.at)
    elif event.outcome == "declined":
        book.decline_referral(event.referral_id, event.at)
    elif event.outcome == "expired":
        book.expire_referral(event.referral_id, event.at)
    else:
        book.cancel_referral(event.referral_id, event.at, event.reason)


_APPLY: dict[type[QueueEvent], Callable[[QueueBook, Any, _Submitted], object]] = {
    ApplicationSubmitted: _submitted,
    ApplicationWithdrawn: lambda book, e, _: book.withdraw(e.number, e.at),
    ApplicationRemoved: lambda book, e, _: book.remove(e.number, e.at, e.reason),
    ChoicesChanged: _choices,
    BenefitChanged: lambda book, e, _: book.set_benefit(e.number, e.claim, e.at),
    PlaceFreed: lambda book, e, _: book.free_place(e.organization_id, e.group, e.at, e.count),
    ReferralIssued: _issued,
    ReferralExtended: lambda book, e, _: book.extend_referral(e.referral_id, e.deadline, e.at),
    ReferralClosed: _closed,
    OrganizationChanged: lambda book, e, _: book.declare_organization(e.organization, e.at),
}
"""Each event type that changes the book, and how it is applied."""
