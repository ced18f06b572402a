"""The people of an application and their claims, drawn one by one: IINs (with their check
digits summed in parts, for speed), names, phones, birth certificates, a benefit claim and a
desired referral date."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

from edqueue.models import (
    KAZAKHSTAN,
    BenefitClaim,
    BenefitStatus,
    BirthCertificate,
    FullName,
    PhoneNumber,
    ReferralPreference,
)
from edqueue.models.identity import IIN_CHECK_WEIGHTS
from edqueue.rules.policy import PolicyValues
from edqueue.testing.city._names import (
    _KAZAKH_BOYS,
    _KAZAKH_GIRLS,
    _MOBILE_CODES,
    _RUSSIAN_BOYS,
    _RUSSIAN_GIRLS,
    _Father,
)
from edqueue.testing.city._shares import (
    _CLAIMED_LATER_SHARE,
    _EXTRAORDINARY_SHARE,
    _EXTRAORDINARY_VERIFIED,
    _FIRST_PRIORITY_SHARE,
    _FIRST_PRIORITY_VERIFIED,
    _PHONE_POOL,
    _T,
    _pick,
)

_DAY = 86_400
_IMMEDIATELY = ReferralPreference.immediately()

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


class _People:
    """The draws of one application's parts: its people and their claims. The state is
    that of :class:`~edqueue.testing.city._applications._Generator`, set in its
    ``__init__``."""

    rng: random.Random
    random: Callable[[], float]
    on: date
    values: PolicyValues
    as_of_ts: int
    extraordinary: tuple[tuple[int, ...], list[float]]
    first_priority: tuple[tuple[int, ...], list[float]]
    iin_serials: dict[int, _Serials]
    certificate_serials: dict[int, int]
    names: dict[tuple[str, str, str | None], FullName]
    phone_step: int
    phone_offset: int
    phone_multiplier: int
    phone_base: int
    phones: dict[int, PhoneNumber]

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

    # --- claims ---------------------------------------------------------------------------

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
