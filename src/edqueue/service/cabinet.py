"""The personal cabinet: the position by number, and what the family may change later.

«Проверка номера очереди»: the position by number needs no session and carries no personal
data. A benefit added later (seed, step 3: «может быть заполнена позже в Личном кабинете»),
other organizations and withdrawal need a cabinet session: the applicant, signed in with
their own number (a confirmed code), for ``session_lifetime``; another confirmed legal
representative of the child too where ``other_representative_may_act``. Every change takes
the version it read (optimistic concurrency: ``storage.conflict``). Refusals are counted
(:mod:`edqueue.service.refusals`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from edqueue.errors import FlowError, QueueError, StorageError
from edqueue.models import Application, BenefitCategory, Choice
from edqueue.ports import StoredApplication
from edqueue.rules import QueuePosition
from edqueue.rules.eligibility import acts_for_the_child
from edqueue.rules.events import BenefitChanged, QueueEvent
from edqueue.rules.explain import Explanation
from edqueue.rules.identity import session_expires_at
from edqueue.service.core import Core

__all__ = ["Cabinet"]


class Cabinet:
    """The personal cabinet's commands (see the module)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def position(self, number: str) -> list[QueuePosition]:
        """«Проверка номера очереди»: where an application stands in each chosen queue.
        Carries no personal data. O(c log n)."""
        return self._core.projection.fresh().book.positions(number)

    def explain(self, number: str, organization_id: str) -> Explanation:
        """Why the application stands where it does (no personal data). O(log n)."""
        return self._core.projection.fresh().book.explain(number, organization_id)

    def add_benefit(
        self,
        number: str,
        category: int | BenefitCategory,
        document: bytes | None = None,
        media_type: str = "application/pdf",
        *,
        session: str,
        expected_version: int | None = None,
    ) -> StoredApplication:
        """Add or replace the benefit later (seed, step 3: «может быть заполнена позже в
        Личном кабинете»), checked as in :meth:`claim_benefit`."""
        stored, actor = self._live(number, expected_version, session)
        current = stored.application
        claim, _ = self._core.claim(
            BenefitCategory(category),
            current.child.iin,
            current.applicant.iin,
            document,
            media_type,
        )
        changed = attrs.evolve(current, benefit=claim)
        reason = f"benefit {int(claim.category)} {claim.status.value}"  # the family's message
        return self._commit(
            stored,
            changed,
            lambda at: [
                attrs.evolve(e, reason=reason) if isinstance(e, BenefitChanged) else e
                for e in self._core.projection.held.book.set_benefit(number, claim, at)
            ],
            actor,
        )

    def change_organizations(
        self,
        number: str,
        choices: Sequence[Choice],
        *,
        session: str,
        expected_version: int | None = None,
    ) -> StoredApplication:
        """Choose other organizations; the queue date stays the submission date."""
        stored, actor = self._live(number, expected_version, session)
        changed = attrs.evolve(stored.application, choices=tuple(choices))
        self._core.check(changed, exclude=number)
        return self._commit(
            stored,
            changed,
            lambda at: self._core.projection.held.book.change_choices(number, changed.choices, at),
            actor,
        )

    def withdraw(
        self, number: str, *, session: str, expected_version: int | None = None
    ) -> StoredApplication:
        """Withdraw the application; it leaves every queue for good. An open referral is
        cancelled first and its place offered to the next in line
        (:meth:`ReferralDesk.withdraw`)."""
        stored, actor = self._live(number, expected_version, session)
        return self._commit(
            stored,
            stored.application,
            lambda at: self._core.projection.held.withdraw(number, at),
            actor,
        )

    def details(self, number: str, *, session: str) -> StoredApplication:
        """The application in full, for the family that may act on it (see
        :meth:`sign_in`); anyone else gets ``access.denied``, which is counted
        (:attr:`refusals`, :meth:`flush_refusals`)."""
        return self._allowed(number, session)[0]

    def _allowed(self, number: str, session: str) -> tuple[StoredApplication, str]:
        """The stored application if the session's person may act on it. The person is the
        owner of the session's confirmed number in the БМГ; they may act if they submitted
        the application, or (``other_representative_may_act``) if the family register
        confirms them as a legal representative of its child."""
        stored = self._core.ports.store.get(number)
        if stored is None:
            raise QueueError("queue.unknown_application", f"no application #{number}")
        try:
            draft = self._core.drafts.load(session)
        except FlowError:
            raise self._core.refusals.denied(number, "unknown session") from None
        now = self._core.now()
        values = self._core.values(now)
        if draft.confirmed_at is None or now >= session_expires_at(
            draft.confirmed_at, values, self._core.config.calendar
        ):
            raise self._core.refusals.denied(number, "session not confirmed or expired")
        person = self._core.ports.identity.owner(draft.phone)
        application = stored.application
        if person is not None and person == application.applicant.iin:
            return stored, "applicant"
        if person is not None and values.other_representative_may_act:
            record = self._core.ports.family.family(person)
            if record is not None and any(
                m.child.iin == application.child.iin and acts_for_the_child(m.status)
                for m in record.children
            ):
                return stored, "other_representative"
        raise self._core.refusals.denied(
            number, "not the applicant nor an allowed legal representative"
        )

    def _live(
        self, number: str, expected_version: int | None, session: str
    ) -> tuple[StoredApplication, str]:
        """The application the session may change now, and the actor's role."""
        stored, actor = self._allowed(number, session)
        if stored.application.status.is_final:
            raise QueueError(
                "queue.invalid_operation",
                f"application #{number} is {stored.application.status.value}; it cannot change",
            )
        if expected_version is not None and expected_version != stored.version:
            raise StorageError(
                "storage.conflict",
                f"application #{number} changed since version {expected_version}; read it again",
            )
        return stored, actor

    def _commit(
        self,
        stored: StoredApplication,
        changed: Application,
        command: Callable[[datetime], Sequence[QueueEvent]],
        actor: str,
    ) -> StoredApplication:
        """Move the queues, then write the change with every queue event in one transaction
        (a stale version raises ``storage.conflict``, the queues are rebuilt from the store
        and nothing changes); then settle the other applications the events touched and
        notify."""
        now = self._core.now()
        number = changed.number
        result, records = self._core.projection.run(
            lambda: command(now),
            lambda records, head: self._core.ports.store.update(
                self._core.projection.queue_state(changed), stored.version, records, log_head=head
            ),
            actor=actor,
        )
        self._core.projection.settle(records, exclude=number)
        self._core.notifications.notify(
            result.application, [r for r in records if r.number == number]
        )
        return result
