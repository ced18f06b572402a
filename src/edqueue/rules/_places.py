"""The places of a book's groups and the referrals that take them: a part of
:class:`~edqueue.rules.queue.QueueBook` (its base class), kept apart to keep each module
short. Hosts use these methods on the book.

Each group has a capacity and a number of free places. A place frees when a child leaves
(:meth:`PlacesLedger.free_place`), when a referral is declined, expires or is cancelled; a
referral takes one (:meth:`PlacesLedger.issue_referral`). A locality that opens an
organization, adds a group, or changes a group's capacity or free places records the
organization's new record (:meth:`PlacesLedger.declare_organization`): an event of the log
like every other change, so a replay gives the same places as the live book.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from edqueue.errors import QueueError
from edqueue.models import (
    Application,
    ApplicationStatus,
    GroupKey,
    Organization,
    Referral,
    by_number,
    require_aware,
)
from edqueue.models.applications import shared_queue_id
from edqueue.rules._index import QueueIndex
from edqueue.rules._undo import Undo, roll_back
from edqueue.rules.events import (
    OrganizationChanged,
    PlaceFreed,
    QueueEvent,
    QueueId,
    ReferralClosed,
    ReferralExtended,
    ReferralIssued,
)

__all__ = ["Places", "PlacesLedger"]


class Places:
    """One group's places: how many it has, and how many of them are free."""

    __slots__ = ("capacity", "free")

    def __init__(self, capacity: int, free: int) -> None:
        self.capacity = capacity
        self.free = free


def _queue_ids(organization: Organization) -> tuple[QueueId, ...]:
    return tuple(shared_queue_id(organization.id, group.key) for group in organization.groups)


