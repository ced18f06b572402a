"""Preschool organizations (дошкольные организации) and the groups they queue children in.

A queue is one organization's group: a birth year, a language of instruction and a queue kind
(seed, step 4: "Очереди: 2020 ГР русский"). :class:`GroupKey` names it.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from edqueue.errors import OrganizationError

__all__ = [
    "GeoPoint",
    "Group",
    "GroupKey",
    "GroupSpecialization",
    "Language",
    "Organization",
    "OrganizationName",
    "Ownership",
    "QueueKind",
    "TengeRange",
]


class Ownership(enum.StrEnum):
    """State (государственная) or private (частная) organization.

    Source: seed, step 2: the card says "Государственная организация"; the service places
    children "в государственных и частных дошкольных организациях".
    """

    STATE = "state"
    PRIVATE = "private"


class QueueKind(enum.StrEnum):
    """General-education or correctional queue.

    Source: seed, step 0: "Встать в общеобразовательную очередь | Встать в коррекционную
    очередь". The correctional queue is for children with special educational needs,
    confirmed by a psychological-medical-pedagogical consultation (ПМПК).
    """

    GENERAL = "general"
    CORRECTIONAL = "correctional"

    @property
    def title_ru(self) -> str:
        """The queue's name in Russian, as the portal writes it."""
        return {"general": "общеобразовательная", "correctional": "коррекционная"}[self.value]


class GroupSpecialization(enum.StrEnum):
    """What a group is for beyond age and language.

    Source: seed, step 3, category 9: children with special educational needs are placed
    "для зачисления в инклюзивные и санаторные группы".
    """

    REGULAR = "regular"
    INCLUSIVE = "inclusive"
    SANATORIUM = "sanatorium"


_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}", re.ASCII)
_LANGUAGE_NAMES_RU: Mapping[str, str] = {
    "ru": "русский",
    "kk": "казахский",
    "en": "английский",
    "uz": "узбекский",
    "ug": "уйгурский",
    "tg": "таджикский",
}


def _language_code(value: Any) -> str:
    if isinstance(value, Language):
        return value.code
    if not isinstance(value, str) or not _LANGUAGE_CODE.fullmatch(value):
        raise OrganizationError(
            "group.language",
            "a language is an ISO 639 code of 2-3 lowercase letters, e.g. 'ru' or 'kk'",
        )
    return value


@attrs.frozen(order=True, repr=False, cache_hash=True)
class Language:
    """A language of instruction, by its ISO 639 code (``"ru"``, ``"kk"``, ``"en"``, ...).

    Russian and Kazakh are the languages of the seed's queues; any other code is accepted as
    data, so a host can add an English or Uzbek group without a change to edqueue.
    """

    RUSSIAN: ClassVar[Language]
    KAZAKH: ClassVar[Language]
    ENGLISH: ClassVar[Language]

    code: str = attrs.field(converter=_language_code)

    @property
    def name_ru(self) -> str:
        """The Russian adjective the portal uses in queue names ("русский"), else the code."""
        return _LANGUAGE_NAMES_RU.get(self.code, self.code)

    def __repr__(self) -> str:
        return f"Language({self.code!r})"

    def __str__(self) -> str:
        return self.code


Language.RUSSIAN = Language("ru")
Language.KAZAKH = Language("kk")
Language.ENGLISH = Language("en")

_MIN_BIRTH_YEAR = 1900
_MAX_BIRTH_YEAR = 2200


def _birth_year(_: Any, __: Any, value: Any) -> None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not _MIN_BIRTH_YEAR <= value <= _MAX_BIRTH_YEAR
    ):
        raise OrganizationError(
            "group.birth_year",
            f"a group's birth year is a year between {_MIN_BIRTH_YEAR} and {_MAX_BIRTH_YEAR}",
        )


def _queue_kind(value: Any) -> QueueKind:
    try:
        return QueueKind(value)
    except ValueError:
        raise OrganizationError(
            "organization.type", "a queue kind is 'general' or 'correctional'"
        ) from None


