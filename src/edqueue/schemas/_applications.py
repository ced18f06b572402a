"""The applications file: :class:`~edqueue.schemas.ApplicationSchema` and its parts, and
the fast path that builds an application's records (:func:`_application`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
)

from edqueue.errors import EdqueueError, PersonError
from edqueue.models import (
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
    Iin,
    Language,
    LegalRepresentativeStatus,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    ReferralTiming,
)
from edqueue.schemas._fields import _CONFIG, _field
from edqueue.schemas._times import Instant, _domain_time, _optional_time

_T = TypeVar("_T")


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
