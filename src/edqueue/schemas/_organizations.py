"""The organizations file: :class:`~edqueue.schemas.OrganizationSchema` and its groups."""

from __future__ import annotations

import functools
from typing import Self

from pydantic import BaseModel, Field

from edqueue.errors import EdqueueError
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
from edqueue.models.organizations import shared_group_key
from edqueue.schemas._fields import _CONFIG, _field


class GroupSchema(BaseModel):
    """One group (queue) of an organization: birth year, language, queue kind, places."""

    model_config = _CONFIG

    birth_year: int = Field(description="The children's birth year, e.g. 2020 ('2020 ГР').")
    language: str = Field(description="ISO 639 code of the language of instruction: ru, kk, ...")
    queue: QueueKind = Field(description="general (общеобразовательная) or correctional.")
    places: int = Field(description="The group's capacity.")
    free_places: int = Field(description="Free places now (свободные места), at most places.")
    specialization: GroupSpecialization = Field(
        default=GroupSpecialization.REGULAR,
        description="regular, inclusive or sanatorium (category 9 needs the last two).",
    )

    @classmethod
    def from_domain(cls, group: Group) -> Self:
        """The JSON form of ``group``."""
        return cls(
            birth_year=group.key.birth_year,
            language=group.key.language.code,
            queue=group.key.queue_kind,
            places=group.capacity,
            free_places=group.free_places,
            specialization=group.specialization,
        )

    def to_domain(self) -> Group:
        """The :class:`~edqueue.models.Group` this describes; domain errors pass through."""
        with _field("language"):
            language = Language(self.language)
        with _field("birth_year"):
            key = GroupKey(self.birth_year, language, self.queue)
        return Group(key, self.places, self.free_places, self.specialization)


class OrganizationSchema(BaseModel):
    """A preschool organization (дошкольная организация) with its groups, as on its card."""

    model_config = _CONFIG

    id: str = Field(description="Stable id: ASCII letters, digits, '.', '_', ':', '-'.")
    name: str = Field(description="The name in Russian.")
    name_kk: str | None = Field(default=None, description="The name in Kazakh, if known.")
    kind: Ownership = Field(description="state (государственная) or private (частная).")
    locality: str = Field(description="City or district keeping the queue, e.g. 'г. Шахтинск'.")
    address: str
    location: tuple[float, float] | None = Field(
        description="[latitude, longitude] in WGS 84 degrees, or null if unknown."
    )
    groups: tuple[GroupSchema, ...]
    education_fee: int = Field(default=0, description="Monthly fee in tenge; 0 means free.")
    food_cost: tuple[int, int] | None = Field(
        default=None, description="[min, max] monthly food cost in tenge."
    )
    electronic_contracts: bool = Field(
        default=False, description="Whether it signs contracts electronically."
    )

    @classmethod
    def from_domain(cls, organization: Organization) -> Self:
        """The JSON form of ``organization``."""
        location = organization.location
        food = organization.food_cost
        return cls(
            id=organization.id,
            name=organization.name.ru,
            name_kk=organization.name.kk,
            kind=organization.ownership,
            locality=organization.locality,
            address=organization.address,
            location=None if location is None else (location.latitude, location.longitude),
            groups=tuple(GroupSchema.from_domain(g) for g in organization.groups),
            education_fee=organization.education_fee,
            food_cost=None if food is None else (food.low, food.high),
            electronic_contracts=organization.electronic_contracts,
        )

    def to_domain(self) -> Organization:
        """The :class:`~edqueue.models.Organization` this describes; domain errors pass
        through, with a note naming the field.

        Its groups are shared records (:func:`_group`: a national file's 132,000 groups hold
        a few thousand distinct values); only if a record refuses its value are they built
        again field by field, which raises that error with its note.
        """
        try:
            groups = [
                _group(g.birth_year, g.language, g.queue, g.places, g.free_places, g.specialization)
                for g in self.groups
            ]
        except EdqueueError:
            groups = None  # outside this block, the error below is not chained to this one
        if groups is None:
            return self._to_domain_by_field()
        return self._with_groups(groups)

    def _to_domain_by_field(self) -> Organization:
        """:meth:`to_domain` field by field: each domain error gets a note naming its field."""
        groups = []
        for i, group in enumerate(self.groups):
            with _field(f"groups[{i}]"):
                groups.append(group.to_domain())
        return self._with_groups(groups)

    def _with_groups(self, groups: list[Group]) -> Organization:
        with _field("name"):
            name = OrganizationName(self.name, self.name_kk)
        with _field("location"):
            location = None if self.location is None else GeoPoint(*self.location)
        with _field("food_cost"):
            food = None if self.food_cost is None else TengeRange(*self.food_cost)
        return Organization(
            id=self.id,
            name=name,
            ownership=self.kind,
            locality=self.locality,
            address=self.address,
            groups=groups,
            location=location,
            education_fee=self.education_fee,
            food_cost=food,
            electronic_contracts=self.electronic_contracts,
        )


@functools.lru_cache(maxsize=65_536)
def _group(
    birth_year: int,
    language: str,
    queue: QueueKind,
    places: int,
    free_places: int,
    specialization: GroupSpecialization,
) -> Group:
    """One shared :class:`~edqueue.models.Group` per value, as
    :meth:`GroupSchema.to_domain` builds it (a record that exists is valid and cannot
    change, so equal ones can be one object); its key is the shared
    :func:`~edqueue.models.organizations.shared_group_key`. An error is never remembered."""
    key = shared_group_key(GroupKey(birth_year, Language(language), queue))
    return Group(key, places, free_places, specialization)
