"""Identity numbers and contact numbers: :class:`Iin` and :class:`PhoneNumber`.

Both are personal data. Their ``repr`` and ``str`` are masked; the clear value is only
available through an explicit :meth:`reveal`.
"""

from __future__ import annotations

import enum
import functools
import operator
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar, Final

import attrs
import phonenumbers

from edqueue.errors import IinError, PhoneError

__all__ = ["IIN_CHECK_WEIGHTS", "Iin", "PhoneNumber", "Sex", "iin_check_digit"]

_IIN_SHAPE = re.compile(r"[0-9]{12}", re.ASCII)

IIN_CHECK_WEIGHTS: Final = (
    (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
    (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2),
)
"""The weights of digits 1-11 in the two sums of the IIN check digit (see
:func:`iin_check_digit`); each set sums to 66."""
_WEIGHTS_FIRST, _WEIGHTS_SECOND = IIN_CHECK_WEIGHTS


def iin_check_digit(digits: Sequence[int]) -> int | None:
    """The check digit (12th digit) of an IIN whose digits 1-11 are given, or ``None`` if no
    IIN can be built on them. The one statement of the rule: every check in edqueue uses it
    or the :data:`IIN_CHECK_WEIGHTS` it sums with.

    Sum the digits times the first weights (1..11), modulo 11; if that gives 10, sum them
    times the second weights (3..11, 1, 2), modulo 11; if 10 again, there is no check digit.

    ``digits`` may also be the digits' ASCII codes (``text.encode("ascii")``): each weight
    set sums to 66, a multiple of 11, so adding 48 to every digit leaves both remainders as
    they are. Only the first 11 are read, so the 12 codes of a whole IIN may be given.

    Source: the Law of the Republic of Kazakhstan "On national registers of identification
    numbers" (12 January 2007 No. 223-III) and the check-digit algorithm published with it.

    >>> iin_check_digit(b"20062350001")
    1
    """
    total: int = sum(map(operator.mul, digits, _WEIGHTS_FIRST)) % 11
    if total == 10:
        total = sum(map(operator.mul, digits, _WEIGHTS_SECOND)) % 11
        if total == 10:
            return None
    return total


class Sex(enum.StrEnum):
    """Sex as encoded in the 7th digit of an IIN (odd: male, even: female)."""

    MALE = "male"
    FEMALE = "female"


# 7th digit -> (first year of the century, sex)
_CENTURY_DIGIT: dict[int, tuple[int, Sex]] = {
    1: (1800, Sex.MALE),
    2: (1800, Sex.FEMALE),
    3: (1900, Sex.MALE),
    4: (1900, Sex.FEMALE),
    5: (2000, Sex.MALE),
    6: (2000, Sex.FEMALE),
}


def _check_iin(_: Any, __: Any, value: str) -> None:
    _valid_iin(value)


@functools.lru_cache(maxsize=256)
def _valid_iin(value: str) -> bool:
    """Check one IIN text. The last few valid ones are remembered (an error is never
    cached), so records built from records already checked (a child, then its application)
    check each IIN once; the cache is small, so it keeps no register of IINs.

    The same checks, in the same order, as :meth:`Iin.check_digit` and :attr:`Iin.birth_date`
    spell out; the check digit (:func:`iin_check_digit`) is summed over the text's ASCII
    codes and the birth date is looked up per date and century, so that a national file's
    million IINs cost a few microseconds each.
    """
    if not (len(value) == 12 and value.isascii() and value.isdigit()):  # _IIN_SHAPE
        raise IinError(
            "iin.format", f"an IIN is 12 digits 0-9; got {len(value)} characters that are not"
        )
    if value[6] not in _CENTURY_TEXT:
        raise IinError("iin.century", "the 7th digit of an IIN (century and sex) must be 1 to 6")
    codes = value.encode("ascii")
    if iin_check_digit(codes) != codes[11] - 48:
        raise IinError(
            "iin.checksum", "the IIN's check digit does not match: check the number for a typo"
        )
    if _birth_date_or_none(value[:7]) is None:
        raise IinError("iin.birth_date", "digits 1-6 of an IIN (YYMMDD) are not a real birth date")
    return True


_CENTURY_TEXT = frozenset(str(digit) for digit in _CENTURY_DIGIT)


@functools.lru_cache(maxsize=65_536)
def _birth_date_or_none(first_seven: str) -> date | None:
    """The birth date digits 1-7 of an IIN encode, or ``None`` if it is not a real date.

    Remembered: a nation's children share a few thousand birth dates (no IIN is kept, only
    its date and century digit)."""
    try:
        return _birth_date(first_seven)
    except ValueError:
        return None


def _birth_date(value: str) -> date:
    century, _ = _CENTURY_DIGIT[int(value[6])]
    return date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))


def _to_iin_text(value: Any) -> str:
    if isinstance(value, Iin):
        return value.reveal()
    if not isinstance(value, str):
        raise IinError("iin.type", f"an IIN is given as a string, got {type(value).__name__}")
    return value.strip()


