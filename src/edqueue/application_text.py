"""The application text (ЗАЯВЛЕНИЕ, өтініш) the citizen reviews and signs, in Russian and Kazakh.

Source: the seed's review step (step 4 of the INDIGO24 user guide): the portal renders the
application as a dated letter to the head of the city's education department, with the
applicant's name, IIN and phone, the child's IIN, name and birth date, the chosen
organizations with their addresses and queues, the referral preference, the benefit, the
three principles of the queue the citizen acknowledges and the two consents. The Russian
template reproduces that text word for word; the Kazakh template is edqueue's own
translation of it, as are the Kazakh queue labels, referral preferences and benefit statuses
below (the portal's Kazakh wording was not available to us).

Personal data appears here IN FULL: names, IINs and the phone number are revealed with
``reveal()``, because this is the text the citizen checks and signs. This module is the only
place in edqueue where that is right; never log the text, and never put it in an error
message. The errors raised here name no person.

Templates use :class:`string.Template` (``$name`` placeholders, ``$$`` for a literal ``$``);
a host replaces them with its own :class:`ApplicationTemplate`.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from edqueue.errors import ApplicationError
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    BenefitClaim,
    BenefitStatus,
    GroupKey,
    Organization,
    PhoneNumber,
    QueueKind,
    ReferralPreference,
    require_aware,
)

__all__ = [
    "APPLICATION_PLACEHOLDERS",
    "KAZAKH_TEMPLATE",
    "ORGANIZATION_PLACEHOLDERS",
    "RUSSIAN_TEMPLATE",
    "TEMPLATES",
    "ApplicationTemplate",
    "TextLanguage",
    "render_application_text",
]

TextLanguage = Literal["ru", "kk"]
"""The languages the application text is rendered in: Russian and Kazakh."""

APPLICATION_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {
        "date",
        "authority",
        "locality",
        "applicant_name",
        "applicant_iin",
        "applicant_phone",
        "child_iin",
        "child_name",
        "child_birth_date",
        "organizations",
        "referral",
        "benefit",
        "number",
    }
)
"""What the main template may use.

