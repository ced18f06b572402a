"""The seed's example as data: two kindergartens of Shakhtinsk and one application.

Source: the INDIGO24 user guide (../shared/seed), steps 1-5: the child with birth
certificate "9-20-0000219 от 23.06.2020", "КГКП ясли-сад "Салтанат"" (queue "2020 ГР
русский") and "КГКП "Ясли-сад "Карлыгаш"" (queue "2020 ГР казахский") in г. Шахтинск, the
application dated 05.02.2024 and numbered #1292583. The guide redacts every person; the
people here are invented, with IINs that are valid but belong to nobody we know of.
"""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from pathlib import Path

from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
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
    Language,
    LegalRepresentativeStatus,
    Organization,
    OrganizationName,
    Ownership,
    ReferralPreference,
    TengeRange,
)

__all__ = [
    "LOCALITY",
    "data_files",
    "neighbour_applications",
    "seed_application",
    "shakhtinsk_organizations",
]

LOCALITY = "г. Шахтинск"
_BIRTH_YEARS = range(2020, 2025)


def _groups(free: dict[GroupKey, int]) -> list[Group]:
    return [
        Group(key, capacity=25, free_places=free.get(key, 0))
        for year in _BIRTH_YEARS
        for language in (Language.RUSSIAN, Language.KAZAKH)
        for key in [GroupKey(year, language)]
    ]


def shakhtinsk_organizations() -> tuple[Organization, ...]:
    """The two kindergartens of the seed, with groups for birth years 2020-2024 in ru and kk.

    Saltanat's card in the seed: state, electronic contracts, 2 free places, free
    education, food 16 000 - 17 000 tenge a month.
    """
    saltanat = Organization(
        id="shakhtinsk-saltanat",
        name=OrganizationName('КГКП ясли-сад "Салтанат"', '"Салтанат" бөбекжай-бақшасы КМҚК'),
        ownership=Ownership.STATE,
        locality=LOCALITY,
        address="город Шахтинск, улица Имени 40-летия Победы, здание 50/2",
        location=GeoPoint(49.7116, 72.5925),
        education_fee=0,
        food_cost=TengeRange(16_000, 17_000),
        electronic_contracts=True,
        groups=_groups({GroupKey(2020, Language.RUSSIAN): 2}),
    )
    karlygash = Organization(
        id="shakhtinsk-karlygash",
        name=OrganizationName('КГКП "Ясли-сад "Карлыгаш"', '"Қарлығаш" бөбекжай-бақшасы КМҚК'),
        ownership=Ownership.STATE,
        locality=LOCALITY,
        address="город Шахтинск, улица Ленинградская, здание 69 А",
        location=GeoPoint(49.7068, 72.6003),
        education_fee=0,
        food_cost=TengeRange(16_000, 17_000),
        electronic_contracts=True,
        groups=_groups({}),
    )
    return (saltanat, karlygash)


def seed_application() -> Application:
    """The application of the seed's review step, numbered #1292583 on 05.02.2024."""
    return Application(
        number="1292583",
        applicant=Applicant(
            iin="900315400017",
            name=FullName("Ахметова", "Айгуль", "Серикқызы"),
            phone="+7 701 000 00 01",
        ),
        child=Child(
            iin="200623500011",
            name=FullName("Ахметов", "Алихан", "Ержанұлы"),
            birth_date=date(2020, 6, 23),
            birth_certificate=BirthCertificate.parse("9-20-0000219 от 23.06.2020"),
        ),
        choices=(
            Choice("shakhtinsk-saltanat", Language.RUSSIAN),
            Choice("shakhtinsk-karlygash", Language.KAZAKH),
        ),
        referral=ReferralPreference.immediately(),
        benefit=None,
        consents={Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT},
        representative_status=LegalRepresentativeStatus.CONFIRMED,
        submitted_at=datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN),
    )


def _neighbour(
    number: str,
    applicant_iin: str,
    child_iin: str,
    born: date,
    submitted: datetime,
    choices: tuple[Choice, ...],
    *,
    benefit: BenefitClaim | None = None,
    referral: ReferralPreference | None = None,
) -> Application:
    return Application(
        number=number,
        applicant=Applicant(
            iin=applicant_iin, name=FullName("Сапарова", "Дина"), phone="+7 701 000 00 02"
        ),
        child=Child(iin=child_iin, name=FullName("Сапаров", "Арман"), birth_date=born),
        choices=choices,
        referral=referral or ReferralPreference.immediately(),
        benefit=benefit,
        consents={Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT},
        representative_status=LegalRepresentativeStatus.CONFIRMED,
        submitted_at=submitted,
    )


def neighbour_applications() -> tuple[Application, ...]:
    """Three more applications for the seed's queues, invented for the demo and the docs.

    #1292601 has a verified first-priority benefit (a large family, category 8), so it
    stands ahead of the seed's application at Saltanat; #1292614 comes after it; #1292620
    wants a referral only from 01.09.2024. The people are invented; the IINs are valid.
    """
    saltanat = Choice("shakhtinsk-saltanat", Language.RUSSIAN)
    karlygash = Choice("shakhtinsk-karlygash", Language.KAZAKH)
    day = datetime(2024, 2, 6, 11, 0, tzinfo=KAZAKHSTAN)
    large_family = BenefitClaim(BenefitCategory(8), BenefitStatus.VERIFIED, day, day)
    return (
        _neighbour(
            "1292601",
            "920505300017",
            "200314600018",
            date(2020, 3, 14),
            day,
            (saltanat, karlygash),
            benefit=large_family,
        ),
        _neighbour(
            "1292614",
            "881120400013",
            "200902500018",
            date(2020, 9, 2),
            datetime(2024, 2, 7, 9, 30, tzinfo=KAZAKHSTAN),
            (saltanat,),
        ),
        _neighbour(
            "1292620",
            "950707400017",
            "200128600017",
            date(2020, 1, 28),
            datetime(2024, 2, 8, 16, 45, tzinfo=KAZAKHSTAN),
            (karlygash, saltanat),
            referral=ReferralPreference.from_date(date(2024, 9, 1)),
        ),
    )


def data_files() -> tuple[Path, Path]:
    """The sample as files in the interchange format, shipped with the package: the
    organizations (JSON) and the four applications above (JSON Lines), for trying
    ``edqueue rank`` and ``edqueue allocate``. A test keeps them equal to these records."""
    root = resources.files("edqueue") / "data"
    return (
        Path(str(root / "shakhtinsk-organizations.json")),
        Path(str(root / "shakhtinsk-applications.jsonl")),
    )
