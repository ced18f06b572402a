"""What every part of the service shares: the ports, the locality, the time, the drafts,
the projection of the queues and the notifications (one :class:`Core` per service).

The parts (:mod:`~edqueue.service.identity`, :mod:`~edqueue.service.flow`,
:mod:`~edqueue.service.cabinet`, :mod:`~edqueue.service.desk`) each take the core;
:class:`~edqueue.service.ApplicationService` is the facade over them.
"""

from __future__ import annotations

from datetime import datetime

from edqueue.errors import FlowError
from edqueue.models import Application, BenefitCategory, BenefitClaim, BenefitStatus, Iin, Proof
from edqueue.ports import AttemptCounter
from edqueue.rules import PolicyValues, ensure_eligible
from edqueue.service.config import LocalityConfig, Ports
from edqueue.service.drafts import Drafts
from edqueue.service.notifications import Notifications
from edqueue.service.projection import Projection
from edqueue.service.refusals import Refusals
from edqueue.timekeeping import SteadyTime

__all__ = ["Core"]


class Core:
    """The shared state of one service. Building it reads the clock (a naive one raises
    ``time.naive`` here) and rebuilds the queues from the store."""

    def __init__(self, ports: Ports, config: LocalityConfig) -> None:
        self.ports = ports
        self.config = config
        self.time = SteadyTime(ports.clock)
        self.attempts: AttemptCounter = ports.attempt_counter
        self.drafts = Drafts(ports.drafts, config.policy, self.now)
        self.notifications = Notifications(ports.notifier, ports.store, self.now)
        self.projection = Projection(ports.store, config, self.now)
        self.refusals = Refusals(ports.store, config.policy, self.now)

    def now(self) -> datetime:
        """The current instant; never earlier than one already used (SteadyTime)."""
        return self.time.now()

    def values(self, on: datetime) -> PolicyValues:
        """The policy in force on ``on``."""
        return self.config.policy.at(on)

    def claim(
        self,
        category: BenefitCategory,
        child: Iin,
        applicant: Iin,
        document: bytes | None,
        media_type: str,
    ) -> tuple[BenefitClaim, str | None]:
        """A benefit claim (seed, step 3): categories 5-11 checked in the registers at once
        (verified, or ``benefit.not_found``: «Не найдена»); categories 1-4 need a document
        and stay pending. Returns the claim and the stored document's id."""
        now = self.now()
        if category.proof is Proof.DOCUMENT:
            if not document:
                raise FlowError(
                    "benefit.document_missing",
                    f"category {int(category)} needs a document that proves it; upload it",
                )
            document_id = self.ports.documents.put(document, media_type)
            return BenefitClaim(category, BenefitStatus.PENDING, now), document_id
        if not self.ports.benefits.has_benefit(child, applicant, category):
            raise FlowError(
                "benefit.not_found",
                f"the state registers have no record of category {int(category)} "
                "(«Не найдена»); check the category or go on without it",
            )
        return BenefitClaim(category, BenefitStatus.VERIFIED, now, now), None

    def check(self, application: Application, exclude: str | None) -> None:
        """Every eligibility rule at once, against the child's other stored applications
        (but ``exclude``): :class:`~edqueue.errors.IneligibleApplicationError`."""
        others = [
            s.application
            for s in self.ports.store.for_child(application.child.iin)
            if s.application.number != exclude
        ]
        ensure_eligible(
            application,
            self.config.organizations,
            policy=self.config.policy,
            as_of=self.now(),
            active_applications=others,
        )
