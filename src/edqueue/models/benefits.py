"""Benefits (льготы, жеңілдіктер): the eleven categories, their tiers and how they are proven.

Source of the list, its numbering, its split into two tiers and the way each category is
checked: the seed (the INDIGO24 user guide, step 3 "Сведения о наличии льгот"), which is the
portal's rendering of the Rules for providing state services in preschool education
(Правила оказания государственных услуг в сфере дошкольного образования, order of the
Minister of Education and Science of the Republic of Kazakhstan of 19 June 2020 No. 254,
registered 22 June 2020 No. 20883, as amended by order No. 133 of 31 May 2024). The sector
law behind each category is named on the category; article numbers are not given where we
could not read the text of the law.

The Kazakh titles are edqueue's own translation of the portal's Russian titles.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from edqueue.errors import BenefitError, TransitionError
from edqueue.models.instants import instant, require_aware

__all__ = ["BenefitCategory", "BenefitClaim", "BenefitStatus", "Proof", "Tier"]


class Tier(enum.IntEnum):
    """Priority tier in a queue: a lower value stands ahead.

    Source: the application text the citizen acknowledges (seed, step 4): "Заявления
    граждан, имеющих льготу, имеют приоритетное положение в очереди"; the seed's step 3 splits
    benefits into "Внеочередные льготы" and "Первоочередные льготы".
    """

    EXTRAORDINARY = 1
    """Внеочередное право (extraordinary): ahead of everyone."""
    FIRST_PRIORITY = 2
    """Первоочередное право (first-priority): after extraordinary, ahead of the rest."""
    NONE = 3
    """No verified benefit: the general order."""

    @property
    def title_ru(self) -> str:
        """The tier's name as the portal writes it."""
        return _TIER_TITLES_RU[self]


_TIER_TITLES_RU = {
    Tier.EXTRAORDINARY: "Внеочередные льготы",
    Tier.FIRST_PRIORITY: "Первоочередные льготы",
    Tier.NONE: "Без льготы",
}


class Proof(enum.StrEnum):
    """How a benefit is proven.

    Source: seed, step 3: extraordinary categories show "Не загружен / + Загрузить
    документ" (an uploaded document, checked by a person); first-priority categories show
    "Не найдена" (looked up automatically in state registers).
    """

    DOCUMENT = "document"
    STATE_REGISTER = "state_register"


@attrs.frozen
class _CategoryInfo:
    tier: Tier
    title_ru: str
    title_kk: str
    title_en: str
    source: str


_RULES = "Rules No. 254 of 19.06.2020 (as amended 31.05.2024), as shown in the seed, step 3"


class BenefitCategory(enum.IntEnum):
    """The eleven benefit categories, numbered as on the portal (seed, step 3).

    Each member has a ``tier``, titles in Russian, Kazakh and English, the ``proof`` it needs
    and the ``source`` it comes from.

    >>> BenefitCategory.LARGE_FAMILY.tier
    <Tier.FIRST_PRIORITY: 2>
    >>> BenefitCategory(1).title_ru
    'Дети военнослужащих'
    """

    MILITARY = 1
    """Children of military servicemen (extraordinary).

    Law of the Republic of Kazakhstan of 16 February 2012 No. 561-IV "On military service and
    the status of military servicemen"."""
    SPECIAL_STATE_BODIES = 2
    """Children of employees of special state bodies (extraordinary).

    Law of the Republic of Kazakhstan of 13 February 2012 No. 552-IV "On special state
    bodies of the Republic of Kazakhstan"."""
    LAW_ENFORCEMENT = 3
    """Children of law-enforcement employees, including those who died or went missing in
    service (extraordinary).

    Law of the Republic of Kazakhstan of 6 January 2011 No. 380-IV "On law-enforcement
    service"."""
    STATE_COURIER = 4
    """Children of employees of the state courier service (extraordinary).

    Law of the Republic of Kazakhstan of 29 June 2021 No. 57-VII "On state courier
    communication"."""
    DISABLED_PARENTS = 5
    """Children of parents with disabilities (first-priority).

    Social Code of the Republic of Kazakhstan (2023), social protection of persons with
    disabilities."""
    WITHOUT_PARENTAL_CARE = 6
    """Children left without parental care (first-priority).

    Code of the Republic of Kazakhstan of 26 December 2011 No. 518-IV "On marriage
    (matrimony) and family"."""
    ORPHANS = 7
    """Orphans (first-priority).

    Code of the Republic of Kazakhstan of 26 December 2011 No. 518-IV "On marriage
    (matrimony) and family"."""
    LARGE_FAMILY = 8
    """Children from large families (first-priority).

    Code of the Republic of Kazakhstan of 26 December 2011 No. 518-IV "On marriage
    (matrimony) and family"."""
    SPECIAL_EDUCATIONAL_NEEDS = 9
    """Children with special educational needs, for inclusive and sanatorium groups
    (first-priority).

    Law of the Republic of Kazakhstan of 27 July 2007 No. 319-III "On education", article 8
    (state guarantees for persons with special educational needs)."""
    FAMILY_WITH_DISABLED_CHILD = 10
    """Children from families raising a child with disabilities (first-priority).

    Social Code of the Republic of Kazakhstan (2023)."""
    TEACHERS = 11
    """Children whose legal representatives are teachers (first-priority).

    Law of the Republic of Kazakhstan of 27 December 2019 No. 293-VI "On the status of a
    teacher"."""

    @property
    def _info(self) -> _CategoryInfo:
        return _CATEGORIES[self]

    @property
    def tier(self) -> Tier:
        """Extraordinary (1-4) or first-priority (5-11)."""
        return self._info.tier

    @property
    def proof(self) -> Proof:
        """An uploaded document for extraordinary categories, state registers for the rest."""
        return Proof.DOCUMENT if self.tier is Tier.EXTRAORDINARY else Proof.STATE_REGISTER

    @property
    def title_ru(self) -> str:
        """The title as the portal writes it (seed, step 3)."""
        return self._info.title_ru

    @property
    def title_kk(self) -> str:
        """The title in Kazakh (edqueue's translation)."""
        return self._info.title_kk

    @property
    def title_en(self) -> str:
        """The title in English, as DOMAIN.md gives it."""
        return self._info.title_en

    @property
    def source(self) -> str:
        """Where the category comes from: the portal's list and the sector law."""
        return self._info.source

    def title(self, language: str) -> str:
        """The title in ``"ru"``, ``"kk"`` or ``"en"``."""
        try:
            return {"ru": self.title_ru, "kk": self.title_kk, "en": self.title_en}[language]
        except KeyError:
            raise BenefitError(
                "benefit.category", "benefit titles exist in 'ru', 'kk' and 'en'"
            ) from None


