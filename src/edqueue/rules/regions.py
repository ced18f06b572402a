"""Regional policies: the national defaults as a region amends them, each value with its
source and date, and :func:`regional_policy` to pick one by name.

The sources differ by region and by year, and the regions differ from each other: Astana
interleaves first-priority and general applications one to three (2019), Almaty serves the
beneficiaries first (2023); Astana refers from the age of 2 (2019), Akmola region gives
vouchers from 1.5 (2026). Each regional policy is :data:`~edqueue.rules.policy.KAZAKHSTAN_POLICY`
amended (:meth:`Policy.amend <edqueue.rules.policy.Policy.amend>`) with the values a region's
own source states, each from its own date; every other value is the national default. Each
source says how sure we are: regional practice as a region publishes it, a statement of the
ministry, or edqueue's inference (where a date or unit is not stated), and where the sources
disagree it says with which.

Dates: no policy has a value before 2020-06-22 (the registration of Rules No. 254, see
:mod:`edqueue.rules.policy`), and a regional value dated earlier would give way to the
national value of that day. So a value from a 2019 page of Astana is dated 2020-06-22 and
says so; later sources are dated from the day they give.

Only the existing parameters are amended. What a source states that no parameter holds yet
(Almaty's 3 working days to take the referral, the voucher's confirmation within 2 working
days, Akmola's re-sorting of the queues by 30 June) is listed in ``docs/rules.md``.

>>> from datetime import date
>>> astana = regional_policy("Астана")
>>> astana is ASTANA_POLICY, astana.at(date(2026, 12, 3)).first_priority_ratio_general
(True, 3)
>>> regional_policy("akmola").at(date(2026, 12, 3)).referral_min_age_months
18
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from edqueue.errors import PolicyError
from edqueue.rules.dated import Policy
from edqueue.rules.defaults import KAZAKHSTAN_POLICY
from edqueue.rules.durations import Duration, DurationUnit

__all__ = [
    "AKMOLA_POLICY",
    "ALMATY_POLICY",
    "ASTANA_POLICY",
    "PILOT_POLICY",
    "REGIONAL_POLICIES",
    "regional_policy",
]

_START = date(2020, 6, 22)  # the first day of every edqueue policy (Rules No. 254 registered)

# --- Astana ---------------------------------------------------------------------------------

_ASTANA = (
    "regional practice, Astana (Управление образования г. Астаны): bilim.astana.kz/en/archives"
)
_ASTANA_DATED = (
    "Dated 2020-06-22, the first day of every edqueue policy: the page is of 2019 (its day "
    "is not known here) and a value dated earlier would give way to the national value of "
    "2020-06-22; that Astana kept the practice under Rules No. 254 is edqueue's inference."
)
_ASTANA_VOUCHERS = date(2025, 7, 1)

ASTANA_POLICY: Final[Policy] = (
    KAZAKHSTAN_POLICY.amend(
        "first_priority_ratio_general",
        _START,
        3,
        source=f"{_ASTANA}/49434 (2019): the first-priority categories «receive directions "
        "in the ratio of “one to three.” (one applicant of preferential category and three "
        "applicants on a common basis)». The sources disagree: Almaty 2023 serves the "
        "beneficiaries first (ALMATY_POLICY), and the seed's application text puts the tiers "
        f"one after another (the national default, 0). {_ASTANA_DATED}",
    )
    .amend(
        "referral_min_age_months",
        _START,
        24,
        source=f"{_ASTANA}/49434 (2019): «The line begins its movement after the child is 2 "
        "years old, since up to this age admission to kindergartens is not carried out». The "
        "sources disagree: Akmola region gives vouchers from 1.5 years in 2026 "
        f"(AKMOLA_POLICY). {_ASTANA_DATED}",
    )
    .amend(
        "referral_enrolment_window",
        _START,
        Duration(5, DurationUnit.WORKING_DAYS),
        source=f"{_ASTANA}/49434 (2019): enrolment «within 5 days after receiving the "
        "notification»; 49453: «within 5 days provided». Astana does not say working or "
        "calendar days: working days is edqueue's reading, as Almaty 2023 states «в течение "
        "пяти рабочих дней» and the ministry states for Astana from 2025 (inastana.kz). "
        f"{_ASTANA_DATED}",
    )
    .amend(
        "referral_enrolment_window",
        _ASTANA_VOUCHERS,
        Duration(5, DurationUnit.WORKING_DAYS),
        source="stated by the ministry for the voucher model in Astana (inastana.kz, «4 "
        "июня», 2025 as issue 18 dates the ministry's statements): once the voucher is "
        "confirmed, «выбрать детсад, собрать документы и подписать договор за пять рабочих "
        "дней» (the confirmation «в течение двух рабочих дней» is a step no parameter holds "
        "yet); from 1 July 2025, as vouchers are given «после обновления очереди — с 1 июля».",
    )
    .amend(
        "referral_enrolment_window_max",
        _START,
        Duration(30, DurationUnit.CALENDAR_DAYS),
        source=f"{_ASTANA}/49434 (2019): enrolment «can last up to 30 days at the request of "
        "the parent». Astana does not say working or calendar days: calendar days is "
        f"edqueue's reading. {_ASTANA_DATED}",
    )
    .amend(
        "benefit_confirmation_window",
        _START,
        Duration(5, DurationUnit.WORKING_DAYS),
        source=f"{_ASTANA}/49457 (2019), the extraordinary categories: «you are given 5 "
        f"working days to do this». {_ASTANA_DATED}",
    )
    .amend(
        "stop_list_period",
        _START,
        Duration(10, DurationUnit.CALENDAR_DAYS),
        source=f"{_ASTANA}/49453 (2019): «your direction will be automatically canceled and "
        "you will be taken to STOP LIST for 10 days». Astana does not say working or calendar "
        f"days: calendar days is edqueue's reading. {_ASTANA_DATED}",
    )
    .amend(
        "sibling_window_months",
        _START,
        1,
        source=f"{_ASTANA}/51329 (2019): children «whose birth dates are not more than a "
        "month between them and they are from the same family» are registered as a «batch» "
        "and referred when there are places for all; «Changes under this item shall enter "
        "into force on 10.16.2019». Dated 2020-06-22, the first day of every edqueue policy: "
        "a value dated 2019-10-16 would give way to the national value of 2020-06-22; that "
        "Astana kept the rule under Rules No. 254 is edqueue's inference.",
    )
    .renamed("Astana")
)
"""Astana's practice as its education department published it in 2019, and the ministry's
statement on its voucher model of 2025. Differs from the national default in
``first_priority_ratio_general`` (3: one first-priority application, then three general
ones); the other amended values agree with the national defaults and cite Astana's pages."""

