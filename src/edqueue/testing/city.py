"""A deterministic synthetic city (or country): organizations and applications to try edqueue on.

Sample data for ``edqueue demo``/``rank``/``allocate``, national-scale benchmark inputs
(1,000,000 applications, 10,000 organizations) and hosts' own tests. Everything here is
**synthetic**: the shares and distributions below are edqueue's assumptions, chosen to look
plausible and to exercise every rule; they are not statistics of Kazakhstan. The people are
invented; their IINs are valid (check digit, birth date, century and sex) but are not
meant to belong to anyone.

Determinism: the only source of randomness is a :class:`random.Random` seeded from the
``seed`` argument (no global random state, no clock), so the same arguments give the same
records and byte-identical files. Applications are drawn one after another from one
stream, so the first ``n`` applications of a long run are those of a run of ``n``.

Sources of the shapes: the seed (the INDIGO24 user guide) for the organization card (name
'КГКП ясли-сад "Салтанат"', address "..., улица ..., здание ...", free places, free
education, food 16 000-17 000 tenge a month, electronic contracts), the queues ("2020 ГР
русский", "2020 ГР казахский"), the birth certificate ("9-20-0000219 от 23.06.2020") and
the application (1 to 4 organizations, the referral preference, one benefit, both consents,
the confirmed legal representative); :mod:`edqueue.testing.strategies` for the mobile
operator codes.

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.rules import KAZAKHSTAN_POLICY, check_eligibility
>>> as_of = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
>>> organizations = generate_organizations(3, seed=7, as_of=as_of.date())
>>> [o.id for o in organizations], organizations[0].locality
(['org-00001', 'org-00002', 'org-00003'], 'г. Шахтинск')
>>> organizations[0].groups[0].key.label_ru
'2018 ГР казахский'
>>> applications = list(generate_applications(100, organizations, seed=7, as_of=as_of))
>>> applications[0].number, applications[-1].number
('1000001', '1000100')
>>> all(
...     check_eligibility(a, organizations, policy=KAZAKHSTAN_POLICY, as_of=as_of) == ()
...     for a in applications
... )
True
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final, NamedTuple, TypeVar

import attrs
from dateutil.relativedelta import relativedelta

from edqueue.errors import InputError
from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
    ApplicationStatus,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    BirthCertificate,
    Child,
    Choice,
    Consent,
    FullName,
    GeoPoint,
    Group,
    GroupKey,
    GroupSpecialization,
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationName,
    Ownership,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    TengeRange,
    require_aware,
)
from edqueue.models.identity import IIN_CHECK_WEIGHTS
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy, PolicyValues, policy_date
from edqueue.schemas import dump_application, dump_organization

__all__ = [
    "BROKEN_CODES",
    "generate_applications",
    "generate_organizations",
    "write_city",
]

_T = TypeVar("_T")

# --- shares and distributions (synthetic: edqueue's assumptions, not statistics) -------------

_STATE_SHARE = 0.85
_CORRECTIONAL_ORGANIZATION_SHARE = 0.10
_INCLUSIVE_ORGANIZATION_SHARE = 0.05
_SANATORIUM_ORGANIZATION_SHARE = 0.02
_FREE_PLACES = ((0, 1, 2, 3), (0.70, 0.15, 0.10, 0.05))
_CHOICE_COUNT = ((1, 2, 3, 4), (0.45, 0.30, 0.15, 0.10))
_NEIGHBOURS = 4  # further choices come from this many organizations on either side
_KAZAKH_LANGUAGE_SHARE = 0.60
_CORRECTIONAL_SHARE = 0.02
_TWIN_SHARE = 0.015
_SAME_SECOND_SHARE = 0.005
_FROM_DATE_SHARE = 0.10
_EXTRAORDINARY_SHARE = 0.02
_FIRST_PRIORITY_SHARE = 0.12
_EXTRAORDINARY = ((1, 2, 3, 4), (0.35, 0.15, 0.40, 0.10))
_FIRST_PRIORITY = ((5, 6, 7, 8, 9, 10, 11), (0.10, 0.04, 0.02, 0.50, 0.05, 0.09, 0.20))
_EXTRAORDINARY_VERIFIED = 0.50
_FIRST_PRIORITY_VERIFIED = 0.85
_CLAIMED_LATER_SHARE = 0.20
_APPLICANT_MOTHER_SHARE = 0.80
_WINDOW = timedelta(days=1826)  # submissions fall in the 5 years before as_of
_YOUNGEST = timedelta(days=90)  # children are at least about three months old
_PHONE_POOL = 1 << 16
_MAX_DRAWS = 10_000  # draws of one application before giving up (see _Generator.make)

# --- names and places ---------------------------------------------------------------------

_DEFAULT_CENTRE = GeoPoint(49.7116, 72.5925)  # Shakhtinsk, the seed's "Салтанат"


def _words(text: str, separator: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(separator))


_KINDERGARTEN_NAMES: Final = tuple(
    (ru, kk)
    for ru, _, kk in (
        pair.partition("/")
        for pair in _words(
            "Айголек/Айгөлек|Балапан/Балапан|Балдырган/Балдырған|Карлыгаш/Қарлығаш|"
            "Салтанат/Салтанат|Акбота/Ақбота|Бобек/Бөбек|Еркетай/Еркетай|Кулыншак/Құлыншақ|"
            "Айналайын/Айналайын|Жулдыз/Жұлдыз|Куншуак/Күншуақ|Байтерек/Бәйтерек|"
            "Болашак/Болашақ|Мольдир/Мөлдір|Ертеги/Ертегі|Арман/Арман|Балауса/Балауса|"
            "Нурбакыт/Нұрбақыт|Шапагат/Шапағат|Солнышко/Күнекей|Ромашка/Түймедақ|"
            "Теремок/Теремок|Радуга/Кемпірқосақ|Колокольчик/Қоңырау|Золотой ключик/Алтын кілт|"
            "Алёнушка/Алёнушка|Берёзка/Қайың|Звёздочка/Жұлдызша|Ласточка/Қарлығаш",
            "|",
        )
    )
)
"""Common kindergarten names: (Russian form, Kazakh form)."""
_STREETS: Final = _words(
    "Абая|Сатпаева|Бухар жырау|Гоголя|Пушкина|Момышулы|Жамбыла|Толе би|Мира|Ленинградская|"
    "Имени 40-летия Победы|Байтурсынова|Желтоксан|Республики|Чайковского|Строителей|"
    "Шахтёров|Достык",
    "|",
)
# Mobile operator codes 70x and 77x (the list of edqueue.testing.strategies); libphonenumber takes
# every seven-digit subscriber number after them as a mobile number.
_MOBILE_CODES: Final = _words("700 701 702 705 707 708 771 775 776 777 778")

# Surnames as (male, female).
_KAZAKH_SURNAMES: Final = tuple(
    (s, s + "а")
    for s in _words(
        "Ахметов Жумабаев Нурланов Смагулов Сапаров Касымов Омаров Абенов Сулейменов "
        "Байжанов Тулегенов Ибраев Кенжебаев Есенов Искаков Мукашев Жаксылыков Садыков "
        "Бекмуханов Утепов"
    )
)
_RUSSIAN_SURNAMES: Final = tuple(
    (s, s + "а") if s.endswith(("ов", "ев", "ин")) else (s, s)
    for s in _words(
        "Иванов Петров Кузнецов Попов Смирнов Васильев Соколов Морозов Новиков Фёдоров "
        "Ким Ли Пак Цой Шевченко Бондаренко"
    )
)
# Fathers' names with their patronymics: (name, "-ович" form, "-овна" form, Kazakh-style
# "-ұлы" form or None, "-қызы" form or None).
_Father = tuple[str, str, str, str | None, str | None]
_KAZAKH_FATHERS: Final[tuple[_Father, ...]] = tuple(
    (n, n + "ович", n + "овна", n + "ұлы", n + "қызы")
    for n in _words(
        "Ержан Нурлан Данияр Асхат Серик Бауыржан Ерлан Арман Айдар Марат Тимур Руслан Дамир "
        "Азамат Ерболат Канат Жандос Максат Нурсултан Ринат"
    )
)
_RUSSIAN_FATHERS: Final[tuple[_Father, ...]] = tuple(
    (n, m, f, None, None)
    for n, m, f in (
        ("Сергей", "Сергеевич", "Сергеевна"),
        ("Андрей", "Андреевич", "Андреевна"),
        ("Алексей", "Алексеевич", "Алексеевна"),
        ("Дмитрий", "Дмитриевич", "Дмитриевна"),
        ("Евгений", "Евгеньевич", "Евгеньевна"),
        ("Денис", "Денисович", "Денисовна"),
        ("Игорь", "Игоревич", "Игоревна"),
        ("Владимир", "Владимирович", "Владимировна"),
        ("Александр", "Александрович", "Александровна"),
        ("Максим", "Максимович", "Максимовна"),
        ("Роман", "Романович", "Романовна"),
        ("Виталий", "Витальевич", "Витальевна"),
    )
)
_KAZAKH_MOTHERS: Final = _words(
    "Айгуль Гульнара Динара Айгерим Жанар Асель Сауле Мадина Жанна Алия Гульмира Назерке "
    "Аружан Камила Дана Жулдыз Меруерт Ботагоз"
)
_RUSSIAN_MOTHERS: Final = _words(
    "Елена Ольга Наталья Татьяна Юлия Ирина Анастасия Екатерина Светлана Марина Оксана Кристина"
)
_KAZAKH_BOYS: Final = _words(
    "Алихан Нурислам Айсултан Алинур Мирас Ерасыл Әлихан Арсен Амир Ислам Нұрдәулет Санжар "
    "Бекзат Айбар Темірлан Абылай"
)
_KAZAKH_GIRLS: Final = _words(
    "Медина Айлин Аяла Айсулу Раяна Томирис Амина Хадиша Жасмин Інжу Айару Аружан Нұрай "
    "Әйгерім Сафия Малика"
)
_RUSSIAN_BOYS: Final = _words(
    "Александр Михаил Артём Максим Дмитрий Матвей Иван Тимофей Марк Лев Кирилл Даниил"
)
_RUSSIAN_GIRLS: Final = _words(
    "София Анна Мария Виктория Алиса Ева Полина Варвара Дарья Вероника Милана Ксения"
)
_RUSSIAN_NAMED_SHARE_RU = 0.45  # families choosing Russian groups with Russian names
_RUSSIAN_NAMED_SHARE_KK = 0.05
_KAZAKH_PATRONYMIC_SHARE = 0.50  # Kazakh families writing "Ержанұлы" rather than "Ержанович"
_NO_PATRONYMIC_SHARE = 0.05

BROKEN_CODES: Final = (
    "eligibility.unknown_organization",
    "eligibility.not_legal_representative",
    "eligibility.referral_date_after_age_limit",
)
"""The violations ``broken_share`` plants, one per broken application, in turn."""


def _cumulative(
    table: tuple[tuple[_T, ...], tuple[float, ...]],
) -> tuple[tuple[_T, ...], list[float]]:
    values, weights = table
    total = sum(weights)
    cumulative = list(itertools.accumulate(w / total for w in weights))
    cumulative[-1] = 1.0
    return values, cumulative


def _pick(rng: random.Random, table: tuple[tuple[_T, ...], list[float]]) -> _T:
    values, cumulative = table
    return values[bisect.bisect_right(cumulative, rng.random())]


def _new_rng(kind: str, seed: int) -> random.Random:
    # Synthetic test data, not a secret. A string seed is hashed with SHA-512: the same on
    # every run, platform and PYTHONHASHSEED. The prefix keeps the module's old name
    # (edqueue.generate): changing it would change every city ever generated.
    return random.Random(f"edqueue.generate.{kind}:{seed}")  # noqa: S311 # nosec B311


# --- organizations ----------------------------------------------------------------------------


def _locality_names(locality: str, localities: int) -> list[str]:
    if localities == 1:
        return [locality]
    width = max(3, len(str(localities)))
    return [f"г. Город-{k:0{width}d}" for k in range(1, localities + 1)]


def _scatter(rng: random.Random, centre: GeoPoint, count: int) -> list[tuple[float, float]]:
    """``count`` points around ``centre`` in a disc whose area grows with ``count``, sorted
    in a snake (boustrophedon) order so that organizations next by id are near on the map."""
    radius_km = max(1.5, 0.6 * math.sqrt(count))
    km_per_degree_lat = 111.32
    km_per_degree_lon = km_per_degree_lat * math.cos(math.radians(centre.latitude))
    points = []
    for _ in range(count):
        r = radius_km * math.sqrt(rng.random())
        angle = rng.random() * 2 * math.pi
        latitude = centre.latitude + r * math.cos(angle) / km_per_degree_lat
        longitude = centre.longitude + r * math.sin(angle) / km_per_degree_lon
        points.append((round(latitude, 6), round(longitude, 6)))
    bands = max(1, round(math.sqrt(count / 2)))
    low = centre.latitude - radius_km / km_per_degree_lat
    band_height = 2 * radius_km / km_per_degree_lat / bands

    def snake(point: tuple[float, float]) -> tuple[int, float]:
        band = min(bands - 1, int((point[0] - low) / band_height))
        return band, point[1] if band % 2 == 0 else -point[1]

    return sorted(points, key=snake)


def _organization(
    rng: random.Random,
    *,
    organization_id: str,
    number: int,
    locality: str,
    point: tuple[float, float],
    birth_years: range,
    free_places: tuple[tuple[int, ...], list[float]],
) -> Organization:
    state = rng.random() < _STATE_SHARE
    name_ru, name_kk = rng.choice(_KINDERGARTEN_NAMES)
    if state:
        name = OrganizationName(
            f'КГКП ясли-сад № {number} "{name_ru}"', f'№ {number} "{name_kk}" бөбекжай-бақшасы КМҚК'
        )
        fee = 0
    else:
        name = OrganizationName(
            f'ТОО детский сад № {number} "{name_ru}"', f'№ {number} "{name_kk}" балабақшасы ЖШС'
        )
        fee = 0 if rng.random() < 0.4 else rng.randrange(20_000, 70_001, 5_000)
    house = rng.randint(1, 150)
    suffix = rng.choice(("", "", "", "", "/2", " А"))
    address = f"{locality}, улица {rng.choice(_STREETS)}, здание {house}{suffix}"
    food_low = rng.randrange(14_000, 20_001, 500)
    food = TengeRange(food_low, food_low + rng.choice((500, 1_000, 1_500, 2_000)))
    kind = rng.random()
    if kind < _INCLUSIVE_ORGANIZATION_SHARE:
        specialization = GroupSpecialization.INCLUSIVE
    elif kind < _INCLUSIVE_ORGANIZATION_SHARE + _SANATORIUM_ORGANIZATION_SHARE:
        specialization = GroupSpecialization.SANATORIUM
    else:
        specialization = GroupSpecialization.REGULAR
    correctional = rng.random() < _CORRECTIONAL_ORGANIZATION_SHARE
    groups = []
    for year in birth_years:
        for language in (Language.RUSSIAN, Language.KAZAKH):
            capacity = rng.randint(15, 30)
            groups.append(
                Group(
                    GroupKey(year, language, QueueKind.GENERAL),
                    capacity,
                    _pick(rng, free_places),
                    specialization,
                )
            )
            if correctional:
                capacity = rng.randint(10, 15)
                groups.append(
                    Group(
                        GroupKey(year, language, QueueKind.CORRECTIONAL),
                        capacity,
                        _pick(rng, free_places),
                    )
                )
    return Organization(
        id=organization_id,
        name=name,
        ownership=Ownership.STATE if state else Ownership.PRIVATE,
        locality=locality,
        address=address,
        groups=groups,
        location=GeoPoint(*point),
        education_fee=fee,
        food_cost=food,
        electronic_contracts=rng.random() < 0.7,
    )


def generate_organizations(
    count: int,
    *,
    seed: int,
    as_of: date,
    locality: str = "г. Шахтинск",
    localities: int = 1,
    centre: GeoPoint | None = None,
    policy: Policy = KAZAKHSTAN_POLICY,
) -> list[Organization]:
    """``count`` synthetic preschool organizations (ясли-сады), the same for the same arguments.

    Ids are ``"org-00001"``, ``"org-00002"``, ... (zero-padded to at least five digits, so
    they sort). With ``localities == 1`` all are in ``locality``, scattered around
    ``centre`` (default: Shakhtinsk, the seed's city); with more, they are split into that
    many cities of consecutive ids, ``"г. Город-001"``, ``"г. Город-002"``, ... (``locality``
    and ``centre`` are then not used), each around its own centre in Kazakhstan. Within a
    locality, ids follow a snake path over the map, so neighbours by id are near.

    Assumptions (synthetic): 85 % state ('КГКП ясли-сад № 3 "Айгөлек"', free education),
    15 % private ('ТОО детский сад № 4 "Балапан"', 40 % of them free, the rest 20 000 -
    70 000 tenge a month); food 14 000 - 22 000 tenge a month; 70 % sign contracts
    electronically. Every organization has a general-education group for each birth year
    from ``as_of.year - age limit`` (6 in ``policy``) to ``as_of.year - 1``, in Russian and
    in Kazakh ("2020 ГР русский"), capacity 15-30; 10 % also have correctional groups for the
    same years and languages (capacity 10-15); the general groups of 5 % are inclusive and
    of 2 % sanatorium. Free places per group: 0 (70 %), 1 (15 %), 2 (10 %), 3 (5 %).

    ``as_of`` is a date (an aware datetime is read on its day in Kazakhstan). O(count * g)
    for g groups per organization. Raises :class:`~edqueue.errors.InputError`
    (``input.argument``) for ``count < 0``, ``localities < 1`` or more localities than
    organizations.
    """
    if count < 0:
        raise InputError("input.argument", "count must be >= 0")
    if localities < 1 or (count and localities > count):
        raise InputError(
            "input.argument", "localities must be between 1 and the number of organizations"
        )
    day = policy_date(as_of)
    age_limit = policy.at(day).age_limit_years
    birth_years = range(day.year - age_limit, day.year)
    rng = _new_rng("organizations", seed)
    free_places = _cumulative(_FREE_PLACES)
    names = _locality_names(locality, localities)
    width = max(5, len(str(count)))
    organizations: list[Organization] = []
    for k, name in enumerate(names):
        first, last = k * count // localities, (k + 1) * count // localities
        if localities == 1:
            here = centre if centre is not None else _DEFAULT_CENTRE
        else:
            here = GeoPoint(round(rng.uniform(43.0, 53.5), 4), round(rng.uniform(52.0, 82.0), 4))
        for number, point in enumerate(_scatter(rng, here, last - first), start=1):
            organizations.append(
                _organization(
                    rng,
                    organization_id=f"org-{len(organizations) + 1:0{width}d}",
                    number=number,
                    locality=name,
                    point=point,
                    birth_years=birth_years,
                    free_places=free_places,
                )
            )
    return organizations


# --- applications -----------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1).toordinal()
_DAY = 86_400
_KZ_OFFSET = 5 * 3_600  # used only to keep submissions mostly in the (approximate) daytime
_IMMEDIATELY = ReferralPreference.immediately()
_BOTH_CONSENTS = frozenset(Consent)
_GENERAL, _CORRECTIONAL = QueueKind.GENERAL.value, QueueKind.CORRECTIONAL.value
_SPECIAL = frozenset({GroupSpecialization.INCLUSIVE, GroupSpecialization.SANATORIUM})
_SPECIAL_NEEDS = int(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS)  # needs inclusive/sanatorium
_LARGE_FAMILY = int(BenefitCategory.LARGE_FAMILY)

# The check digit of iin_check_digit, its two sums split so that the part of digits 1-7
# (birth date, century and sex) is summed once per prefix and the part of the serial
# (digits 8-11) is looked up. Speed only: every IIN made here is still checked by Iin.
_SERIAL_SUMS = tuple(  # [weights][serial]: the serial's part of the sum, serial = "abcd"
    tuple(
        a * w[7] + b * w[8] + c * w[9] + d * w[10]
        for a in range(10)
        for b in range(10)
        for c in range(10)
        for d in range(10)
    )
    for w in IIN_CHECK_WEIGHTS
)
_SERIALS = tuple(f"{serial:04d}" for serial in range(10_000))


class _Serials:
    """The IIN serials of one birth date and sex: digits 1-7, their part of each check sum,
    and the next serial to give."""

    __slots__ = ("first_sum", "next", "prefix", "second_sum")

    def __init__(self, born: date, male: bool, start: int) -> None:
        century = (5 if born.year >= 2000 else 3) + (0 if male else 1)
        self.prefix = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}{century}"
        self.first_sum, self.second_sum = (
            sum(int(d) * w for d, w in zip(self.prefix, weights[:7], strict=True))
            for weights in IIN_CHECK_WEIGHTS
        )
        self.next = start


class _Family(NamedTuple):
    """How a family's names are made, kept for a twin of its application."""

    russian_names: bool
    surname: tuple[str, str]
    father: _Father
    kazakh_patronymic: bool


class _Generator:
    """The state of one stream of applications: the random stream, the serial numbers of
    IINs and certificates given so far, the phones and names made so far, the queues."""

    def __init__(
        self,
        organizations: Sequence[Organization],
        *,
        seed: int,
        as_of: datetime,
        first_number: int,
        policy: Policy,
        broken_share: float,
    ) -> None:
        self.rng = _new_rng("applications", seed)
        self.random = self.rng.random
        self.as_of = require_aware(as_of, "as_of").astimezone(KAZAKHSTAN)
        self.on = self.as_of.date()
        self.values: PolicyValues = policy.at(self.on)
        self.first_number = first_number
        self.broken_share = broken_share
        self.broken = 0
        self.max_choices = self.values.max_organizations
        self.as_of_ts = int(self.as_of.timestamp())
        self.window_ts = int((self.as_of - _WINDOW).timestamp())

        earliest = self.on - relativedelta(years=self.values.age_limit_years) + timedelta(days=1)
        while self.values.has_reached_age_limit(earliest, self.on):
            earliest += timedelta(days=1)
        latest = min(date(self.on.year - 1, 12, 31), self.on - _YOUNGEST)
        if latest < earliest:
            raise InputError("input.argument", "as_of leaves no birth dates under the age limit")
        self.first_birth = earliest.toordinal()
        self.birth_days = latest.toordinal() - self.first_birth + 1

        ordered = sorted(organizations, key=lambda o: o.id)
        if not ordered:
            raise InputError("input.argument", "give at least one organization")
        ids = [o.id for o in ordered]
        if len(set(ids)) != len(ids):
            raise InputError("input.argument", "two organizations share an id; ids must be unique")
        self.locality_of = [o.locality for o in ordered]
        # (locality, birth year, language code, queue kind) -> organization indices, in id order
        self.queues: dict[tuple[str, int, str, str], list[int]] = {}
        # the same for general groups that are inclusive or sanatorium (benefit category 9)
        self.special: dict[tuple[str, int, str, str], list[int]] = {}
        # (birth year, language code) -> indices of organizations with such a general group
        self.anywhere: dict[tuple[int, str], list[int]] = {}
        self.choices: dict[tuple[int, str], Choice] = {}
        for index, organization in enumerate(ordered):
            for group in organization.groups:
                key = group.key
                code = key.language.code
                where = (organization.locality, key.birth_year, code, key.queue_kind.value)
                self.queues.setdefault(where, []).append(index)
                if key.queue_kind is QueueKind.GENERAL:
                    self.anywhere.setdefault((key.birth_year, code), []).append(index)
                    if group.specialization in _SPECIAL:
                        self.special.setdefault(where, []).append(index)
                if (index, code) not in self.choices:
                    self.choices[index, code] = Choice(organization.id, key.language)
        years = range(earliest.year, latest.year + 1)
        if not any((y, c) in self.anywhere for y in years for c in ("kk", "ru")):
            raise InputError(
                "input.argument",
                "no organization has a general group in Russian or Kazakh for the birth years "
                f"{years.start}-{years.stop - 1} (children under the age limit on as_of)",
            )

        self.choice_count = _cumulative(_CHOICE_COUNT)
        self.extraordinary = _cumulative(_EXTRAORDINARY)
        self.first_priority = _cumulative(_FIRST_PRIORITY)
        self.iin_serials: dict[int, _Serials] = {}  # by 2 * day ordinal + male
        self.certificate_serials: dict[int, int] = {}
        self.pmpk_serial = 0
        self.names: dict[tuple[str, str, str | None], FullName] = {}
        self.phone_step = 2 * self.below(_PHONE_POOL // 2) + 1  # odd: a permutation of the pool
        self.phone_offset = self.below(_PHONE_POOL)
        self.phone_multiplier = 2 * self.below(10**7 // 2) + 1
        while self.phone_multiplier % 5 == 0:  # coprime with 10**7: distinct subscribers
            self.phone_multiplier = 2 * self.below(10**7 // 2) + 1
        self.phone_base = self.below(10**7)
        self.phones: dict[int, PhoneNumber] = {}
        self.previous: Application | None = None  # the last application made afresh
        self.family: tuple[Application, _Family] | None = None  # the last one a twin may join

    # --- draws (random() scaled: several times faster than randrange, choice, randint) --

    def below(self, n: int) -> int:
        """A whole number in [0, n)."""
        return int(self.random() * n)

    def among(self, values: Sequence[_T]) -> _T:
        """One of ``values``."""
        return values[int(self.random() * len(values))]

    # --- people ---------------------------------------------------------------------------

    def iin(self, day: int, male: bool) -> str | None:
        """A new IIN for a person born on the day of ordinal ``day`` (serials count up per
        birth date and sex, from a drawn start), or ``None`` once the 10 000 serials of that
        date and sex are used up."""
        key = 2 * day + male
        serials = self.iin_serials.get(key)
        if serials is None:
            serials = self.iin_serials[key] = _Serials(
                date.fromordinal(day), male, self.below(2_000)
            )
        while serials.next < 10_000:
            serial = serials.next
            serials.next += 1
            # iin_check_digit, on the split sums: first weights, then second, then none
            check = (serials.first_sum + _SERIAL_SUMS[0][serial]) % 11
            if check == 10:
                check = (serials.second_sum + _SERIAL_SUMS[1][serial]) % 11
            if check != 10:
                return f"{serials.prefix}{_SERIALS[serial]}{check}"
        return None

    def phone(self, ordinal: int) -> PhoneNumber:
        """The phone of the ``ordinal``-th application: distinct for the first 65 536
        applications, then reused in the same order (each is checked once, ~40 µs)."""
        slot = (ordinal * self.phone_step + self.phone_offset) % _PHONE_POOL
        phone = self.phones.get(slot)
        if phone is None:
            code = _MOBILE_CODES[slot % len(_MOBILE_CODES)]
            subscriber = (slot * self.phone_multiplier + self.phone_base) % 10**7
            phone = self.phones[slot] = PhoneNumber(f"+7{code}{subscriber:07d}")
        return phone

    def name(self, last: str, first: str, patronymic: str | None) -> FullName:
        """The name, made once per combination (names repeat; records are immutable)."""
        key = (last, first, patronymic)
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = FullName(last, first, patronymic)
        return name

    def certificate(self, born: date) -> BirthCertificate:
        year = born.year % 100
        serial = self.certificate_serials.get(year)
        if serial is None:
            serial = 1 + self.below(5_000_000)
        self.certificate_serials[year] = serial + 1
        region, days = divmod(self.below(90), 10)  # region digit 1-9, issued 1-10 days after
        issued = date.fromordinal(born.toordinal() + 1 + days)
        return BirthCertificate(f"{1 + region}-{year:02d}-{serial:07d}", issued)

    def child_name(self, family: _Family, male: bool, avoid: str | None = None) -> FullName:
        if family.russian_names:
            pool = _RUSSIAN_BOYS if male else _RUSSIAN_GIRLS
        else:
            pool = _KAZAKH_BOYS if male else _KAZAKH_GIRLS
        first = self.among(pool)
        while first == avoid:
            first = self.among(pool)
        _, ru_m, ru_f, kk_m, kk_f = family.father
        if family.kazakh_patronymic and kk_m is not None and kk_f is not None:
            patronymic = kk_m if male else kk_f
        else:
            patronymic = ru_m if male else ru_f
        return self.name(family.surname[0 if male else 1], first, patronymic)

    # --- one application ------------------------------------------------------------------

    def candidates(self, home: int, year: int, language: str, kind: str) -> list[int]:
        """The organizations (indices, in id order) with the group, in the home's locality;
        for the general queue, in another locality if the home's has none."""
        locality = self.locality_of[home]
        found = self.queues.get((locality, year, language, kind))
        if found or kind != _GENERAL:
            return found or []
        anywhere = self.anywhere.get((year, language))
        if not anywhere:
            return []
        other = self.among(anywhere)
        return self.queues[self.locality_of[other], year, language, _GENERAL]

    def pick_choices(self, home: int, candidates: list[int]) -> list[int]:
        """The candidate nearest ``home`` by id, then some of its neighbours by id."""
        count = min(_pick(self.rng, self.choice_count), self.max_choices, len(candidates))
        at = min(bisect.bisect_left(candidates, home), len(candidates) - 1)
        first = candidates[at]
        if count == 1:
            return [first]
        window = candidates[max(0, at - _NEIGHBOURS) : at + _NEIGHBOURS + 1]
        if len(window) < count:
            window = candidates
        others = [i for i in window if i != first]
        if count == 2:
            return [first, self.among(others)]
        return [first, *self.rng.sample(others, count - 1)]

    def submission_ts(self, lowest: int) -> int:
        low = max(self.window_ts, lowest)
        ts = low + self.below(self.as_of_ts - low + 1)
        # mostly in the daytime: 80 % of submissions drawn between 00:00 and 07:00 move to
        # 08:00-15:00 (at UTC+5), unless that passes as_of
        if (ts + _KZ_OFFSET) % _DAY < 7 * 3_600 and self.random() < 0.8:
            moved = ts + 8 * 3_600
            if moved <= self.as_of_ts:
                ts = moved
        return ts

    def benefit_category(self) -> int | None:
        r = self.random()
        if r < _EXTRAORDINARY_SHARE:
            return _pick(self.rng, self.extraordinary)
        if r < _EXTRAORDINARY_SHARE + _FIRST_PRIORITY_SHARE:
            return _pick(self.rng, self.first_priority)
        return None

    def benefit(self, category: int, submitted_ts: int) -> BenefitClaim:
        claimed_ts = submitted_ts
        if self.random() < _CLAIMED_LATER_SHARE:
            claimed_ts += self.below(self.as_of_ts - submitted_ts + 1)
        claimed = datetime.fromtimestamp(claimed_ts, KAZAKHSTAN)
        if category <= 4:
            verified = self.random() < _EXTRAORDINARY_VERIFIED
            delay = (1 + self.below(10)) * _DAY + self.below(_DAY)  # a person reads a document
        else:
            verified = self.random() < _FIRST_PRIORITY_VERIFIED
            delay = self.below(900)  # a register answers within minutes
        if not verified:
            return BenefitClaim(category, BenefitStatus.PENDING, claimed)
        decided = datetime.fromtimestamp(min(claimed_ts + delay, self.as_of_ts), KAZAKHSTAN)
        if decided < claimed:
            # Later as an instant, earlier on the wall clock: the hour Asia/Almaty repeated on
            # 2024-03-01. BenefitClaim compares wall clocks, so decide at the claim's time.
            decided = claimed
        return BenefitClaim(category, BenefitStatus.VERIFIED, claimed, decided)

    def referral_from_date(self, born: date) -> ReferralPreference:
        """From the next 1 September, else a date within 180 days, if before the age limit."""
        limit = self.values.age_limit_date(born)
        september = date(self.on.year, 9, 1)
        if september <= self.on:
            september = date(self.on.year + 1, 9, 1)
        for desired in (september, self.on + timedelta(days=1 + self.below(180))):
            if desired < limit:
                return ReferralPreference.from_date(desired)
        return _IMMEDIATELY

    def twin(self, ordinal: int, sibling: Application, family: _Family) -> Application | None:
        """The twin of ``sibling``: same applicant, birth date, choices and submission time."""
        born = sibling.child.birth_date
        male = self.random() < 0.5
        iin = self.iin(born.toordinal(), male)
        if iin is None:
            return None
        name = self.child_name(family, male, avoid=sibling.child.name.first)
        child = Child(iin, name, born, self.certificate(born))
        return attrs.evolve(sibling, number=str(self.first_number + ordinal), child=child)

    def make(self, ordinal: int) -> Application:
        """The ``ordinal``-th application (from 0), numbered ``first_number + ordinal``."""
        if self.family is not None and self.random() < _TWIN_SHARE:
            twin = self.twin(ordinal, *self.family)
            if twin is not None:
                self.family = None  # no triplets
                return self.finish(twin)
        for _ in range(_MAX_DRAWS):
            application = self.fresh(ordinal)
            if application is not None:
                return self.finish(application)
        raise InputError(
            "input.argument",
            f"no application could be made in {_MAX_DRAWS} draws: the organizations have too "
            "few groups under the age limit, or the IINs of the birth dates are used up",
        )

    def fresh(self, ordinal: int) -> Application | None:
        """A new family's application, or ``None`` if the draw found no group: draw again."""
        random = self.random
        home = int(random() * len(self.locality_of))
        language = "kk" if random() < _KAZAKH_LANGUAGE_SHARE else "ru"
        born_day = self.first_birth + int(random() * self.birth_days)
        born = date.fromordinal(born_day)
        born_ts = (born_day - _EPOCH) * _DAY - _KZ_OFFSET  # about 00:00 on the birth day
        kind = _GENERAL
        lowest = born_ts + 14 * _DAY
        if random() < _CORRECTIONAL_SHARE and born_ts + 365 * _DAY < self.as_of_ts - _DAY:
            kind, lowest = _CORRECTIONAL, born_ts + 365 * _DAY
        category = self.benefit_category()
        candidates: list[int] = []
        if category == _SPECIAL_NEEDS:
            if kind == _GENERAL:
                where = (self.locality_of[home], born.year, language, _GENERAL)
                candidates = self.special.get(where, [])
            if not candidates:
                category = _LARGE_FAMILY
        if not candidates:
            candidates = self.candidates(home, born.year, language, kind)
        if not candidates and kind == _CORRECTIONAL:
            kind, lowest = _GENERAL, born_ts + 14 * _DAY
            candidates = self.candidates(home, born.year, language, kind)
        if not candidates:
            return None
        chosen = self.pick_choices(home, candidates)

        russian_names = random() < (
            _RUSSIAN_NAMED_SHARE_RU if language == "ru" else _RUSSIAN_NAMED_SHARE_KK
        )
        fathers = _RUSSIAN_FATHERS if russian_names else _KAZAKH_FATHERS
        surnames = _RUSSIAN_SURNAMES if russian_names else _KAZAKH_SURNAMES
        family = _Family(
            russian_names,
            surnames[int(random() * len(surnames))],
            fathers[int(random() * len(fathers))],
            not russian_names and random() < _KAZAKH_PATRONYMIC_SHARE,
        )
        mother = random() < _APPLICANT_MOTHER_SHARE
        parent_iin = self.iin(born_day - 20 * 365 - int(random() * 20 * 365), not mother)
        male = random() < 0.5
        child_iin = self.iin(born_day, male)
        if parent_iin is None or child_iin is None:
            return None
        grandfather = fathers[int(random() * len(fathers))]
        if mother:
            mothers = _RUSSIAN_MOTHERS if russian_names else _KAZAKH_MOTHERS
            parent_first = mothers[int(random() * len(mothers))]
        else:
            parent_first = family.father[0]
        if random() < _NO_PATRONYMIC_SHARE:
            parent_patronymic = None
        elif family.kazakh_patronymic and grandfather[3] is not None:
            parent_patronymic = grandfather[4] if mother else grandfather[3]
        else:
            parent_patronymic = grandfather[2] if mother else grandfather[1]
        applicant = Applicant(
            iin=parent_iin,
            name=self.name(family.surname[1 if mother else 0], parent_first, parent_patronymic),
            phone=self.phone(ordinal),
        )
        child = Child(child_iin, self.child_name(family, male), born, self.certificate(born))

        previous = self.previous
        if (
            previous is not None
            and random() < _SAME_SECOND_SHARE
            and previous.submitted_at.timestamp() >= max(lowest, self.window_ts)
        ):
            submitted = previous.submitted_at
            submitted_ts = int(submitted.timestamp())
        else:
            submitted_ts = self.submission_ts(lowest)
            submitted = datetime.fromtimestamp(submitted_ts, KAZAKHSTAN)
        pmpk = None
        if kind == _CORRECTIONAL:
            self.pmpk_serial += 1
            issued = max(
                born + timedelta(days=365), submitted.date() - timedelta(days=self.below(91))
            )
            pmpk = PmpkConclusion(f"{self.pmpk_serial}/{issued.year}", issued)
        application = Application(
            number=str(self.first_number + ordinal),
            applicant=applicant,
            child=child,
            choices=[self.choices[i, language] for i in chosen],
            submitted_at=submitted,
            queue_kind=kind,
            referral=(
                _IMMEDIATELY if random() >= _FROM_DATE_SHARE else self.referral_from_date(born)
            ),
            benefit=None if category is None else self.benefit(category, submitted_ts),
            consents=_BOTH_CONSENTS,
            representative_status=LegalRepresentativeStatus.CONFIRMED,
            pmpk=pmpk,
            status=ApplicationStatus.ACTIVE,
        )
        self.previous = application
        twins_allowed = kind == _GENERAL and category != _SPECIAL_NEEDS
        self.family = (application, family) if twins_allowed else None
        return application

    def finish(self, application: Application) -> Application:
        """Break the application on purpose, for a ``broken_share`` of them."""
        if not self.broken_share or self.random() >= self.broken_share:
            return application
        code = BROKEN_CODES[self.broken % len(BROKEN_CODES)]
        self.broken += 1
        if code == "eligibility.unknown_organization":
            choices = list(application.choices)
            unknown = Choice(f"unknown-{application.number}", choices[0].language)
            if len(choices) < self.max_choices:
                choices.append(unknown)
            else:
                choices[-1] = unknown
            return attrs.evolve(application, choices=choices)
        if code == "eligibility.not_legal_representative":
            return attrs.evolve(
                application, representative_status=LegalRepresentativeStatus.NOT_CONFIRMED
            )
        limit = self.values.age_limit_date(application.child.birth_date)
        desired = max(limit, self.on + timedelta(days=1))
        return attrs.evolve(application, referral=ReferralPreference.from_date(desired))


def generate_applications(
    count: int,
    organizations: Sequence[Organization],
    *,
    seed: int,
    as_of: datetime,
    first_number: int = 1_000_001,
    policy: Policy = KAZAKHSTAN_POLICY,
    broken_share: float = 0.0,
) -> Iterator[Application]:
    """``count`` synthetic applications to ``organizations``, lazily, the same for the same
    arguments (and the first ``n`` of them the same whatever ``count``).

    Every application passes ``check_eligibility(app, organizations, policy=policy,
    as_of=as_of)`` with no violation, and no two share a child IIN. Numbers are
    ``first_number``, ``first_number + 1``, ... Arguments are checked, and the queues of
    ``organizations`` indexed, when this is called; records are made as they are taken,
    each in O(log n) for n organizations: about 40 µs, over half of it the records' own
    checks (two IINs, the names, the application), plus ~40 µs for each of the first
    65 536 phone numbers (libphonenumber's check).

    Assumptions (synthetic, not statistics of Kazakhstan):

    - the child is born on a uniformly drawn day between the age limit (6 years in
      ``policy`` on ``as_of``) and about three months before ``as_of``, no later than the
      end of the previous year (so a group for the birth year exists); boys and girls 1:1;
    - the applicant is the mother (80 %) or the father, 20-40 years older than the child;
      names come from short lists of common Kazakh and Russian names: families choosing
      Kazakh groups have Kazakh names (95 %), those choosing Russian groups Kazakh names
      (55 %) or Russian ones; Kazakh families write the patronymic "Ержанұлы" or "Ержанович"
      (1:1); 5 % of applicants have no patronymic;
    - phones are mobile numbers +7 70x / 77x: distinct for the first 65 536 applications
      (twins share their parent's), then reused in the same order, as checking a number
      costs ~40 µs, too slow to do a million times;
    - the first choice is an organization drawn uniformly (so demand follows supply across
      localities), 1-4 choices (45/30/15/10 %, at most the policy's maximum), the others
      among its 4 neighbours by id on either side in the same locality (ids follow the map
      in :func:`generate_organizations`), all in one language: Kazakh 60 %, Russian 40 %;
    - 2 % the correctional queue with a ПМПК conclusion (only children over a year old,
      in a locality with such groups, else general); 1.5 % twins of the previous
      application (same applicant, choices and submission time: a tie); 0.5 % submitted in
      the same second as the previous application (another tie); otherwise submitted at a
      uniform second in the 5 years (1826 days) before ``as_of`` and at least two weeks
      after the birth (a year for the correctional queue), mostly in the daytime, in
      Asia/Almaty;
    - the referral wanted immediately (90 %) or from a date after ``as_of`` and before the
      age limit (the next 1 September, else within 180 days);
    - benefits: 2 % extraordinary, categories 1-4 (35/15/40/10 %), half verified (a person
      reads the document in 1-10 days), half pending; 12 % first-priority, categories 5-11
      (10/4/2/50/5/9/20 %, category 8 "large families" the most common), 85 % verified (a
      register answers within minutes), 15 % pending; 86 % none. 20 % of the claims are
      made after the submission. Category 9 chooses only inclusive or sanatorium groups;
      where there is none, it becomes category 8;
    - both consents, the legal representative confirmed, status active.

    ``broken_share`` (0 to 1) breaks that share of applications on purpose, each with
    exactly one violation, taking :data:`BROKEN_CODES` in turn: an unknown organization
    added as the last choice, the legal representative not confirmed, a desired referral
    date on or after the day the child reaches the age limit.

    Raises :class:`~edqueue.errors.InputError` (``input.argument``) for ``count < 0``,
    ``first_number < 1``, ``broken_share`` outside [0, 1], no organizations, two
    organizations under one id, or no general group in Russian or Kazakh for a birth year
    under the age limit; :class:`~edqueue.errors.TimeError` for a naive ``as_of``.
    """
    if count < 0:
        raise InputError("input.argument", "count must be >= 0")
    if first_number < 1:
        raise InputError("input.argument", "first_number must be >= 1")
    if not 0.0 <= broken_share <= 1.0:
        raise InputError("input.argument", "broken_share must be between 0 and 1")
    generator = _Generator(
        organizations,
        seed=seed,
        as_of=as_of,
        first_number=first_number,
        policy=policy,
        broken_share=broken_share,
    )
    return map(generator.make, range(count))


def write_city(
    directory: Path,
    *,
    applications: int,
    organizations: int,
    seed: int,
    as_of: datetime,
    localities: int = 1,
    broken_share: float = 0.0,
) -> tuple[Path, Path]:
    """Write a synthetic city into ``directory``: ``organizations.json`` and
    ``applications.jsonl``; return their paths.

    ``organizations.json`` is a JSON array of :func:`~edqueue.schemas.dump_organization`
    objects, one organization a line; ``applications.jsonl`` holds one
    :func:`~edqueue.schemas.dump_application` object a line, written as the applications
    are made (memory stays flat however many). Both are UTF-8 with ``\\n`` line ends and
    the same bytes for the same arguments. Organizations are made by
    :func:`generate_organizations` on the day of ``as_of`` in Kazakhstan, applications by
    :func:`generate_applications` (with ``broken_share``), both with ``seed``. Arguments
    are checked before anything is written; the directory is created if needed and
    existing files are replaced.
    """
    as_of = require_aware(as_of, "as_of")
    made = generate_organizations(
        organizations, seed=seed, as_of=policy_date(as_of), localities=localities
    )
    stream = generate_applications(
        applications, made, seed=seed, as_of=as_of, broken_share=broken_share
    )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    organizations_path = directory / "organizations.json"
    applications_path = directory / "applications.jsonl"
    with organizations_path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("[\n")
        for i, organization in enumerate(made):
            out.write(",\n" if i else "")
            out.write(json.dumps(dump_organization(organization), ensure_ascii=False))
        out.write("\n]\n")
    with applications_path.open("w", encoding="utf-8", newline="\n") as out:
        for application in stream:
            out.write(json.dumps(dump_application(application), ensure_ascii=False))
            out.write("\n")
    return organizations_path, applications_path