_CATEGORIES: dict[BenefitCategory, _CategoryInfo] = {
    BenefitCategory.MILITARY: _CategoryInfo(
        Tier.EXTRAORDINARY,
        "Дети военнослужащих",
        "Әскери қызметшілердің балалары",
        "Children of military servicemen",
        f"{_RULES}; Law No. 561-IV of 16.02.2012 'On military service and the status of "
        "military servicemen'",
    ),
    BenefitCategory.SPECIAL_STATE_BODIES: _CategoryInfo(
        Tier.EXTRAORDINARY,
        "Дети сотрудников специальных государственных органов",
        "Арнаулы мемлекеттік органдар қызметкерлерінің балалары",
        "Children of employees of special state bodies",
        f"{_RULES}; Law No. 552-IV of 13.02.2012 'On special state bodies'",
    ),
    BenefitCategory.LAW_ENFORCEMENT: _CategoryInfo(
        Tier.EXTRAORDINARY,
        "Дети сотрудников правоохранительных органов (в том числе тех, которые погибли, "
        "умерли или пропали без вести во время прохождения службы)",
        "Құқық қорғау органдары қызметкерлерінің балалары (оның ішінде қызмет өткеру "
        "кезінде қаза тапқан, қайтыс болған немесе хабар-ошарсыз кеткендердің)",
        "Children of law-enforcement employees (including those who died or went missing "
        "in service)",
        f"{_RULES}; Law No. 380-IV of 06.01.2011 'On law-enforcement service'",
    ),
    BenefitCategory.STATE_COURIER: _CategoryInfo(
        Tier.EXTRAORDINARY,
        "Дети сотрудников государственной фельдъегерской службы",
        "Мемлекеттік фельдъегерлік қызмет қызметкерлерінің балалары",
        "Children of employees of the state courier service",
        f"{_RULES}; Law No. 57-VII of 29.06.2021 'On state courier communication'",
    ),
    BenefitCategory.DISABLED_PARENTS: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети родителей-инвалидов",
        "Ата-анасы мүгедектігі бар балалар",
        "Children of disabled parents",
        f"{_RULES}; Social Code of the Republic of Kazakhstan (2023)",
    ),
    BenefitCategory.WITHOUT_PARENTAL_CARE: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети без попечения родителей",
        "Ата-анасының қамқорлығынсыз қалған балалар",
        "Children left without parental care",
        f"{_RULES}; Code No. 518-IV of 26.12.2011 'On marriage (matrimony) and family'",
    ),
    BenefitCategory.ORPHANS: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети-сироты",
        "Жетім балалар",
        "Orphans",
        f"{_RULES}; Code No. 518-IV of 26.12.2011 'On marriage (matrimony) and family'",
    ),
    BenefitCategory.LARGE_FAMILY: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети из многодетных семей",
        "Көпбалалы отбасылардың балалары",
        "Children from large families",
        f"{_RULES}; Code No. 518-IV of 26.12.2011 'On marriage (matrimony) and family'",
    ),
    BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети с особыми образовательными потребностями (для зачисления в инклюзивные и "
        "санаторные группы)",
        "Ерекше білім берілуіне қажеттілігі бар балалар (инклюзивті және санаторлық топтарға "
        "қабылдау үшін)",
        "Children with special educational needs (for inclusive and sanatorium groups)",
        f"{_RULES}; Law No. 319-III of 27.07.2007 'On education', article 8",
    ),
    BenefitCategory.FAMILY_WITH_DISABLED_CHILD: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети из семей, имеющих ребенка-инвалида",
        "Мүгедектігі бар баланы тәрбиелеп отырған отбасылардың балалары",
        "Children from families raising a disabled child",
        f"{_RULES}; Social Code of the Republic of Kazakhstan (2023)",
    ),
    BenefitCategory.TEACHERS: _CategoryInfo(
        Tier.FIRST_PRIORITY,
        "Дети, законные представители которых являются педагогами",
        "Заңды өкілдері педагог болып табылатын балалар",
        "Children whose legal representatives are teachers",
        f"{_RULES}; Law No. 293-VI of 27.12.2019 'On the status of a teacher'",
    ),
}


