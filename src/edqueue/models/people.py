"""People: :class:`FullName`, :class:`BirthCertificate`, :class:`Applicant`, :class:`Child`.

Names and certificate numbers are personal data: ``repr`` and ``str`` mask them, and the
clear value is only available through an explicit ``reveal()``.
"""

from __future__ import annotations

import enum
import functools
import re
from datetime import date, datetime
from typing import Any

import attrs

from edqueue.errors import PersonError
from edqueue.models.identity import Iin, PhoneNumber

__all__ = [
    "Applicant",
    "BirthCertificate",
    "Child",
    "FullName",
    "LegalRepresentativeStatus",
]

_MAX_NAME = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _clean_name(value: Any, *, optional: bool) -> str | None:
    if (
        type(value) is str
        and 0 < len(value) <= _MAX_NAME
        and " " not in value
        and value.isprintable()
    ):
        # one word, as most name parts are: no whitespace (every whitespace character but
        # the space is unprintable) and no control character, so there is nothing to clean
        return value
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise PersonError("person.type", "a name must be a string")
    text = " ".join(value.split())
    if not text:
        if optional:
            return None
        raise PersonError("person.name", "a name part is empty; give the name as in the ID")
    if len(text) > _MAX_NAME or _CONTROL.search(text):
        raise PersonError(
            "person.name", f"a name part must be at most {_MAX_NAME} printable characters"
        )
    return text


def _name(value: Any) -> str:
    return _clean_name(value, optional=False) or ""


def _optional_name(value: Any) -> str | None:
    return _clean_name(value, optional=True)


def _mask_word(word: str) -> str:
    return word[0] + "***"


@attrs.frozen(repr=False)
class FullName:
    """A person's full name (ФИО): last name, first name and, if any, patronymic.

    Whitespace is collapsed. ``repr``/``str`` show only initials (``Н*** А*** С***``).
    """

    last: str = attrs.field(converter=_name)
    first: str = attrs.field(converter=_name)
    patronymic: str | None = attrs.field(default=None, converter=_optional_name)

    @property
    def masked(self) -> str:
        """Initials only: ``Н*** А*** С***``."""
        parts = [self.last, self.first] + ([self.patronymic] if self.patronymic else [])
        return " ".join(_mask_word(p) for p in parts)

    def reveal(self) -> str:
        """The name in clear, as written in documents: ``Фамилия Имя Отчество``."""
        return " ".join(p for p in (self.last, self.first, self.patronymic) if p)

    def __repr__(self) -> str:
        return f"FullName({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


_CERTIFICATE_NUMBER = re.compile(
    r"[0-9A-Za-zА-Яа-яЁёІіӘәҒғҚқҢңӨөҰұҮүҺһ]+(?:[- ][0-9A-Za-zА-Яа-яЁёІіӘәҒғҚқҢңӨөҰұҮүҺһ]+)*"
)
# Matched on the stripped text; the number ends on a non-space, so each run of whitespace is
# tried once and matching is linear (a lazy number between \s* and \s+ was cubic in a run
# of spaces: 3,000 spaces took 12 s).
_CERTIFICATE_TEXT = re.compile(r"(?P<number>.*\S)\s+от\s+(?P<date>\d{2}\.\d{2}\.\d{4})")


def _certificate_number(value: Any) -> str:
    if not isinstance(value, str):
        raise PersonError("person.type", "a birth certificate number must be a string")
    text = value.strip()
    if not (0 < len(text) <= 32) or not _CERTIFICATE_NUMBER.fullmatch(text):
        raise PersonError(
            "person.birth_certificate",
            "a birth certificate number is letters and digits separated by hyphens, "
            "e.g. 9-20-0000219",
        )
    return text