@attrs.frozen(repr=False, order=False)
class Iin:
    """An individual identification number (ИИН, жеке сәйкестендіру нөмірі).

    Twelve digits: 1-6 the birth date (YYMMDD), 7 the century and sex (1/2: 1800s,
    3/4: 1900s, 5/6: 2000s; odd male, even female), 8-11 a serial number, 12 a check digit
    (see :meth:`check_digit`). Surrounding whitespace is ignored; anything else that is not
    a valid IIN raises :class:`~edqueue.errors.IinError`.

    Source: the Law of the Republic of Kazakhstan "On national registers of identification
    numbers" (12 January 2007 No. 223-III) and the check-digit algorithm published with it.

    >>> iin = Iin("200623500011")
    >>> iin
    Iin('2006******11')
    >>> iin.birth_date, iin.sex
    (datetime.date(2020, 6, 23), <Sex.MALE: 'male'>)
    """

    _value: str = attrs.field(converter=_to_iin_text, validator=_check_iin)

    @staticmethod
    def check_digit(first_eleven: str) -> int | None:
        """The check digit of an IIN whose first 11 digits are given, or ``None`` if none exists.

        The rule is ``edqueue.models.identity.iin_check_digit``: weights 1..11, sum
        modulo 11; if that gives 10, weights 3..11,1,2; if 10 again, no IIN can be built on
        these 11 digits.
        """
        digits = [int(c) for c in first_eleven]
        if len(digits) != 11:
            raise ValueError(f"an IIN's check digit follows 11 digits, got {len(digits)}")
        return iin_check_digit(digits)

    @property
    def birth_date(self) -> date:
        """The birth date encoded in digits 1-7."""
        return _birth_date_or_none(self._value[:7]) or _birth_date(self._value)

    @property
    def sex(self) -> Sex:
        """The sex encoded in digit 7."""
        return _CENTURY_DIGIT[int(self._value[6])][1]

    @property
    def masked(self) -> str:
        """The IIN with its middle six digits hidden: ``2006******19``."""
        return f"{self._value[:4]}******{self._value[-2:]}"

    def reveal(self) -> str:
        """The IIN in clear. Use it only where the law requires the full number."""
        return self._value

    def __repr__(self) -> str:
        return f"Iin({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


def _to_e164(value: Any) -> str:
    if isinstance(value, PhoneNumber):
        return value.reveal()
    if not isinstance(value, str):
        raise PhoneError(
            "phone.type", f"a phone number is given as a string, got {type(value).__name__}"
        )
    return _e164_of(value)


_CANONICAL = re.compile(r"\+7([1-9][0-9]{9})", re.ASCII)


def _e164_of(value: str) -> str:
    """Check one phone text with libphonenumber and give its E.164 form.

    The canonical form ``+7`` and ten digits, as files and stores keep numbers, skips only
    the parsing of the text: the number is built as ``phonenumbers.parse`` would build it
    (country code 7, the ten digits) and checked by the same library calls as any other."""
    canonical = _CANONICAL.fullmatch(value)
    if canonical is not None:
        parsed = phonenumbers.PhoneNumber(country_code=7, national_number=int(canonical[1]))
        return _checked(parsed)
    try:
        parsed = phonenumbers.parse(value, "KZ")
    except phonenumbers.NumberParseException:
        raise PhoneError(
            "phone.format",
            "this is not a phone number; write it as +7 7XX XXX XX XX or 8 7XX XXX XX XX",
        ) from None
    return _checked(parsed)


def _checked(parsed: phonenumbers.PhoneNumber) -> str:
    if parsed.extension:
        raise PhoneError(
            "phone.format",
            "a mobile number has no extension; give the number alone, +7 7XX XXX XX XX",
        )
    # libphonenumber's is_valid_number(n) is number_type(n) != UNKNOWN, both for the region
    # of n: asking for the type once does both checks at half the cost
    kind = phonenumbers.number_type(parsed)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise PhoneError(
            "phone.format",
            "this is not a valid phone number; write it as +7 7XX XXX XX XX",
        )
    if phonenumbers.region_code_for_number(parsed) != "KZ":
        raise PhoneError(
            "phone.not_kazakhstan",
            "the number is not a Kazakhstan number; give a number registered in the БМГ",
        )
    if kind not in PhoneNumber.MOBILE_TYPES:
        raise PhoneError(
            "phone.not_mobile",
            "the number is not a mobile number; confirmation codes go to a mobile number",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@attrs.frozen(repr=False, order=False)
class PhoneNumber:
    """A Kazakhstan mobile number (+7 7XX XXX XX XX), normalised to E.164 (``+77011234567``).

    Accepts the common written forms: ``+7 701 123 45 67``, ``8 (701) 123-45-67``,
    ``87011234567``, ``7011234567``. Parsing and the list of mobile ranges come from the
    ``phonenumbers`` library (Google's libphonenumber metadata), not from code of ours.

    Source: the seed's identification step ("Номер телефона должен быть зарегистрирован в
    БМГ"): the number receives confirmation codes, so it must be a mobile number of
    Kazakhstan.

    >>> PhoneNumber("8 (701) 123-45-67")
    PhoneNumber('+7 701 *** ** 67')
    """

    MOBILE_TYPES: ClassVar[frozenset[int]] = frozenset(
        {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    )

    _e164: str = attrs.field(converter=_to_e164)

    @property
    def masked(self) -> str:
        """The number with its subscriber digits hidden: ``+7 701 *** ** 67``."""
        return f"{self._e164[:2]} {self._e164[2:5]} *** ** {self._e164[-2:]}"

    def reveal(self) -> str:
        """The number in clear, in E.164 form (``+77011234567``)."""
        return self._e164

    def __repr__(self) -> str:
        return f"PhoneNumber({self.masked!r})"

    def __str__(self) -> str:
        return self.masked