class BenefitStatus(enum.StrEnum):
    """Where a benefit claim stands. Only a ``VERIFIED`` claim gives priority.

    ``PENDING``: claimed, not yet checked (a document waiting for a reviewer); ``VERIFIED``:
    confirmed by a register or a reviewer; ``REJECTED``: not found or refused; ``EXPIRED``:
    no longer valid (not confirmed in time, or the status it rests on ended).
    """

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


_ALLOWED: dict[BenefitStatus, frozenset[BenefitStatus]] = {
    BenefitStatus.PENDING: frozenset(
        {BenefitStatus.VERIFIED, BenefitStatus.REJECTED, BenefitStatus.EXPIRED}
    ),
    BenefitStatus.VERIFIED: frozenset({BenefitStatus.EXPIRED, BenefitStatus.REJECTED}),
    BenefitStatus.REJECTED: frozenset(),
    BenefitStatus.EXPIRED: frozenset(),
}


def _category(value: Any) -> BenefitCategory:
    if type(value) is BenefitCategory:
        return value
    if isinstance(value, bool):
        value = None
    try:
        return BenefitCategory(value)
    except ValueError:
        raise BenefitError("benefit.category", "a benefit category is a number 1 to 11") from None


def _status(value: Any) -> BenefitStatus:
    if type(value) is BenefitStatus:
        return value
    try:
        return BenefitStatus(value)
    except ValueError:
        raise BenefitError(
            "benefit.status", "a benefit status is pending, verified, rejected or expired"
        ) from None


def _claim_time(value: Any) -> datetime | None:
    return None if value is None else require_aware(value, "the benefit's claim time")


def _decision_time(value: Any) -> datetime | None:
    return None if value is None else require_aware(value, "the benefit's decision time")


@attrs.frozen
class BenefitClaim:
    """A claim to one benefit (an application has at most one: "Вы можете выбрать только одну
    льготу", seed, step 3) and where its check stands.

    ``claimed_at`` is when it was claimed (at submission or later in the personal cabinet);
    ``decided_at`` is when its status last changed from pending. Both are optional for data
    imported without them, and timezone-aware when given.
    """

    category: BenefitCategory = attrs.field(converter=_category)
    status: BenefitStatus = attrs.field(default=BenefitStatus.PENDING, converter=_status)
    claimed_at: datetime | None = attrs.field(default=None, converter=_claim_time)
    decided_at: datetime | None = attrs.field(default=None, converter=_decision_time)

    def __attrs_post_init__(self) -> None:
        if (
            self.claimed_at is not None
            and self.decided_at is not None
            and instant(self.decided_at) < instant(self.claimed_at)
        ):
            raise BenefitError(
                "benefit.status", "a benefit cannot be decided before it was claimed"
            )

    @property
    def tier(self) -> Tier:
        """The category's tier if the claim is verified, else :attr:`Tier.NONE`.

        Pending, rejected and expired claims count as no benefit (issue 3, ordering).
        """
        return self.category.tier if self.status is BenefitStatus.VERIFIED else Tier.NONE

    def _move(self, to: BenefitStatus, at: datetime) -> BenefitClaim:
        if to not in _ALLOWED[self.status]:
            raise TransitionError(
                "benefit.invalid_transition",
                f"a {self.status.value} benefit cannot become {to.value}",
            )
        return BenefitClaim(self.category, to, self.claimed_at, at)

    def verify(self, at: datetime) -> BenefitClaim:
        """The claim confirmed at ``at`` (only a pending claim can be verified)."""
        return self._move(BenefitStatus.VERIFIED, at)

    def reject(self, at: datetime) -> BenefitClaim:
        """The claim refused at ``at``, or found invalid after its verification."""
        return self._move(BenefitStatus.REJECTED, at)

    def expire(self, at: datetime) -> BenefitClaim:
        """The claim no longer valid from ``at`` (not confirmed in time, or its basis ended)."""
        return self._move(BenefitStatus.EXPIRED, at)
