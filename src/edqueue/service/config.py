"""What a service is built from: the host's ports (:class:`Ports`) and the locality it
serves (:class:`LocalityConfig`), two frozen values.

Ports are what a host provides (:mod:`edqueue.ports`); the locality's settings are the
organizations, whom the application text is addressed to, the dated policy, the working-day
calendar and the ordering. Keeping them apart lets one host run several localities over the
same ports, and keeps the constructor of :class:`~edqueue.service.ApplicationService` to two
arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Protocol

import attrs

from edqueue.models import Organization
from edqueue.ports import (
    ApplicationRepository,
    AttemptCounter,
    BenefitRegistry,
    Clock,
    ConsentRegistry,
    DocumentStore,
    DraftStore,
    EventLog,
    FamilyRegister,
    IdentityProvider,
    Notifier,
    NumberSequence,
)
from edqueue.rules import (
    KAZAKHSTAN_CALENDAR,
    KAZAKHSTAN_POLICY,
    OrderingPolicy,
    Policy,
    WorkingCalendar,
)
from edqueue.rules.ordering import policy_ordering

__all__ = ["LocalityConfig", "Ports", "Store"]


class Store(ApplicationRepository, EventLog, Protocol):
    """A repository that also keeps the event log (both adapters shipped are one)."""


def _attempts(ports: Ports, _: Any, value: AttemptCounter | None) -> None:
    if value is None and not any(
        isinstance(p, AttemptCounter) for p in (ports.store, ports.drafts)
    ):
        raise TypeError(
            "the service needs an AttemptCounter shared by every process (Ports(attempts=...)); "
            "neither the store nor the drafts store is one"
        )


@attrs.frozen(kw_only=True)
class Ports:
    """Every port the service uses (:mod:`edqueue.ports`), as one frozen value.

    ``attempts`` counts codes sent and wrong codes (:mod:`edqueue.rules.identity`); every
    process serving the same families must share it. ``None`` takes ``store`` or ``drafts``
    when either is an :class:`~edqueue.ports.AttemptCounter`
    (:class:`~edqueue.adapters.sqlite.SqliteStore` is); otherwise construction raises
    ``TypeError``.
    """

    identity: IdentityProvider
    consents: ConsentRegistry
    family: FamilyRegister
    benefits: BenefitRegistry
    documents: DocumentStore
    notifier: Notifier
    clock: Clock
    store: Store
    drafts: DraftStore
    numbers: NumberSequence
    attempts: AttemptCounter | None = attrs.field(default=None, validator=_attempts)

    @property
    def attempt_counter(self) -> AttemptCounter:
        """``attempts``, or the store (or drafts store) that counts attempts."""
        if self.attempts is not None:
            return self.attempts
        for port in (self.store, self.drafts):
            if isinstance(port, AttemptCounter):
                return port
        raise TypeError("no AttemptCounter among the ports")  # refused at construction


def _organizations(value: Iterable[Organization]) -> tuple[Organization, ...]:
    return tuple(value)


def _snapshot_after(_: object, __: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError("snapshot_after must be None or an int of at least 1")


@attrs.frozen(kw_only=True)
class LocalityConfig:
    """The locality a service serves: its ``organizations``, the addressee of the
    application text (``authority``: «Руководителю управления образования г.Шахтинск») and
    the locality as the text writes it (``locality``: «г.Шахтинск»), with the dated
    ``policy``, the working-day ``calendar`` and the queues' ``ordering`` (``None``: the one
    the policy's ``first_priority_ratio_general`` gives, see :meth:`queue_ordering`). The
    snapshot of the locality's queues is kept under the name ``locality``."""

    organizations: tuple[Organization, ...] = attrs.field(converter=_organizations)
    authority: str
    locality: str
    policy: Policy = KAZAKHSTAN_POLICY
    calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR
    ordering: OrderingPolicy | None = None
    snapshot_after: int | None = attrs.field(default=10_000, validator=_snapshot_after)
    """After a start that replayed at least this many records of the log, the service saves
    a snapshot of its queues (when its store is a :class:`~edqueue.ports.SnapshotStore`),
    so the next start replays only what came after (``None``: only when the host calls
    :meth:`~edqueue.service.ApplicationService.save_snapshot`). A snapshot is an
    optimisation, never the truth (:mod:`edqueue.service.snapshot`)."""

    def queue_ordering(self, on: date | datetime) -> OrderingPolicy:
        """The queues' ordering: ``ordering`` if given, else the one the policy in force on
        ``on`` asks for (:func:`~edqueue.rules.policy_ordering`: the standard
        ordering, or first-priority and general interleaved 1:N where a region sets N). The
        service reads it when it rebuilds its queues."""
        if self.ordering is not None:
            return self.ordering
        return policy_ordering(self.policy.at(on).first_priority_ratio_general)
