"""The dated policy: every limit a region or a reform can change, with its history and source.

Law as code in the manner of OpenFisca: a :class:`Policy` keeps, for each parameter, the
values it has had, each with the date from which it applies and the text it comes from.
:meth:`Policy.at` gives the :class:`PolicyValues` in force on a date; :meth:`Policy.amend`
gives a new policy with one more dated value, so a host derives a regional policy (Astana,
Almaty, a pilot city) without touching edqueue.

The national defaults are :data:`KAZAKHSTAN_POLICY`. Their base act is the Rules for
providing state services in preschool education (Правила оказания государственных услуг в
сфере дошкольного образования, приказ Министра образования и науки РК от 19 июня 2020 года
№ 254, зарегистрирован в МЮ РК 22 июня 2020 года № 20883); the service is «Постановка на
очередь детей дошкольного возраста (до 6 лет) для направления в дошкольные организации».
We could not read the paragraphs of the Rules, so several defaults are the practice of
Astana or Almaty as their education departments publish it; each parameter says which.
Every default applies from 2020-06-22, the registration date of the Rules (the date the
order came into force, usually ten calendar days after its publication, is not verified),
because no source gives an earlier or later date for these values.

>>> from datetime import date
>>> values = KAZAKHSTAN_POLICY.at(date(2024, 2, 5))
>>> values.max_organizations, str(values.referral_enrolment_window)
(4, '5 working days')
>>> astana = KAZAKHSTAN_POLICY.amend(
...     "max_organizations", date(2025, 1, 1), 3, source="a regional decision (example)"
... )
>>> astana.at(date(2024, 12, 31)).max_organizations, astana.at(date(2025, 1, 1)).max_organizations
(4, 3)
>>> KAZAKHSTAN_POLICY.at(date(2025, 1, 1)).max_organizations    # the original is unchanged
4
"""

from edqueue.rules.dated import DatedValue, ParameterHistory, Policy, policy_date
from edqueue.rules.defaults import KAZAKHSTAN_POLICY
from edqueue.rules.durations import Duration, DurationUnit
from edqueue.rules.durations import plus_calendar as plus_calendar  # remembered date sums
from edqueue.rules.parameters import PARAMETER_NAMES, PolicyValues
from edqueue.rules.regions import (
    AKMOLA_POLICY,
    ALMATY_POLICY,
    ASTANA_POLICY,
    PILOT_POLICY,
    REGIONAL_POLICIES,
    regional_policy,
)

__all__ = [
    "AKMOLA_POLICY",
    "ALMATY_POLICY",
    "ASTANA_POLICY",
    "KAZAKHSTAN_POLICY",
    "PARAMETER_NAMES",
    "PILOT_POLICY",
    "REGIONAL_POLICIES",
    "DatedValue",
    "Duration",
    "DurationUnit",
    "ParameterHistory",
    "Policy",
    "PolicyValues",
    "policy_date",
    "regional_policy",
]
