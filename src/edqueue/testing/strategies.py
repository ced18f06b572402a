"""Hypothesis strategies for edqueue's records, for our tests and for hosts' own.

Needs the ``testing`` extra (``pip install edqueue[testing]``), which brings hypothesis.
Every name here is also importable from :mod:`edqueue.testing`.

>>> from hypothesis import given
>>> from edqueue import Iin
>>> from edqueue.testing import iins
>>> @given(iins())
... def test_iin_round_trip(iin):
...     assert Iin(iin.reveal()) == iin
>>> test_iin_round_trip()

Every strategy draws valid records (an object that exists is valid); ``invalid_iin_texts``
draws text that must be rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("edqueue.testing needs hypothesis: pip install 'edqueue[testing]'") from error

from edqueue.errors import IinError
from edqueue.models import (
    KAZAKHSTAN,
    MAX_CHOICES,
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
    Iin,
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationName,
    Ownership,
    PhoneNumber,
    QueueKind,
    ReferralPreference,
    Sex,
    TengeRange,
)
from edqueue.models.instants import later

if TYPE_CHECKING:
    from edqueue.rules import OrderingPolicy, QueueBook

__all__ = [
    "applicants",
    "applications",
    "benefit_claims",
    "birth_dates",
    "children",
    "full_names",
    "groups",
    "iin_prefix",
    "iins",
    "invalid_iin_texts",
    "kazakhstan_datetimes",
    "mobile_numbers",
    "organizations",
    "phone_spellings",
    "queue_books",
]

_CENTURY_DIGIT = {(1800, Sex.MALE): 1, (1800, Sex.FEMALE): 2, (1900, Sex.MALE): 3}
_CENTURY_DIGIT |= {(1900, Sex.FEMALE): 4, (2000, Sex.MALE): 5, (2000, Sex.FEMALE): 6}

# Real operator codes of Kazakhstan's mobile ranges (+7 7XX): Beeline, Kcell/Activ, Tele2/Altel.
_MOBILE_CODES = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")

_LAST = ("Ахметов", "Иванов", "Серікбаев", "Ким", "Нұрланов", "Петров", "Жумабаев", "Ли")
_FIRST = ("Алихан", "Айгерим", "Нурлан", "Мария", "Данияр", "Аружан", "Иван", "Әлия")
_PATRONYMIC = ("Ержанұлы", "Серикқызы", "Иванович", "Нурланович", "Маратовна", None)


def birth_dates(
    min_value: date = date(1900, 1, 1), max_value: date = date(2099, 12, 31)
) -> st.SearchStrategy[date]:
    """Birth dates an IIN can encode (1800-2099; by default 1900-2099)."""
    return st.dates(
        min_value=max(min_value, date(1800, 1, 1)), max_value=min(max_value, date(2099, 12, 31))
    )


def iin_prefix(birth_date: date, sex: Sex) -> str:
    """Digits 1-7 of an IIN for this birth date and sex."""
    century = birth_date.year // 100 * 100
    return f"{birth_date:%y%m%d}{_CENTURY_DIGIT[(century, sex)]}"


@st.composite
def iins(
    draw: st.DrawFn,
    birth_date: st.SearchStrategy[date] | None = None,
    sex: st.SearchStrategy[Sex] | None = None,
) -> Iin:
    """Valid IINs, with the birth date and sex drawn from the given strategies."""
    born = draw(birth_date if birth_date is not None else birth_dates())
    chosen_sex = draw(sex if sex is not None else st.sampled_from(Sex))
    prefix = iin_prefix(born, chosen_sex)
    serial = draw(
        st.integers(0, 9999).filter(lambda n: Iin.check_digit(f"{prefix}{n:04d}") is not None)
    )
    first_eleven = f"{prefix}{serial:04d}"
    return Iin(f"{first_eleven}{Iin.check_digit(first_eleven)}")


def invalid_iin_texts() -> st.SearchStrategy[str]:
    """Text that is not a valid IIN: wrong length, non-digits, bad century, bad check digit."""
    digits = st.text(alphabet="0123456789", min_size=12, max_size=12)

    def is_invalid(text: str) -> bool:
        try:
            Iin(text)
        except IinError:
            return True
        return False

    return st.one_of(
        st.text(max_size=30),
        st.text(alphabet="0123456789", max_size=11),
        st.text(alphabet="0123456789", min_size=13, max_size=20),
        digits,
    ).filter(is_invalid)


def mobile_numbers() -> st.SearchStrategy[PhoneNumber]:
    """Kazakhstan mobile numbers (+7 7XX XXX XX XX) in the real operator ranges."""
    return st.builds(
        lambda code, rest: PhoneNumber(f"+7{code}{rest:07d}"),
        st.sampled_from(_MOBILE_CODES),
        st.integers(0, 9_999_999),
    )


def phone_spellings(number: PhoneNumber) -> st.SearchStrategy[str]:
    """The common ways people write ``number``: +7 7XX ..., 8 (7XX) ..., bare digits."""
    digits = number.reveal()[2:]  # the ten national digits
    code, a, b, c = digits[:3], digits[3:6], digits[6:8], digits[8:]
    return st.sampled_from(
        [
            f"+7{digits}",
            f"+7 {code} {a} {b} {c}",
            f"+7 ({code}) {a}-{b}-{c}",
            f"8{digits}",
            f"8 ({code}) {a}-{b}-{c}",
            f"8 {code} {a}{b}{c}",
            f"7{digits}",
            digits,
            f"  +7-{code}-{a}-{b}-{c}  ",
        ]
    )


def full_names() -> st.SearchStrategy[FullName]:
    """Plausible Kazakh and Russian full names."""
    return st.builds(
        FullName,
        st.sampled_from(_LAST),
        st.sampled_from(_FIRST),
        st.sampled_from(_PATRONYMIC),
    )


def kazakhstan_datetimes(
    min_value: datetime = datetime(2015, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value: datetime = datetime(2030, 12, 31),  # noqa: DTZ001
) -> st.SearchStrategy[datetime]:
    """Aware datetimes in Asia/Almaty (both sides of the 2024-03-01 move to UTC+5)."""
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=st.just(KAZAKHSTAN))


def applicants() -> st.SearchStrategy[Applicant]:
    """Adult applicants born 1960-2005."""
    return st.builds(
        Applicant,
        iin=iins(birth_dates(date(1960, 1, 1), date(2005, 12, 31))),
        name=full_names(),
        phone=mobile_numbers(),
    )


@st.composite
def children(draw: st.DrawFn, birth_years: Sequence[int] = range(2019, 2026)) -> Child:
    """Children born in one of ``birth_years``, IIN agreeing with the birth date."""
    year = draw(st.sampled_from(list(birth_years)))
    born = draw(st.dates(date(year, 1, 1), date(year, 12, 31)))
    iin = draw(iins(st.just(born)))
    certificate = draw(
        st.none()
        | st.builds(
            lambda n: BirthCertificate(f"9-{born:%y}-{n:07d}", born + timedelta(days=7)),
            st.integers(0, 9_999_999),
        )
    )
    return Child(iin, draw(full_names()), born, certificate)


@st.composite
def benefit_claims(
    draw: st.DrawFn, statuses: Sequence[BenefitStatus] = tuple(BenefitStatus)
) -> BenefitClaim:
    """Benefit claims of any category, with one of ``statuses``.

    A decision comes 0 to 1,440 hours after the claim, counted in instants: adding hours to
    the wall clock would put a decision drawn in the hour 2024-02-29 23:00-24:00, which
    ``Asia/Almaty`` lived twice, before its claim."""
    status = draw(st.sampled_from(list(statuses)))
    claimed = draw(kazakhstan_datetimes())
    decided = (
        None
        if status is BenefitStatus.PENDING
        else later(claimed, timedelta(hours=draw(st.integers(0, 24 * 60))))
    )
    return BenefitClaim(draw(st.sampled_from(BenefitCategory)), status, claimed, decided)


@st.composite
def groups(
    draw: st.DrawFn,
    birth_years: Sequence[int] = range(2019, 2026),
    languages: Sequence[Language] = (Language.RUSSIAN, Language.KAZAKH),
) -> Group:
    """One group with capacity up to 30 and free places within it."""
    key = GroupKey(
        draw(st.sampled_from(list(birth_years))),
        draw(st.sampled_from(list(languages))),
        draw(st.sampled_from(QueueKind)),
    )
    capacity = draw(st.integers(0, 30))
    return Group(
        key,
        capacity,
        draw(st.integers(0, capacity)),
        draw(st.sampled_from(GroupSpecialization)),
    )


@st.composite
def organizations(
    draw: st.DrawFn,
    locality: str = "г. Шахтинск",
    birth_years: Sequence[int] = range(2019, 2026),
    languages: Sequence[Language] = (Language.RUSSIAN, Language.KAZAKH),
    min_groups: int = 1,
    max_groups: int = 8,
) -> Organization:
    """An organization of ``locality`` with distinct groups."""
    drawn = draw(
        st.lists(
            groups(birth_years, languages),
            min_size=min_groups,
            max_size=max_groups,
            unique_by=lambda g: g.key,
        )
    )
    number = draw(st.integers(1, 999_999))
    low = draw(st.integers(0, 30_000))
    return Organization(
        id=f"org-{number}",
        name=OrganizationName(f"Ясли-сад № {number}"),
        ownership=draw(st.sampled_from(Ownership)),
        locality=locality,
        address=f"{locality}, улица Абая, {number % 200 + 1}",
        groups=drawn,
        location=GeoPoint(
            draw(st.floats(40.5, 55.5, allow_nan=False)),
            draw(st.floats(46.5, 87.3, allow_nan=False)),
        ),
        education_fee=draw(st.sampled_from([0, 0, 0, 25_000, 60_000])),
        food_cost=TengeRange(low, low + draw(st.integers(0, 5_000))),
        electronic_contracts=draw(st.booleans()),
    )


@st.composite
def applications(
    draw: st.DrawFn,
    organization_ids: Sequence[str] = ("org-1", "org-2", "org-3", "org-4", "org-5"),
    numbers: st.SearchStrategy[int] | None = None,
    birth_years: Sequence[int] = range(2019, 2026),
    languages: Sequence[Language] = (Language.RUSSIAN, Language.KAZAKH),
    statuses: Sequence[ApplicationStatus] = (ApplicationStatus.ACTIVE,),
) -> Application:
    """Valid applications choosing 1-4 of ``organization_ids``.

    Whether the chosen organizations have the groups is for the rules to judge, not here.
    """
    ids = draw(
        st.lists(
            st.sampled_from(list(organization_ids)),
            min_size=1,
            max_size=min(MAX_CHOICES, len(organization_ids)),
            unique=True,
        )
    )
    child = draw(children(birth_years))
    queue_kind = draw(st.sampled_from(QueueKind))
    submitted = draw(kazakhstan_datetimes())
    referral = draw(
        st.just(ReferralPreference.immediately())
        | st.builds(
            ReferralPreference.from_date,
            st.dates(submitted.date(), submitted.date() + timedelta(days=400)),
        )
    )
    return Application(
        number=draw(numbers if numbers is not None else st.integers(1, 10**9)),
        applicant=draw(applicants()),
        child=child,
        choices=[Choice(i, draw(st.sampled_from(list(languages)))) for i in ids],
        submitted_at=submitted,
        queue_kind=queue_kind,
        referral=referral,
        benefit=draw(st.none() | benefit_claims()),
        consents=frozenset(Consent),
        representative_status=LegalRepresentativeStatus.CONFIRMED,
        status=draw(st.sampled_from(list(statuses))),
    )


@st.composite
def queue_books(
    draw: st.DrawFn,
    ordering: OrderingPolicy | None = None,
    max_organizations: int = 3,
    max_applications: int = 20,
    birth_years: Sequence[int] = (2021, 2022),
    keep_siblings_together: bool = False,
) -> QueueBook:
    """A :class:`~edqueue.rules.QueueBook` of one locality with submitted applications.

    Every organization has a group for each birth year, Russian and Kazakh, general and
    correctional, so every drawn application finds its queues. ``ordering`` defaults to the
    standard ordering. Returns the book; ``book.application(n)`` gives the records.
    """
    from edqueue.rules import QueueBook

    count = draw(st.integers(1, max_organizations))
    ids = [f"org-{i}" for i in range(1, count + 1)]
    grid = [
        Group(GroupKey(year, language, kind), capacity=25, free_places=draw(st.integers(0, 3)))
        for year in birth_years
        for language in (Language.RUSSIAN, Language.KAZAKH)
        for kind in QueueKind
    ]
    organizations_ = [
        Organization(
            id=i,
            name=OrganizationName(f"Ясли-сад {i}"),
            ownership=Ownership.STATE,
            locality="г. Шахтинск",
            address=f"г. Шахтинск, улица Абая, {n}",
            groups=grid,
        )
        for n, i in enumerate(ids, start=1)
    ]
    book = QueueBook(
        organizations_, ordering=ordering, keep_siblings_together=keep_siblings_together
    )
    numbers = draw(st.lists(st.integers(1, 10**7), max_size=max_applications, unique=True))
    for number in numbers:
        book.submit(
            draw(
                applications(organization_ids=ids, numbers=st.just(number), birth_years=birth_years)
            )
        )
    return book
