"""Steps 0 (consents) to 5 of the seed: from the confirmed number to the submitted
application.

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
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from edqueue.application_text import TextLanguage, render_application_text
from edqueue.errors import FlowError, PortError, StorageError
from edqueue.models import (
    Applicant,
    Application,
    BenefitCategory,
    Choice,
    Consent,
    GeoPoint,
    Iin,
    Organization,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
)
from edqueue.ports import AccessAnswer, EventRecord, FamilyMember, FamilyRecord
from edqueue.rules import policy_date
from edqueue.rules.eligibility import REQUIRED_CONSENTS, acts_for_the_child
from edqueue.service.core import Core
from edqueue.service.drafts import Draft
from edqueue.service.identity import Identity

__all__ = ["REQUIRED_CONSENTS", "Flow", "Submission"]  # REQUIRED_CONSENTS: rules.eligibility


@attrs.frozen
class Submission:
    """A submitted application's number («Заявлению присвоен номер: #1292583») and what
    happened; ``repeated`` is true when a retried submission found the first one."""

    number: str
    events: tuple[EventRecord, ...]
    repeated: bool = False


class Flow:
    """The application flow after the number is confirmed (see the module)."""

    def __init__(self, core: Core, identity: Identity) -> None:
        self._core = core
        self._identity = identity

    def give_consents(
        self,
        draft_id: str,
        consents: Iterable[Consent],
        queue_kind: QueueKind = QueueKind.GENERAL,
    ) -> Draft:
        """Both consents, then the queue («Встать в общеобразовательную очередь» or
        «... коррекционную очередь»). The number must be confirmed first."""
        draft = self._identity.confirmed(draft_id)
        given = frozenset(Consent(c) for c in consents)
        missing = REQUIRED_CONSENTS - given
        if missing:
            raise FlowError(
                "consent.missing",
                "both consents are needed to go on (notifications and the offer agreement); "
                "missing: " + ", ".join(sorted(c.value for c in missing)),
            )
        draft = attrs.evolve(draft, consents=given, queue_kind=QueueKind(queue_kind))
        self._core.drafts.save(draft)
        return draft

    # --- step 1: parent and child -------------------------------------------------------------

    def request_family_access(self, draft_id: str, applicant_iin: str | Iin) -> Draft:
        """«Запросить разрешение на получение состава семьи»: the SMS from 1414 goes out."""
        draft = self._consented(draft_id)
        applicant = applicant_iin if isinstance(applicant_iin, Iin) else Iin(applicant_iin)
        if self._core.ports.identity.owner(draft.phone) != applicant:
            raise self._core.refusals.denied(
                None, "the phone number is not the applicant's in the БМГ"
            )
        request = self._core.ports.consents.request_access(applicant, draft.phone)
        draft = attrs.evolve(draft, applicant_iin=applicant, access_request=request, child_iin=None)
        self._core.drafts.save(draft)
        return draft

    def family(self, draft_id: str) -> FamilyRecord:
        """The applicant's family, once the citizen granted access by SMS. Raises
        ``consent.pending`` while there is no answer and ``consent.refused`` after a no."""
        return self._family_of(self._consented(draft_id))

    def _family_of(self, draft: Draft) -> FamilyRecord:
        if draft.access_request is None or draft.applicant_iin is None:
            raise FlowError("flow.step", "request access to the family data first")
        answer = self._core.ports.consents.access_answer(draft.access_request)
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
        record = self._core.ports.family.family(draft.applicant_iin)
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
        if not acts_for_the_child(member.status):
            raise FlowError(
                "family.not_legal_representative",
                "the register does not confirm the applicant as the child's legal "
                "representative; only a confirmed legal representative may apply",
            )
        draft = attrs.evolve(draft, child_iin=wanted)
        self._core.drafts.save(draft)
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
        found = list(self._core.config.organizations)
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
        self._core.check(self._tentative(changed), exclude=None)
        self._core.drafts.save(changed)
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
            claim, document_id = self._core.claim(
                BenefitCategory(category), child, applicant, document, media_type
            )
            draft = attrs.evolve(draft, benefit=claim, benefit_document=document_id)
        self._core.drafts.save(draft)
        return draft

    # --- step 4 and 5: review and submit ----------------------------------------------------------

    def review(self, draft_id: str, language: TextLanguage = "ru") -> str:
        """The application text the citizen signs (seed, step 4), in full."""
        draft = self._ready(draft_id)
        application = self._tentative(draft)
        return render_application_text(
            application,
            self._core.config.organizations,
            authority=self._core.config.authority,
            locality=self._core.config.locality,
            language=language,
            on=policy_date(self._core.now()),
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
        now = self._core.now()
        latest = self._core.projection.fresh().book.latest_submission
        at = now if latest is None or latest <= now else latest
        application = self._tentative(draft, number=self._core.ports.numbers.next_number(), at=at)
        self._core.check(application, exclude=None)
        try:
            _, records = self._core.projection.run(
                lambda: self._core.projection.held.book.submit(application),
                lambda records, head: self._core.ports.store.add(
                    application,
                    records,
                    idempotency_key=key,
                    idempotency_owner=owner,
                    log_head=head,
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
        self._core.notifications.notify(application, records)
        return Submission(application.number, tuple(records))

    def _repeated(self, key: str, owner: str, draft_id: str) -> Submission | None:
        """The earlier submission with this key, if this draft made it; ``None`` if the
        key is new; ``flow.idempotency_key_reused`` if another draft used it."""
        earlier = self._core.ports.store.by_idempotency_key(key)
        if earlier is None:
            return None
        if not hmac.compare_digest(self._core.ports.store.idempotency_owner(key) or "", owner):
            raise FlowError(
                "flow.idempotency_key_reused",
                "this idempotency key was already used to submit another application; "
                "nothing was stored: use a new key for each application",
            )
        draft = self._core.drafts.stored(draft_id)
        if draft is not None:
            self._drop_draft(draft, earlier.application.number)
        return Submission(earlier.application.number, (), repeated=True)

    def _drop_draft(self, draft: Draft, number: str) -> None:
        """Delete a submitted draft. If the store fails now, the draft is marked submitted
        instead (best effort), so it cannot be submitted again, and a purge deletes it."""
        try:
            self._core.drafts.delete(draft.id)
        except PortError:
            with contextlib.suppress(PortError):
                self._core.drafts.save(attrs.evolve(draft, submitted_number=number))

    def _consented(self, draft_id: str) -> Draft:
        draft = self._identity.confirmed(draft_id)
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
            submitted_at=at or self._core.now(),
            queue_kind=draft.queue_kind,
            referral=draft.referral,
            benefit=draft.benefit,
            consents=draft.consents,
            representative_status=member.status,
            pmpk=draft.pmpk,
        )


def _key(value: str) -> str:
    """An idempotency key, as given: compared exactly, never stripped."""
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not value.strip():
        raise FlowError("flow.step", "an idempotency key is 1-128 characters of text")
    return value


def _owner(draft_id: str) -> str:
    """Who used an idempotency key: a digest of the draft's id (a secret the family holds),
    so the store keeps no id that would open the draft."""
    return "draft:" + hashlib.sha256(f"edqueue:draft:{draft_id}".encode()).hexdigest()[:32]
