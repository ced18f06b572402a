"""The one object a host uses: :class:`ApplicationService`, a thin facade over the parts.

Each method hands the call to the part that owns the job (identity and sessions, the flow,
the cabinet, the desk's decisions, notifications); the parts share one
:class:`~edqueue.service.core.Core`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from edqueue.application_text import TextLanguage
from edqueue.journal import Unapplied
from edqueue.models import (
    BenefitCategory,
    Choice,
    Consent,
    GeoPoint,
    GroupKey,
    Iin,
    Organization,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
)
from edqueue.ports import FamilyRecord, StoredApplication
from edqueue.rules import AllocationRound, QueueBook, QueuePosition, ReferralDesk
from edqueue.rules.events import QueueEvent
from edqueue.rules.explain import Explanation
from edqueue.service.cabinet import Cabinet
from edqueue.service.config import LocalityConfig, Ports
from edqueue.service.core import Core
from edqueue.service.desk import DeskDecisions
from edqueue.service.drafts import Draft, purge_expired
from edqueue.service.flow import Flow, Submission
from edqueue.service.identity import BindingOffer, Identity

__all__ = ["ApplicationService"]

_PORTS = frozenset(a.name for a in Ports.__attrs_attrs__)
_CONFIG = {"organizations", "authority", "locality", "policy", "calendar", "ordering"}


class ApplicationService:
    """Every step of the seed's flow and the personal cabinet, over the host's ports.

    Built from two frozen values: ``ports`` (:class:`~edqueue.service.Ports`, every port)
    and ``config`` (:class:`~edqueue.service.LocalityConfig`: the organizations, the
    addressee of the application text, the policy, the calendar, the ordering). Building
    it reads the clock (a naive one raises ``time.naive``), rebuilds the queues from the
    store and logs what differs between ``config.organizations`` and the organizations the
    log holds (:meth:`declare_organizations`; on a new store, every organization).

    **The store is the truth; the queues are its projection**
    (:mod:`edqueue.service.projection`). Refused requests are counted (:attr:`refusals`) and
    logged as one record per ``refusal_log_interval`` (:meth:`flush_refusals`). Time comes
    from :class:`~edqueue.timekeeping.SteadyTime`: it never goes backwards.

    The keyword form of earlier releases (``ApplicationService(identity=..., store=...,
    organizations=..., authority=..., locality=..., ...)``) still works for one release,
    with a :class:`DeprecationWarning`.
    """

    def __init__(
        self, ports: Ports | None = None, config: LocalityConfig | None = None, **legacy: Any
    ) -> None:
        if legacy:
            if ports is not None or config is not None:
                raise TypeError("give Ports and LocalityConfig, or the old keywords, not both")
            unknown = set(legacy) - _PORTS - _CONFIG
            if unknown:
                raise TypeError(f"unknown arguments: {', '.join(sorted(unknown))}")
            warnings.warn(
                "ApplicationService(identity=..., organizations=..., ...) is deprecated: build "
                "it from Ports(...) and LocalityConfig(...) (edqueue.service)",
                DeprecationWarning,
                stacklevel=2,
            )
            ports = Ports(**{k: v for k, v in legacy.items() if k in _PORTS})
            config = LocalityConfig(**{k: v for k, v in legacy.items() if k in _CONFIG})
        if ports is None or config is None:
            raise TypeError("ApplicationService(ports, config) needs both")
        self._core = Core(ports, config)
        self._identity = Identity(self._core)
        self._flow = Flow(self._core, self._identity)
        self._cabinet = Cabinet(self._core)
        self._desk = DeskDecisions(self._core)
        self._desk.declare_organizations(config.organizations, actor="locality")

    @property
    def ports(self) -> Ports:
        """The ports the service runs over."""
        return self._core.ports

    @property
    def config(self) -> LocalityConfig:
        """The locality the service serves."""
        return self._core.config

    @property
    def book(self) -> QueueBook:
        """The live queues (read them; change them only through the service)."""
        return self._core.projection.fresh().book

    @property
    def unapplied(self) -> tuple[Unapplied, ...]:
        """Records of the log the queues could not apply (sequence, kind, error code and
        message), each also logged once as a warning to the ``edqueue`` logger. One bad
        record never stops the service from starting: it serves without it."""
        return tuple(self._core.projection.unapplied)

    @property
    def desk(self) -> ReferralDesk:
        """The referral desk over :attr:`book` (read it; decide through the service)."""
        return self._core.projection.fresh()

    # --- step 0: identify (edqueue.service.identity) --------------------------------------

    def start(self, phone: str | PhoneNumber, *, device: str | None = None) -> Draft:
        """Begin with a phone number in the БМГ; a code goes to the ED24 app if one is bound
        (:meth:`Identity.start <edqueue.service.identity.Identity.start>`)."""
        return self._identity.start(phone, device=device)

    def send_code(self, draft_id: str, *, device: str | None = None) -> Draft:
        """Push a new confirmation code, within the limits on codes sent."""
        return self._identity.send_code(draft_id, device=device)

    def confirm_code(self, draft_id: str, code: str, *, device: str | None = None) -> Draft:
        """Check the code the family typed (limits on wrong codes: ``identity.locked``)."""
        return self._identity.confirm_code(draft_id, code, device=device)

    def request_binding(self, draft_id: str) -> BindingOffer:
        """A one-time password (and QR code) to bind the ED24 app to the number."""
        return self._identity.request_binding(draft_id)

    def bind_app(self, draft_id: str, device_id: str, one_time_password: str) -> Draft:
        """Bind the ED24 app on ``device_id`` (at most one number change in 40 days)."""
        return self._identity.bind_app(draft_id, device_id, one_time_password)

    def sign_in(self, phone: str | PhoneNumber, *, device: str | None = None) -> Draft:
        """Begin a personal-cabinet session: once :meth:`confirm_code` accepts the code,
        the draft's id is the ``session`` of the cabinet's commands for
        ``session_lifetime``, until :meth:`sign_out`."""
        return self._identity.start(phone, device=device)

    def sign_out(self, session: str) -> None:
        """End a cabinet session, or abandon an application in progress: the draft is
        deleted at once. An unknown session is ignored."""
        self._core.drafts.delete(session)

    # --- steps 0-5: the flow (edqueue.service.flow) ----------------------------------------

    def give_consents(
        self, draft_id: str, consents: Iterable[Consent], queue_kind: QueueKind = QueueKind.GENERAL
    ) -> Draft:
        """Both consents, then the queue (general or correctional)."""
        return self._flow.give_consents(draft_id, consents, queue_kind)

    def request_family_access(self, draft_id: str, applicant_iin: str | Iin) -> Draft:
        """«Запросить разрешение на получение состава семьи»: the SMS from 1414 goes out."""
        return self._flow.request_family_access(draft_id, applicant_iin)

    def family(self, draft_id: str) -> FamilyRecord:
        """The applicant's family, once the citizen granted access by SMS."""
        return self._flow.family(draft_id)

    def choose_child(self, draft_id: str, child_iin: str | Iin) -> Draft:
        """Pick the child; the applicant must be its confirmed legal representative."""
        return self._flow.choose_child(draft_id, child_iin)

    def search_organizations(
        self, name: str | None = None, *, near: GeoPoint | None = None, limit: int = 20
    ) -> list[Organization]:
        """Search by name and/or order by distance from ``near``. O(n log n)."""
        return self._flow.search_organizations(name, near=near, limit=limit)

    def choose_organizations(
        self,
        draft_id: str,
        choices: Sequence[Choice],
        referral: ReferralPreference | None = None,
        *,
        pmpk: PmpkConclusion | None = None,
    ) -> Draft:
        """Up to ``max_organizations`` choices, checked against every eligibility rule."""
        return self._flow.choose_organizations(draft_id, choices, referral, pmpk=pmpk)

    def claim_benefit(
        self,
        draft_id: str,
        category: int | BenefitCategory | None,
        document: bytes | None = None,
        media_type: str = "application/pdf",
    ) -> Draft:
        """Claim one benefit (``None`` skips the step)."""
        return self._flow.claim_benefit(draft_id, category, document, media_type)

    def review(self, draft_id: str, language: TextLanguage = "ru") -> str:
        """The application text the citizen signs (seed, step 4), in full."""
        return self._flow.review(draft_id, language)

    def submit(self, draft_id: str, idempotency_key: str) -> Submission:
        """Submit: a number, the queues, a notification; the draft is deleted. A retry with
        the same key from the same draft repeats the first answer; from another draft it
        is refused (``flow.idempotency_key_reused``)."""
        return self._flow.submit(draft_id, idempotency_key)

    # --- the personal cabinet (edqueue.service.cabinet) ------------------------------------

    def position(self, number: str) -> list[QueuePosition]:
        """«Проверка номера очереди»: where an application stands (no personal data)."""
        return self._cabinet.position(number)

    def explain(self, number: str, organization_id: str) -> Explanation:
        """Why the application stands where it does (no personal data). O(log n)."""
        return self._cabinet.explain(number, organization_id)

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
        """Add or replace the benefit later, checked as in :meth:`claim_benefit`."""
        return self._cabinet.add_benefit(
            number,
            category,
            document,
            media_type,
            session=session,
            expected_version=expected_version,
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
        return self._cabinet.change_organizations(
            number, choices, session=session, expected_version=expected_version
        )

    def withdraw(
        self, number: str, *, session: str, expected_version: int | None = None
    ) -> StoredApplication:
        """Withdraw the application; it leaves every queue for good."""
        return self._cabinet.withdraw(number, session=session, expected_version=expected_version)

    def details(self, number: str, *, session: str) -> StoredApplication:
        """The application in full, for the family that may act on it; anyone else gets
        ``access.denied``, which is counted (:attr:`refusals`)."""
        return self._cabinet.details(number, session=session)

    @property
    def refusals(self) -> Mapping[str, int]:
        """How many requests this service refused (``access.denied``) since it started, by
        reason: the counter an operator watches for a flood."""
        return self._core.refusals.counts

    def flush_refusals(self) -> int:
        """Write the refusals counted since the last record as one ``access_denied`` record;
        returns how many it wrote. A host calls it before the process stops."""
        return self._core.refusals.flush()

    # --- the referral desk (edqueue.service.desk) ------------------------------------------

    def free_place(
        self,
        organization_id: str,
        group: GroupKey,
        count: int = 1,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """``count`` places freed in a group; they are offered at once."""
        return self._desk.free_place(organization_id, group, count, at=at, actor=actor)

    def declare_organizations(
        self,
        organizations: Iterable[Organization],
        *,
        at: datetime | None = None,
        actor: str = "locality",
    ) -> list[QueueEvent]:
        """The locality opens organizations or changes their records (groups, capacity,
        free places); the log keeps each change (``organization_changed``), so a restart
        replays to the same queues. The service declares its ``config.organizations`` when
        it is built: a change to the organizations between restarts is logged then."""
        return self._desk.declare_organizations(organizations, at=at, actor=actor)

    def offer_all(self, *, at: datetime | None = None, actor: str = "desk") -> list[QueueEvent]:
        """Offer every group's free places."""
        return self._desk.offer_all(at=at, actor=actor)

    def use_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The child enrolled; the application is ``enrolled``."""
        return self._desk.use_referral(referral_id, at=at, actor=actor)

    def decline_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The family declined: stop list, next in line."""
        return self._desk.decline_referral(referral_id, at=at, actor=actor)

    def extend_referral(
        self,
        referral_id: str,
        deadline: datetime,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """More time to enrol, as the family asked."""
        return self._desk.extend_referral(referral_id, deadline, at=at, actor=actor)

    def confirm_benefit(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The extraordinary benefit behind a referral is confirmed in time."""
        return self._desk.confirm_benefit(referral_id, at=at, actor=actor)

    def advance(self, at: datetime | None = None, *, actor: str = "desk") -> list[QueueEvent]:
        """Apply everything due by ``at`` (default: now)."""
        return self._desk.advance(at, actor=actor)

    def allocate(self, at: datetime | None = None, *, actor: str = "desk") -> AllocationRound:
        """Fill every group's free places at once (комплектование); logged."""
        return self._desk.allocate(at, actor=actor)

    def reconcile(self) -> int:
        """Bring every stored application to the queue state the log gives it; returns how
        many still differ (0 when all agree). O(N)."""
        return self._core.projection.reconcile()

    # --- upkeep ---------------------------------------------------------------------------

    def wait_for_changes(self, timeout: float = 30.0) -> int:
        """Wait until another process writes to the log, or ``timeout`` seconds pass, then
        take in what it wrote; return how many records that was (0: nothing new). What a
        worker loop that keeps other views up to date (a notifier, a screen of the queues)
        calls over and over: over PostgreSQL it wakes at the other process's commit
        (LISTEN/NOTIFY), over SQLite it polls the log, over a store that cannot wait it
        returns at once. Any other call catches up by itself; this one only saves waiting
        for the next one.

        >>> from datetime import datetime
        >>> from edqueue.models import KAZAKHSTAN
        >>> from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
        >>> from edqueue.testing.world import seed_ports
        >>> store = MemoryRepository()
        >>> ports = seed_ports(datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN))
        >>> first = ports.service(store, MemoryDrafts())
        >>> second = ports.service(store, MemoryDrafts())
        >>> _ = first.free_place("shakhtinsk-saltanat", first.book.queue_ids()[0][1])
        >>> second.wait_for_changes(timeout=1.0)
        1
        """
        return self._core.projection.wait(timeout)

    def save_snapshot(self) -> int | None:
        """Save a snapshot of the queues as the log stands now, so that the next start of
        any process over this store replays only the records after it; return the log
        position it covers (``None``: the store keeps no snapshots). O(N): run it from a
        maintenance job (after a night's rounds, or every so many thousand records), not
        inside a family's request. A start that replayed
        :attr:`LocalityConfig.snapshot_after` records or more saves one by itself.

        >>> from datetime import datetime
        >>> from edqueue.models import KAZAKHSTAN
        >>> from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
        >>> from edqueue.testing.world import seed_ports
        >>> store = MemoryRepository()
        >>> ports = seed_ports(datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN))
        >>> service = ports.service(store, MemoryDrafts())
        >>> service.save_snapshot() == len(store.events())
        True
        >>> ports.service(store, MemoryDrafts()).started_from == len(store.events())
        True
        """
        return self._core.projection.save_snapshot()

    @property
    def started_from(self) -> int:
        """The log position the queues were last started from: the snapshot's, or 0 when
        the whole log was replayed."""
        return self._core.projection.started_from

    def retry_notifications(self) -> int:
        """Send again every notification that failed and has not been sent since."""
        return self._core.notifications.retry()

    def purge_drafts(self) -> int:
        """Delete every draft past its lifetime (and drafts stored before drafts expired),
        and forget counted attempts older than every window (:func:`purge_expired`)."""
        return purge_expired(
            self._core.ports.drafts,
            self._core.attempts,
            now=self._core.now(),
            policy=self._core.config.policy,
        )

    def _draft(self, draft_id: str) -> Draft:
        """The draft (for tests): ``flow.unknown_draft`` if unknown or expired."""
        return self._core.drafts.load(draft_id)
