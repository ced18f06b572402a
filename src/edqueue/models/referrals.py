"""Referrals (направления): a place in one organization's group, offered to one application.

Source: DOMAIN.md, "Referral": issued to an application when a place becomes free; the
family then enrolls within a limited time (the window is a policy parameter, see
:mod:`edqueue.rules`).
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

import attrs

from edqueue.errors import ReferralError, TransitionError
from edqueue.models.instants import require_aware
from edqueue.models.organizations import GroupKey

__all__ = ["Referral", "ReferralStatus"]


class ReferralStatus(enum.StrEnum):
    """The life cycle of a referral.

    ``ISSUED`` (выдано, waiting for the family), then exactly one of: ``USED`` (the child
    enrolled), ``DECLINED`` (the family refused), ``EXPIRED`` (the deadline passed),
    ``CANCELLED`` (withdrawn by the rules, e.g. an extraordinary benefit not confirmed in time).
    """

    ISSUED = "issued"
    USED = "used"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", re.ASCII)


def _id(what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise ReferralError("referral.id", f"{what} is 1-128 ASCII letters, digits or .-_:")

    return check


def _deadline(instance: Referral, _: Any, value: datetime) -> None:
    if value <= instance.issued_at:
        raise ReferralError("referral.deadline", "a referral's deadline must be after its issue")


def _closed_at(instance: Referral, _: Any, value: datetime | None) -> None:
    if (value is None) != (instance.status is ReferralStatus.ISSUED):
        raise ReferralError(
            "referral.type", "a referral has a closing time exactly when it is no longer issued"
        )
    if value is not None and value < instance.issued_at:
        raise ReferralError("referral.type", "a referral cannot close before it was issued")


def _status(value: Any) -> ReferralStatus:
    try:
        return ReferralStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in ReferralStatus)
        raise ReferralError("referral.type", f"a referral's status is one of: {allowed}") from None


def _reason(_: Any, __: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > 500):
        raise ReferralError("referral.type", "a referral's reason is text of at most 500")


def _issued_at(value: Any) -> datetime:
    return require_aware(value, "the referral's issue time")


def _deadline_time(value: Any) -> datetime:
    return require_aware(value, "the referral's deadline")


def _optional_aware(value: Any) -> datetime | None:
    return None if value is None else require_aware(value, "the referral's closing time")


@attrs.frozen(kw_only=True)
class Referral:
    """A referral (направление) of one application to one group of one organization.

    Immutable: :meth:`use`, :meth:`decline`, :meth:`expire`, :meth:`cancel` and
    :meth:`extend` return a new referral, and raise
    :class:`~edqueue.errors.TransitionError` when the referral is no longer issued.
    """

    id: str = attrs.field(validator=_id("a referral id"))
    application_number: str = attrs.field(validator=_id("an application number"))
    organization_id: str = attrs.field(validator=_id("an organization id"))
    group: GroupKey = attrs.field(validator=attrs.validators.instance_of(GroupKey))
    issued_at: datetime = attrs.field(converter=_issued_at)
    deadline: datetime = attrs.field(converter=_deadline_time, validator=_deadline)
    status: ReferralStatus = attrs.field(default=ReferralStatus.ISSUED, converter=_status)
    closed_at: datetime | None = attrs.field(
        default=None, converter=_optional_aware, validator=_closed_at
    )
    reason: str | None = attrs.field(default=None, validator=_reason)

    @property
    def is_open(self) -> bool:
        """Whether the referral still waits for the family."""
        return self.status is ReferralStatus.ISSUED

    def _close(self, status: ReferralStatus, at: datetime, reason: str | None) -> Referral:
        if not self.is_open:
            raise TransitionError(
                "referral.invalid_transition",
                f"this referral is already {self.status.value}; it cannot become {status.value}",
            )
        return attrs.evolve(self, status=status, closed_at=at, reason=reason)

    def use(self, at: datetime) -> Referral:
        """The child enrolled at ``at`` (the application leaves every queue)."""
        return self._close(ReferralStatus.USED, at, None)

    def decline(self, at: datetime, reason: str | None = None) -> Referral:
        """The family declined the place at ``at``."""
        return self._close(ReferralStatus.DECLINED, at, reason)

    def expire(self, at: datetime) -> Referral:
        """The deadline passed without enrolment; ``at`` must not be before the deadline."""
        if require_aware(at, "the expiry time") < self.deadline:
            raise TransitionError(
                "referral.invalid_transition", "a referral cannot expire before its deadline"
            )
        return self._close(ReferralStatus.EXPIRED, at, "deadline passed")

    def cancel(self, at: datetime, reason: str) -> Referral:
        """Cancelled by the rules at ``at`` (e.g. a benefit not confirmed in time)."""
        return self._close(ReferralStatus.CANCELLED, at, reason)

    def extend(self, deadline: datetime) -> Referral:
        """The same open referral with a later deadline (enrolment extended on request)."""
        if not self.is_open:
            raise TransitionError(
                "referral.invalid_transition", f"a {self.status.value} referral cannot be extended"
            )
        if require_aware(deadline, "the new deadline") <= self.deadline:
            raise ReferralError("referral.deadline", "an extension must move the deadline later")
        return attrs.evolve(self, deadline=deadline)
