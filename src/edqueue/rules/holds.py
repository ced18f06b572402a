"""The hold rules of referrals: why an application may not take a place now (its desired
date, the child's age, the stop list), and how a referral tells who was passed over.

Part of the referral desk: :mod:`edqueue.rules.referrals` re-exports :func:`referral_hold`
and says where each rule comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from edqueue.models import KAZAKHSTAN, Application, require_aware
from edqueue.rules.dated import policy_date
from edqueue.rules.explain import Reason
from edqueue.rules.parameters import PolicyValues

__all__ = ["referral_hold"]


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(KAZAKHSTAN):%d.%m.%Y %H:%M}"


def referral_hold(
    application: Application,
    at: datetime,
    values: PolicyValues,
    stop_until: datetime | None = None,
) -> Reason | None:
    """Why ``application`` may not take a place at ``at``, or ``None`` if it may. O(1).

    In this order: on the stop list until ``stop_until`` (``hold.stop_list``); its desired
    referral date is still ahead (``hold.desired_date``); the child is younger than the
    policy's ``referral_min_age_months`` (``hold.too_young``); the child has reached the
    age limit (``hold.age_limit``). Dates are read in Kazakhstan.

    >>> from datetime import datetime
    >>> from edqueue.rules.policy import KAZAKHSTAN_POLICY
    >>> from edqueue.sample import seed_application
    >>> values = KAZAKHSTAN_POLICY.at(datetime(2022, 1, 10, tzinfo=KAZAKHSTAN))
    >>> referral_hold(seed_application(), datetime(2022, 1, 10, tzinfo=KAZAKHSTAN), values)
    Reason(code='hold.too_young', params={'date': '23.06.2022'})
    """
    if stop_until is not None and require_aware(at, "the time") < stop_until:
        return Reason("hold.stop_list", {"until": _day(stop_until)})
    return _hold_on(application, policy_date(at), values)


def _hold_on(
    application: Application,
    today: date,
    values: PolicyValues,
    by_birth: dict[date, Reason | None] | None = None,
) -> Reason | None:
    """:func:`referral_hold` after the stop list, on ``today`` in Kazakhstan. A round asks
    for every application at one moment: it works the day out once and gives ``by_birth``,
    where the age rules' answer is kept per birth date (about 2,000 dates for a million
    children)."""
    desired = application.referral.desired_date
    if desired is not None and desired > today:
        return Reason("hold.desired_date", {"date": f"{desired:%d.%m.%Y}"})
    born = application.child.birth_date
    if by_birth is None:
        return _age_hold(born, today, values)
    if born in by_birth:
        return by_birth[born]
    hold = by_birth[born] = _age_hold(born, today, values)
    return hold


def _age_hold(born: date, today: date, values: PolicyValues) -> Reason | None:
    old_enough = values.referral_min_age_date(born)
    if old_enough > today:
        return Reason("hold.too_young", {"date": f"{old_enough:%d.%m.%Y}"})
    if values.has_reached_age_limit(born, today):
        return Reason("hold.age_limit", {"date": f"{values.age_limit_date(born):%d.%m.%Y}"})
    return None


def _first_in_line(passed: Mapping[str, int]) -> str:
    if not passed:
        return "first in line"
    words = {
        "hold.stop_list": "on the stop list",
        "hold.desired_date": "waiting for their desired date",
        "hold.too_young": "too young",
        "hold.age_limit": "at the age limit",
        "hold.siblings": "twins without enough places",
    }
    skipped = ", ".join(f"{count} {words[code]}" for code, count in sorted(passed.items()))
    return f"first in line who may take a place now (passed over: {skipped})"