# --- Almaty ---------------------------------------------------------------------------------

_ALMATY_2023 = date(2023, 5, 17)
_ALMATY = (
    "regional practice, Almaty: the akimat of Almaty as the city press reported it on "
    "17.05.2023, the first day of the 2023 mass enrolment (arbatmedia.kz, mgorod.kz); dated "
    "from that day, the first our sources show (the practice may be older)"
)

ALMATY_POLICY: Final[Policy] = (
    KAZAKHSTAN_POLICY.amend(
        "first_priority_ratio_general",
        _ALMATY_2023,
        0,
        source=f"{_ALMATY}: «первыми место получают внеочередники и первоочередники» "
        "(arbatmedia.kz). That the beneficiaries are served first with no interleaving is "
        "edqueue's reading. The sources disagree: Astana interleaves one to three "
        "(bilim.astana.kz/en/archives/49434, 2019; ASTANA_POLICY).",
    )
    .amend(
        "referral_enrolment_window",
        _ALMATY_2023,
        Duration(5, DurationUnit.WORKING_DAYS),
        source=f"{_ALMATY}: «Полученное направление необходимо предоставить в дошкольную "
        "организацию в течение пяти рабочих дней. По истечении этого времени направление "
        "аннулируется».",
    )
    .amend(
        "stop_list_period",
        _ALMATY_2023,
        Duration(10, DurationUnit.CALENDAR_DAYS),
        source=f"{_ALMATY}: «очередь ребенка пойдет в стоп-лист на 10 дней: в этот период он "
        "не может участвовать в распределении свободных мест». Almaty does not say working "
        "or calendar days: calendar days is edqueue's reading.",
    )
    .renamed("Almaty")
)
"""Almaty's practice as the akimat stated it for the 2023 enrolment. Its values agree with
the national defaults; the ratio cites Almaty's "beneficiaries first", which disagrees with
Astana's one to three."""

# --- Akmola region: a voucher region -------------------------------------------------------

_AKMOLA_2026 = date(2026, 3, 16)
_AKMOLA = (
    "regional practice, Akmola region: the notice of 16.03.2026 of the ясли-сад «Балбобек», "
    "с. Егиндыколь, Акмолинская область (balbobek-egin-akm.edu.kz/news/open/id-15753736); "
    "dated from that day, the first our sources show"
)

AKMOLA_POLICY: Final[Policy] = (
    KAZAKHSTAN_POLICY.amend(
        "referral_min_age_months",
        _AKMOLA_2026,
        18,
        source=f"{_AKMOLA}: «... 1,5 жасқа толған және одан үлкен балаларға ваучерлер беруге "
        "рұқсат ...» (vouchers may be given to children of 1.5 years and older) once «Барлық "
        "санаттар бойынша кезек толық қанағаттандырылған жағдайда (21 санаттан басқа)» (the "
        "queue of every category but the 21st is fully served). That condition is not "
        "modelled: the value lowers the age for every referral (edqueue's reading). The "
        "sources disagree: Astana refers from 2 years (bilim.astana.kz/en/archives/49434, "
        "2019), as the national default does.",
    )
    .amend(
        "referral_enrolment_window",
        _AKMOLA_2026,
        Duration(5, DurationUnit.WORKING_DAYS),
        source="stated by the ministry for the voucher regions (kazpravda.kz, 2025 as issue 18 "
        "dates the ministry's statements): «Затем "
        "нужно выбрать детсад, собрать документы и подписать договор за 5 рабочих дней». "
        "Akmola region gives vouchers by the notice of 16.03.2026 of the ясли-сад «Балбобек» "
        "(balbobek-egin-akm.edu.kz) and Косшы, a town of the region, is in the ministry's list "
        "of 2025; dating it from that notice is edqueue's inference.",
    )
    .renamed("Akmola region")
)
"""Akmola region, a voucher region, as a kindergarten of the region published it in 2026.
Differs from the national default in ``referral_min_age_months`` (18 from 2026-03-16)."""

