"""The portal's application flow (seed, steps 0-5) as a service over ports.

:class:`ApplicationService` is written only against :mod:`edqueue.ports`, so any host (a
government portal, a mobile backend, a regional system) plugs in its own identity, consent,
register, notification and storage services. Each step is one method; between steps the
flow's state is a :class:`Draft` kept in the host's :class:`~edqueue.ports.DraftStore`, so
the flow survives a restart of the process.

The steps and their rules, with their sources:

0. **Identify** (seed, step 0): the phone number must be in the БМГ; a confirmation code is
   pushed to the ED24 app bound to it, lives ``confirmation_code_lifetime`` and allows
   ``confirmation_code_attempts`` wrong tries (dated policy); codes sent and wrong codes are
   counted per number and per client device over rolling windows in the store every
   process shares, and past a limit the number is locked (:mod:`edqueue.rules.identity`,
   ``identity.locked``); a number with no app gets a one-time password to bind one, and a
   device may switch to another number at most once in ``device_number_change_interval``
   (40 days). Both consents (notifications, offer agreement) come before anything else.
1. **Parent and child** (step 1): access to the family data is asked by SMS from 1414; the
   family is read only after the citizen grants it; the child is picked from the family,
   and the applicant's legal-representative status towards it must be confirmed.
2. **Organizations** (step 2): searched by name or by distance from a point; up to
   ``max_organizations``; the group of each follows from the child's birth year, the
   language and the queue kind.
3. **Benefit** (step 3, may be skipped or added later in the cabinet): first-priority
   categories are checked against the registers at once (verified, or «Не найдена»);
   extraordinary ones need a document and stay pending until a reviewer decides.
4. **Review** (step 4): the application text (:mod:`edqueue.application_text`).
5. **Submit** (step 5): eligibility, a number, the queues; a retried submission with the
   same idempotency key from the same draft returns the same number and creates nothing
   twice; the key from another draft is refused (``flow.idempotency_key_reused``). The
   draft, which holds IINs and a phone number in clear, is deleted.

Drafts live ``draft_lifetime`` after their last step, then are deleted (:meth:`purge_drafts`
for a store that holds old ones). Time comes from :class:`~edqueue.timekeeping.SteadyTime`:
instants never go backwards, so a clock that steps back changes neither the order of
submissions nor a code's lifetime.

The personal cabinet: the position by number (no personal data), a benefit added later,
other organizations, withdrawal; each with optimistic concurrency (``storage.conflict``).

Every command either applies completely or raises an :class:`~edqueue.errors.EdqueueError`
and changes nothing, with one deliberate exception: a wrong confirmation code counts
against the attempts. A port that fails raises :class:`~edqueue.errors.PortError` before
anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import attrs

from edqueue.application_text import TextLanguage, render_application_text
from edqueue.errors import (
    AccessError,
    EdqueueError,
    FlowError,
    LockedError,
    PortError,
    QueueError,
    StorageError,
)
from edqueue.journal import catch_up, is_queue_record, to_record
from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Choice,
    Consent,
    GeoPoint,
    GroupKey,
    Iin,
    Language,
    LegalRepresentativeStatus,
    Organization,
    PhoneNumber,
    PmpkConclusion,
    Proof,
    QueueKind,
    ReferralPreference,
    require_aware,
)
from edqueue.models.instants import later
from edqueue.ports import (
    AccessAnswer,
    ApplicationRepository,
    AttemptCounter,
    AttemptLimit,
    BenefitRegistry,
    Clock,
    ConsentRegistry,
    DeviceBinding,
    DocumentStore,
    DraftStore,
    EventLog,
    EventRecord,
    FamilyMember,
    FamilyRecord,
    FamilyRegister,
    IdentityProvider,
    Message,
    Notifier,
    NumberSequence,
    StoredApplication,
)
from edqueue.rules import (
    KAZAKHSTAN_CALENDAR,
    KAZAKHSTAN_POLICY,
    AllocationRound,
    OrderingPolicy,
    Policy,
    QueueBook,
    QueuePosition,
    ReferralDesk,
    WorkingCalendar,
    ensure_eligible,
    policy_date,
)
from edqueue.rules.events import ApplicationSubmitted, BenefitChanged, QueueEvent
from edqueue.rules.explain import Explanation
from edqueue.rules.identity import CODE_DIGITS, Limit, code_guess_limits, code_send_limits, minutes
from edqueue.timekeeping import SteadyTime

__all__ = [
    "ApplicationService",
    "BindingOffer",
    "Draft",
    "Store",
    "Submission",
    "purge_expired",
]

_T = TypeVar("_T")


class Store(ApplicationRepository, EventLog, Protocol):
    """A repository that also keeps the event log (both adapters shipped are one)."""


REQUIRED_CONSENTS = frozenset({Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT})
"""Seed, step 0: both boxes must be ticked before «Встать в очередь»."""


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _time(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@attrs.frozen(kw_only=True)
class Draft:
    """An application in progress: what the flow has gathered so far (its state).

    Secrets (the confirmation code, the binding password) are kept only as salted digests;
    the wrong guesses of a code are counted in the store (:class:`~edqueue.ports.AttemptCounter`,
    under ``code_id``), not in the draft, so processes guessing at once lose no count.
    The ``repr`` shows the progress, never personal data.
    """

    id: str
    phone: PhoneNumber
    queue_kind: QueueKind = QueueKind.GENERAL
    salt: str = attrs.field(factory=lambda: secrets.token_hex(8), repr=False)
    code_digest: str | None = attrs.field(default=None, repr=False)
    code_sent_at: datetime | None = None
    code_id: str | None = attrs.field(default=None, repr=False)
    binding_digest: str | None = attrs.field(default=None, repr=False)
    binding_offered_at: datetime | None = None
    confirmed_at: datetime | None = None
    consents: frozenset[Consent] = frozenset()
    applicant_iin: Iin | None = None
    access_request: str | None = attrs.field(default=None, repr=False)
    child_iin: Iin | None = None
    choices: tuple[Choice, ...] = ()
    referral: ReferralPreference = attrs.field(factory=ReferralPreference.immediately)
    benefit: BenefitClaim | None = None
    benefit_document: str | None = attrs.field(default=None, repr=False)
    pmpk: PmpkConclusion | None = attrs.field(default=None, repr=False)
    submitted_number: str | None = None

    @property
    def code_sent(self) -> bool:
        """Whether a confirmation code waits to be entered."""
        return self.code_digest is not None

    def to_data(self) -> dict[str, object]:
        """The draft as a JSON-ready mapping (for a :class:`~edqueue.ports.DraftStore`)."""
        claim = self.benefit
        return {
            "id": self.id,
            "phone": self.phone.reveal(),
            "queue_kind": self.queue_kind.value,
            "salt": self.salt,
            "code_digest": self.code_digest,
            "code_sent_at": _iso(self.code_sent_at),
            "code_id": self.code_id,
            "binding_digest": self.binding_digest,
            "binding_offered_at": _iso(self.binding_offered_at),
            "confirmed_at": _iso(self.confirmed_at),
            "consents": sorted(c.value for c in self.consents),
            "applicant_iin": None if self.applicant_iin is None else self.applicant_iin.reveal(),
            "access_request": self.access_request,
            "child_iin": None if self.child_iin is None else self.child_iin.reveal(),
            "choices": [[c.organization_id, c.language.code] for c in self.choices],
            "referral": [self.referral.timing.value, _iso(self.referral.desired_date)],
            "benefit": None
            if claim is None
            else [
                int(claim.category),
                claim.status.value,
                _iso(claim.claimed_at),
                _iso(claim.decided_at),
            ],
            "benefit_document": self.benefit_document,
            "pmpk": None
            if self.pmpk is None
            else [self.pmpk.number, self.pmpk.issued_on.isoformat()],
            "submitted_number": self.submitted_number,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Draft:
        """The draft :meth:`to_data` wrote. Raises ``flow.unknown_draft`` if unreadable."""
        try:
            timing, desired = data["referral"]
            benefit = data["benefit"]
            pmpk = data["pmpk"]
            return cls(
                id=data["id"],
                phone=PhoneNumber(data["phone"]),
                queue_kind=QueueKind(data["queue_kind"]),
                salt=data["salt"],
                code_digest=data["code_digest"],
                code_sent_at=_time(data["code_sent_at"]),
                code_id=data.get("code_id"),
                binding_digest=data["binding_digest"],
                binding_offered_at=_time(data["binding_offered_at"]),
                confirmed_at=_time(data["confirmed_at"]),
                consents=frozenset(Consent(c) for c in data["consents"]),
                applicant_iin=None if data["applicant_iin"] is None else Iin(data["applicant_iin"]),
                access_request=data["access_request"],
                child_iin=None if data["child_iin"] is None else Iin(data["child_iin"]),
                choices=tuple(Choice(o, Language(code)) for o, code in data["choices"]),
                referral=ReferralPreference(
                    timing, None if desired is None else date.fromisoformat(desired)
                ),
                benefit=None
                if benefit is None
                else BenefitClaim(
                    BenefitCategory(benefit[0]),
                    BenefitStatus(benefit[1]),
                    _time(benefit[2]),
                    _time(benefit[3]),
                ),
                benefit_document=data["benefit_document"],
                pmpk=None if pmpk is None else PmpkConclusion(pmpk[0], date.fromisoformat(pmpk[1])),
                submitted_number=data.get("submitted_number"),
            )
        except (KeyError, TypeError, ValueError, EdqueueError):
            raise FlowError(
                "flow.unknown_draft", "the stored draft cannot be read; start the flow again"
            ) from None


_EXPIRED = datetime(1970, 1, 1, tzinfo=KAZAKHSTAN)


def _expiry(data: Mapping[str, object]) -> datetime:
    """When a stored draft expires; long ago if it carries no readable expiry (drafts
    written before drafts expired)."""
    try:
        expires = datetime.fromisoformat(str(data["expires_at"]))
    except (KeyError, ValueError):
        return _EXPIRED
    return _EXPIRED if expires.tzinfo is None else expires


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@attrs.frozen
class BindingOffer:
    """What the portal shows to bind the ED24 app to a number (seed, step 0): a one-time
    password (shown as «7345 5323 7173») and the same secret as a QR code's payload."""

    one_time_password: str = attrs.field(repr=False)
    qr_payload: str = attrs.field(repr=False)
    expires_at: datetime


