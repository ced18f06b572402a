"""The organizations of the city: :func:`generate_organizations`."""

from __future__ import annotations

import math
import random
from datetime import date

from edqueue.errors import InputError
from edqueue.models import (
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
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy, policy_date
from edqueue.testing.city._names import _DEFAULT_CENTRE, _KINDERGARTEN_NAMES, _STREETS
from edqueue.testing.city._shares import (
    _CORRECTIONAL_ORGANIZATION_SHARE,
    _FREE_PLACES,
    _INCLUSIVE_ORGANIZATION_SHARE,
    _SANATORIUM_ORGANIZATION_SHARE,
    _STATE_SHARE,
    _cumulative,
    _new_rng,
    _pick,
)


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