# --- The pilot of the new model (Shakhtinsk, Petropavlovsk) --------------------------------

_PILOT_2024 = date(2024, 1, 1)

PILOT_POLICY: Final[Policy] = KAZAKHSTAN_POLICY.amend(
    "max_organizations",
    _PILOT_2024,
    4,
    source="stated for the pilot of the new model in Shakhtinsk and Petropavlovsk "
    "(gov.kz/services/3042; ortcom.kz, early 2024): one to four kindergartens per "
    "application, as issue 18 summarises ortcom.kz (its text was not read here); the seed's "
    "«до 4-х» is the portal of Shakhtinsk. Early 2024: the exact day is not known; "
    "edqueue takes 2024-01-01.",
).renamed("Shakhtinsk and Petropavlovsk (pilot)")
"""The pilot of the new model in Shakhtinsk and Petropavlovsk (early 2024): one to four
organizations per application. Agrees with the national default (4); the value cites the
pilot from 2024-01-01."""

# --- Picking one by name -------------------------------------------------------------------

REGIONAL_POLICIES: Final[Mapping[str, Policy]] = MappingProxyType(
    {p.name: p for p in (ASTANA_POLICY, ALMATY_POLICY, AKMOLA_POLICY, PILOT_POLICY)}
)
"""Every shipped regional policy by its name (``Policy.name``), in the order of the table in
``docs/rules.md``. :data:`~edqueue.rules.policy.KAZAKHSTAN_POLICY` is not among them;
:func:`regional_policy` also answers to ``"Kazakhstan"``."""


def _key(name: str) -> str:
    return " ".join(name.casefold().replace("-", " ").split())


_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    KAZAKHSTAN_POLICY.name: ("Kazakhstan", "national", "Казахстан", "Қазақстан"),
    ASTANA_POLICY.name: ("Astana", "Nur-Sultan", "Астана", "Нур-Султан", "Нұр-Сұлтан"),
    ALMATY_POLICY.name: ("Almaty", "Алматы"),
    AKMOLA_POLICY.name: (
        "Akmola region",
        "Akmola",
        "Акмолинская область",
        "Акмола",
        "Ақмола облысы",
        "Ақмола",
    ),
    PILOT_POLICY.name: ("Shakhtinsk", "Petropavlovsk", "Шахтинск", "Петропавловск", "Петропавл"),
}
_BY_NAME: Final[Mapping[str, Policy]] = {
    _key(alias): policy
    for policy in (KAZAKHSTAN_POLICY, *REGIONAL_POLICIES.values())
    for alias in (policy.name, *_ALIASES[policy.name])
}


def _known() -> str:
    return "; ".join(" / ".join(aliases) for aliases in _ALIASES.values())


def regional_policy(name: str) -> Policy:
    """The shipped policy of a region, by name. O(1).

    Names are compared without regard to case, spaces or hyphens, in English, Russian or
    Kazakh: ``"Astana"``, ``"астана"`` and ``"Nur-Sultan"`` give :data:`ASTANA_POLICY`;
    ``"Shakhtinsk"`` and ``"Petropavlovsk"`` give :data:`PILOT_POLICY`; ``"Kazakhstan"``
    gives the national :data:`~edqueue.rules.policy.KAZAKHSTAN_POLICY`. A locality's full
    name (``"г. Шахтинск"``) is not parsed: the host maps its localities to these names.

    Raises :class:`~edqueue.errors.PolicyError` (``policy.unknown_region``) for any other
    name; the message lists the known names.

    >>> regional_policy("Nur-Sultan").name, regional_policy("ШАХТИНСК").name
    ('Astana', 'Shakhtinsk and Petropavlovsk (pilot)')
    """
    if not isinstance(name, str):
        raise PolicyError(
            "policy.unknown_region",
            f"a region's name is text, e.g. 'Astana'; the known names are: {_known()}",
        )
    policy = _BY_NAME.get(_key(name))
    if policy is None:
        raise PolicyError(
            "policy.unknown_region",
            f"no shipped policy for {name[:60]!r}; the known names are: {_known()}. "
            "For another region, derive its policy with "
            "KAZAKHSTAN_POLICY.amend(...).renamed(...)",
        )
    return policy
