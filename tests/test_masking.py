"""Personal data never appears in clear in repr, str or error messages."""

import re

import attrs
import pytest
from hypothesis import given

from edqueue import Application, EdqueueError, PhoneNumber
from edqueue.testing import applications


def clear_values(application: Application) -> list[str]:
    people = (application.applicant, application.child)
    values = [p.iin.reveal() for p in people]
    values += [application.applicant.phone.reveal(), application.applicant.phone.reveal()[2:]]
    for person in people:
        values += [part for part in (person.name.last, person.name.first) if len(part) > 2]
        if person.name.patronymic and len(person.name.patronymic) > 2:
            values.append(person.name.patronymic)
    if application.child.birth_certificate is not None:
        values.append(application.child.birth_certificate.number)
    return values


@given(applications())
def test_no_personal_data_in_repr_or_str_of_any_record(application: Application) -> None:
    shown = " ".join(
        text
        for record in (
            application,
            application.applicant,
            application.child,
            application.child.name,
            application.child.birth_certificate,
            application.applicant.phone,
        )
        for text in (repr(record), str(record))
    )
    for value in clear_values(application):
        assert value not in shown
    # no run of 10 or more digits (an IIN or a phone number) besides the application number
    assert not re.search(r"\d{10,}", shown.replace(application.number, "#"))


@given(applications())
def test_errors_about_a_record_never_name_its_person(application: Application) -> None:
    attempts = [
        lambda: attrs.evolve(application, choices=[*application.choices] * 2),
        lambda: attrs.evolve(  # 1996, a leap year: a child born on 29 February too
            application.child, birth_date=application.child.birth_date.replace(year=1996)
        ),
        lambda: PhoneNumber(application.applicant.phone.reveal()[:-3]),
    ]
    for attempt in attempts:
        with pytest.raises(EdqueueError) as caught:
            attempt()
        message = f"{caught.value} {caught.value!r}"
        for value in clear_values(application):
            assert value not in message