class PlacesLedger:
    """The places and referrals of a :class:`~edqueue.rules.queue.QueueBook`."""

    _organizations: dict[str, Organization]
    _places: dict[QueueId, Places]
    _referrals: dict[str, Referral]
    _open_referral: dict[str, str]  # application number -> open referral id
    _index: QueueIndex
    _declared: set[str]  # organizations whose record the log holds (declare_organization)
    _applications: dict[str, Application]
    _outside: dict[QueueId, set[str]]  # see QueueBook.__init__
    _undo: Undo | None = None  # inside atomic(): what to put back if the block raises

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Undo]:
        """A block whose changes to the book are all kept, or, if it raises, all put back
        (then the exception goes on): what a service wraps a command and its write to the
        store in, so that a command refused halfway or a write refused by the store leaves
        the book as the log has it, without a rebuild (issue 17: "a refused command never
        triggers a rebuild"). O(1) to enter; putting back costs O(c log n) per application
        the block changed. A block inside another one joins it.

        >>> from datetime import datetime
        >>> from edqueue.models import KAZAKHSTAN
        >>> from edqueue.rules import QueueBook
        >>> from edqueue.sample import seed_application, shakhtinsk_organizations
        >>> book = QueueBook(shakhtinsk_organizations())
        >>> try:
        ...     with book.atomic():
        ...         _ = book.submit(seed_application())
        ...         raise RuntimeError("the store refused the write")
        ... except RuntimeError:
        ...     pass
        >>> len(book), list(book.queues())
        (0, [])
        """
        if self._undo is not None:
            yield self._undo
            return
        undo = self._undo = Undo()
        undo.attribute(self, "_latest")
        undo.attribute(self, "_latest_known")
        try:
            yield undo
        except BaseException:
            self._undo = None
            roll_back(undo, self._applications, self._places, self._index, Places)
            raise
        finally:
            self._undo = None

    def _keep(self, container: dict[str, Any] | set[str], key: str) -> None:
        """Inside :meth:`atomic`: note ``container[key]`` before it changes."""
        if self._undo is not None:
            self._undo.entry(container, key)

    def _keep_application(self, number: str) -> None:
        """Inside :meth:`atomic`: note an application's record before it changes."""
        if self._undo is not None:
            self._undo.application(self._applications, number)

    def _stand_outside(self, number: str, queue_ids: Iterable[QueueId]) -> None:
        """``number`` stands outside these queues (it left them, or never was active)."""
        for queue_id in queue_ids:
            outside = self._outside.setdefault(queue_id, set())
            if self._undo is not None:
                self._undo.stood_outside(outside, number)
            outside.add(number)

    def _keep_places(self, queue_id: QueueId) -> None:
        """Inside :meth:`atomic`: note a group's places before they change."""
        if self._undo is not None:
            self._undo.place(self._places, queue_id)

    def application(self, number: str) -> Application:  # pragma: no cover - the book's
        raise NotImplementedError

    def _queue_id(self, organization_id: str, group: GroupKey) -> QueueId:  # pragma: no cover
        raise NotImplementedError

    def _replace(self, application: Application) -> tuple[QueueId, ...]:  # pragma: no cover
        raise NotImplementedError

    def _open(self, organizations: Iterable[Organization]) -> None:
        """The book's first organizations, each with its places."""
        places = self._places
        for organization in organizations:
            self._organizations[organization.id] = organization
            for group in organization.groups:
                queue_id = shared_queue_id(organization.id, group.key)  # the records' own
                places[queue_id] = Places(group.capacity, group.free_places)
        self._index.add_queues(places)

    def start_from(self, organizations: Iterable[Organization]) -> None:
        """Take ``organizations`` as these organizations' first records, in place of those
        the book was built with: what a replay does with each organization's first
        ``OrganizationChanged`` in the log
        (:func:`edqueue.journal.catch_up`), so that later records count from it. Only on a
        book that holds no application or referral yet (``queue.invalid_operation``)."""
        if len(self) or self._referrals:
            raise QueueError(
                "queue.invalid_operation",
                "the organizations' first records are set before any application or referral",
            )
        self._open(organizations)

    def __len__(self) -> int:  # pragma: no cover - the book's
        raise NotImplementedError

    # --- reading ----------------------------------------------------------------------

    def referral(self, referral_id: str) -> Referral:
        """A referral issued through this book. O(1)."""
        try:
            return self._referrals[referral_id]
        except KeyError:
            raise QueueError(
                "queue.invalid_operation", f"no referral {referral_id!r} in this queue book"
            ) from None

    def referrals(self) -> list[Referral]:
        """Every referral recorded in the book, open or closed, in the order recorded. O(r)."""
        return list(self._referrals.values())

    def open_referrals(self) -> list[Referral]:
        """Every referral still waiting for its family, by application number. O(r log r)."""
        return [
            self._referrals[self._open_referral[number]]
            for number in by_number(self._open_referral)
        ]

    def open_referral(self, number: str) -> Referral | None:
        """The open referral of application ``number``, if it has one. O(1)."""
        referral_id = self._open_referral.get(number)
        return None if referral_id is None else self._referrals[referral_id]

    def free_places(self, organization_id: str, group: GroupKey) -> int:
        """Free places of one group now. O(1)."""
        return self._places[self._queue_id(organization_id, group)].free

    # --- commands ---------------------------------------------------------------------

    def free_place(
        self, organization_id: str, group: GroupKey, at: datetime, count: int = 1
    ) -> list[QueueEvent]:
        """``count`` places became free in a group (a child left). O(1)."""
        require_aware(at, "the time the place freed")
        queue_id = self._queue_id(organization_id, group)
        queue = self._places[queue_id]
        if count < 1 or queue.free + count > queue.capacity:
            raise QueueError(
                "queue.invalid_operation",
                "free places cannot exceed the group's capacity; check the count",
            )
        self._keep_places(queue_id)
        queue.free += count
        return [
            PlaceFreed(
                at=at,
                queues=(queue_id,),
                organization_id=organization_id,
                group=group,
                free_places=queue.free,
                count=count,
                reason="place freed",
            )
        ]

    def issue_referral(self, referral: Referral) -> list[QueueEvent]:
        """Record a referral: a free place of its group goes to its application. O(c log n).

        The application must stand in that queue and the group must have a free place. The
        application leaves every queue while the referral is open. Which application gets
        the place is decided by :mod:`edqueue.rules` (referrals), not here.
        """
        if referral.id in self._referrals:
            raise QueueError(
                "queue.invalid_operation", f"referral {referral.id!r} is already recorded"
            )
        if not referral.is_open:
            raise QueueError("queue.invalid_operation", "only an open referral can be issued")
        queue_id = self._queue_id(referral.organization_id, referral.group)
        application = self.application(referral.application_number)
        if queue_id not in application.group_keys or not self._index.stands(application, queue_id):
            raise QueueError(
                "queue.not_in_queue",
                f"application #{application.number} does not stand in this queue",
            )
        if self._places[queue_id].free < 1:
            raise QueueError("queue.invalid_operation", "the group has no free place to refer")
        referred = application.with_status(ApplicationStatus.REFERRED)
        self._keep_places(queue_id)
        self._keep(self._referrals, referral.id)
        self._keep(self._open_referral, application.number)
        self._places[queue_id].free -= 1
        self._referrals[referral.id] = referral
        self._open_referral[application.number] = referral.id
        self._replace(referred)
        return [
            ReferralIssued(
                at=referral.issued_at,
                queues=application.group_keys,
                number=application.number,
                referral_id=referral.id,
                organization_id=referral.organization_id,
                group=referral.group,
                deadline=referral.deadline,
                reason="referral issued",
            )
        ]

    def extend_referral(
        self, referral_id: str, deadline: datetime, at: datetime
    ) -> list[QueueEvent]:
        """Move an open referral's deadline later, as the family asked at ``at``. O(1)."""
        require_aware(at, "the time of the request")
        referral = self.referral(referral_id)
        extended = referral.extend(deadline)
        self._keep(self._referrals, referral_id)
        self._referrals[referral_id] = extended
        return [
            ReferralExtended(
                at=at,
                queues=((referral.organization_id, referral.group),),
                number=referral.application_number,
                referral_id=referral_id,
                deadline_before=referral.deadline,
                deadline=extended.deadline,
                reason="enrolment extended on request",
            )
        ]

    def use_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The child enrolled: the application leaves every queue for good."""
        return self._close_referral(self.referral(referral_id).use(at), ApplicationStatus.ENROLLED)

    def decline_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The family declined: the place is free again and the application is back in the
        queues with its original date."""
        closed = self.referral(referral_id).decline(at)
        return self._close_referral(closed, ApplicationStatus.ACTIVE)

    def expire_referral(self, referral_id: str, at: datetime) -> list[QueueEvent]:
        """The deadline passed: as a decline (the stop list is the referrals rules' matter)."""
        return self._close_referral(self.referral(referral_id).expire(at), ApplicationStatus.ACTIVE)

    def cancel_referral(self, referral_id: str, at: datetime, reason: str) -> list[QueueEvent]:
        """Cancelled by the rules (e.g. benefit not confirmed): back to the queues."""
        closed = self.referral(referral_id).cancel(at, reason)
        return self._close_referral(closed, ApplicationStatus.ACTIVE)

    def _close_referral(self, closed: Referral, status: ApplicationStatus) -> list[QueueEvent]:
        application = self.application(closed.application_number)
        changed = application.with_status(status)
        queue_id = (closed.organization_id, closed.group)
        self._keep_places(queue_id)
        self._keep(self._referrals, closed.id)
        self._keep(self._open_referral, application.number)
        if status is ApplicationStatus.ACTIVE:
            self._places[queue_id].free += 1
        self._referrals[closed.id] = closed
        self._open_referral.pop(application.number, None)
        self._replace(changed)
        return [
            ReferralClosed(
                at=closed.closed_at or closed.issued_at,
                queues=application.group_keys,
                number=application.number,
                referral_id=closed.id,
                outcome=closed.status.value,
                reason=closed.reason or closed.status.value,
            )
        ]

    def declare_organization(self, organization: Organization, at: datetime) -> list[QueueEvent]:
        """The locality's record of ``organization`` from ``at`` on: it opens (a new id),
        gains groups, or changes a group's capacity or free places. O(groups).

        Free places count from the previous record: a group whose record goes from 2 free
        places to 5 gains 3 free places, whatever referrals took meanwhile, and its capacity
        becomes the new one. Returns no event when the record did not change since the last
        one declared; the first declaration of an organization the book was built with is
        an event even when the record is the same (the log then holds the record the later
        ones count from). Raises
        ``queue.invalid_operation`` when a group of the previous record is missing (a group
        is not closed by a new record) or when the free places would fall below 0 or exceed
        the capacity; nothing changes then.

        Source: issue 16, "The replay is whole": "a locality that opens an organization or
        changes a group's capacity or free places between restarts replays to the same
        queues: such changes are events in the log too."
        """
        require_aware(at, "the time of the change")
        before = self._organizations.get(organization.id)
        if before == organization and organization.id in self._declared:
            return []
        counts: dict[QueueId, tuple[int, int]] = {}
        if before is not None:
            kept = {group.key for group in organization.groups}
            closed = [g.key.label_ru for g in before.groups if g.key not in kept]
            if closed:
                raise QueueError(
                    "queue.invalid_operation",
                    f"organization {organization.id!r} would lose its groups {closed}; "
                    "a new record keeps every group (give it 0 free places instead)",
                )
        for group in organization.groups:
            queue_id = shared_queue_id(organization.id, group.key)
            places = self._places.get(queue_id)
            previous = None if before is None else before.group(group.key)
            if places is None or previous is None:
                counts[queue_id] = (group.capacity, group.free_places)
                continue
            free = places.free + group.free_places - previous.free_places
            if not 0 <= free <= group.capacity:
                raise QueueError(
                    "queue.invalid_operation",
                    f"group {group.key.label_ru!r} of {organization.id!r} would have {free} "
                    f"free places of {group.capacity}; check its capacity and free places",
                )
            counts[queue_id] = (group.capacity, free)
        self._keep(self._organizations, organization.id)
        self._keep(self._declared, organization.id)
        self._organizations[organization.id] = organization
        self._declared.add(organization.id)
        for queue_id, (capacity, free) in counts.items():
            self._keep_places(queue_id)
            places = self._places.get(queue_id)
            if places is None:
                self._places[queue_id] = Places(capacity, free)
                self._index.add_queues((queue_id,))
            else:
                places.capacity, places.free = capacity, free
        return [
            OrganizationChanged(
                at=at,
                queues=_queue_ids(organization),
                organization_id=organization.id,
                organization=organization,
                reason="organization opened" if before is None else "organization changed",
            )
        ]
