"""The flow's state between steps: :class:`Draft`, and the drafts a service keeps.

A draft holds what the family gave so far (the phone number, the IINs, the choices), so
the flow survives a restart. It holds personal data in clear, so it lives only
``draft_lifetime`` after its last step, then it is deleted (at its next use, or by
:func:`purge_expired`), and it is deleted at once when submitted or signed out (Law of the
Republic of Kazakhstan No. 94-V of 21.05.2013 "On personal data and their protection":
personal data are destroyed once the purpose of their collection is met).

Secrets (the confirmation code, the binding password) are kept only as salted digests.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from edqueue.errors import EdqueueError, FlowError
from edqueue.models import (
    KAZAKHSTAN,
    BenefitClaim,
    Choice,
    Consent,
    Iin,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    require_aware,
)
from edqueue.models.instants import later
from edqueue.ports import AttemptCounter, DraftStore
from edqueue.rules import KAZAKHSTAN_POLICY, Policy
from edqueue.rules.identity import minutes
from edqueue.schemas import DraftSchema

__all__ = ["Draft", "Drafts", "digest", "purge_expired"]


def digest(salt: str, secret: str) -> str:
    """A salted digest of a secret (a code, a one-time password)."""
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


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
        """The draft as a JSON-ready mapping (for a :class:`~edqueue.ports.DraftStore`): its
        stored form, :class:`~edqueue.schemas.DraftSchema`."""
        data: dict[str, object] = DraftSchema.from_domain(self).model_dump(mode="json")
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Draft:
        """The draft :meth:`to_data` wrote, read by :class:`~edqueue.schemas.DraftSchema`;
        the keys kept beside it that are not the draft's are left aside (``expires_at``, the
        expiry :class:`Drafts` saves; ``code_attempts``, which drafts held before wrong codes
        were counted in the store). Raises ``flow.unknown_draft`` if unreadable."""
        try:
            stored = {key: value for key, value in data.items() if key not in _BESIDE_THE_DRAFT}
            return cls(**DraftSchema.read(stored).to_domain())
        except (AttributeError, TypeError, ValueError, EdqueueError):
            raise FlowError(
                "flow.unknown_draft", "the stored draft cannot be read; start the flow again"
            ) from None


_BESIDE_THE_DRAFT = frozenset({"expires_at", "code_attempts"})
"""Keys a stored draft may hold that are not the draft's (see :meth:`Draft.from_data`)."""


_EXPIRED = datetime(1970, 1, 1, tzinfo=KAZAKHSTAN)


def _expiry(data: Mapping[str, object]) -> datetime:
    """When a stored draft expires; long ago if it carries no readable expiry (drafts
    written before drafts expired)."""
    try:
        expires = datetime.fromisoformat(str(data["expires_at"]))
    except (KeyError, ValueError):
        return _EXPIRED
    return _EXPIRED if expires.tzinfo is None else expires


class Drafts:
    """The drafts of one service over the host's :class:`~edqueue.ports.DraftStore`: each
    saved to expire ``draft_lifetime`` after this step, and refused (and deleted) once
    expired. ``now`` gives the service's instants. O(size of a draft) per operation."""

    def __init__(self, store: DraftStore, policy: Policy, now: Callable[[], datetime]) -> None:
        self._store = store
        self._policy = policy
        self._now = now

    def load(self, draft_id: str) -> Draft:
        """The draft, unless it is unknown or past its lifetime (``flow.unknown_draft``;
        an expired one is deleted)."""
        data = self._store.load(draft_id)
        if data is not None and not self._now() < _expiry(data):
            self._store.delete(draft_id)
            data = None
        if data is None:
            raise FlowError(
                "flow.unknown_draft",
                "no application in progress with this id (drafts are deleted when "
                "submitted, signed out or left past their lifetime); start again",
            )
        return Draft.from_data(data)

    def stored(self, draft_id: str) -> Draft | None:
        """The stored draft as it is, expired or not (``None`` if there is none)."""
        data = self._store.load(draft_id)
        return None if data is None else Draft.from_data(data)

    def save(self, draft: Draft) -> None:
        """Save the draft, to be deleted ``draft_lifetime`` after this step."""
        now = self._now()
        expires = later(now, minutes(self._policy.at(now).draft_lifetime))
        self._store.save(
            draft.id, {**draft.to_data(), "expires_at": expires.isoformat()}, expires_at=expires
        )

    def delete(self, draft_id: str) -> None:
        """Forget a draft at once (submitted, signed out); an unknown one is ignored."""
        self._store.delete(draft_id)


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
