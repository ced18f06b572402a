"""JSON in and out: the organizations and applications files, and their JSON Schema.

This is edqueue's own interchange format (the CLI's organizations and applications files,
and the storage format of the SQLite adapter), as specified in edqueue's issue tracker; the
seed (the INDIGO24 user guide) gives the meaning of the fields. pydantic checks the shape of
the JSON; the domain records (:mod:`edqueue.models`) check the rules, so an object that
exists is valid.

Reading: :func:`parse_application`, :func:`load_application` and :func:`parse_organizations`
turn every failure into an :class:`~edqueue.errors.EdqueueError`. A wrong shape (bad JSON, a
key given twice in one object, a missing or unknown key, a value of the wrong JSON type, a
time without an offset) is an ``ApplicationError("application.type")`` or
``OrganizationError("organization.type")`` whose message names each field or key that
failed, never its value. A broken rule raises the domain's own error
(``IinError("iin.checksum")``, ...) unchanged; a note (``error.__notes__``, shown in
tracebacks) names the field, e.g. ``"field: child.iin"``. These functions validate the JSON
strictly (``"places": "25"`` is an error); the models themselves, built from Python, coerce
as pydantic does by default.

Duplicate keys. JSON text in which one object gives a key twice (``{"number": "1292583", ...,
"number": "7"}``) is refused, at any depth: readers disagree on which value counts (Python's
``json`` and pydantic keep the last, others the first), so such a line could mean one
application to one program and another to the next. One check (``jiter``'s, made before
pydantic's parse) serves every reading of JSON text here and in :mod:`edqueue.interchange`;
the message names the key if it is a plain name (a key is never a value, but a key that is not
a plain name is not shown: it may be personal data put in the wrong place). A mapping given
from Python cannot hold a key twice and is not checked.

Keys shown in the issue's examples are required (``"benefit": null`` and ``"location":
null`` are written, not left out); the keys the issue lists as optional have defaults.

Names. A name is one string, ``"Фамилия Имя Отчество"``: the first word is the surname, the
second the given name, and all further words the patronymic, since Kazakh patronymics are
often written as two words (``"Серік қызы"``, ``"Ержан ұлы"``). A surname or given name that
itself contains a space cannot be written that way unambiguously, so the object form
``{"last": ..., "first": ..., "patronymic": ...}`` is accepted too, and written for such
names only.

Times. A time is RFC 3339 text with an offset (``"2026-11-20T10:15:00+05:00"``); a time
without an offset is an error. The instant and the offset are kept exactly. JSON carries no
zone name, so on reading a time whose offset is the one Kazakhstan had at that instant gets
the zone :data:`~edqueue.models.KAZAKHSTAN` (``Asia/Almaty``): times written by edqueue come
back with the tzinfo they had, the repeated hour of 2024-02-29 included, and compare equal.
Any other offset gets a fixed :class:`datetime.timezone`; the name of another zone is lost.
Writing an offset that is not whole minutes (local mean time before 1924) gives the time in
UTC, which RFC 3339 can carry.

>>> from edqueue.sample import seed_application
>>> data = dump_application(seed_application())
>>> data["submitted_at"], data["applicant"]["name"], data["referral"]
('2024-02-05T10:15:00+06:00', 'Ахметова Айгуль Серикқызы', {'when': 'immediately'})
>>> load_application(data) == seed_application()
True
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Annotated, Any, Literal, Self, TypeVar

import jiter
import pydantic
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    model_serializer,
)
from pydantic_core import TzInfo

from edqueue.errors import ApplicationError, EdqueueError, OrganizationError, PersonError
from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
    ApplicationStatus,
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
    Iin,
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationName,
    Ownership,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    ReferralTiming,
    TengeRange,
)
from edqueue.models.organizations import shared_group_key

__all__ = [
    "ApplicantSchema",
    "ApplicationSchema",
    "BenefitSchema",
    "ChildSchema",
    "ChoiceSchema",
    "GroupSchema",
    "NameSchema",
    "OrganizationSchema",
    "PmpkSchema",
    "ReferralSchema",
    "dump_application",
    "dump_organization",
    "json_schema",
    "load_application",
    "parse_application",
    "parse_organizations",
    "read_application",
]

_CONFIG = ConfigDict(extra="forbid", frozen=True)
_T = TypeVar("_T")

# --- times -------------------------------------------------------------------------------


def _rfc3339(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is not None and offset % dt.timedelta(minutes=1):
        value = value.astimezone(dt.UTC)
    return value.isoformat()


Instant = Annotated[AwareDatetime, PlainSerializer(_rfc3339, return_type=str, when_used="json")]
"""A timezone-aware time, written as RFC 3339 text with its offset."""


def _domain_time(value: dt.datetime) -> dt.datetime:
    """The time to put in a record: a time read from JSON gets a stdlib or Kazakhstan tzinfo.

    A time given from Python (by ``from_domain``) keeps its own tzinfo.
    """
    try:
        as_utc = value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ApplicationError(
            "application.type",
            "a time is out of range once converted to UTC: give a year between 1 and 9999",
        ) from None
    if not isinstance(value.tzinfo, TzInfo):
        return value
    offset = value.utcoffset() or dt.timedelta(0)  # never None: the time is aware
    try:
        in_kazakhstan: dt.datetime | None = as_utc.astimezone(KAZAKHSTAN)
    except (OverflowError, ValueError):  # the last hours of year 9999
        in_kazakhstan = None
    if in_kazakhstan is not None and in_kazakhstan.utcoffset() == offset:
        return in_kazakhstan
    return value.replace(tzinfo=dt.timezone(offset))


def _optional_time(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _domain_time(value)


# --- fields named in domain errors -----------------------------------------------------------

_FIELD_NOTE = "field: "


class _field:  # noqa: N801 - used as a function: ``with _field("iin"): ...``
    """Name the JSON field a domain error comes from, in a note; its code and message stay.

    Nested uses build the path from the inside out: ``applicant`` around ``iin`` gives
    ``"field: applicant.iin"``. A class rather than a generator-based context manager: it
    wraps every field of every line of a national file, and costs a third as much.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if isinstance(error, EdqueueError):
            notes: list[str] = getattr(error, "__notes__", [])
            for i, note in enumerate(notes):
                if note.startswith(_FIELD_NOTE):
                    inner = note.removeprefix(_FIELD_NOTE)
                    notes[i] = (
                        _FIELD_NOTE + self.name + ("" if inner.startswith("[") else ".") + inner
                    )
                    break
            else:
                error.add_note(_FIELD_NOTE + self.name)
        return False  # the error, if any, goes on


