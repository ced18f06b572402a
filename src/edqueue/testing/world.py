"""A ready in-memory world for tests and the demo: every port in memory, and the service
built over them (issue 16: the factory lives here, so no adapter imports the service).

:func:`seed_ports` gives the seed's world (the applicant's number in the БМГ with the ED24
app, the family with the seed's child, every SMS from 1414 granted); :func:`memory_ports`
an empty one; :meth:`MemoryPorts.service` the :class:`~edqueue.service.ApplicationService`
over them and the stores a test gives.

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
>>> ports = seed_ports(datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN))
>>> service = ports.service(MemoryRepository(), MemoryDrafts())
>>> service.start("+7 701 000 00 01").code_sent
True
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from edqueue.adapters.memory import (
    ManualClock,
    MemoryBenefitRegistry,
    MemoryConsents,
    MemoryDocuments,
    MemoryFamilyRegister,
    MemoryIdentity,
    MemoryNotifier,
    MemoryNumbers,
)
from edqueue.adapters.memory_store import MemoryAttempts
from edqueue.models import LegalRepresentativeStatus, Organization
from edqueue.ports import (
    AccessAnswer,
    AttemptCounter,
    DraftStore,
    FamilyMember,
    FamilyRecord,
    NumberSequence,
)
from edqueue.rules import KAZAKHSTAN_POLICY, Policy
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.service import ApplicationService, LocalityConfig, Ports, Store

__all__ = ["MemoryPorts", "memory_ports", "seed_ports"]


@attrs.frozen
class MemoryPorts:
    """Every non-storage port in memory, as one bundle for the service's tests and the demo."""

    identity: MemoryIdentity
    consents: MemoryConsents
    family: MemoryFamilyRegister
    benefits: MemoryBenefitRegistry
    documents: MemoryDocuments
    notifier: MemoryNotifier
    clock: ManualClock
    numbers: MemoryNumbers
    attempts: MemoryAttempts = attrs.field(factory=MemoryAttempts)
    """The counts of codes sent and wrong codes, shared by every service built here (the
    in-memory stand-in for a store that all processes share)."""

    def service(
        self,
        store: Store,
        drafts: DraftStore,
        *,
        numbers: NumberSequence | None = None,
        organizations: Iterable[Organization] | None = None,
        authority: str = "Руководителю управления образования г.Шахтинск",
        locality: str = "г.Шахтинск",
        policy: Policy = KAZAKHSTAN_POLICY,
        snapshot_after: int | None = 10_000,
    ) -> ApplicationService:
        """An :class:`~edqueue.service.ApplicationService` over these ports and the given
        stores; by default the seed's organizations and addressee (Shakhtinsk), and a
        snapshot of the queues after a start that replayed ``snapshot_after`` records
        (:class:`~edqueue.service.LocalityConfig`). Attempts
        are counted in ``store`` when it can (SQLite), else in :attr:`attempts`."""
        ports = Ports(
            identity=self.identity,
            consents=self.consents,
            family=self.family,
            benefits=self.benefits,
            documents=self.documents,
            notifier=self.notifier,
            clock=self.clock,
            store=store,
            drafts=drafts,
            numbers=numbers or self.numbers,
            attempts=None if isinstance(store, AttemptCounter) else self.attempts,
        )
        config = LocalityConfig(
            organizations=shakhtinsk_organizations() if organizations is None else organizations,
            authority=authority,
            locality=locality,
            policy=policy,
            snapshot_after=snapshot_after,
        )
        return ApplicationService(ports, config)


def memory_ports(*, now: datetime) -> MemoryPorts:
    """Fresh adapters with empty registers, the clock at ``now`` and numbers from 1292583."""
    return MemoryPorts(
        identity=MemoryIdentity(),
        consents=MemoryConsents(),
        family=MemoryFamilyRegister(),
        benefits=MemoryBenefitRegistry(),
        documents=MemoryDocuments(),
        notifier=MemoryNotifier(),
        clock=ManualClock(now),
        numbers=MemoryNumbers(),
    )


def seed_ports(now: datetime) -> MemoryPorts:
    """Adapters preloaded with the seed's world (:func:`edqueue.sample.seed_application`).

    The applicant's phone is in the БМГ with the ED24 app (step 0); the family register has
    the applicant's name and the seed's child, status confirmed, and every SMS from 1414 is
    granted at once (step 1). No benefit records: the seed has none (step 3).
    """
    seed = seed_application()
    applicant = seed.applicant
    return MemoryPorts(
        identity=MemoryIdentity(
            [applicant.phone], [applicant.phone], owners={applicant.phone: applicant.iin}
        ),
        consents=MemoryConsents(AccessAnswer.GRANTED),
        family=MemoryFamilyRegister(
            [
                FamilyRecord(
                    applicant.iin,
                    applicant.name,
                    (FamilyMember(seed.child, LegalRepresentativeStatus.CONFIRMED),),
                )
            ]
        ),
        benefits=MemoryBenefitRegistry(),
        documents=MemoryDocuments(),
        notifier=MemoryNotifier(),
        clock=ManualClock(now),
        numbers=MemoryNumbers(),
    )
