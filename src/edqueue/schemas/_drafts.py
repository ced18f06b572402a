"""The stored form of an application in progress: :class:`~edqueue.schemas.DraftSchema`.

A draft (:class:`edqueue.service.Draft`) is kept in the host's
:class:`~edqueue.ports.DraftStore` as one JSON object. Its form is older than this schema and
stays as it was written, byte for byte: flat keys; the times as ``datetime.isoformat`` writes
them; a choice as ``[organization, language]``, the referral as ``[timing, date]``, a benefit
claim as ``[category, status, claimed_at, decided_at]`` and a ПМПК conclusion as ``[number,
issued_on]``. The draft holds personal data in clear (the phone number, the IINs): it is for
the store only, never for logs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any, Protocol, Self, TypedDict

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

from edqueue.models import (
    BenefitClaim,
    BenefitStatus,
    Choice,
    Consent,
    Iin,
    Language,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    ReferralTiming,
)


def _stored_time(value: Any) -> dt.datetime:
    """A time as ``datetime.fromisoformat`` reads it, as drafts have always been read: the
    offset as a fixed :class:`datetime.timezone`, one of seconds (local mean time) included,
    which pydantic's own parse refuses. A time given from Python is kept as it is."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a time is ISO 8601 text")
    return dt.datetime.fromisoformat(value)


StoredTime = Annotated[
    dt.datetime,
    PlainValidator(_stored_time),
    PlainSerializer(dt.datetime.isoformat, return_type=str, when_used="json"),
]
"""A time of a draft, written as ``datetime.isoformat`` writes it."""


class StoredDraft(Protocol):
    """What :meth:`DraftSchema.from_domain` reads of a draft (:class:`edqueue.service.Draft`)."""

    @property
    def id(self) -> str: ...
    @property
    def phone(self) -> PhoneNumber: ...
    @property
    def queue_kind(self) -> QueueKind: ...
    @property
    def salt(self) -> str: ...
    @property
    def code_digest(self) -> str | None: ...
    @property
    def code_sent_at(self) -> dt.datetime | None: ...
    @property
    def code_id(self) -> str | None: ...
    @property
    def binding_digest(self) -> str | None: ...
    @property
    def binding_offered_at(self) -> dt.datetime | None: ...
    @property
    def confirmed_at(self) -> dt.datetime | None: ...
    @property
    def consents(self) -> frozenset[Consent]: ...
    @property
    def applicant_iin(self) -> Iin | None: ...
    @property
    def access_request(self) -> str | None: ...
    @property
    def child_iin(self) -> Iin | None: ...
    @property
    def choices(self) -> tuple[Choice, ...]: ...
    @property
    def referral(self) -> ReferralPreference: ...
    @property
    def benefit(self) -> BenefitClaim | None: ...
    @property
    def benefit_document(self) -> str | None: ...
    @property
    def pmpk(self) -> PmpkConclusion | None: ...
    @property
    def submitted_number(self) -> str | None: ...


class DraftFields(TypedDict):
    """The fields of a draft as records: the keyword arguments of :class:`edqueue.service.Draft`."""

    id: str
    phone: PhoneNumber
    queue_kind: QueueKind
    salt: str
    code_digest: str | None
    code_sent_at: dt.datetime | None
    code_id: str | None
    binding_digest: str | None
    binding_offered_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    consents: frozenset[Consent]
    applicant_iin: Iin | None
    access_request: str | None
    child_iin: Iin | None
    choices: tuple[Choice, ...]
    referral: ReferralPreference
    benefit: BenefitClaim | None
    benefit_document: str | None
    pmpk: PmpkConclusion | None
    submitted_number: str | None


class DraftSchema(BaseModel):
    """An application in progress as its :class:`~edqueue.ports.DraftStore` keeps it (see
    the module): every key required, but ``code_id`` and ``submitted_number``, which drafts
    stored before them lack. Read strictly, as JSON; an unknown key is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str
    phone: str
    queue_kind: QueueKind
    salt: str
    code_digest: str | None
    code_sent_at: StoredTime | None
    code_id: str | None = None
    binding_digest: str | None
    binding_offered_at: StoredTime | None
    confirmed_at: StoredTime | None
    consents: tuple[Consent, ...]
    applicant_iin: str | None
    access_request: str | None
    child_iin: str | None
    choices: tuple[tuple[str, str], ...]
    referral: tuple[ReferralTiming, dt.date | None]
    benefit: tuple[int, BenefitStatus, StoredTime | None, StoredTime | None] | None
    benefit_document: str | None
    pmpk: tuple[str, dt.date] | None
    submitted_number: str | None = None

    @classmethod
    def from_domain(cls, draft: StoredDraft) -> Self:
        """The stored form of ``draft``."""
        claim, pmpk = draft.benefit, draft.pmpk
        return cls(
            id=draft.id,
            phone=draft.phone.reveal(),
            queue_kind=draft.queue_kind,
            salt=draft.salt,
            code_digest=draft.code_digest,
            code_sent_at=draft.code_sent_at,
            code_id=draft.code_id,
            binding_digest=draft.binding_digest,
            binding_offered_at=draft.binding_offered_at,
            confirmed_at=draft.confirmed_at,
            consents=tuple(sorted(draft.consents)),
            applicant_iin=None if draft.applicant_iin is None else draft.applicant_iin.reveal(),
            access_request=draft.access_request,
            child_iin=None if draft.child_iin is None else draft.child_iin.reveal(),
            choices=tuple((c.organization_id, c.language.code) for c in draft.choices),
            referral=(draft.referral.timing, draft.referral.desired_date),
            benefit=None
            if claim is None
            else (int(claim.category), claim.status, claim.claimed_at, claim.decided_at),
            benefit_document=draft.benefit_document,
            pmpk=None if pmpk is None else (pmpk.number, pmpk.issued_on),
            submitted_number=draft.submitted_number,
        )

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Self:
        """The stored form in ``data`` (the mapping a store gives back), read as JSON.

        Raises ``ValueError`` (pydantic's ``ValidationError`` is one) or ``TypeError`` if
        ``data`` is not a draft's stored form; the service turns either into
        ``flow.unknown_draft``."""
        try:
            text = json.dumps(dict(data), ensure_ascii=False)
        except RecursionError:
            raise ValueError("a stored draft is nested too deep") from None
        return cls.model_validate_json(text)

    def to_domain(self) -> DraftFields:
        """The draft's fields as records. Raises the domain's error for a value a record
        refuses (an IIN, a phone number, a language code, ...)."""
        timing, desired = self.referral
        benefit, pmpk = self.benefit, self.pmpk
        return DraftFields(
            id=self.id,
            phone=PhoneNumber(self.phone),
            queue_kind=self.queue_kind,
            salt=self.salt,
            code_digest=self.code_digest,
            code_sent_at=self.code_sent_at,
            code_id=self.code_id,
            binding_digest=self.binding_digest,
            binding_offered_at=self.binding_offered_at,
            confirmed_at=self.confirmed_at,
            consents=frozenset(self.consents),
            applicant_iin=None if self.applicant_iin is None else Iin(self.applicant_iin),
            access_request=self.access_request,
            child_iin=None if self.child_iin is None else Iin(self.child_iin),
            choices=tuple(Choice(o, Language(code)) for o, code in self.choices),
            referral=ReferralPreference(timing, desired),
            benefit=None if benefit is None else BenefitClaim(*benefit),
            benefit_document=self.benefit_document,
            pmpk=None if pmpk is None else PmpkConclusion(*pmpk),
            submitted_number=self.submitted_number,
        )