@attrs.frozen
class Submission:
    """A submitted application's number («Заявлению присвоен номер: #1292583») and what
    happened; ``repeated`` is true when a retried submission found the first one."""

    number: str
    events: tuple[EventRecord, ...]
    repeated: bool = False


_MESSAGES: dict[str, tuple[str, str]] = {
    "application_submitted": (
        "Ваше заявление успешно направлено в систему Единой Очередности! Заявлению присвоен "
        "номер: #{number}",
        "Өтінішіңіз Бірыңғай кезек жүйесіне сәтті жіберілді! Өтінішке берілген нөмір: #{number}",
    ),
    "application_withdrawn": (
        "Заявление #{number} отозвано",
        "#{number} өтініш кері қайтарылды",
    ),
    "choices_changed": (
        "В заявлении #{number} изменены дошкольные организации",
        "#{number} өтініштегі мектепке дейінгі ұйымдар өзгертілді",
    ),
    "benefit_changed": (
        "Сведения о льготе в заявлении #{number} изменены: {reason}",
        "#{number} өтініштегі жеңілдік туралы мәліметтер өзгертілді: {reason}",
    ),
}


class ApplicationService:
    """Every step of the seed's flow and the personal cabinet, over the host's ports.

    ``organizations`` are those of the locality the service serves; ``authority`` is whom
    the application text is addressed to («Руководителю управления образования
    г.Шахтинск») and ``locality`` the locality as the text writes it («г.Шахтинск»).

    **The store is the truth; the queues are its projection.** Every queue event of a
    command (:mod:`edqueue.rules.events`), and every decision of the referral desk run
    through the service (:meth:`free_place`, :meth:`offer_all`, :meth:`use_referral`,
    :meth:`decline_referral`, :meth:`advance`, :meth:`allocate`, ...), is written to the
    store's log as a journal record (:mod:`edqueue.journal`) in the same transaction as the
    application it changes. At construction, and after any command that fails, the queues
    and the desk are rebuilt from the store alone (:func:`edqueue.journal.rebuild_desk`):
    O(N + E) plus the replayed commands. Run the desk's decisions from one process: two
    desks deciding at once could both give away the same free place.

    ``attempts`` counts codes sent and wrong codes (:mod:`edqueue.rules.identity`); every
    process serving the same families must share it. By default it is ``store`` or
    ``drafts`` when either implements :class:`~edqueue.ports.AttemptCounter`
    (:class:`~edqueue.adapters.sqlite.SqliteStore` does); otherwise pass one. ``clock`` is
    read at construction: a naive one raises ``time.naive`` there.

    Refused requests (``access.denied``) are counted (:attr:`refusals`) and written to the
    log as one record per ``refusal_log_interval`` (:meth:`flush_refusals`), so a flood of
    refusals cannot grow the log.
    """

    def __init__(
        self,
        *,
        identity: IdentityProvider,
        consents: ConsentRegistry,
        family: FamilyRegister,
        benefits: BenefitRegistry,
        documents: DocumentStore,
        notifier: Notifier,
        clock: Clock,
        store: Store,
        drafts: DraftStore,
        numbers: NumberSequence,
        organizations: Iterable[Organization],
        authority: str,
        locality: str,
        policy: Policy = KAZAKHSTAN_POLICY,
        calendar: WorkingCalendar = KAZAKHSTAN_CALENDAR,
        ordering: OrderingPolicy | None = None,
        attempts: AttemptCounter | None = None,
    ) -> None:
        self._time = SteadyTime(clock)  # raises time.naive for a naive clock, now
        if attempts is None:
            attempts = next((p for p in (store, drafts) if isinstance(p, AttemptCounter)), None)
        if attempts is None:
            raise TypeError(
                "the service needs an AttemptCounter shared by every process (attempts=...); "
                "neither the store nor the drafts store is one"
            )
        self._attempts: AttemptCounter = attempts
        self._refusal_lock = threading.Lock()
        self._refused: Counter[str] = Counter()  # every refusal since the start, by reason
        self._unwritten: Counter[str] = Counter()  # those not yet in the log
        self._unwritten_numbers: set[str | None] = set()
        self._refusals_written_at: datetime | None = None
        self._identity = identity
        self._consents = consents
        self._family = family
        self._benefits = benefits
        self._documents = documents
        self._notifier = notifier
        self._clock = clock
        self._store = store
        self._drafts = drafts
        self._numbers = numbers
        self._organizations = tuple(organizations)
        self._authority = authority
        self._locality = locality
        self._policy = policy
        self._calendar = calendar
        self._ordering = ordering
        self._unlogged: list[EventRecord] = []  # notification failures the store refused
        self._seen = 0  # the last record of the log the desk has taken in
        self._desk = self._rebuild()
        self._stale = False

    @property
    def book(self) -> QueueBook:
        """The live queues (read them; change them only through the service)."""
        return self._fresh().book

    @property
    def desk(self) -> ReferralDesk:
        """The referral desk over :attr:`book` (read it; decide through the service)."""
        return self._fresh()

    def _rebuild(self) -> ReferralDesk:
        """The desk rebuilt from the store alone (:func:`edqueue.journal.rebuild_desk`)."""
        book = QueueBook(self._organizations, ordering=self._ordering)
        desk = ReferralDesk(book, policy=self._policy, calendar=self._calendar)
        self._seen = catch_up(desk, self._store)
        return desk

    def _fresh(self) -> ReferralDesk:
        """The desk as the log stands now: rebuilt if a failed command left it unsure, else
        caught up with what other processes wrote since (O(records since))."""
        if self._stale:
            self._desk = self._rebuild()
            self._stale = False
        else:
            self._seen = catch_up(self._desk, self._store, after=self._seen)
        return self._desk

    def _written(self, records: Sequence[EventRecord]) -> None:
        """After a write: take the log's new records in. If they are exactly ours, the desk
        already holds them; if another process wrote queue records meanwhile, our command
        was decided on an older desk, so the desk is rebuilt at the next call."""
        try:
            new = self._store.events(self._seen)
        except PortError:
            self._stale = True
            return
        theirs = [(r.kind, r.number, dict(r.data)) for r in new if is_queue_record(r)]
        if theirs == [(r.kind, r.number, dict(r.data)) for r in records]:
            self._seen = new[-1].sequence if new else self._seen
        else:
            self._stale = True

    def _now(self) -> datetime:
        """The current instant; never earlier than one already used (SteadyTime)."""
        return self._time.now()

    # --- step 0: identify -------------------------------------------------------------------

    def start(self, phone: str | PhoneNumber, *, device: str | None = None) -> Draft:
        """Begin with a phone number: it must be in the БМГ; if an ED24 app is bound to it,
        a confirmation code is pushed at once (``draft.code_sent``), otherwise the family
        binds an app first (:meth:`request_binding`, :meth:`bind_app`).

        ``device`` is the host's id of the client asking (an app installation, a browser,
        an address): codes are limited per number and per device
        (:mod:`edqueue.rules.identity`); past a limit, :class:`~edqueue.errors.LockedError`
        (``identity.locked``) says until when."""
        number = phone if isinstance(phone, PhoneNumber) else PhoneNumber(phone)
        if not self._identity.in_mobile_register(number):
            raise FlowError(
                "identity.not_in_bmg",
                "this number is not in the БМГ (register of mobile citizens); register it "
                "at a ЦОН or on egov.kz, then start again",
            )
        draft = Draft(id=secrets.token_urlsafe(16), phone=number)
        if self._identity.app_bound(number):
            draft = self._push_code(draft, device)
        self._save(draft)
        return draft

    def send_code(self, draft_id: str, *, device: str | None = None) -> Draft:
        """Push a new confirmation code to the ED24 app (the old one stops working), within
        the limits on codes sent (see :meth:`start`)."""
        draft = self._draft(draft_id)
        if not self._identity.app_bound(draft.phone):
            raise FlowError(
                "identity.app_not_bound",
                "no ED24 app is bound to this number; install ED24 and bind it with the "
                "one-time password or QR code (request_binding)",
            )
        draft = self._push_code(draft, device)
        self._save(draft)
        return draft

    def _push_code(self, draft: Draft, device: str | None) -> Draft:
        now = self._now()
        limits = code_send_limits(self._policy.at(now), draft.phone, device)
        self._take(secrets.token_hex(16), now, limits, "confirmation codes were asked for")
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        self._identity.push_code(draft.phone, code)
        return attrs.evolve(
            draft,
            code_digest=_digest(draft.salt, code),
            code_sent_at=now,
            code_id=secrets.token_hex(16),
        )

    def _take(self, token: str, now: datetime, limits: Sequence[Limit], what: str) -> list[int]:
        """Count one attempt under every limit, atomically in the store; raise
        ``identity.locked`` (a phone or device limit) or ``identity.code_attempts`` (the
        code's own) if one is full. Returns the counts, this attempt included."""
        tally = self._attempts.take(
            token, now, [AttemptLimit(limit.key, limit.limit, limit.window) for limit in limits]
        )
        if tally.refused is None:
            return list(tally.counts)
        limit = limits[tally.refused]
        if limit.scope == "code":
            raise FlowError("identity.code_attempts", "too many wrong codes; ask for a new one")
        until = now if tally.until is None else tally.until
        raise LockedError(
            "identity.locked",
            f"too many {what} for this {'phone number' if limit.scope == 'phone' else 'device'}"
            f"; it is locked until {until.astimezone(KAZAKHSTAN):%d.%m.%Y %H:%M} "
            "(Kazakhstan time): wait until then",
            until,
        )

    def confirm_code(self, draft_id: str, code: str, *, device: str | None = None) -> Draft:
        """Check the code the family typed. It works once, within its lifetime, and only
        ``confirmation_code_attempts`` wrong codes are allowed; each wrong one counts, for
        the code, the number and the device (:mod:`edqueue.rules.identity`), atomically
        across processes. Past a number's or device's limit every code is refused, the
        right one too (``identity.locked``)."""
        draft = self._draft(draft_id)
        now = self._now()
        values = self._policy.at(now)
        if draft.code_digest is None or draft.code_sent_at is None:
            raise FlowError("flow.step", "ask for a confirmation code first (send_code)")
        if now >= self._calendar.deadline(draft.code_sent_at, values.confirmation_code_lifetime):
            raise FlowError("identity.code_expired", "the code has expired; ask for a new one")
        code_id = draft.code_id or f"{draft.id}:{draft.code_sent_at.isoformat()}"
        limits = code_guess_limits(values, draft.phone, device, code_id)
        token = secrets.token_hex(16)
        counts = self._take(token, now, limits, "wrong codes")
        if not hmac.compare_digest(draft.code_digest, _digest(draft.salt, str(code).strip())):
            left = limits[0].limit - counts[0]
            raise FlowError(
                "identity.code_wrong",
                f"the code does not match; {left} attempt(s) left"
                if left
                else "the code does not match; ask for a new one",
            )
        self._attempts.release(token)  # only wrong codes count
        draft = attrs.evolve(draft, code_digest=None, code_id=None, confirmed_at=now)
        self._save(draft)
        return draft

    def request_binding(self, draft_id: str) -> BindingOffer:
        """A one-time password (and QR code) to bind the ED24 app to the draft's number,
        valid ``binding_password_lifetime``."""
        draft = self._draft(draft_id)
        now = self._now()
        password = " ".join(f"{secrets.randbelow(10_000):04d}" for _ in range(3))
        expires = self._calendar.deadline(now, self._policy.at(now).binding_password_lifetime)
        self._save(
            attrs.evolve(
                draft,
                binding_digest=_digest(draft.salt, password.replace(" ", "")),
                binding_offered_at=now,
            )
        )
        return BindingOffer(password, f"ed24-bind:{draft.id}:{password.replace(' ', '')}", expires)

    def bind_app(self, draft_id: str, device_id: str, one_time_password: str) -> Draft:
        """The ED24 app on ``device_id`` entered the one-time password: bind it to the
        number. A device may switch to another number at most once in
        ``device_number_change_interval`` (seed: «не чаще, чем один раз в 40 дней»)."""
        draft = self._draft(draft_id)
        now = self._now()
        values = self._policy.at(now)
        typed = "".join(str(one_time_password).split())
        if (
            draft.binding_digest is None
            or draft.binding_offered_at is None
            or now
            >= self._calendar.deadline(draft.binding_offered_at, values.binding_password_lifetime)
            or not hmac.compare_digest(draft.binding_digest, _digest(draft.salt, typed))
        ):
            raise FlowError(
                "identity.binding_invalid",
                "the one-time password is wrong or expired; ask for a new one",
            )
        current = self._identity.binding(device_id)
        if current is not None and current.phone != draft.phone:
            allowed = self._calendar.deadline(
                current.bound_at, values.device_number_change_interval
            )
            if now < allowed:
                raise FlowError(
                    "identity.device_recently_bound",
                    "this device switched numbers less than "
                    f"{values.device_number_change_interval} ago; it may switch again from "
                    f"{allowed:%d.%m.%Y %H:%M}",
                )
        self._identity.bind(DeviceBinding(device_id, draft.phone, now))
        draft = attrs.evolve(draft, binding_digest=None, binding_offered_at=None)
        self._save(draft)
        return draft

    def give_consents(
        self,
        draft_id: str,
        consents: Iterable[Consent],
        queue_kind: QueueKind = QueueKind.GENERAL,
    ) -> Draft:
        """Both consents, then the queue («Встать в общеобразовательную очередь» or
        «... коррекционную очередь»). The number must be confirmed first."""
        draft = self._confirmed(draft_id)
        given = frozenset(Consent(c) for c in consents)
        missing = REQUIRED_CONSENTS - given
        if missing:
            raise FlowError(
                "consent.missing",
                "both consents are needed to go on (notifications and the offer agreement); "
                "missing: " + ", ".join(sorted(c.value for c in missing)),
            )
        draft = attrs.evolve(draft, consents=given, queue_kind=QueueKind(queue_kind))
        self._save(draft)
        return draft

    # --- step 1: parent and child -------------------------------------------------------------

    def request_family_access(self, draft_id: str, applicant_iin: str | Iin) -> Draft:
        """«Запросить разрешение на получение состава семьи»: the SMS from 1414 goes out."""
        draft = self._consented(draft_id)
        applicant = applicant_iin if isinstance(applicant_iin, Iin) else Iin(applicant_iin)
        if self._identity.owner(draft.phone) != applicant:
            raise self._denied(None, "the phone number is not the applicant's in the БМГ")
        request = self._consents.request_access(applicant, draft.phone)
        draft = attrs.evolve(draft, applicant_iin=applicant, access_request=request, child_iin=None)
        self._save(draft)
        return draft

    def family(self, draft_id: str) -> FamilyRecord:
        """The applicant's family, once the citizen granted access by SMS. Raises
        ``consent.pending`` while there is no answer and ``consent.refused`` after a no."""
        return self._family_of(self._consented(draft_id))

    def _family_of(self, draft: Draft) -> FamilyRecord:
        if draft.access_request is None or draft.applicant_iin is None:
            raise FlowError("flow.step", "request access to the family data first")
        answer = self._consents.access_answer(draft.access_request)
        if answer is AccessAnswer.REFUSED:
            raise FlowError(
                "consent.refused",
                "access to the family data was refused by SMS; request it again if that "
                "was a mistake",
            )
        if answer is not AccessAnswer.GRANTED:
            raise FlowError(
                "consent.pending", "the SMS from 1414 has no answer yet; answer it to go on"
            )
        record = self._family.family(draft.applicant_iin)
        if record is None:
            raise FlowError(
                "family.child_not_found",
                "the family register has no family for this IIN; check the IIN",
            )
        return record

    def choose_child(self, draft_id: str, child_iin: str | Iin) -> Draft:
        """Pick the child from the family; the applicant must be its confirmed legal
        representative («Статус законного представителя: подтвержден»)."""
        draft = self._consented(draft_id)
        wanted = child_iin if isinstance(child_iin, Iin) else Iin(child_iin)
        member = self._member(draft, wanted)
        if member.status is not LegalRepresentativeStatus.CONFIRMED:
            raise FlowError(
                "family.not_legal_representative",
                "the register does not confirm the applicant as the child's legal "
                "representative; only a confirmed legal representative may apply",
            )
        draft = attrs.evolve(draft, child_iin=wanted)
        self._save(draft)
        return draft

    def _member(self, draft: Draft, child: Iin) -> FamilyMember:
        for member in self._family_of(draft).children:
            if member.child.iin == child:
                return member
        raise FlowError(
            "family.child_not_found",
            "this child is not in the applicant's family; pick a child from the list",
        )

    # --- step 2: organizations ----------------------------------------------------------------

    def search_organizations(
        self, name: str | None = None, *, near: GeoPoint | None = None, limit: int = 20
    ) -> list[Organization]:
        """Search by name (any part, any case, Russian or Kazakh) and/or order by distance
        from ``near`` (nearest first; organizations without a location last). O(n log n)."""
        found = list(self._organizations)
        if name:
            needle = name.casefold()
            found = [
                o
                for o in found
                if needle in o.name.ru.casefold() or needle in (o.name.kk or "").casefold()
            ]
        if near is not None:
            found.sort(
                key=lambda o: (
                    o.location is None,
                    near.distance_km(o.location) if o.location else 0,
                )
            )
        else:
            found.sort(key=lambda o: o.name.ru)
        return found[: max(limit, 0)]

    def choose_organizations(
        self,
        draft_id: str,
        choices: Sequence[Choice],
        referral: ReferralPreference | None = None,
        *,
        pmpk: PmpkConclusion | None = None,
    ) -> Draft:
        """Up to ``max_organizations`` choices in order of preference, when to refer, and
        (for the correctional queue) the ПМПК conclusion. Checked against every eligibility
        rule at once (:class:`~edqueue.errors.IneligibleApplicationError`)."""
        draft = self._consented(draft_id)
        if draft.child_iin is None:
            raise FlowError("flow.step", "choose the child first")
        changed = attrs.evolve(
            draft,
            choices=tuple(choices),
            referral=referral or ReferralPreference.immediately(),
            pmpk=pmpk,
        )
        self._check(self._tentative(changed), exclude=None)
        self._save(changed)
        return changed

    # --- step 3: benefit ---------------------------------------------------------------------

    def claim_benefit(
        self,
        draft_id: str,
        category: int | BenefitCategory | None,
        document: bytes | None = None,
        media_type: str = "application/pdf",
    ) -> Draft:
        """Claim one benefit (``None`` skips the step). Categories 5-11 are checked in the
        registers at once (verified, or ``benefit.not_found``: «Не найдена»); categories
        1-4 need a document and stay pending until a reviewer decides."""
        draft = self._consented(draft_id)
        child, applicant = draft.child_iin, draft.applicant_iin
        if child is None or applicant is None:
            raise FlowError("flow.step", "choose the child first")
        if category is None:
            draft = attrs.evolve(draft, benefit=None, benefit_document=None)
        else:
            claim, document_id = self._claim(
                BenefitCategory(category), child, applicant, document, media_type
            )
            draft = attrs.evolve(draft, benefit=claim, benefit_document=document_id)
        self._save(draft)
        return draft

    def _claim(
        self,
        category: BenefitCategory,
        child: Iin,
        applicant: Iin,
        document: bytes | None,
        media_type: str,
    ) -> tuple[BenefitClaim, str | None]:
        now = self._now()
        if category.proof is Proof.DOCUMENT:
            if not document:
                raise FlowError(
                    "benefit.document_missing",
                    f"category {int(category)} needs a document that proves it; upload it",
                )
            document_id = self._documents.put(document, media_type)
            return BenefitClaim(category, BenefitStatus.PENDING, now), document_id
        if not self._benefits.has_benefit(child, applicant, category):
            raise FlowError(
                "benefit.not_found",
                f"the state registers have no record of category {int(category)} "
                "(«Не найдена»); check the category or go on without it",
            )
        return BenefitClaim(category, BenefitStatus.VERIFIED, now, now), None

    # --- step 4 and 5: review and submit ----------------------------------------------------------

    def review(self, draft_id: str, language: TextLanguage = "ru") -> str:
        """The application text the citizen signs (seed, step 4), in full."""
        draft = self._ready(draft_id)
        application = self._tentative(draft)
        return render_application_text(
            application,
            self._organizations,
            authority=self._authority,
            locality=self._locality,
            language=language,
            on=policy_date(self._now()),
        )

    def submit(self, draft_id: str, idempotency_key: str) -> Submission:
        """Submit the application: a number, the queues, a notification; the draft is
        deleted.

        A retried call from the same draft with the same ``idempotency_key`` (compared
        exactly) returns the first submission's number and creates nothing
        (``repeated=True``); the key used by another draft is refused
        (``flow.idempotency_key_reused``) and nothing changes. The submission instant is
        never earlier than the latest one in the queues, whatever the clock says. Raises
        :class:`~edqueue.errors.IneligibleApplicationError` with every rule broken.
        """
        key = _key(idempotency_key)
        owner = _owner(draft_id)
        repeated = self._repeated(key, owner, draft_id)
        if repeated is not None:
            return repeated
        draft = self._ready(draft_id)
        if draft.submitted_number is not None:
            raise FlowError(
                "flow.submitted",
                f"this application was already submitted as #{draft.submitted_number}",
            )
        now = self._now()
        latest = self.desk.book.latest_submission
        at = now if latest is None or latest <= now else latest
        application = self._tentative(draft, number=self._numbers.next_number(), at=at)
        self._check(application, exclude=None)
        try:
            _, records = self._run(
                lambda: self.desk.book.submit(application),
                lambda records: self._store.add(
                    application, records, idempotency_key=key, idempotency_owner=owner
                ),
                actor="applicant",
                submitted=application,
            )
        except StorageError as error:
            # a retry of this very submission, running at the same time, may have won
            again = (
                self._repeated(key, owner, draft_id) if error.code == "storage.duplicate" else None
            )
            if again is None:
                raise
            return again
        self._drop_draft(draft, application.number)
        self._notify(application, records)
        return Submission(application.number, tuple(records))

    def _repeated(self, key: str, owner: str, draft_id: str) -> Submission | None:
        """The earlier submission with this key, if this draft made it; ``None`` if the
        key is new; ``flow.idempotency_key_reused`` if another draft used it."""
        earlier = self._store.by_idempotency_key(key)
        if earlier is None:
            return None
        if not hmac.compare_digest(self._store.idempotency_owner(key) or "", owner):
            raise FlowError(
                "flow.idempotency_key_reused",
                "this idempotency key was already used to submit another application; "
                "nothing was stored: use a new key for each application",
            )
        data = self._drafts.load(draft_id)
        if data is not None:
            self._drop_draft(Draft.from_data(data), earlier.application.number)
        return Submission(earlier.application.number, (), repeated=True)

    def _drop_draft(self, draft: Draft, number: str) -> None:
        """Delete a submitted draft. If the store fails now, the draft is marked submitted
        instead (best effort), so it cannot be submitted again, and a purge deletes it."""
        try:
            self._drafts.delete(draft.id)
        except PortError:
            with contextlib.suppress(PortError):
                self._save(attrs.evolve(draft, submitted_number=number))

    # --- the personal cabinet ------------------------------------------------------------------

    def position(self, number: str) -> list[QueuePosition]:
        """«Проверка номера очереди»: where an application stands in each chosen queue.
        Carries no personal data. O(c log n)."""
        return self.book.positions(number)

    def explain(self, number: str, organization_id: str) -> Explanation:
        """Why the application stands where it does (no personal data). O(log n)."""
        return self.book.explain(number, organization_id)

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
        claim, _ = self._claim(
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
                for e in self.desk.book.set_benefit(number, claim, at)
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
        self._check(changed, exclude=number)
        return self._commit(
            stored,
            changed,
            lambda at: self.desk.book.change_choices(number, changed.choices, at),
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
            stored, stored.application, lambda at: self.desk.withdraw(number, at), actor
        )

    def details(self, number: str, *, session: str) -> StoredApplication:
        """The application in full, for the family that may act on it (see
        :meth:`sign_in`); anyone else gets ``access.denied``, which is counted
        (:attr:`refusals`, :meth:`flush_refusals`)."""
        return self._allowed(number, session)[0]

    def sign_in(self, phone: str | PhoneNumber, *, device: str | None = None) -> Draft:
        """Begin a personal-cabinet session: a code goes to the ED24 app; once
        :meth:`confirm_code` accepts it, the draft's id is the ``session`` of the cabinet's
        commands for ``session_lifetime``, until :meth:`sign_out`. Codes are limited as in
        :meth:`start`."""
        return self.start(phone, device=device)

    def _allowed(self, number: str, session: str) -> tuple[StoredApplication, str]:
        """The stored application if the session's person may act on it. The person is the
        owner of the session's confirmed number in the БМГ; they may act if they submitted
        the application, or (``other_representative_may_act``) if the family register
        confirms them as a legal representative of its child."""
        stored = self._store.get(number)
        if stored is None:
            raise QueueError("queue.unknown_application", f"no application #{number}")
        try:
            draft = self._draft(session)
        except FlowError:
            raise self._denied(number, "unknown session") from None
        now = self._now()
        values = self._policy.at(now)
        if draft.confirmed_at is None or now >= self._calendar.deadline(
            draft.confirmed_at, values.session_lifetime
        ):
            raise self._denied(number, "session not confirmed or expired")
        person = self._identity.owner(draft.phone)
        application = stored.application
        if person is not None and person == application.applicant.iin:
            return stored, "applicant"
        if person is not None and values.other_representative_may_act:
            record = self._family.family(person)
            if record is not None and any(
                m.child.iin == application.child.iin
                and m.status is LegalRepresentativeStatus.CONFIRMED
                for m in record.children
            ):
                return stored, "other_representative"
        raise self._denied(number, "not the applicant nor an allowed legal representative")

    def _denied(self, number: str | None, why: str) -> AccessError:
        """Count the refusal, writing the counts to the log at most once per
        ``refusal_log_interval`` (:meth:`flush_refusals`); the ``access.denied`` error to
        raise. No personal data."""
        now = self._now()
        with self._refusal_lock:
            self._refused[why] += 1
            self._unwritten[why] += 1
            self._unwritten_numbers.add(number)
            written = self._refusals_written_at
        interval = minutes(self._policy.at(now).refusal_log_interval)
        if written is None or now >= later(written, interval):
            with contextlib.suppress(PortError):  # the counts wait for the next write
                self.flush_refusals()
        return AccessError(
            "access.denied",
            "only the applicant, signed in with their own number, may do this"
            if number is None
            else f"you may not act on application #{number}; sign in with the applicant's number",
        )

    @property
    def refusals(self) -> Mapping[str, int]:
        """How many requests this service refused (``access.denied``) since it started, by
        reason (``"unknown session"``, ...): the counter an operator watches for a flood."""
        with self._refusal_lock:
            return dict(self._refused)

    def flush_refusals(self) -> int:
        """Write the refusals counted since the last record as one ``access_denied``
        record: ``data`` has ``count``, ``applications`` (how many distinct numbers) and a
        count per reason; ``number`` is the application's when all concern one. Returns how
        many refusals it wrote (0: none waited). A host calls it before the process stops.
        """
        now = self._now()
        with self._refusal_lock:
            counts, numbers = self._unwritten, self._unwritten_numbers
            self._unwritten, self._unwritten_numbers = Counter(), set()
            self._refusals_written_at = now
        total = sum(counts.values())
        if not total:
            return 0
        data: dict[str, str | int | None] = {"count": total, "applications": len(numbers - {None})}
        data.update(sorted(counts.items()))
        only = next(iter(numbers)) if len(numbers) == 1 else None
        record = EventRecord(
            kind="access_denied",
            at=now,
            number=only,
            reason=next(iter(counts)) if len(counts) == 1 else "several reasons",
            data=data,
        )
        try:
            self._store.append([record])
        except PortError:
            with self._refusal_lock:
                self._unwritten.update(counts)
                self._unwritten_numbers |= numbers
            raise
        return total

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
        now = self._now()
        number = changed.number
        result, records = self._run(
            lambda: command(now),
            lambda records: self._store.update(self._queue_state(changed), stored.version, records),
            actor=actor,
        )
        self._settle(records, exclude=number)
        self._notify(result.application, [r for r in records if r.number == number])
        return result

    def _run(
        self,
        command: Callable[[], Sequence[QueueEvent]],
        write: Callable[[list[EventRecord]], _T],
        *,
        actor: str,
        submitted: Application | None = None,
    ) -> tuple[_T, list[EventRecord]]:
        """Run ``command`` on the desk, then ``write`` its events as journal records (one
        transaction). If either raises, the desk is rebuilt from the store before the error
        goes on, so the queues never hold what the store does not."""
        try:
            self._fresh()
            events = command()
            records = [
                to_record(
                    e,
                    actor=actor,
                    application=submitted if isinstance(e, ApplicationSubmitted) else None,
                )
                for e in events
            ]
            result = write(records)
        except BaseException:
            self._stale = True
            with contextlib.suppress(EdqueueError):
                self._fresh()  # a store that is down now is read again at the next call
            raise
        self._written(records)
        return result, records

    def _queue_state(self, application: Application) -> Application:
        """``application`` (the repository's, with its personal data) with the queue state
        the book holds for it: choices, benefit, status."""
        held = self._desk.book.application(application.number)
        return attrs.evolve(
            application, choices=held.choices, benefit=held.benefit, status=held.status
        )

    def _settle(self, records: Sequence[EventRecord], exclude: str | None = None) -> None:
        """Bring the stored applications the records name (but ``exclude``) to the queue
        state the book holds, each with its version. The log already holds the truth, so a
        store that refuses now does not fail the committed command: that application stays
        behind until its next write or :meth:`reconcile`."""
        for number in dict.fromkeys(r.number for r in records if r.number is not None):
            if number != exclude:
                self._sync(number)

    def _sync(self, number: str) -> bool:
        """Write the book's queue state of one application if the store's differs (one retry
        after a conflict). Returns whether the store now agrees."""
        for _ in range(2):
            try:
                stored = self._store.get(number)
                if stored is None or number not in self._desk.book:
                    return True
                target = self._queue_state(stored.application)
                if target == stored.application:
                    return True
                self._store.update(target, stored.version)
                return True
            except StorageError as error:
                if error.code != "storage.conflict":
                    return False
            except PortError:
                return False
        return False

    def reconcile(self) -> int:
        """Bring every stored application to the queue state the log gives it (status,
        benefit, choices), e.g. after a desk decision whose follow-up writes the store
        refused. Returns how many applications still differ (0 when all agree). O(N)."""
        self._fresh()
        return sum(not self._sync(s.application.number) for s in self._store.all())

    # --- the referral desk (направления, комплектование) -------------------------------------
    # Staff decisions: the host checks who may take them; ``actor`` names the role in the log.

    def free_place(
        self,
        organization_id: str,
        group: GroupKey,
        count: int = 1,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """``count`` places freed in a group; they are offered at once
        (:meth:`ReferralDesk.free_place`). Logged as :meth:`_decide` says."""
        return self._decide(
            lambda when: self.desk.free_place(organization_id, group, when, count), at, actor
        )

    def offer_all(self, *, at: datetime | None = None, actor: str = "desk") -> list[QueueEvent]:
        """Offer every group's free places (:meth:`ReferralDesk.offer_all`)."""
        return self._decide(lambda when: self.desk.offer_all(when), at, actor)

    def use_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The child enrolled (:meth:`ReferralDesk.use`); the application is ``enrolled``."""
        return self._decide(lambda when: self.desk.use(referral_id, when), at, actor)

    def decline_referral(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The family declined (:meth:`ReferralDesk.decline`): stop list, next in line."""
        return self._decide(lambda when: self.desk.decline(referral_id, when), at, actor)

    def extend_referral(
        self,
        referral_id: str,
        deadline: datetime,
        *,
        at: datetime | None = None,
        actor: str = "desk",
    ) -> list[QueueEvent]:
        """More time to enrol, as the family asked (:meth:`ReferralDesk.extend`)."""
        return self._decide(lambda when: self.desk.extend(referral_id, when, deadline), at, actor)

    def confirm_benefit(
        self, referral_id: str, *, at: datetime | None = None, actor: str = "desk"
    ) -> list[QueueEvent]:
        """The extraordinary benefit behind a referral is confirmed in time
        (:meth:`ReferralDesk.confirm_benefit`)."""
        return self._decide(lambda when: self.desk.confirm_benefit(referral_id, when), at, actor)

    def advance(self, at: datetime | None = None, *, actor: str = "desk") -> list[QueueEvent]:
        """Apply everything due by ``at`` (default: now): lapsed referrals and benefit
        confirmations, children at the age limit, then offers (:meth:`ReferralDesk.advance`)."""
        return self._decide(lambda when: self.desk.advance(when), at, actor)

    def allocate(self, at: datetime | None = None, *, actor: str = "desk") -> AllocationRound:
        """Fill every group's free places at once (комплектование,
        :meth:`ReferralDesk.allocate`); the round's referrals are logged."""
        rounds: list[AllocationRound] = []

        def run(when: datetime) -> list[QueueEvent]:
            rounds.append(self.desk.allocate(when))
            return list(rounds[0].events)

        self._decide(run, at, actor)
        return rounds[0]

    def _decide(
        self,
        command: Callable[[datetime], Sequence[QueueEvent]],
        at: datetime | None,
        actor: str,
    ) -> list[QueueEvent]:
        """Run one decision of the desk at ``at`` (default: now) and log its events.

        Atomicity: all the decision's records go in one transaction, together with the
        first application whose queue state they change (its status, e.g. ``referred`` or
        ``enrolled``, or its benefit), written with its version; a decision that changes no
        application is appended alone. If that write fails (``storage.conflict``, a store
        that is down), nothing is logged and the desk is rebuilt from the store. The other
        applications the decision touched are written next, one transaction each (the
        repository port changes one application per transaction); the log is the truth, so
        one that fails stays behind until its next write or :meth:`reconcile`, and
        rebuilding never depends on it.
        """
        when = self._now() if at is None else require_aware(at, "the time of the decision")
        primary: list[str] = []

        def write(records: list[EventRecord]) -> None:
            for number in dict.fromkeys(r.number for r in records if r.number is not None):
                stored = self._store.get(number)
                if stored is None:
                    continue
                target = self._queue_state(stored.application)
                if target != stored.application:
                    primary.append(number)
                    self._store.update(target, stored.version, records)
                    return
            if records:
                self._store.append(records)

        events: list[QueueEvent] = []

        def run() -> list[QueueEvent]:
            events.extend(command(when))
            return events

        _, records = self._run(run, write, actor=actor)
        self._settle(records, exclude=primary[0] if primary else None)
        return events

    def retry_notifications(self) -> int:
        """Send again every notification that failed (``notification_failed`` in the event
        log) and has not been sent since; each sent one is logged as ``notification_sent``
        with the failure's sequence. Returns how many were sent; those that fail again wait
        for the next call. O(E) for E events.
        Failures the store refused to log when they happened are logged
        first."""
        if self._unlogged:
            with contextlib.suppress(PortError):
                self._store.append(self._unlogged)
                self._unlogged = []
        events = self._store.events()
        done = {e.data.get("retry_of") for e in events if e.kind == "notification_sent"}
        sent = 0
        for failure in events:
            if failure.kind != "notification_failed" or failure.sequence in done:
                continue
            stored = None if failure.number is None else self._store.get(failure.number)
            kind = str(failure.data.get("event", ""))
            message = None
            if stored is not None:
                reason = str(failure.data.get("reason"))
                message = _message(kind, stored.application.number, reason)
            if stored is None or message is None:
                continue
            try:
                self._notifier.send(stored.application.applicant.phone, message)
            except PortError:
                continue
            self._store.append(
                [
                    EventRecord(
                        kind="notification_sent",
                        at=self._now(),
                        number=failure.number,
                        reason="retried",
                        data={"retry_of": failure.sequence, "event": kind},
                    )
                ]
            )
            sent += 1
        return sent

    # --- inside -----------------------------------------------------------------------------------

    def _draft(self, draft_id: str) -> Draft:
        """The draft, unless it is unknown or past its lifetime (then it is deleted)."""
        data = self._drafts.load(draft_id)
        if data is not None and not self._now() < _expiry(data):
            self._drafts.delete(draft_id)
            data = None
        if data is None:
            raise FlowError(
                "flow.unknown_draft",
                "no application in progress with this id (drafts are deleted when "
                "submitted, signed out or left past their lifetime); start again",
            )
        return Draft.from_data(data)

    def _save(self, draft: Draft) -> None:
        """Save the draft, to be deleted ``draft_lifetime`` after this step."""
        now = self._now()
        expires = later(now, minutes(self._policy.at(now).draft_lifetime))
        self._drafts.save(
            draft.id, {**draft.to_data(), "expires_at": expires.isoformat()}, expires_at=expires
        )

    def sign_out(self, session: str) -> None:
        """End a cabinet session, or abandon an application in progress: the draft (the
        session) is deleted at once. An unknown session is ignored."""
        self._drafts.delete(session)

    def purge_drafts(self) -> int:
        """Delete every draft past its lifetime (and drafts stored by an edqueue before
        drafts expired), and forget counted attempts older than every window
        (:func:`purge_expired`); returns how many drafts were deleted. A host runs it from
        time to time (``edqueue purge --database FILE`` for an SQLite store)."""
        return purge_expired(self._drafts, self._attempts, now=self._now(), policy=self._policy)

    def _confirmed(self, draft_id: str) -> Draft:
        draft = self._draft(draft_id)
        if draft.confirmed_at is None:
            raise FlowError(
                "identity.not_confirmed", "confirm the phone number with the code first"
            )
        return draft

    def _consented(self, draft_id: str) -> Draft:
        draft = self._confirmed(draft_id)
        if not draft.consents >= REQUIRED_CONSENTS:
            raise FlowError(
                "consent.missing", "give both consents (notifications, offer agreement) first"
            )
        return draft

    def _ready(self, draft_id: str) -> Draft:
        draft = self._consented(draft_id)
        if draft.child_iin is None:
            raise FlowError("flow.step", "choose the child first")
        if not draft.choices:
            raise FlowError("flow.step", "choose at least one organization first")
        return draft

    def _tentative(
        self, draft: Draft, number: str = "1", at: datetime | None = None
    ) -> Application:
        """The application the draft would make (number and time are placeholders until
        submission)."""
        if draft.child_iin is None or draft.applicant_iin is None:
            raise FlowError("flow.step", "choose the child first")
        record = self._family_of(draft)
        member = self._member(draft, draft.child_iin)
        return Application(
            number=number,
            applicant=Applicant(iin=record.applicant, name=record.name, phone=draft.phone),
            child=member.child,
            choices=draft.choices,
            submitted_at=at or self._now(),
            queue_kind=draft.queue_kind,
            referral=draft.referral,
            benefit=draft.benefit,
            consents=draft.consents,
            representative_status=member.status,
            pmpk=draft.pmpk,
        )

    def _check(self, application: Application, exclude: str | None) -> None:
        others = [
            s.application
            for s in self._store.for_child(application.child.iin)
            if s.application.number != exclude
        ]
        ensure_eligible(
            application,
            self._organizations,
            policy=self._policy,
            as_of=self._now(),
            active_applications=others,
        )

    def _notify(self, application: Application, records: Sequence[EventRecord]) -> None:
        """Tell the family, if it agreed to notifications, after the command committed. A
        failing notifier does not undo the command: the failure is logged as an event that
        :meth:`retry_notifications` sends again; if even that log write fails, the command
        still succeeds and only the message is lost."""
        if Consent.NOTIFICATIONS not in application.consents:
            return
        for record in records:
            message = _message(record.kind, application.number, record.reason)
            if message is None:
                continue
            try:
                self._notifier.send(application.applicant.phone, message)
            except PortError as error:
                failure = EventRecord(
                    kind="notification_failed",
                    at=self._now(),
                    number=application.number,
                    reason=error.code,
                    data={"event": record.kind, "reason": record.reason},
                )
                # The command itself is committed: a store that fails now must not make it
                # look failed. The failure waits in memory for retry_notifications (lost
                # only if this process ends first).
                try:
                    self._store.append([failure])
                except PortError:
                    self._unlogged.append(failure)


def purge_expired(
    drafts: DraftStore,
    attempts: AttemptCounter,
    *,
    now: datetime,
    policy: Policy = KAZAKHSTAN_POLICY,
) -> int:
    """Delete the drafts expired by ``now`` and those saved without an expiry
    (:meth:`~edqueue.ports.DraftStore.purge`), and forget the attempts older than the
    longest window of ``policy`` on that day (codes sent, wrong codes, a code's life).
    Returns how many drafts were deleted. O(drafts + attempts)."""
    values = policy.at(require_aware(now, "the time of the purge"))
    windows = (
        values.code_send_window,
        values.code_failure_window,
        values.confirmation_code_lifetime,
    )
    attempts.forget_attempts(later(now, -max(minutes(w) for w in windows)))
    return drafts.purge(now)


def _message(kind: str, number: str, reason: str) -> Message | None:
    """The family's message for an event of ``kind``, or ``None`` if it warrants none."""
    texts = _MESSAGES.get(kind)
    if texts is None:
        return None
    words = {"number": number, "reason": reason}
    return Message(kind, number, texts[0].format(**words), texts[1].format(**words))


def _key(value: str) -> str:
    """An idempotency key, as given: compared exactly, never stripped."""
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not value.strip():
        raise FlowError("flow.step", "an idempotency key is 1-128 characters of text")
    return value


def _owner(draft_id: str) -> str:
    """Who used an idempotency key: a digest of the draft's id (a secret the family holds),
    so the store keeps no id that would open the draft."""
    return "draft:" + hashlib.sha256(f"edqueue:draft:{draft_id}".encode()).hexdigest()[:32]