def _plain_date(what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise PersonError("person.type", f"{what} must be a date (not a datetime)")

    return check


@functools.lru_cache(maxsize=65_536)
def _certificate_date(text: str) -> date:
    """The date of issue written ``DD.MM.YYYY``. Remembered: a nation's certificates share
    a few thousand dates (a date alone is no personal data). An error is never remembered."""
    try:
        day, month, year = (int(part) for part in text.split("."))
        return date(year, month, day)
    except ValueError:
        raise PersonError(
            "person.birth_certificate", "the certificate's date is not a real date"
        ) from None


@attrs.frozen(repr=False)
class BirthCertificate:
    """A birth certificate (свидетельство о рождении): its number and date of issue.

    Source: the seed's step 1 shows a child as "9-20-0000219 от 23.06.2020"; use
    :meth:`parse` for that written form.
    """

    number: str = attrs.field(converter=_certificate_number)
    issued_on: date = attrs.field(validator=_plain_date("the certificate's date"))

    @classmethod
    def parse(cls, text: str) -> BirthCertificate:
        """Read the written form ``"9-20-0000219 от 23.06.2020"``."""
        match = _CERTIFICATE_TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise PersonError(
                "person.birth_certificate",
                "write a birth certificate as 'NUMBER от DD.MM.YYYY', e.g. '9-20-0000219 от "
                "23.06.2020'",
            )
        return cls(match["number"], _certificate_date(match["date"]))

    @property
    def masked(self) -> str:
        """Only the last two characters of the number: ``**********19``."""
        return "*" * max(len(self.number) - 2, 0) + self.number[-2:]

    def reveal(self) -> str:
        """The written form in clear: ``9-20-0000219 от 23.06.2020``."""
        return f"{self.number} от {self.issued_on:%d.%m.%Y}"

    def __repr__(self) -> str:
        return f"BirthCertificate({self.masked!r})"

    __str__ = __repr__


class LegalRepresentativeStatus(enum.StrEnum):
    """Whether the family register confirms the applicant as the child's legal representative.

    Source: the seed's step 1, "Статус законного представителя: подтвержден".
    """

    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"


def _iin(value: Any) -> Iin:
    """An :class:`Iin` as is (it was checked when made, and cannot change), else one made
    from ``value``."""
    return value if type(value) is Iin else Iin(value)


def _phone(value: Any) -> PhoneNumber:
    """A :class:`PhoneNumber` as is (it was checked when made, and cannot change), else one
    made from ``value``."""
    return value if type(value) is PhoneNumber else PhoneNumber(value)


def _instance_of(cls: type, what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, cls):
            raise PersonError("person.type", f"{what} must be a {cls.__name__}")

    return check


@attrs.frozen
class Applicant:
    """The applicant (заявитель): a parent or other legal representative of the child.

    Identified by IIN and a Kazakhstan mobile number registered in the БМГ (seed, step 0).
    Its ``repr`` is masked, as every field is.
    """

    iin: Iin = attrs.field(converter=_iin)
    name: FullName = attrs.field(validator=_instance_of(FullName, "an applicant's name"))
    phone: PhoneNumber = attrs.field(converter=_phone)


_CHILD_BIRTH_DATE_TYPE = _plain_date("a child's birth date")


def _child_birth_date(instance: Child, _: Any, value: Any) -> None:
    _CHILD_BIRTH_DATE_TYPE(instance, _, value)
    if instance.iin.birth_date != value:
        raise PersonError(
            "person.child_birth_date_mismatch",
            "the child's IIN encodes a different birth date: check the IIN and the birth date",
        )


@attrs.frozen(repr=False)
class Child:
    """The child (ребёнок) to be placed: IIN, full name, birth date, birth certificate.

    The IIN must agree with the birth date (digits 1-7 of an IIN encode it). The ``repr``
    shows the masked IIN and name and only the birth year.
    """

    iin: Iin = attrs.field(converter=_iin)
    name: FullName = attrs.field(validator=_instance_of(FullName, "a child's name"))
    birth_date: date = attrs.field(validator=_child_birth_date)
    birth_certificate: BirthCertificate | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(_instance_of(BirthCertificate, "a birth certificate")),
    )

    @property
    def birth_year(self) -> int:
        """The birth year, which selects the child's groups (seed: "2020 ГР русский")."""
        return self.birth_date.year

    def __repr__(self) -> str:
        return f"Child(iin={self.iin!r}, name={self.name!r}, birth_year={self.birth_year})"
