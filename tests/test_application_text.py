"""The application text (ЗАЯВЛЕНИЕ) follows the seed's review step exactly, in ru and kk."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
import pytest
from hypothesis import given

from edqueue.application_text import (
    KAZAKH_TEMPLATE,
    RUSSIAN_TEMPLATE,
    TEMPLATES,
    ApplicationTemplate,
    render_application_text,
)
from edqueue.errors import ApplicationError, TimeError
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Choice,
    Group,
    GroupKey,
    Language,
    Organization,
    OrganizationName,
    Ownership,
    QueueKind,
    ReferralPreference,
)
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.testing import applications

SEED = Path(__file__).resolve().parent / "data" / "indigo24-user-guide.ru.txt"
AUTHORITY_RU = "Руководителю управления образования г.Шахтинск"
LOCALITY_RU = "г.Шахтинск"
AUTHORITY_KK = "Шахтинск қаласы білім бөлімінің басшысына"
LOCALITY_KK = "Шахтинск қ."

# The sample's values for the seed's six [REDACTED] fields, in the order they appear.
SAMPLE_VALUES = (
    "Ахметова Айгуль Серикқызы",
    "900315400017",
    "+7 701 000 00 01",
    "200623500011",
    "Ахметов Алихан Ержанұлы",
    "23.06.2020",
)

# The seed's review step (lines "05.02.2024" to the second consent), redacted values filled.
EXPECTED_RU = "\n".join(
    [
        "05.02.2024",
        "",
        "Руководителю управления образования г.Шахтинск",
        "от Ахметова Айгуль Серикқызы",
        "ИИН: 900315400017",
        "Телефон: +7 701 000 00 01",
        "",
        "ЗАЯВЛЕНИЕ",
        "",
        "Являясь законным представителем, прошу поставить моего ребенка в очередь для "
        "получения направления в дошкольную организацию г.Шахтинск:",
        "",
        "ИИН ребенка: 200623500011",
        "ФИО ребенка: Ахметов Алихан Ержанұлы",
        "Дата рождения: 23.06.2020",
        "",
        "Дошкольные организации для постановки в очередь:",
        "",
        '1. КГКП ясли-сад "Салтанат"',
        "Адрес: город Шахтинск, улица Имени 40-летия Победы, здание 50/2",
        "Очереди: 2020 ГР русский",
        "",
        '2. КГКП "Ясли-сад "Карлыгаш"',
        "Адрес: город Шахтинск, улица Ленинградская, здание 69 А",
        "Очереди: 2020 ГР казахский",
        "",
        "Выдавать направление ребенку: Сразу, при появлении места",
        "",
        "Сведения о льготе: Отсутствует",
        "",
        "Подтверждаю, что ознакомлен с основными принципами функционирования очередности в "
        "дошкольную организацию:",
        "",
        "Положение заявления в очереди может изменяться как в большую, так и в меньшую сторону;",
        "Заявления в очереди располагаются по году рождения ребенка с учетом даты и времени "
        "подачи заявления;",
        "Заявления граждан, имеющих льготу, имеют приоритетное положение в очереди",
        "",
        "Я даю согласие на использование своих контактных данных для получения сведений, "
        "оповещений и уведомлений в процессе подачи заявления и после его завершения по "
        "событиям, связанным с зачислением и посещением дошкольной организации",
        "",
        "Я ознакомлен, согласен и принимаю условия договора оферты данного интернет-портала, "
        "в том числе по вопросу использования, обработки и хранения персональных данных",
    ]
)


def render(application: Application | None = None, **options: object) -> str:
    options.setdefault("authority", AUTHORITY_RU)
    options.setdefault("locality", LOCALITY_RU)
    return render_application_text(
        application or seed_application(),
        shakhtinsk_organizations(),
        **options,  # type: ignore[arg-type]
    )


def render_kk(application: Application | None = None, **options: object) -> str:
    return render(
        application, language="kk", authority=AUTHORITY_KK, locality=LOCALITY_KK, **options
    )


def line_starting(text: str, prefix: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(prefix)]
    return line


# -- the seed, word for word ---------------------------------------------------------------


def test_seed_application_in_russian_is_the_seed_text_line_by_line() -> None:
    text = render()
    assert text.splitlines() == EXPECTED_RU.splitlines()
    assert text == EXPECTED_RU


def test_expected_text_is_the_seed_file_with_the_redacted_values_filled() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index("05.02.2024")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Я ознакомлен"))
    seed = "\n".join(lines[start : end + 1])
    assert seed.count("[REDACTED]") == len(SAMPLE_VALUES)
    for value in SAMPLE_VALUES:
        seed = seed.replace("[REDACTED]", value, 1)
    assert seed == EXPECTED_RU


def test_the_russian_template_is_the_default() -> None:
    assert TEMPLATES["ru"] is RUSSIAN_TEMPLATE
    assert render(template=RUSSIAN_TEMPLATE) == render()


# -- Kazakh --------------------------------------------------------------------------------


def test_kazakh_text_has_the_kazakh_names_labels_and_sentences() -> None:
    text = render_kk()
    lines = text.splitlines()
    assert lines[:8] == [
        "05.02.2024",
        "",
        AUTHORITY_KK,
        "Өтініш беруші: Ахметова Айгуль Серикқызы",
        "ЖСН: 900315400017",
        "Телефон: +7 701 000 00 01",
        "",
        "ӨТІНІШ",
    ]
    assert '1. "Салтанат" бөбекжай-бақшасы КМҚК' in lines
    assert '2. "Қарлығаш" бөбекжай-бақшасы КМҚК' in lines
    assert "Кезектер: 2020 ж.т. орыс тілді" in lines
    assert "Кезектер: 2020 ж.т. қазақ тілді" in lines
    assert "Балаға жолдама беру: Бірден, орын пайда болған кезде" in lines
    assert "Жеңілдік туралы мәліметтер: Жоқ" in lines
    assert f"Заңды өкіл бола отырып, баламды {LOCALITY_KK} мектепке" in text
    # the same structure as the Russian text, and none of its fixed words
    assert len(lines) == len(EXPECTED_RU.splitlines())
    assert [i for i, line in enumerate(lines) if not line] == [
        i for i, line in enumerate(EXPECTED_RU.splitlines()) if not line
    ]
    for russian in ("ЗАЯВЛЕНИЕ", "Адрес:", "Очереди:", "ГР", "Отсутствует", "КГКП"):
        assert russian not in text


def test_kazakh_text_uses_kazakh_letters() -> None:
    letters = set(KAZAKH_TEMPLATE.text + KAZAKH_TEMPLATE.organization)
    assert set("әғқңөұүі") <= letters


def test_kazakh_falls_back_to_the_russian_name_when_there_is_no_kazakh_one() -> None:
    saltanat, karlygash = shakhtinsk_organizations()
    unnamed = attrs.evolve(karlygash, name=OrganizationName(karlygash.name.ru))
    text = render_application_text(
        seed_application(),
        (saltanat, unnamed),
        authority=AUTHORITY_KK,
        locality=LOCALITY_KK,
        language="kk",
    )
    assert '2. КГКП "Ясли-сад "Карлыгаш"' in text.splitlines()


def test_a_correctional_queue_says_so_in_both_languages() -> None:
    application = attrs.evolve(seed_application(), queue_kind=QueueKind.CORRECTIONAL)
    assert "Очереди: 2020 ГР русский (коррекционная)" in render(application).splitlines()
    assert "Кезектер: 2020 ж.т. орыс тілді (түзету)" in render_kk(application).splitlines()


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ApplicationError) as caught:
        render(language="en")
    assert caught.value.code == "application.type"


# -- benefit and referral ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "russian", "kazakh"),
    [
        (
            BenefitStatus.PENDING,
            "Сведения о льготе: Дети из многодетных семей (на проверке)",
            "Жеңілдік туралы мәліметтер: Көпбалалы отбасылардың балалары (тексерілуде)",
        ),
        (
            BenefitStatus.VERIFIED,
            "Сведения о льготе: Дети из многодетных семей",
            "Жеңілдік туралы мәліметтер: Көпбалалы отбасылардың балалары",
        ),
    ],
)
def test_a_benefit_renders_with_its_title_and_status(
    status: BenefitStatus, russian: str, kazakh: str
) -> None:
    claim = BenefitClaim(BenefitCategory.LARGE_FAMILY, status)
    application = attrs.evolve(seed_application(), benefit=claim)
    assert line_starting(render(application), "Сведения о льготе:") == russian
    assert line_starting(render_kk(application), "Жеңілдік туралы") == kazakh


def test_an_extraordinary_benefit_uses_its_own_title() -> None:
    claim = BenefitClaim(BenefitCategory.MILITARY, BenefitStatus.PENDING)
    application = attrs.evolve(seed_application(), benefit=claim)
    assert (
        line_starting(render(application), "Сведения о льготе:")
        == "Сведения о льготе: Дети военнослужащих (на проверке)"
    )


def test_a_referral_from_a_desired_date_renders_that_date() -> None:
    preference = ReferralPreference.from_date(date(2024, 9, 1))
    assert preference.label_ru == "С желаемой даты: 01.09.2024"
    application = attrs.evolve(seed_application(), referral=preference)
    assert (
        line_starting(render(application), "Выдавать направление")
        == "Выдавать направление ребенку: С желаемой даты: 01.09.2024"
    )
    assert (
        line_starting(render_kk(application), "Балаға жолдама")
        == "Балаға жолдама беру: Қалаған күннен бастап: 01.09.2024"
    )


# -- templates -----------------------------------------------------------------------------


def test_a_host_template_replaces_the_default() -> None:
    template = ApplicationTemplate(
        text="№$number от $date, $authority ($locality)\n$applicant_name, $child_name\n"
        "$organizations\n$$ $referral; $benefit",
        organization="[$position] $name: $queues",
        organization_separator=" | ",
    )
    assert render(template=template) == (
        "№1292583 от 05.02.2024, Руководителю управления образования г.Шахтинск (г.Шахтинск)\n"
        "Ахметова Айгуль Серикқызы, Ахметов Алихан Ержанұлы\n"
        '[1] КГКП ясли-сад "Салтанат": 2020 ГР русский | '
        '[2] КГКП "Ясли-сад "Карлыгаш": 2020 ГР казахский\n'
        "$ Сразу, при появлении места; Отсутствует"
    )
    # the language still chooses the wording put into a host's template
    assert render_kk(template=template).endswith("$ Бірден, орын пайда болған кезде; Жоқ")


@pytest.mark.parametrize(
    ("text", "organization", "named"),
    [
        ("$date $child_surname", "$name", "$child_surname"),
        ("$date ${benefits}", "$name", "$benefits"),
        ("$date $organizations", "$name $phone", "$phone"),
        ("$date", "$position. $applicant_name", "$applicant_name"),
    ],
)
def test_a_template_with_an_unknown_placeholder_is_refused(
    text: str, organization: str, named: str
) -> None:
    with pytest.raises(ApplicationError) as caught:
        ApplicationTemplate(text, organization)
    assert caught.value.code == "application.template"
    assert f"unknown placeholders {named};" in caught.value.message


def test_a_template_with_a_stray_dollar_is_refused() -> None:
    with pytest.raises(ApplicationError) as caught:
        ApplicationTemplate("$date: 100 $", "$name")
    assert caught.value.code == "application.template"
    assert "'$$'" in caught.value.message


# -- organizations -------------------------------------------------------------------------


def test_a_choice_whose_organization_is_not_given_is_refused_without_personal_data() -> None:
    saltanat, _ = shakhtinsk_organizations()
    with pytest.raises(ApplicationError) as caught:
        render_application_text(
            seed_application(), [saltanat], authority=AUTHORITY_RU, locality=LOCALITY_RU
        )
    error = caught.value
    assert error.code == "application.unknown_organization"
    assert "choice 2" in error.message
    assert "shakhtinsk-karlygash" in error.message
    shown = f"{error} {error!r}"
    for value in SAMPLE_VALUES[:5]:
        assert value not in shown
    for part in ("Ахметов", "Айгуль", "Алихан"):
        assert part not in shown


def test_organizations_follow_the_order_of_preference_not_the_order_given() -> None:
    saltanat, karlygash = shakhtinsk_organizations()
    application = attrs.evolve(
        seed_application(),
        choices=(
            Choice(karlygash.id, Language.KAZAKH),
            Choice(saltanat.id, Language.RUSSIAN),
        ),
    )
    lines = render(application).splitlines()
    assert lines.index('1. КГКП "Ясли-сад "Карлыгаш"') < lines.index('2. КГКП ясли-сад "Салтанат"')


@pytest.mark.parametrize(("authority", "locality"), [("", LOCALITY_RU), (AUTHORITY_RU, "  ")])
def test_an_empty_addressee_or_locality_is_refused(authority: str, locality: str) -> None:
    with pytest.raises(ApplicationError):
        render(authority=authority, locality=locality)


# -- the date ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        # after the 2024-03-01 move to UTC+5: 01:30 on 2 March in Almaty
        (datetime(2024, 3, 1, 20, 30, tzinfo=UTC), "02.03.2024"),
        # still UTC+6 in February: 00:30 on 6 February (UTC+5 would say 5 February)
        (datetime(2024, 2, 5, 18, 30, tzinfo=UTC), "06.02.2024"),
        # UTC+5 in March: 23:30 on 5 March (UTC+6 would say 6 March)
        (datetime(2024, 3, 5, 18, 30, tzinfo=UTC), "05.03.2024"),
    ],
)
def test_the_date_is_the_submission_date_in_almaty(submitted: datetime, expected: str) -> None:
    application = attrs.evolve(seed_application(), submitted_at=submitted)
    assert render(application).splitlines()[0] == expected
    assert render_kk(application).splitlines()[0] == expected


def test_a_draft_is_dated_on_the_given_day() -> None:
    assert render(on=date(2024, 2, 4)).splitlines()[0] == "04.02.2024"
    late = datetime(2024, 3, 1, 20, 30, tzinfo=UTC)
    assert render(on=late).splitlines()[0] == "02.03.2024"
    assert render(on=datetime(2024, 3, 2, 1, 30, tzinfo=KAZAKHSTAN)).startswith("02.03.2024\n")


def test_a_draft_date_without_a_time_zone_is_refused() -> None:
    with pytest.raises(TimeError):
        render(on=datetime(2024, 3, 1, 20, 30))  # noqa: DTZ001 - the naive value under test


# -- any application -----------------------------------------------------------------------

ORGANIZATIONS = tuple(
    Organization(
        id=f"org-{n}",
        name=OrganizationName(f"Ясли-сад № {n}", f"№ {n} бөбекжай-бақшасы"),
        ownership=Ownership.STATE,
        locality="г. Шахтинск",
        address=f"город Шахтинск, улица Абая, {n}",
        groups=[Group(GroupKey(2020, Language.RUSSIAN), 25, 0)],
    )
    for n in range(1, 6)
)


@given(applications())
def test_any_application_renders_in_full_in_both_languages(application: Application) -> None:
    for language, address in (("ru", "Адрес: "), ("kk", "Мекенжайы: ")):
        text = render_application_text(
            application,
            reversed(ORGANIZATIONS),
            authority=AUTHORITY_RU,
            locality=LOCALITY_RU,
            language=language,  # type: ignore[arg-type]
        )
        for person in (application.applicant, application.child):
            assert person.iin.reveal() in text
            assert person.name.reveal() in text
        phone = line_starting(text, "Телефон: ").removeprefix("Телефон: ")
        assert re.fullmatch(r"\+7 \d{3} \d{3} \d{2} \d{2}", phone)
        assert phone.replace(" ", "") == application.applicant.phone.reveal()
        assert "$" not in text
        addresses = [line for line in text.splitlines() if line.startswith(address)]
        assert addresses == [
            f"{address}город Шахтинск, улица Абая, {c.organization_id.removeprefix('org-')}"
            for c in application.choices
        ]