``date`` (dd.mm.yyyy), ``authority`` (the addressee line), ``locality``, the applicant's
``applicant_name``, ``applicant_iin``, ``applicant_phone`` (``+7 701 000 00 01``), the child's
``child_iin``, ``child_name``, ``child_birth_date``, ``organizations`` (the rendered list),
``referral`` (the referral preference), ``benefit`` and the application's ``number``.
"""

ORGANIZATION_PLACEHOLDERS: Final[frozenset[str]] = frozenset(
    {"position", "name", "address", "queues"}
)
"""What the per-organization template may use: ``position`` (1-4, the order of preference),
``name``, ``address`` and ``queues`` (the group the child joins there, "2020 ГР русский")."""


def _template_text(allowed: frozenset[str], what: str) -> Any:
    def check(_: Any, __: Any, value: Any) -> None:
        if not isinstance(value, str):
            raise ApplicationError("application.type", f"{what} must be a string")
        template = string.Template(value)
        if not template.is_valid():
            raise ApplicationError(
                "application.template",
                f"{what} has a '$' that starts no placeholder; write '$$' for a literal '$'",
            )
        unknown = sorted(set(template.get_identifiers()) - allowed)
        if unknown:
            raise ApplicationError(
                "application.template",
                f"{what} uses unknown placeholders "
                + ", ".join(f"${name}" for name in unknown)
                + "; the known ones are "
                + ", ".join(f"${name}" for name in sorted(allowed)),
            )

    return check


@attrs.frozen
class ApplicationTemplate:
    """A replaceable template of the application text (:class:`string.Template` syntax).

    ``text`` is the whole letter (placeholders: :data:`APPLICATION_PLACEHOLDERS`);
    ``organization`` is rendered once per chosen organization, in order of preference
    (placeholders: :data:`ORGANIZATION_PLACEHOLDERS`), and the blocks, joined by
    ``organization_separator``, fill ``$organizations``. A template that uses an unknown
    placeholder, or a ``$`` that starts none, raises
    :class:`~edqueue.errors.ApplicationError` (``application.template``) when it is built, so a
    template that exists always renders.

    >>> ApplicationTemplate("$date: $child", "$name")
    Traceback (most recent call last):
    ...
    edqueue.errors.ApplicationError: [application.template] the application template uses ...
    """

    text: str = attrs.field(
        validator=_template_text(APPLICATION_PLACEHOLDERS, "the application template")
    )
    organization: str = attrs.field(
        validator=_template_text(ORGANIZATION_PLACEHOLDERS, "the organization template")
    )
    organization_separator: str = attrs.field(
        default="\n\n", validator=attrs.validators.instance_of(str)
    )


RUSSIAN_TEMPLATE: Final = ApplicationTemplate(
    text="\n".join(
        (
            "$date",
            "",
            "$authority",
            "от $applicant_name",
            "ИИН: $applicant_iin",
            "Телефон: $applicant_phone",
            "",
            "ЗАЯВЛЕНИЕ",
            "",
            "Являясь законным представителем, прошу поставить моего ребенка в очередь для "
            "получения направления в дошкольную организацию $locality:",
            "",
            "ИИН ребенка: $child_iin",
            "ФИО ребенка: $child_name",
            "Дата рождения: $child_birth_date",
            "",
            "Дошкольные организации для постановки в очередь:",
            "",
            "$organizations",
            "",
            "Выдавать направление ребенку: $referral",
            "",
            "Сведения о льготе: $benefit",
            "",
            "Подтверждаю, что ознакомлен с основными принципами функционирования очередности "
            "в дошкольную организацию:",
            "",
            "Положение заявления в очереди может изменяться как в большую, так и в меньшую "
            "сторону;",
            "Заявления в очереди располагаются по году рождения ребенка с учетом даты и "
            "времени подачи заявления;",
            "Заявления граждан, имеющих льготу, имеют приоритетное положение в очереди",
            "",
            "Я даю согласие на использование своих контактных данных для получения сведений, "
            "оповещений и уведомлений в процессе подачи заявления и после его завершения по "
            "событиям, связанным с зачислением и посещением дошкольной организации",
            "",
            "Я ознакомлен, согласен и принимаю условия договора оферты данного "
            "интернет-портала, в том числе по вопросу использования, обработки и хранения "
            "персональных данных",
        )
    ),
    organization="$position. $name\nАдрес: $address\nОчереди: $queues",
)
"""The portal's Russian text, word for word as the seed's review step shows it."""

KAZAKH_TEMPLATE: Final = ApplicationTemplate(
    text="\n".join(
        (
            "$date",
            "",
            "$authority",
            "Өтініш беруші: $applicant_name",
            "ЖСН: $applicant_iin",
            "Телефон: $applicant_phone",
            "",
            "ӨТІНІШ",
            "",
            "Заңды өкіл бола отырып, баламды $locality мектепке дейінгі ұйымына жолдама алу "
            "үшін кезекке қоюды сұраймын:",
            "",
            "Баланың ЖСН: $child_iin",
            "Баланың ТАӘ: $child_name",
            "Туған күні: $child_birth_date",
            "",
            "Кезекке қою үшін мектепке дейінгі ұйымдар:",
            "",
            "$organizations",
            "",
            "Балаға жолдама беру: $referral",
            "",
            "Жеңілдік туралы мәліметтер: $benefit",
            "",
            "Мектепке дейінгі ұйымға кезектілікті жүргізудің негізгі қағидаттарымен "
            "танысқанымды растаймын:",
            "",
            "Өтініштің кезектегі орны үлкею жағына да, кішірею жағына да өзгеруі мүмкін;",
            "Кезектегі өтініштер өтініш берілген күн мен уақытты ескере отырып, баланың туған "
            "жылы бойынша орналасады;",
            "Жеңілдігі бар азаматтардың өтініштері кезекте басымдыққа ие",
            "",
            "Өтініш беру барысында және ол аяқталғаннан кейін мектепке дейінгі ұйымға "
            "қабылдауға және оған баруға байланысты оқиғалар бойынша мәліметтер, хабарламалар "
            "мен хабарландырулар алу үшін байланыс деректерімді пайдалануға келісім беремін",
            "",
            "Осы интернет-порталдың оферта шартының талаптарымен, оның ішінде дербес "
            "деректерді пайдалану, өңдеу және сақтау мәселесі бойынша, таныстым, келісемін "
            "және оларды қабылдаймын",
        )
    ),
    organization="$position. $name\nМекенжайы: $address\nКезектер: $queues",
)
"""The same text in Kazakh: edqueue's own translation of the portal's Russian text."""

TEMPLATES: Final[Mapping[str, ApplicationTemplate]] = MappingProxyType(
    {"ru": RUSSIAN_TEMPLATE, "kk": KAZAKH_TEMPLATE}
)
"""The default template of each language of :data:`TextLanguage`."""

_LANGUAGE_NAMES_KK: Mapping[str, str] = MappingProxyType(
    {
        "ru": "орыс",
        "kk": "қазақ",
        "en": "ағылшын",
        "uz": "өзбек",
        "ug": "ұйғыр",
        "tg": "тәжік",
    }
)

_NO_BENEFIT: Mapping[str, str] = MappingProxyType({"ru": "Отсутствует", "kk": "Жоқ"})

# What follows a benefit's title: nothing once verified, else where its check stands.
_BENEFIT_STATUS: Mapping[str, Mapping[BenefitStatus, str]] = MappingProxyType(
    {
        "ru": {
            BenefitStatus.PENDING: " (на проверке)",
            BenefitStatus.VERIFIED: "",
            BenefitStatus.REJECTED: " (отклонена)",
            BenefitStatus.EXPIRED: " (срок действия истек)",
        },
        "kk": {
            BenefitStatus.PENDING: " (тексерілуде)",
            BenefitStatus.VERIFIED: "",
            BenefitStatus.REJECTED: " (қабылданбады)",
            BenefitStatus.EXPIRED: " (мерзімі өтті)",
        },
    }
)


def _queue_label(key: GroupKey, language: str) -> str:
    """The group as the text names it: "2020 ГР русский" / "2020 ж.т. орыс тілді".

    The Kazakh label is ours: "ж.т." is "жылы туған" (born in), "орыс тілді" Russian-language;
    a correctional queue adds "(түзету)".
    """
    if language == "ru":
        return key.label_ru
    name = _LANGUAGE_NAMES_KK.get(key.language.code, key.language.code)
    label = f"{key.birth_year} ж.т. {name} тілді"
    if key.queue_kind is QueueKind.CORRECTIONAL:
        label += " (түзету)"
    return label


def _referral_label(preference: ReferralPreference, language: str) -> str:
    """The referral preference: «Сразу, при появлении места» or from a desired date."""
    if language == "ru":
        return preference.label_ru
    if preference.desired_date is None:
        return "Бірден, орын пайда болған кезде"
    return f"Қалаған күннен бастап: {preference.desired_date:%d.%m.%Y}"


def _benefit_label(benefit: BenefitClaim | None, language: str) -> str:
    """The benefit line: «Отсутствует», or the category's title and its status unless verified."""
    if benefit is None:
        return _NO_BENEFIT[language]
    return benefit.category.title(language) + _BENEFIT_STATUS[language][benefit.status]