@attrs.frozen(order=True, cache_hash=True)
class GroupKey:
    """What a queue is keyed by: the children's birth year, language and queue kind.

    Ordered by birth year, then language code, then queue kind, so that sorting is stable
    and independent of input order.

    >>> GroupKey(2020, "ru", "general").label_ru
    '2020 ГР русский'
    """

    birth_year: int = attrs.field(validator=_birth_year)
    language: Language = attrs.field(converter=Language)
    queue_kind: QueueKind = attrs.field(default=QueueKind.GENERAL, converter=_queue_kind)

    @property
    def label_ru(self) -> str:
        """The queue's name as the portal prints it: ``"2020 ГР русский"`` (ГР: год рождения).

        Correctional queues add "(коррекционная)".
        """
        label = f"{self.birth_year} ГР {self.language.name_ru}"
        if self.queue_kind is QueueKind.CORRECTIONAL:
            label += " (коррекционная)"
        return label

    @property
    def sort_key(self) -> tuple[int, str, str]:
        """The key's order as plain values (birth year, language code, queue kind): sorting
        by it gives the order of the keys themselves, without comparing objects."""
        return (self.birth_year, self.language.code, self.queue_kind.value)


@functools.lru_cache(maxsize=4096)
def shared_group_key(key: GroupKey) -> GroupKey:
    """One instance for every equal :class:`GroupKey` (there are a few dozen in a country):
    groups and applications share them, so the queues' dictionaries find a key by identity
    instead of comparing it field by field, and a million applications hold no copies."""
    return key


def _shared_key(value: Any) -> Any:
    return shared_group_key(value) if isinstance(value, GroupKey) else value


