"""A desk's whole state as plain records, and a desk made again from them: what a snapshot of
the queues holds (:mod:`edqueue.service.snapshot` writes it to the store).

Replaying a national log event by event takes minutes; a desk made from its state takes a
bulk build of the queues (:meth:`QueueBook.build`) and a few dictionaries. The state keeps,
for each application, only what the log changes after submission (its choices, benefit
claim and status): the rest of the record, with the personal data, is the repository's, so
a snapshot holds no personal data (issue 17: "no personal data outside the applications
and drafts tables").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import NamedTuple

import attrs

from edqueue.models import (
    Application,
    ApplicationStatus,
    BenefitClaim,
    Choice,
    Organization,
    Referral,
)
from edqueue.rules._places import Places
from edqueue.rules.calendar import WorkingCalendar
from edqueue.rules.events import QueueId
from edqueue.rules.ordering import OrderingPolicy
from edqueue.rules.policy import Policy
from edqueue.rules.queue import QueueBook
from edqueue.rules.referrals import ReferralDesk

__all__ = ["DeskState", "QueueState", "capture", "restore"]


class QueueState(NamedTuple):
    """What the log changes of an application after its submission (a named tuple: a
    national snapshot makes a million of them)."""

    choices: tuple[Choice, ...]
    benefit: BenefitClaim | None
    status: ApplicationStatus

    @classmethod
    def of(cls, application: Application) -> QueueState:
        """The queue state ``application`` is in."""
        return cls(application.choices, application.benefit, application.status)

    def applied_to(self, stored: Application) -> Application:
        """``stored`` (the repository's record) in this queue state."""
        if (
            stored.choices == self.choices
            and stored.benefit == self.benefit
            and stored.status is self.status
        ):
            return stored
        return attrs.evolve(stored, choices=self.choices, benefit=self.benefit, status=self.status)


@attrs.frozen
class DeskState:
    """Everything a :class:`ReferralDesk` and its book hold but their configuration (the
    ordering, the policy, the calendar) and the applications' personal data."""

    organizations: tuple[Organization, ...]
    places: Mapping[QueueId, tuple[int, int]]  # capacity, free
    declared: frozenset[str]
    applications: Mapping[str, QueueState]
    referrals: tuple[Referral, ...]  # in the order recorded
    outside: Mapping[QueueId, frozenset[str]]
    issued: int
    stop_until: Mapping[str, datetime]
    confirm_by: Mapping[str, datetime]


def capture(desk: ReferralDesk) -> DeskState:
    """The state of ``desk`` and its book now. O(N + Q + r)."""
    book = desk.book
    return DeskState(
        organizations=tuple(book.organizations.values()),
        places={q: (p.capacity, p.free) for q, p in book._places.items()},
        declared=frozenset(book._declared),
        applications={n: QueueState.of(a) for n, a in book._applications.items()},
        referrals=tuple(book.referrals()),
        outside={q: frozenset(numbers) for q, numbers in book._outside.items() if numbers},
        issued=desk._issued,
        stop_until=dict(desk._stop_until),
        confirm_by=dict(desk._confirm_by),
    )


def restore(
    state: DeskState,
    stored: Iterable[Application],
    *,
    ordering: OrderingPolicy,
    policy: Policy,
    calendar: WorkingCalendar,
) -> ReferralDesk:
    """A desk in ``state``, its applications the ``stored`` records (the repository's, with
    their personal data) in the queue state ``state`` gives each; a stored application the
    state does not name is left out (the log after the state submits it). Raises
    ``KeyError`` when the state names an application ``stored`` does not hold: the caller
    rebuilds from the log instead. O(N c + Q n log n) (:meth:`QueueBook.build`)."""
    queue_states = state.applications
    applications = [
        queue_states[a.number].applied_to(a) for a in stored if a.number in queue_states
    ]
    if len(applications) != len(queue_states):
        held = {a.number for a in applications}
        missing = next(n for n in queue_states if n not in held)
        raise KeyError(missing)
    book = QueueBook.build(state.organizations, applications, ordering=ordering)
    for queue_id, (capacity, free) in state.places.items():
        book._places[queue_id] = Places(capacity, free)
    book._index.add_queues(state.places)
    book._declared = set(state.declared)
    book._outside = {q: set(numbers) for q, numbers in state.outside.items()}
    for referral in state.referrals:
        book._referrals[referral.id] = referral
        if referral.is_open:
            book._open_referral[referral.application_number] = referral.id
    desk = ReferralDesk(book, policy=policy, calendar=calendar)
    desk._issued = state.issued
    desk._stop_until = dict(state.stop_until)
    desk._confirm_by = dict(state.confirm_by)
    return desk
