"""An independent implementation of the ordering rules, written from the issue's text.

Used by the tests as the model the library must agree with. Deliberately naive: one sort
of full keys, and the 1:3 interleave as a loop over two lists.
"""

from datetime import UTC

from edqueue import Application, BenefitStatus, Tier

TIER_OF_CATEGORY = {
    c: (Tier.EXTRAORDINARY if c <= 4 else Tier.FIRST_PRIORITY) for c in range(1, 12)
}


def tier(application: Application) -> Tier:
    benefit = application.benefit
    if benefit is None or benefit.status != BenefitStatus.VERIFIED:
        return Tier.NONE
    return TIER_OF_CATEGORY[int(benefit.category)]


def key(application: Application, *, from_verification: bool = False):
    moment = application.submitted_at
    benefit = application.benefit
    if (
        from_verification
        and tier(application) is not Tier.NONE
        and benefit is not None
        and benefit.decided_at is not None
        and benefit.decided_at.astimezone(UTC) > moment.astimezone(UTC)
    ):
        moment = benefit.decided_at
    return (int(tier(application)), moment.astimezone(UTC), int(application.number))


def standard_order(applications, *, from_verification: bool = False) -> list[str]:
    ranked = sorted(applications, key=lambda a: key(a, from_verification=from_verification))
    return [a.number for a in ranked]


def ratio_order(applications, first: int = 1, general: int = 3) -> list[str]:
    ranked = sorted(applications, key=key)
    extraordinary = [a.number for a in ranked if tier(a) is Tier.EXTRAORDINARY]
    priority = [a.number for a in ranked if tier(a) is Tier.FIRST_PRIORITY]
    rest = [a.number for a in ranked if tier(a) is Tier.NONE]
    out = list(extraordinary)
    while priority or rest:
        out += priority[:first]
        del priority[:first]
        out += rest[:general]
        del rest[:general]
    return out