# --- organizations ---------------------------------------------------------------------------


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


# --- applications ----------------------------------------------------------------------------


class NameSchema(BaseModel):
    """A full name in parts, for names whose surname or given name holds a space."""

    model_config = _CONFIG

    last: str
    first: str
    patronymic: str | None = None


def _name_tag(value: Any) -> str:
    if type(value) is str:  # most names: pydantic asks for each, and Mapping's check is slow
        return "text"
    return "parts" if isinstance(value, Mapping | NameSchema) else "text"


NameJson = Annotated[
    Annotated[str, Tag("text")] | Annotated[NameSchema, Tag("parts")],
    Discriminator(_name_tag),
    Field(description="'Фамилия Имя Отчество' (the patronymic may be several words), or parts."),
]
_NAME_TAGS = frozenset({"text", "parts"})


def _name_to_json(name: FullName) -> str | NameSchema:
    if " " in name.last or " " in name.first:
        return NameSchema(last=name.last, first=name.first, patronymic=name.patronymic)
    return name.reveal()


def _name_to_domain(value: str | NameSchema) -> FullName:
    if isinstance(value, NameSchema):
        return FullName(value.last, value.first, value.patronymic)
    words = value.split()
    if len(words) < 2:
        raise PersonError(
            "person.name",
            "write a name as 'Фамилия Имя Отчество': the surname and the given name at least, "
            "separated by spaces",
        )
    return FullName(words[0], words[1], " ".join(words[2:]) or None)


