"""``edqueue demo``: the seed's whole flow on the embedded sample, with the in-memory adapters.

Source: the INDIGO24 user guide (seed), steps 0-5, and its example (Shakhtinsk, the child
born 23.06.2020, «2020 ГР русский» at Saltanat and «2020 ГР казахский» at Karlygash,
application #1292583). After the flow: the positions with their reasons, three more
(invented) families, places that free, referrals issued, declined and used, a batch round
that says why each family got what it got, and a forecast. Personal data is masked in
everything printed, the review text included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import IO

from edqueue import __version__
from edqueue.adapters.memory import MemoryDrafts, MemoryRepository
from edqueue.models import KAZAKHSTAN, Application, Consent, GroupKey, Language
from edqueue.rules import QueueEvent, ReferralDesk, ReferralIssued, StopListed, simulate
from edqueue.sample import LOCALITY, neighbour_applications, seed_application
from edqueue.testing.world import seed_ports

__all__ = ["run"]

SUBMITTED = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
"""The seed's date (05.02.2024); the time is the sample's."""

AUTHORITY = "Руководителю управления образования г.Шахтинск"


def _masked(text: str, application: Application) -> str:
    """The application text with the people's data masked, for printing."""
    for person in (application.applicant, application.child):
        text = text.replace(person.iin.reveal(), str(person.iin))
        text = text.replace(person.name.reveal(), person.name.masked)
    phone = application.applicant.phone
    national = phone.reveal()
    spaced = f"{national[:2]} {national[2:5]} {national[5:8]} {national[8:10]} {national[10:]}"
    return text.replace(spaced, phone.masked).replace(national, phone.masked)


def run(out: IO[str]) -> None:
    """Print the demo to ``out``."""

    def say(line: str = "") -> None:
        out.write(line + "\n")

    ports = seed_ports(SUBMITTED)
    service = ports.service(MemoryRepository(), MemoryDrafts())
    seed = seed_application()
    say(f"edqueue {__version__}: the seed's flow on the embedded sample ({LOCALITY})")
    say("Personal data is masked; the sample people are invented.")
    say()

    say("Шаг 0. Идентификация")
    draft = service.start(seed.applicant.phone)
    say(f"  Телефон {seed.applicant.phone} в БМГ; код отправлен в приложение ED24")
    code = ports.identity.last_code(seed.applicant.phone) or ""
    service.confirm_code(draft.id, code)
    say("  Код подтверждения принят")
    service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    say("  Согласия: уведомления, договор оферты")

    say("Шаг 1. Сведения о родителе и ребенке")
    service.request_family_access(draft.id, seed.applicant.iin)
    say("  Запрос на получение состава семьи: SMS от 1414, согласие получено")
    family = service.family(draft.id)
    say(f"  Заявитель: {family.name}; детей найдено: {len(family.children)}")
    service.choose_child(draft.id, seed.child.iin)
    say(f"  Ребёнок: {seed.child.name}, статус законного представителя: подтвержден")

    say("Шаг 2. Выбор дошкольных организаций")
    service.choose_organizations(draft.id, seed.choices)
    for position, choice in enumerate(seed.choices, start=1):
        key = seed.group_key(choice)
        say(f"  {position}-я организация: {choice.organization_id}, очередь {key.label_ru}")

    say("Шаг 3. Льготы: нет (можно добавить позже в личном кабинете)")
    service.claim_benefit(draft.id, None)

    say("Шаг 4. Заявление (персональные данные скрыты):")
    for line in _masked(service.review(draft.id), seed).splitlines():
        say(f"  | {line}")

    submission = service.submit(draft.id, idempotency_key="demo")
    say(f"Шаг 5. Заявлению присвоен номер: #{submission.number}")
    say(f"  Уведомление: {ports.notifier.outbox[-1][1].text_ru}")
    say()

    book = service.book
    say("Позиции в очередях:")
    for place in service.position(submission.number):
        say(f"  {place.organization_id}, {place.group.label_ru}:")
        for line in service.explain(submission.number, place.organization_id).render("ru"):
            say(f"    {line}")
    say()

    say("Ещё три заявления (вымышленные) в тех же очередях:")
    for application in neighbour_applications():
        book.submit(application)
        benefit = "льгота" if application.benefit else "без льготы"
        say(f"  #{application.number}: {application.referral.label_ru}, {benefit}")
    saltanat = ("shakhtinsk-saltanat", GroupKey(2020, Language.RUSSIAN))
    desk = ReferralDesk(book)
    at = datetime(2024, 2, 9, 9, 0, tzinfo=KAZAKHSTAN)
    forecast = simulate(book, 0.5, 12, start=at)
    say("Прогноз на 09.02.2024, если в каждой группе освобождается 0,5 места в месяц:")
    for number, estimate in forecast.estimates.items():
        say(f"  #{number}: {estimate.render('ru')}")
    say()
    say(f"09.02.2024: в {saltanat[0]} свободно мест: {book.free_places(*saltanat)}")
    events = desk.offer_all(at)
    _referrals(say, events)
    benefit_holder = book.open_referral("1292601")
    if benefit_holder is not None:
        later = at + timedelta(hours=3)
        say(f"  #1292601 отказывается от направления {benefit_holder.id}:")
        events = desk.decline(benefit_holder.id, later)
        for event in events:
            if isinstance(event, StopListed):
                say(f"    стоп-лист до {event.until:%d.%m.%Y}, дата очереди сохраняется")
        _referrals(say, events)
    seed_referral = book.open_referral(submission.number)
    if seed_referral is not None:
        desk.use(seed_referral.id, at + timedelta(days=1))
        say(f"  #{submission.number} зачислен по направлению {seed_referral.id}")
    say()

    round_at = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
    say("02.09.2024: сроки прошли")
    events = desk.advance(round_at)
    for event in events:
        if isinstance(event, StopListed):
            say(
                f"  #{event.number} не воспользовался направлением в срок: стоп-лист до "
                f"{event.until:%d.%m.%Y}, дата очереди сохраняется"
            )
    _referrals(say, events)
    for organization_id, key in (
        saltanat,
        ("shakhtinsk-karlygash", GroupKey(2020, Language.KAZAKH)),
    ):
        book.free_place(organization_id, key, round_at)
    say("02.09.2024: комплектование (по одному освободившемуся месту в каждой группе):")
    round_ = desk.allocate(round_at)
    for number in sorted(round_.allocation.problem.choices.keys() | round_.waiting.keys()):
        say(f"  #{number}:")
        for reason in round_.explain(number):
            say(f"    {reason.render('ru')}")
    for referral in round_.referrals:
        number, deadline = referral.application_number, referral.deadline
        say(f"  Направление {referral.id}: #{number}, действительно до {deadline:%d.%m.%Y}")


def _referrals(say: Callable[[str], None], events: Iterable[QueueEvent]) -> None:
    for event in events:
        if isinstance(event, ReferralIssued):
            say(
                f"  Направление {event.referral_id}: #{event.number} в {event.organization_id}, "
                f"действительно до {event.deadline:%d.%m.%Y %H:%M}"
            )
