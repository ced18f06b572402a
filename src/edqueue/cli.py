"""The ``edqueue`` command line: a thin layer over the models and rules.

Errors edqueue raises on purpose are printed as one line, ``error [code]: message``, with
no personal data and no traceback, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from edqueue import __version__
from edqueue.errors import EdqueueError
from edqueue.models import KAZAKHSTAN, Application, LegalRepresentativeStatus, Organization
from edqueue.rules import QueueBook, ReferralDesk, simulate
from edqueue.sample import (
    LOCALITY,
    neighbour_applications,
    seed_application,
    shakhtinsk_organizations,
)

__all__ = ["main"]

_REPRESENTATIVE_RU = {
    LegalRepresentativeStatus.CONFIRMED: "подтвержден",
    LegalRepresentativeStatus.NOT_CONFIRMED: "не подтвержден",
}


def describe_application(
    application: Application, organizations: Sequence[Organization]
) -> list[str]:
    """Lines that summarise an application in the portal's words, personal data masked."""
    by_id = {o.id: o for o in organizations}
    submitted = application.submitted_at
    lines = [
        f"Заявление #{application.number}",
        f"  Подано: {submitted:%d.%m.%Y %H:%M} (UTC{submitted:%z})",
        f"  Заявитель: {application.applicant.name}, ИИН {application.applicant.iin}, "
        f"телефон {application.applicant.phone}",
        "  Статус законного представителя: "
        + _REPRESENTATIVE_RU[application.representative_status],
        f"  Ребёнок: {application.child.name}, ИИН {application.child.iin}, "
        f"год рождения {application.child.birth_year}",
        f"  Очередь: {application.queue_kind.title_ru}",
        "  Дошкольные организации для постановки в очередь:",
    ]
    for position, choice in enumerate(application.choices, start=1):
        organization = by_id.get(choice.organization_id)
        key = application.group_key(choice)
        name = organization.name.ru if organization else choice.organization_id
        lines.append(f"    {position}. {name}")
        if organization is not None:
            lines.append(f"       Адрес: {organization.address}")
        lines.append(f"       Очереди: {key.label_ru}")
    benefit = (
        "Отсутствует"
        if application.benefit is None
        else f"{application.benefit.category.title_ru} ({application.benefit.status.value})"
    )
    lines += [
        f"  Выдавать направление ребенку: {application.referral.label_ru}",
        f"  Сведения о льготе: {benefit}",
        "  Согласия: " + ", ".join(sorted(c.value for c in application.consents)),
    ]
    return lines


def _demo(_: argparse.Namespace) -> int:
    organizations = shakhtinsk_organizations()
    application = seed_application()
    print(f"edqueue {__version__}: the seed's sample application ({LOCALITY})")
    print("Personal data is masked; the sample people are invented.")
    print()
    for line in describe_application(application, organizations):
        print(line)
    print()
    print("The application is a valid edqueue.Application: every invariant held at construction.")
    book = QueueBook(organizations)
    book.submit(application)
    print()
    print("Позиции в очередях (QueueBook):")
    for position in book.positions(application.number):
        explanation = book.explain(application.number, position.organization_id)
        print(f"  {position.organization_id}, {position.group.label_ru}:")
        for line in explanation.render("ru"):
            print(f"    {line}")
    _demo_round(book)
    return 0


def _demo_round(book: QueueBook) -> None:
    """Three more families join; a batch round gives Saltanat's 2 free places."""
    desk = ReferralDesk(book)
    for application in neighbour_applications():
        book.submit(application)
    at = datetime(2024, 2, 9, 9, 0, tzinfo=KAZAKHSTAN)
    print()
    print("Ещё три заявления (вымышленные); комплектование 09.02.2024 (ReferralDesk.allocate):")
    round_ = desk.allocate(at)
    for number in book.numbers():
        print(f"  #{number}:")
        for reason in round_.explain(number):
            print(f"    {reason.render('ru')}")
    for referral in round_.referrals:
        print(
            f"  Направление {referral.id}: #{referral.application_number} в "
            f"{referral.organization_id}, {referral.group.label_ru}, действительно до "
            f"{referral.deadline:%d.%m.%Y %H:%M}"
        )
    forecast = simulate(book, 0.5, 12, start=at)
    print("  Прогноз при 0,5 освободившегося места в месяц в каждой группе:")
    for number in book.numbers():
        if book.application(number).status.value == "active":
            print(f"    #{number}: {forecast[number].render('ru')}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edqueue",
        description="Rules of Kazakhstan's unified electronic queue for preschool organizations.",
    )
    parser.add_argument("--version", action="version", version=f"edqueue {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="show the seed's sample application (Shakhtinsk)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except EdqueueError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
