"""The national defaults of the dated policy, :data:`KAZAKHSTAN_POLICY`, each value with its
source (the module's docstring of :mod:`edqueue.rules.policy` tells the base act and why
every default applies from 2020-06-22). :mod:`edqueue.rules.policy` re-exports it.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from edqueue.rules.dated import DatedValue, ParameterHistory, Policy
from edqueue.rules.durations import Duration, DurationUnit

__all__ = ["KAZAKHSTAN_POLICY"]


_FROM = date(2020, 6, 22)
_RULES_254 = (
    "Rules No. 254 of 19.06.2020 (registered 22.06.2020 No. 20883), service «Постановка на "
    "очередь детей дошкольного возраста (до 6 лет) для направления в дошкольные "
    "организации»; gov.kz/services/3042"
)
_SEED = "INDIGO24 user guide (seed)"
_ASTANA_49434 = "regional practice, Astana: bilim.astana.kz/en/archives/49434 (2019)"
_LIMIT = (
    "no source: edqueue's default, for the host to set; NIST SP 800-63B, 5.2.2 (rate "
    "limiting of failed authentication attempts)"
)


def _default(name: str, value: int | Duration, source: str) -> ParameterHistory:
    return ParameterHistory(name, [DatedValue(_FROM, value, source)])


KAZAKHSTAN_POLICY: Final[Policy] = Policy(
    "Kazakhstan (edqueue defaults)",
    [
        _default(
            "max_organizations",
            4,
            f"{_SEED}, step 2: «Заявитель может выбрать до 4-х дошкольных организаций»",
        ),
        _default("age_limit_years", 6, _RULES_254),
        _default(
            "referral_min_age_months",
            24,
            f"{_ASTANA_49434}: the queue moves after the child is 2 years old",
        ),
        _default(
            "referral_enrolment_window",
            Duration(5, DurationUnit.WORKING_DAYS),
            "regional practice, Almaty 2023: «в течение пяти рабочих дней» (mgorod.kz, "
            f"arbatmedia.kz); {_ASTANA_49434}: within 5 days",
        ),
        _default(
            "referral_enrolment_window_max",
            Duration(30, DurationUnit.CALENDAR_DAYS),
            f"{_ASTANA_49434}: up to 30 days at the request of the parent "
            "(calendar days: edqueue's reading)",
        ),
        _default(
            "benefit_confirmation_window",
            Duration(5, DurationUnit.WORKING_DAYS),
            "regional practice, Astana: bilim.astana.kz/en/archives/49457: 5 working days",
        ),
        _default(
            "stop_list_period",
            Duration(10, DurationUnit.CALENDAR_DAYS),
            "regional practice, Almaty 2023: «стоп-лист на 10 дней»; Astana: "
            "bilim.astana.kz/en/archives/49453 (calendar days: edqueue's reading)",
        ),
        _default(
            "sibling_window_months",
            1,
            f"{_ASTANA_49434}: twins born not more than a month apart are registered as a "
            "batch and referred only together",
        ),
        _default(
            "first_priority_ratio_general",
            0,
            f"{_SEED}, step 4: «Заявления граждан, имеющих льготу, имеют приоритетное "
            "положение в очереди» (0: no interleaving, the tiers one after another); a region "
            f"that interleaves sets N, N = 3 in {_ASTANA_49434}: first-priority categories "
            "receive directions in the ratio of one to three",
        ),
        _default(
            "device_number_change_interval",
            Duration(40, DurationUnit.CALENDAR_DAYS),
            f"{_SEED}, step 0: «не чаще, чем один раз в 40 дней»",
        ),
        _default(
            "confirmation_code_lifetime",
            Duration(2, DurationUnit.MINUTES),
            f"{_SEED}, step 0: countdown «01:44» (about 2 minutes: edqueue's reading)",
        ),
        _default(
            "confirmation_code_attempts",
            3,
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "session_lifetime",
            Duration(30, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "other_representative_may_act",
            0,
            "no source: edqueue's default (only the applicant), for the host to set",
        ),
        _default("code_sends_per_phone", 5, _LIMIT),
        _default("code_sends_per_device", 10, _LIMIT),
        _default("code_send_window", Duration(60, DurationUnit.MINUTES), _LIMIT),
        _default("code_failures_per_phone", 10, _LIMIT),
        _default("code_failures_per_device", 20, _LIMIT),
        _default("code_failure_window", Duration(24 * 60, DurationUnit.MINUTES), _LIMIT),
        _default(
            "draft_lifetime",
            Duration(24 * 60, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set; Law No. 94-V of 21.05.2013 "
            "on personal data (destroyed once the purpose is met)",
        ),
        _default(
            "refusal_log_interval",
            Duration(1, DurationUnit.MINUTES),
            "no source: edqueue's default, for the host to set",
        ),
        _default(
            "binding_password_lifetime",
            Duration(10, DurationUnit.MINUTES),
            f"{_SEED}, step 0: one-time password or QR code; the lifetime has no source: "
            "edqueue's default, for the host to set",
        ),
    ],
)
"""The national defaults, each from 2020-06-22 (see the module's docstring)."""
