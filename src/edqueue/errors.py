"""The errors edqueue raises on purpose, rooted in :class:`EdqueueError`.

Every error carries a stable dotted ``code`` (``"iin.checksum"``,
``"application.too_many_organizations"``) that hosts can match on and translate, and an
English message that says what to do. Messages never contain personal data in clear: an
IIN, a phone number, a name or an address is either left out or masked.

Each class lists the codes it may carry in ``CODES``; :func:`all_codes` gathers them, so the
reference documentation and the tests can check that no code is used twice or undeclared.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

__all__ = [
    "AccessError",
    "AllocationError",
    "ApplicationError",
    "BenefitError",
    "EdqueueError",
    "EligibilityError",
    "FlowError",
    "IinError",
    "IneligibleApplicationError",
    "InputError",
    "LockedError",
    "OrganizationError",
    "PersonError",
    "PhoneError",
    "PolicyError",
    "PortError",
    "QueueError",
    "ReferralError",
    "StorageError",
    "TimeError",
    "TransitionError",
    "ValidationError",
    "all_codes",
]


class EdqueueError(Exception):
    """The root of every error edqueue raises on purpose.

    Catch this to handle anything the library rejects; match on ``code`` to tell cases
    apart. ``str(error)`` is ``"[code] message"``.
    """

    CODES: ClassVar[frozenset[str]] = frozenset()

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        if code not in type(self).CODES:
            raise ValueError(f"{type(self).__name__} does not declare the code {code!r}")
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ValidationError(EdqueueError):
    """Input that cannot make a valid domain object (a record that exists is valid)."""


class IinError(ValidationError):
    """An individual identification number (ИИН) that is not valid."""

    CODES = frozenset({"iin.type", "iin.format", "iin.checksum", "iin.birth_date", "iin.century"})


class PhoneError(ValidationError):
    """A phone number that is not a Kazakhstan mobile number."""

    CODES = frozenset({"phone.type", "phone.format", "phone.not_kazakhstan", "phone.not_mobile"})


class TimeError(ValidationError):
    """A moment in time that is not a timezone-aware datetime."""

    CODES = frozenset({"time.naive", "time.type"})


class PersonError(ValidationError):
    """A name, birth certificate, child or applicant that is not valid."""

    CODES = frozenset(
        {
            "person.name",
            "person.birth_certificate",
            "person.child_birth_date_mismatch",
            "person.type",
        }
    )


class OrganizationError(ValidationError):
    """A preschool organization, group or group key that is not valid."""

    CODES = frozenset(
        {
            "organization.id",
            "organization.name",
            "organization.locality",
            "organization.address",
            "organization.location",
            "organization.fee",
            "organization.food_cost",
            "organization.duplicate_group",
            "organization.type",
            "group.birth_year",
            "group.language",
            "group.places",
        }
    )


class BenefitError(ValidationError):
    """A benefit claim (льгота) that is not valid."""

    CODES = frozenset({"benefit.category", "benefit.status"})


class ApplicationError(ValidationError):
    """An application (заявление) that is not valid."""

    CODES = frozenset(
        {
            "application.number",
            "application.no_organizations",
            "application.too_many_organizations",
            "application.duplicate_organization",
            "application.referral_preference",
            "application.pmpk",
            "application.template",
            "application.unknown_organization",
            "application.type",
        }
    )


class ReferralError(ValidationError):
    """A referral (направление) that is not valid."""

    CODES = frozenset({"referral.id", "referral.deadline", "referral.type"})


class TransitionError(EdqueueError):
    """A change of status that the life cycle does not allow (e.g. using an expired referral)."""

    CODES = frozenset(
        {
            "application.invalid_transition",
            "benefit.invalid_transition",
            "referral.invalid_transition",
        }
    )


class EligibilityError(EdqueueError):
    """One reason an application may not enter the queues (see :mod:`edqueue.rules.eligibility`).

    The eligibility check returns every violation at once as a list of these; raising
    :class:`IneligibleApplicationError` wraps them.
    """

    CODES = frozenset(
        {
            "eligibility.child_too_old",
            "eligibility.child_not_born",
            "eligibility.unknown_organization",
            "eligibility.no_group",
            "eligibility.too_many_organizations",
            "eligibility.mixed_localities",
            "eligibility.pmpk_missing",
            "eligibility.benefit_group",
            "eligibility.consent_missing",
            "eligibility.not_legal_representative",
            "eligibility.referral_date_past",
            "eligibility.referral_date_after_age_limit",
            "eligibility.second_active_application",
        }
    )


class IneligibleApplicationError(EdqueueError):
    """An application with one or more eligibility violations, all listed in ``violations``."""

    CODES = frozenset({"eligibility.failed"})

    violations: tuple[EligibilityError, ...]

    def __init__(
        self, code: str, message: str, violations: tuple[EligibilityError, ...] = ()
    ) -> None:
        super().__init__(code, message)
        self.violations = tuple(violations)
        self.args = (code, message, self.violations)


class QueueError(EdqueueError):
    """A queue operation that cannot be applied (see :mod:`edqueue.rules.queue`)."""

    CODES = frozenset(
        {
            "queue.unknown_application",
            "queue.duplicate_number",
            "queue.unknown_queue",
            "queue.not_in_queue",
            "queue.invalid_operation",
        }
    )


class PolicyError(EdqueueError):
    """A policy parameter that is unknown, malformed or not in force on a date, or a
    region with no shipped policy."""

    CODES = frozenset(
        {
            "policy.unknown_parameter",
            "policy.invalid_value",
            "policy.no_value",
            "policy.unknown_region",
        }
    )


class AllocationError(EdqueueError):
    """A batch allocation (комплектование) or forecast whose input does not hold together."""

    CODES = frozenset(
        {
            "allocation.unknown_queue",
            "allocation.not_in_queue",
            "allocation.places",
            "allocation.duplicate",
            "allocation.argument",
        }
    )


class FlowError(EdqueueError):
    """A step of the portal's flow that cannot be taken now (see :mod:`edqueue.service`).

    Each code names the step and what is missing, so a host can show the right screen.
    """

    CODES = frozenset(
        {
            "identity.not_in_bmg",
            "identity.app_not_bound",
            "identity.code_wrong",
            "identity.code_expired",
            "identity.code_attempts",
            "identity.not_confirmed",
            "identity.binding_invalid",
            "identity.device_recently_bound",
            "consent.missing",
            "consent.refused",
            "consent.pending",
            "family.child_not_found",
            "family.not_legal_representative",
            "benefit.not_found",
            "benefit.document_missing",
            "flow.unknown_draft",
            "flow.step",
            "flow.submitted",
            "flow.idempotency_key_reused",
        }
    )


class LockedError(FlowError):
    """Too many confirmation codes sent, or too many wrong ones, for a phone number or a
    device (:mod:`edqueue.rules.identity`): refused until ``until`` (an aware instant), the
    right code included."""

    CODES = frozenset({"identity.locked"})

    def __init__(self, code: str, message: str, until: datetime) -> None:
        super().__init__(code, message)
        self.until = until
        self.args = (code, message, until)


class StorageError(EdqueueError):
    """A store (a repository adapter) refused a change; nothing was written."""

    CODES = frozenset(
        {
            "storage.conflict",
            "storage.duplicate",
            "storage.unknown",
            "storage.corrupt",
            "journal.unreadable",
        }
    )


class PortError(EdqueueError):
    """A port the host provides (identity, registers, notifier, store) failed or timed out;
    the command changed nothing and may be retried."""

    CODES = frozenset({"port.failed", "port.timeout"})


class AccessError(EdqueueError):
    """A command refused because the caller may not act on this application."""

    CODES = frozenset({"access.denied"})


class InputError(EdqueueError):
    """A file or command-line argument that cannot be used (see :mod:`edqueue.cli`)."""

    CODES = frozenset({"input.not_found", "input.unreadable", "input.argument"})


def all_codes() -> dict[str, type[EdqueueError]]:
    """Every declared error code, mapped to the class that carries it.

    Raises ``RuntimeError`` if two classes declare the same code: codes are unique.
    """
    found: dict[str, type[EdqueueError]] = {}
    pending: list[type[EdqueueError]] = [EdqueueError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for code in cls.__dict__.get("CODES", frozenset()):
            if code in found and found[code] is not cls:
                raise RuntimeError(f"error code {code!r} declared twice")
            found[code] = cls
    return dict(sorted(found.items()))


# --- the storage errors every store raises, each with one text (memory, SQLite, PostgreSQL) ---
# (re-exported by edqueue.ports, next to the store protocols that name them)


def log_moved(head: int, log_head: int) -> StorageError:
    """The ``storage.conflict`` a store raises when the log's last record is ``head``, not the
    ``log_head`` the writer saw (see :class:`edqueue.ports.ApplicationRepository`)."""
    return StorageError(
        "storage.conflict",
        f"the event log moved on (record {head}, not {log_head}): another process wrote "
        "meanwhile; catch up and decide again",
    )


def already_stored(number: str) -> StorageError:
    """``storage.duplicate``: ``add`` of a number the store holds."""
    return StorageError(
        "storage.duplicate", f"application #{number} is already stored; read it with get()"
    )


def key_used(number: str | None) -> StorageError:
    """``storage.duplicate``: ``add`` with an idempotency key another application used
    (``number``, when the store can say which)."""
    found = "" if number is None else f" for application #{number}"
    return StorageError(
        "storage.duplicate",
        f"this idempotency key was already used{found}; read it with by_idempotency_key()",
    )


def version_moved(number: str, expected_version: int) -> StorageError:
    """``storage.conflict``: ``update`` from a version that is no longer the stored one."""
    return StorageError(
        "storage.conflict",
        f"application #{number} changed since version {expected_version}; read it again",
    )


def not_stored(number: str) -> StorageError:
    """``storage.unknown``: ``update`` of a number the store does not hold."""
    return StorageError("storage.unknown", f"application #{number} is not stored; add it first")