def _non_negative_int(code: str, what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise OrganizationError(code, f"{what} must be a whole number >= 0")

    return check


def _free_places(instance: Group, attribute: Any, value: Any) -> None:
    _non_negative_int("group.places", "free places")(instance, attribute, value)
    if value > instance.capacity:
        raise OrganizationError(
            "group.places", "a group cannot have more free places than its capacity"
        )


def _specialization(value: Any) -> GroupSpecialization:
    try:
        return GroupSpecialization(value)
    except ValueError:
        raise OrganizationError(
            "organization.type", "a group's specialization is regular, inclusive or sanatorium"
        ) from None


@attrs.frozen
class Group:
    """One group (queue) of an organization: its key, capacity and free places.

    Source: seed, step 2: the card shows "Свободные места: 2" and the queue it joins.
    """

    key: GroupKey = attrs.field(
        converter=_shared_key, validator=attrs.validators.instance_of(GroupKey)
    )
    capacity: int = attrs.field(validator=_non_negative_int("group.places", "capacity"))
    free_places: int = attrs.field(validator=_free_places)
    specialization: GroupSpecialization = attrs.field(
        default=GroupSpecialization.REGULAR, converter=_specialization
    )


def _clean_text(value: Any, code: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise OrganizationError(code, f"{what} must be non-empty text of at most 500 characters")
    return value.strip()


def _name_text(value: Any) -> str:
    return _clean_text(value, "organization.name", "an organization's name")


def _optional_name_text(value: Any) -> str | None:
    return None if value is None else _name_text(value)


def _locality(value: Any) -> str:
    return _clean_text(value, "organization.locality", "the locality")


def _address(value: Any) -> str:
    return _clean_text(value, "organization.address", "the address")


@attrs.frozen
class OrganizationName:
    """An organization's name in Russian and, if known, Kazakh."""

    ru: str = attrs.field(converter=_name_text)
    kk: str | None = attrs.field(default=None, converter=_optional_name_text)

    def __str__(self) -> str:
        return self.ru


def _latitude(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not -90 <= value <= 90:
        raise OrganizationError("organization.location", "latitude must be between -90 and 90")


def _longitude(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not -180 <= value <= 180:
        raise OrganizationError("organization.location", "longitude must be between -180 and 180")


@attrs.frozen
class GeoPoint:
    """A point on the map (WGS 84 degrees), where the organization is."""

    latitude: float = attrs.field(validator=_latitude)
    longitude: float = attrs.field(validator=_longitude)

    def distance_km(self, other: GeoPoint) -> float:
        """The great-circle distance to ``other`` in kilometres (haversine formula on a
        sphere of the mean Earth radius, 6371.0088 km; error under 0.5 %, ample for
        ranking kindergartens by distance, as the seed's map does in step 2).

        >>> saltanat, karlygash = GeoPoint(49.7116, 72.5925), GeoPoint(49.7068, 72.6003)
        >>> round(saltanat.distance_km(karlygash), 2)
        0.77
        """
        lat1, lon1, lat2, lon2 = map(
            math.radians, (self.latitude, self.longitude, other.latitude, other.longitude)
        )
        h = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


_EARTH_RADIUS_KM = 6371.0088


def _range_high(instance: TengeRange, attribute: Any, value: Any) -> None:
    _non_negative_int("organization.food_cost", "a price in tenge")(instance, attribute, value)
    if value < instance.low:
        raise OrganizationError(
            "organization.food_cost", "the upper price must not be below the lower one"
        )


@attrs.frozen
class TengeRange:
    """A monthly price range in tenge, e.g. food "16 000 - 17 000 тенге в месяц" (seed)."""

    low: int = attrs.field(
        validator=_non_negative_int("organization.food_cost", "a price in tenge")
    )
    high: int = attrs.field(validator=_range_high)


_ORGANIZATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", re.ASCII)


def _organization_id(_: Any, __: Any, value: Any) -> None:
    if not isinstance(value, str) or not _ORGANIZATION_ID.fullmatch(value):
        raise OrganizationError(
            "organization.id",
            "an organization id is 1-128 ASCII letters, digits, '.', '_', ':' or '-', "
            "e.g. 'shakhtinsk-saltanat'",
        )


def _groups(value: Iterable[Group]) -> tuple[Group, ...]:
    groups = tuple(value)
    if not all(isinstance(g, Group) for g in groups):
        raise OrganizationError("organization.type", "an organization's groups must be Groups")
    keys = [g.key for g in groups]
    if len(set(keys)) != len(keys):
        raise OrganizationError(
            "organization.duplicate_group",
            "an organization has at most one group per birth year, language and queue kind",
        )
    return tuple(sorted(groups, key=lambda g: g.key.sort_key))


def _ownership(value: Any) -> Ownership:
    try:
        return Ownership(value)
    except ValueError:
        raise OrganizationError(
            "organization.type", "an organization is 'state' or 'private'"
        ) from None


@attrs.frozen
class Organization:
    """A preschool organization (дошкольная организация, ясли-сад) and its groups.

    Holds what the seed's organization card shows (step 2): name, state or private,
    address, location on the map, free places, education fee ("бесплатно" is 0 tenge), food
    cost range, whether it uses electronic contracts. ``locality`` is the city or district
    whose education department keeps the queue ("г. Шахтинск"). Groups are kept sorted by
    key; :meth:`group` finds one in O(1) time.
    """

    id: str = attrs.field(validator=_organization_id)
    name: OrganizationName = attrs.field(validator=attrs.validators.instance_of(OrganizationName))
    ownership: Ownership = attrs.field(converter=_ownership)
    locality: str = attrs.field(converter=_locality)
    address: str = attrs.field(converter=_address)
    groups: tuple[Group, ...] = attrs.field(converter=_groups)
    location: GeoPoint | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(GeoPoint))
    )
    education_fee: int = attrs.field(
        default=0,
        validator=_non_negative_int("organization.fee", "the monthly education fee in tenge"),
    )
    food_cost: TengeRange | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.instance_of(TengeRange)),
    )
    electronic_contracts: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )

    @property
    def is_free(self) -> bool:
        """Whether education is free ("Обучение: бесплатно")."""
        return self.education_fee == 0

    @property
    def free_places(self) -> int:
        """Free places over all groups ("Свободные места")."""
        return sum(g.free_places for g in self.groups)

    _by_key: Mapping[GroupKey, Group] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {g.key: g for g in self.groups})

    def group(self, key: GroupKey) -> Group | None:
        """The group with this key, or ``None``. O(1): the groups are indexed once, at
        construction."""
        return self._by_key.get(key)