def _phone_in_clear(phone: PhoneNumber) -> str:
    """The number as people write it, ``+7 701 000 00 01`` (grouped like ``masked``)."""
    e164 = phone.reveal()
    return f"{e164[:2]} {e164[2:5]} {e164[5:8]} {e164[8:10]} {e164[10:]}"


def _text_date(application: Application, on: date | None) -> date:
    """The date the text carries: ``on`` if given, else the submission date in Almaty."""
    if on is None:
        return application.submitted_at.astimezone(KAZAKHSTAN).date()
    if isinstance(on, datetime):
        return require_aware(on, "the date of the application text").astimezone(KAZAKHSTAN).date()
    if isinstance(on, date):
        return on
    raise ApplicationError(
        "application.type", "the date of the application text must be a date or a datetime"
    )


def _line_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError("application.type", f"{what} must be non-empty text")
    return value.strip()


def render_application_text(
    application: Application,
    organizations: Iterable[Organization],
    *,
    authority: str,
    locality: str,
    language: TextLanguage = "ru",
    template: ApplicationTemplate | None = None,
    on: date | None = None,
) -> str:
    """The application text (заявление) the citizen reviews and signs, personal data in full.

    ``organizations`` must include every chosen one (others are ignored). ``authority`` is
    the addressee line, as the host writes it in ``language`` ("Руководителю управления
    образования г.Шахтинск"); ``locality`` is put in the request sentence as given
    ("г.Шахтинск"; in Kazakh e.g. "Шахтинск қ."). The text is dated with the submission
    date in Asia/Almaty, or with ``on`` for a draft before submission (a date, or an aware
    datetime taken in Asia/Almaty). ``template`` replaces the default of ``language``;
    ``language`` still chooses the wording of names, queues, the referral preference and
    the benefit. In Kazakh an organization's Kazakh name is used when it has one; its
    address is the one the record holds.

    Raises :class:`~edqueue.errors.ApplicationError`: ``application.unknown_organization``
    for a choice whose organization is not given, ``application.type`` for an unknown
    language or an empty ``authority`` or ``locality``. O(m + t) for m organizations and a
    text of t characters.

    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> text = render_application_text(
    ...     seed_application(),
    ...     shakhtinsk_organizations(),
    ...     authority="Руководителю управления образования г.Шахтинск",
    ...     locality="г.Шахтинск",
    ... )
    >>> print(*text.splitlines()[:3], sep="\\n")
    05.02.2024
    <BLANKLINE>
    Руководителю управления образования г.Шахтинск
    """
    if language not in TEMPLATES:
        raise ApplicationError("application.type", "the application text exists in 'ru' and 'kk'")
    chosen = template if template is not None else TEMPLATES[language]
    if not isinstance(chosen, ApplicationTemplate):
        raise ApplicationError("application.type", "the template must be an ApplicationTemplate")
    by_id = {organization.id: organization for organization in organizations}
    blocks = []
    for position, choice in enumerate(application.choices, start=1):
        organization = by_id.get(choice.organization_id)
        if organization is None:
            raise ApplicationError(
                "application.unknown_organization",
                f"choice {position} names the organization {choice.organization_id!r}, which "
                "is not among the organizations given; pass every chosen organization",
            )
        name = organization.name.ru
        if language == "kk" and organization.name.kk is not None:
            name = organization.name.kk
        blocks.append(
            string.Template(chosen.organization).substitute(
                position=str(position),
                name=name,
                address=organization.address,
                queues=_queue_label(application.group_key(choice), language),
            )
        )
    applicant, child = application.applicant, application.child
    return string.Template(chosen.text).substitute(
        date=f"{_text_date(application, on):%d.%m.%Y}",
        authority=_line_text(authority, "the addressee (authority)"),
        locality=_line_text(locality, "the locality"),
        applicant_name=applicant.name.reveal(),
        applicant_iin=applicant.iin.reveal(),
        applicant_phone=_phone_in_clear(applicant.phone),
        child_iin=child.iin.reveal(),
        child_name=child.name.reveal(),
        child_birth_date=f"{child.birth_date:%d.%m.%Y}",
        organizations=chosen.organization_separator.join(blocks),
        referral=_referral_label(application.referral, language),
        benefit=_benefit_label(application.benefit, language),
        number=application.number,
    )
