"""JSON in and out: the organizations and applications files, and their JSON Schema.

This is edqueue's own interchange format (the CLI's organizations and applications files,
and the storage format of the SQLite adapter), as specified in edqueue's issue tracker; the
seed (the INDIGO24 user guide) gives the meaning of the fields. pydantic checks the shape of
the JSON; the domain records (:mod:`edqueue.models`) check the rules, so an object that
exists is valid.

Reading: :func:`parse_application`, :func:`load_application` and :func:`parse_organizations`
turn every failure into an :class:`~edqueue.errors.EdqueueError`. A wrong shape (bad JSON, a
key given twice in one object, a missing or unknown key, a value of the wrong JSON type, a
time without an offset) is an ``ApplicationError("application.type")`` or
``OrganizationError("organization.type")`` whose message names each field or key that
failed, never its value. A broken rule raises the domain's own error
(``IinError("iin.checksum")``, ...) unchanged; a note (``error.__notes__``, shown in
tracebacks) names the field, e.g. ``"field: child.iin"``. These functions validate the JSON
strictly (``"places": "25"`` is an error); the models themselves, built from Python, coerce
as pydantic does by default.

Duplicate keys. JSON text in which one object gives a key twice (``{"number": "1292583", ...,
"number": "7"}``) is refused, at any depth: readers disagree on which value counts (Python's
``json`` and pydantic keep the last, others the first), so such a line could mean one
application to one program and another to the next. One check (``jiter``'s, made before
pydantic's parse) serves every reading of JSON text here and in :mod:`edqueue.interchange`;
the message names the key if it is a plain name (a key is never a value, but a key that is not
a plain name is not shown: it may be personal data put in the wrong place). A mapping given
from Python cannot hold a key twice and is not checked.

The stored form of an application in progress (:class:`DraftSchema`, what a
:class:`~edqueue.ports.DraftStore` keeps of :class:`edqueue.service.Draft`) is read and
written here too, in the form drafts have always been stored in.

Keys shown in the issue's examples are required (``"benefit": null`` and ``"location":
null`` are written, not left out); the keys the issue lists as optional have defaults.

Names. A name is one string, ``"Фамилия Имя Отчество"``: the first word is the surname, the
second the given name, and all further words the patronymic, since Kazakh patronymics are
often written as two words (``"Серік қызы"``, ``"Ержан ұлы"``). A surname or given name that
itself contains a space cannot be written that way unambiguously, so the object form
``{"last": ..., "first": ..., "patronymic": ...}`` is accepted too, and written for such
names only.

Times. A time is RFC 3339 text with an offset (``"2026-11-20T10:15:00+05:00"``); a time
without an offset is an error. The instant and the offset are kept exactly. JSON carries no
zone name, so on reading a time whose offset is the one Kazakhstan had at that instant gets
the zone :data:`~edqueue.models.KAZAKHSTAN` (``Asia/Almaty``): times written by edqueue come
back with the tzinfo they had, the repeated hour of 2024-02-29 included, and compare equal.
Any other offset gets a fixed :class:`datetime.timezone`; the name of another zone is lost.
Writing an offset that is not whole minutes (local mean time before 1924) gives the time in
UTC, which RFC 3339 can carry.

>>> from edqueue.sample import seed_application
>>> data = dump_application(seed_application())
>>> data["submitted_at"], data["applicant"]["name"], data["referral"]
('2024-02-05T10:15:00+06:00', 'Ахметова Айгуль Серикқызы', {'when': 'immediately'})
>>> load_application(data) == seed_application()
True
"""

from __future__ import annotations

import jiter as jiter  # the one JSON reader that refuses a key given twice (_strict_json)

from edqueue.schemas._applications import (
    ApplicantSchema,
    ApplicationSchema,
    BenefitSchema,
    ChildSchema,
    ChoiceSchema,
    NameSchema,
    PmpkSchema,
    ReferralSchema,
)
from edqueue.schemas._applications import _application as _application
from edqueue.schemas._applications import _Made as _Made
from edqueue.schemas._drafts import DraftSchema
from edqueue.schemas._organizations import GroupSchema, OrganizationSchema
from edqueue.schemas._reading import _strict_json as _strict_json
from edqueue.schemas._reading import (
    dump_application,
    dump_organization,
    json_schema,
    load_application,
    parse_application,
    parse_organizations,
    read_application,
)

__all__ = [
    "ApplicantSchema",
    "ApplicationSchema",
    "BenefitSchema",
    "ChildSchema",
    "ChoiceSchema",
    "DraftSchema",
    "GroupSchema",
    "NameSchema",
    "OrganizationSchema",
    "PmpkSchema",
    "ReferralSchema",
    "dump_application",
    "dump_organization",
    "json_schema",
    "load_application",
    "parse_application",
    "parse_organizations",
    "read_application",
]
