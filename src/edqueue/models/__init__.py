"""Immutable domain records: valid by construction, no I/O, no clock.

Everything here is re-exported from :mod:`edqueue`.
"""

from edqueue.models.applications import (
    MAX_CHOICES,
    Application,
    ApplicationStatus,
    Choice,
    Consent,
    PmpkConclusion,
    ReferralPreference,
    ReferralTiming,
    by_number,
    number_order,
)
from edqueue.models.benefits import BenefitCategory, BenefitClaim, BenefitStatus, Proof, Tier
from edqueue.models.identity import Iin, PhoneNumber, Sex
from edqueue.models.instants import KAZAKHSTAN, instant, require_aware
from edqueue.models.organizations import (
    GeoPoint,
    Group,
    GroupKey,
    GroupSpecialization,
    Language,
    Organization,
    OrganizationName,
    Ownership,
    QueueKind,
    TengeRange,
)
from edqueue.models.people import (
    Applicant,
    BirthCertificate,
    Child,
    FullName,
    LegalRepresentativeStatus,
)
from edqueue.models.referrals import Referral, ReferralStatus

__all__ = [
    "KAZAKHSTAN",
    "MAX_CHOICES",
    "Applicant",
    "Application",
    "ApplicationStatus",
    "BenefitCategory",
    "BenefitClaim",
    "BenefitStatus",
    "BirthCertificate",
    "Child",
    "Choice",
    "Consent",
    "FullName",
    "GeoPoint",
    "Group",
    "GroupKey",
    "GroupSpecialization",
    "Iin",
    "Language",
    "LegalRepresentativeStatus",
    "Organization",
    "OrganizationName",
    "Ownership",
    "PhoneNumber",
    "PmpkConclusion",
    "Proof",
    "QueueKind",
    "Referral",
    "ReferralPreference",
    "ReferralStatus",
    "ReferralTiming",
    "Sex",
    "TengeRange",
    "Tier",
    "by_number",
    "instant",
    "number_order",
    "require_aware",
]