class ApplicantSchema(BaseModel):
    """The applicant (заявитель): a parent or other legal representative."""

    model_config = _CONFIG

    iin: str = Field(description="The applicant's IIN (ИИН), 12 digits.")
    name: NameJson
    phone: str = Field(description="A Kazakhstan mobile number, e.g. +77011234567.")

    @classmethod
    def from_domain(cls, applicant: Applicant) -> Self:
        """The JSON form of ``applicant`` (personal data in clear: keep the file private)."""
        return cls(
            iin=applicant.iin.reveal(),
            name=_name_to_json(applicant.name),
            phone=applicant.phone.reveal(),
        )

    def to_domain(self) -> Applicant:
        """The :class:`~edqueue.models.Applicant` this describes."""
        with _field("iin"):
            iin = Iin(self.iin)
        with _field("name"):
            name = _name_to_domain(self.name)
        with _field("phone"):
            phone = PhoneNumber(self.phone)
        return Applicant(iin=iin, name=name, phone=phone)


def _certificate_text(certificate: BirthCertificate) -> str:
    issued = certificate.issued_on
    return f"{certificate.number} от {issued.day:02d}.{issued.month:02d}.{issued.year:04d}"


class ChildSchema(BaseModel):
    """The child (ребёнок) to be placed."""

    model_config = _CONFIG

    iin: str = Field(description="The child's IIN (ИИН); it encodes the birth date.")
    name: NameJson
    birth_date: dt.date
    birth_certificate: str | None = Field(
        default=None, description="'NUMBER от DD.MM.YYYY', e.g. '9-20-0000219 от 23.06.2020'."
    )

    @classmethod
    def from_domain(cls, child: Child) -> Self:
        """The JSON form of ``child``."""
        certificate = child.birth_certificate
        return cls(
            iin=child.iin.reveal(),
            name=_name_to_json(child.name),
            birth_date=child.birth_date,
            birth_certificate=None if certificate is None else _certificate_text(certificate),
        )

    def to_domain(self) -> Child:
        """The :class:`~edqueue.models.Child` this describes."""
        with _field("iin"):
            iin = Iin(self.iin)
        with _field("name"):
            name = _name_to_domain(self.name)
        with _field("birth_certificate"):
            certificate = (
                None
                if self.birth_certificate is None
                else BirthCertificate.parse(self.birth_certificate)
            )
        with _field("birth_date"):
            return Child(iin, name, self.birth_date, certificate)


class ChoiceSchema(BaseModel):
    """One chosen organization and the language of the group to queue in there."""

    model_config = _CONFIG

    organization: str = Field(description="The organization's id.")
    language: str = Field(description="ISO 639 code of the group's language: ru, kk, ...")

    @classmethod
    def from_domain(cls, choice: Choice) -> Self:
        """The JSON form of ``choice``."""
        return cls(organization=choice.organization_id, language=choice.language.code)

    def to_domain(self) -> Choice:
        """The :class:`~edqueue.models.Choice` this describes."""
        with _field("language"):
            language = Language(self.language)
        with _field("organization"):
            return Choice(self.organization, language)


class ReferralSchema(BaseModel):
    """When to issue a referral (направление): immediately, or from a date."""

    model_config = _CONFIG

    when: ReferralTiming = Field(description="immediately, or from (a date).")
    date: dt.date | None = Field(default=None, description="The desired date; only with from.")

    @model_serializer(mode="wrap")
    def _omit_missing_date(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("date") is None:
            data.pop("date", None)
        return data

    @classmethod
    def from_domain(cls, referral: ReferralPreference) -> Self:
        """The JSON form of ``referral``."""
        return cls(when=referral.timing, date=referral.desired_date)

    def to_domain(self) -> ReferralPreference:
        """The :class:`~edqueue.models.ReferralPreference` this describes."""
        return ReferralPreference(self.when, self.date)


class BenefitSchema(BaseModel):
    """A claim to one benefit (льгота) and where its check stands."""

    model_config = _CONFIG

    category: int = Field(description="The category as numbered on the portal, 1 to 11.")
    status: BenefitStatus
    claimed_at: Instant | None = None
    decided_at: Instant | None = None

    @classmethod
    def from_domain(cls, claim: BenefitClaim) -> Self:
        """The JSON form of ``claim``."""
        return cls(
            category=int(claim.category),
            status=claim.status,
            claimed_at=claim.claimed_at,
            decided_at=claim.decided_at,
        )

    def to_domain(self) -> BenefitClaim:
        """The :class:`~edqueue.models.BenefitClaim` this describes."""
        return BenefitClaim(
            self.category,
            self.status,
            _optional_time(self.claimed_at),
            _optional_time(self.decided_at),
        )


class PmpkSchema(BaseModel):
    """The conclusion of a psychological-medical-pedagogical consultation (ПМПК)."""

    model_config = _CONFIG

    number: str
    issued_on: dt.date

    @classmethod
    def from_domain(cls, pmpk: PmpkConclusion) -> Self:
        """The JSON form of ``pmpk``."""
        return cls(number=pmpk.number, issued_on=pmpk.issued_on)

    def to_domain(self) -> PmpkConclusion:
        """The :class:`~edqueue.models.PmpkConclusion` this describes."""
        return PmpkConclusion(self.number, self.issued_on)


_BOTH_CONSENTS = tuple(sorted(Consent))


class ApplicationSchema(BaseModel):
    """An application (заявление) to the queue of 1 to 4 organizations, one per JSON line."""

    model_config = _CONFIG

    number: str = Field(description="The number assigned on submission, e.g. '1292583'.")
    submitted_at: Instant = Field(description="RFC 3339 with an offset, e.g. ...T10:15:00+05:00.")
    applicant: ApplicantSchema
    child: ChildSchema
    queue: QueueKind
    choices: tuple[ChoiceSchema, ...] = Field(description="1 to 4, in order of preference.")
    referral: ReferralSchema
    benefit: BenefitSchema | None
    pmpk: PmpkSchema | None = Field(default=None, description="For the correctional queue.")
    status: ApplicationStatus = ApplicationStatus.ACTIVE
    consents: tuple[Consent, ...] = Field(
        default=_BOTH_CONSENTS,
        description="Consents given; an export holds submitted applications, so both.",
    )
    representative_status: LegalRepresentativeStatus = LegalRepresentativeStatus.CONFIRMED

    @classmethod
    def from_domain(cls, application: Application) -> Self:
        """The JSON form of ``application``, every field included."""
        benefit, pmpk = application.benefit, application.pmpk
        return cls(
            number=application.number,
            submitted_at=application.submitted_at,
            applicant=ApplicantSchema.from_domain(application.applicant),
            child=ChildSchema.from_domain(application.child),
            queue=application.queue_kind,
            choices=tuple(ChoiceSchema.from_domain(c) for c in application.choices),
            referral=ReferralSchema.from_domain(application.referral),
            benefit=None if benefit is None else BenefitSchema.from_domain(benefit),
            pmpk=None if pmpk is None else PmpkSchema.from_domain(pmpk),
            status=application.status,
            consents=tuple(sorted(application.consents)),
            representative_status=application.representative_status,
        )

    def to_domain(self) -> Application:
        """The :class:`~edqueue.models.Application` this describes; domain errors pass
        through, with a note naming the field.

        Builds the records without naming fields first (:func:`_application`); only if a
        record refuses its value are they built again field by field, which raises that
        error with its note. O(1) for a valid application beyond its records' own checks.
        """
        return self._to_domain(None)

    def _to_domain(self, made: _Made | None) -> Application:
        try:
            return _application(self, made)
        except EdqueueError:
            pass  # outside this block, the error below is not chained to this one
        return self._to_domain_by_field()

    def _to_domain_by_field(self) -> Application:
        """:meth:`to_domain` field by field: each domain error gets a note naming its field."""
        with _field("applicant"):
            applicant = self.applicant.to_domain()
        with _field("child"):
            child = self.child.to_domain()
        choices = []
        for i, choice in enumerate(self.choices):
            with _field(f"choices[{i}]"):
                choices.append(choice.to_domain())
        with _field("submitted_at"):
            submitted_at = _domain_time(self.submitted_at)
        with _field("referral"):
            referral = self.referral.to_domain()
        with _field("benefit"):
            benefit = None if self.benefit is None else self.benefit.to_domain()
        with _field("pmpk"):
            pmpk = None if self.pmpk is None else self.pmpk.to_domain()
        return Application(
            number=self.number,
            applicant=applicant,
            child=child,
            choices=choices,
            submitted_at=submitted_at,
            queue_kind=self.queue,
            referral=referral,
            benefit=benefit,
            consents=frozenset(self.consents),
            representative_status=self.representative_status,
            pmpk=pmpk,
            status=self.status,
        )


@functools.lru_cache(maxsize=32_768)
def _choice(organization: str, language: str) -> Choice:
    """One shared :class:`~edqueue.models.Choice` per organization and language (a nation
    has about 20,000; a record that exists is valid and cannot change, so equal ones can be
    one object). An error is never remembered."""
    return Choice(organization, Language(language))


@functools.lru_cache(maxsize=1024)
def _referral(when: ReferralTiming, desired: dt.date | None) -> ReferralPreference:
    """One shared :class:`~edqueue.models.ReferralPreference` per timing and date."""
    return ReferralPreference(when, desired)


_Made = dict[tuple[type, Any], Any]
"""Records already made from a text while one file is read, by record type and text: see
:func:`read_application`."""


def _made_once(made: _Made | None, kind: type[_T], value: Any, make: Callable[[Any], _T]) -> _T:
    """``make(value)``, or the equal record made from the same ``value`` earlier in ``made``."""
    if made is None or not isinstance(value, str):
        return make(value)
    found: _T | None = made.get((kind, value))
    if found is None:
        found = made[(kind, value)] = make(value)
    return found


@functools.lru_cache(maxsize=64)
def _consents(given: tuple[Consent, ...]) -> frozenset[Consent]:
    """One shared set per list of consents given (every application of an export gives
    both)."""
    return frozenset(given)


def _application(schema: ApplicationSchema, made: _Made | None) -> Application:
    """The record :meth:`ApplicationSchema.to_domain` gives, built with the same records
    and checks, but without naming fields (a note only an error needs) and with the values
    that repeat across a national file shared (choices, referral preferences; phone numbers
    and names within one file, in ``made``).

    Raises the domain's error when a record refuses its value; the caller then builds the
    records field by field for the error's note. ``tests/test_fast_paths.py`` checks that
    both ways give equal records, and the same errors."""
    applicant, child = schema.applicant, schema.child
    certificate = child.birth_certificate
    benefit, pmpk = schema.benefit, schema.pmpk
    return Application(
        number=schema.number,
        applicant=Applicant(
            iin=Iin(applicant.iin),
            name=_made_once(made, FullName, applicant.name, _name_to_domain),
            phone=_made_once(made, PhoneNumber, applicant.phone, PhoneNumber),
        ),
        child=Child(
            Iin(child.iin),
            _made_once(made, FullName, child.name, _name_to_domain),
            child.birth_date,
            None if certificate is None else BirthCertificate.parse(certificate),
        ),
        choices=[_choice(c.organization, c.language) for c in schema.choices],
        submitted_at=_domain_time(schema.submitted_at),
        queue_kind=schema.queue,
        referral=_referral(schema.referral.when, schema.referral.date),
        benefit=None if benefit is None else benefit.to_domain(),
        consents=_consents(schema.consents),
        representative_status=schema.representative_status,
        pmpk=None if pmpk is None else pmpk.to_domain(),
        status=schema.status,
    )


# --- reading and writing ---------------------------------------------------------------------

_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}", re.ASCII)
_MAX_PROBLEMS = 8
_ADVICE = "edqueue.schemas.json_schema() describes every field"


def _path(loc: tuple[int | str, ...]) -> str:
    """``("choices", 0, "language")`` as ``choices[0].language``; keys that are not
    identifiers (they may be personal data) as ``<key>``."""
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif previous == "name" and part in _NAME_TAGS:
            continue
        else:
            text += ("." if text else "") + (part if _SAFE_KEY.fullmatch(part) else "<key>")
        previous = part
    return text


def _problem(error: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "missing":
        return "required; add it"
    if kind == "extra_forbidden":
        return "not a field of this format; remove it or correct its spelling"
    if kind == "timezone_aware":
        return "no UTC offset; write the time like 2026-11-20T10:15:00+05:00"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be a JSON object"
    if kind == "json_invalid":
        return "not valid JSON: " + str(msg).removeprefix("Invalid JSON: ")
    if kind == "string_unicode":
        return "not valid UTF-8 text"
    return f"{msg}".rstrip(".")


def _shape_message(
    error: pydantic.ValidationError, what: str, where: str = "", shape: str = "one JSON object"
) -> str:
    """A message built from each error's location and kind only, never from the input."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    parts = []
    for problem in problems[:_MAX_PROBLEMS]:
        path = _path(tuple(problem["loc"]))
        parts.append(f"{path or what}: {_problem(problem)}")
    if len(problems) > _MAX_PROBLEMS:
        parts.append(f"and {len(problems) - _MAX_PROBLEMS} more")
    if all(not problem["loc"] for problem in problems):
        advice = f"Give {what} as {shape}"
    else:
        advice = f"Correct the fields named ({_ADVICE})"
    return f"{where}{'; '.join(parts)}. {advice}"


def _json_text(data: Mapping[str, Any], what: str, error: Callable[[str], EdqueueError]) -> str:
    try:
        return json.dumps(dict(data), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        raise error(
            f"{what} must hold only JSON values (objects, arrays, strings, numbers, true, "
            "false, null), as json.loads returns them"
        ) from None


def _application_error(message: str) -> EdqueueError:
    return ApplicationError("application.type", message)


def _organization_error(message: str) -> EdqueueError:
    return OrganizationError("organization.type", message)


_ONCE = "Give each key once: JSON readers differ on which of two values counts"
_DUPLICATE_KEY = re.compile(r'Detected duplicate key "(.*)" at line (\d+) column (\d+)', re.DOTALL)


class _DuplicateKeyError(ValueError):
    """JSON text in which one object gives a key twice: the first such key in the text, and
    where jiter met it (line and column of the text, 1-based)."""

    def __init__(self, key: str, line: int, column: int) -> None:
        super().__init__(key, line, column)
        self.key, self.line, self.column = key, line, column

    def describe(self) -> str:
        """The problem, naming the key only if it is a plain name (never a value)."""
        named = f"the key {self.key!r}" if _SAFE_KEY.fullmatch(self.key) else "a key"
        at = f"column {self.column}"
        if self.line > 1:
            at = f"line {self.line}, {at}"
        return f"{named} is given twice in one object ({at})"


def _strict_json(text: str | bytes) -> Any:
    """The value of JSON text, refusing any object, at any depth, that gives a key twice.

    Raises :class:`_DuplicateKeyError` for the first key given twice in the text, and
    ``ValueError`` for text that is not JSON (or UTF-8). The one check of duplicate keys:
    every reading of JSON text calls it once, on the whole text, before pydantic's parse
    (which, like ``json.loads``, keeps the last value). About 3 µs for a 700-byte line.
    jiter caches no string (``cache_mode="none"``), so no value read stays in its cache.
    """
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return jiter.from_json(data, catch_duplicate_keys=True, cache_mode="none")
    except ValueError as error:
        found = _DUPLICATE_KEY.fullmatch(str(error))
        if found is None:
            raise
        key, line, column = found.groups()
        raise _DuplicateKeyError(key, int(line), int(column)) from None


def _read_json(
    validate: Callable[[str | bytes], _T],
    text: str | bytes,
    what: str,
    error: Callable[[str], EdqueueError],
    where: str = "",
    shape: str = "one JSON object",
    *,
    keys_unique: bool = False,
) -> _T:
    """``validate(text)`` (pydantic's strict parse of one schema), after :func:`_strict_json`
    (skipped when ``keys_unique``: text edqueue wrote itself from a mapping). Every failure of
    shape is ``error(message)``, its message naming fields and keys, never values: a key given
    twice first; else whatever pydantic finds (bad JSON, a missing field, ...)."""
    not_json = False
    if not keys_unique:
        try:
            _strict_json(text)
        except _DuplicateKeyError as duplicate:
            message = f"{where}{what}: {duplicate.describe()}. {_ONCE}"
            raise error(message) from None
        except ValueError:
            not_json = True  # pydantic's parse, next, says where and why
    try:
        value = validate(text)
    except pydantic.ValidationError as problem:
        raise error(_shape_message(problem, what, where, shape)) from None
    if not_json:  # never seen (pydantic reads JSON with jiter too), but never let it through
        raise error(f"{where}{what}: not valid JSON. Give {what} as {shape}")
    return value


_APPLICATION_JSON = functools.partial(ApplicationSchema.model_validate_json, strict=True)
_ORGANIZATION_JSON = functools.partial(OrganizationSchema.model_validate_json, strict=True)


def parse_application(line: str | bytes | Mapping[str, Any]) -> Application:
    """Read one application: a JSON Lines line (text or UTF-8 bytes), or its decoded object.

    Raises :class:`~edqueue.errors.ApplicationError` (``application.type``) for a wrong shape
    (a key given twice in one object of the text included) and the domain's own error for a
    broken rule (see the module's docstring).
    """
    mapping = isinstance(line, Mapping)
    if isinstance(line, Mapping):
        line = _json_text(line, "the application", _application_error)
    elif not isinstance(line, str | bytes):
        raise _application_error(
            f"an application is a JSON text or object, not {type(line).__name__}"
        )
    schema = _read_json(
        _APPLICATION_JSON, line, "the application", _application_error, keys_unique=mapping
    )
    return schema.to_domain()


def read_application(line: str | bytes, made: _Made) -> Application:
    """:func:`parse_application` for one line of a file read as a whole: the same record, or
    the same error. ``made`` is a dict the reader keeps while it reads that file (and drops
    with it): an applicant's phone number or a name met again (a family's second child, a
    common name) is then one shared record instead of being checked again. It holds only
    records made from that file's lines and lives no longer than the read, so it keeps no
    register of personal data (no cache of edqueue's own holds a phone number or a name)."""
    schema = _read_json(_APPLICATION_JSON, line, "the application", _application_error)
    return schema._to_domain(made)


def load_application(data: Mapping[str, Any]) -> Application:
    """Read an application stored by :func:`dump_application`, every field included.

    The SQLite adapter's reader; the same checks and errors as :func:`parse_application`.
    """
    return parse_application(data)


def dump_application(application: Application) -> dict[str, Any]:
    """The JSON form of ``application`` with every field (``json.dumps`` takes it as is).

    Personal data is in clear: the result is for files and stores, never for logs.
    """
    data: dict[str, Any] = ApplicationSchema.from_domain(application).model_dump(mode="json")
    return data


def dump_organization(organization: Organization) -> dict[str, Any]:
    """The JSON form of ``organization`` with every field (``json.dumps`` takes it as is)."""
    data: dict[str, Any] = OrganizationSchema.from_domain(organization).model_dump(mode="json")
    return data


_ORGANIZATION_LIST = TypeAdapter(list[OrganizationSchema])
_ORGANIZATION_ARRAY = functools.partial(_ORGANIZATION_LIST.validate_json, strict=True)


def parse_organizations(text: str) -> list[Organization]:
    """Read organizations from a JSON array of objects, or JSON Lines (one object a line).

    Raises :class:`~edqueue.errors.OrganizationError` (``organization.type``) for a wrong
    shape (a key given twice in one object included), ``organization.id`` for an id used
    twice, and the domain's own error for a broken rule, with notes naming the item and the
    field. Blank text gives no organizations.
    """
    if not isinstance(text, str):
        raise _organization_error(f"organizations are JSON text, not {type(text).__name__}")
    body = text.lstrip("\ufeff \t\r\n")
    read: list[tuple[str, OrganizationSchema]] = []
    if body.startswith("["):
        # what was stripped before the array, as spaces: the lines and columns are the file's
        body = re.sub(r"[^\n]", " ", text[: len(text) - len(body)]) + body
        items = _read_json(
            _ORGANIZATION_ARRAY,
            body,
            "the array",
            _organization_error,
            "",
            "a JSON array of objects",
        )
        read = [(f"item [{i}] of the array", item) for i, item in enumerate(items)]
    else:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip(" \t\r\ufeff"):
                continue
            where = f"line {number}: "
            item = _read_json(
                _ORGANIZATION_JSON, line.lstrip("\ufeff"), "the line", _organization_error, where
            )
            read.append((f"line {number}", item))
    organizations: list[Organization] = []
    seen: dict[str, str] = {}
    for place, item in read:
        try:
            organization = item.to_domain()
        except EdqueueError as error:
            error.add_note(f"in {place} (organization id {item.id!r})")
            raise
        if organization.id in seen:
            raise OrganizationError(
                "organization.id",
                f"the id {organization.id!r} is used in {seen[organization.id]} and in "
                f"{place}; give each organization its own id",
            )
        seen[organization.id] = place
        organizations.append(organization)
    return organizations


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of both formats, under ``"organization"`` (one item of
    the array, or one line) and ``"application"`` (one line)."""
    dialect = "https://json-schema.org/draft/2020-12/schema"
    return {
        "organization": {"$schema": dialect, **OrganizationSchema.model_json_schema()},
        "application": {"$schema": dialect, **ApplicationSchema.model_json_schema()},
    }
