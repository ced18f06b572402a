"""A deterministic synthetic city (or country): organizations and applications to try edqueue on.

Sample data for ``edqueue demo``/``rank``/``allocate``, national-scale benchmark inputs
(1,000,000 applications, 10,000 organizations) and hosts' own tests. Everything here is
**synthetic**: the shares and distributions below are edqueue's assumptions, chosen to look
plausible and to exercise every rule; they are not statistics of Kazakhstan. The people are
invented; their IINs are valid (check digit, birth date, century and sex) but are not
meant to belong to anyone.

Determinism: the only source of randomness is a :class:`random.Random` seeded from the
``seed`` argument (no global random state, no clock), so the same arguments give the same
records and byte-identical files. Applications are drawn one after another from one
stream, so the first ``n`` applications of a long run are those of a run of ``n``.

Sources of the shapes: the seed (the INDIGO24 user guide) for the organization card (name
'КГКП ясли-сад "Салтанат"', address "..., улица ..., здание ...", free places, free
education, food 16 000-17 000 tenge a month, electronic contracts), the queues ("2020 ГР
русский", "2020 ГР казахский"), the birth certificate ("9-20-0000219 от 23.06.2020") and
the application (1 to 4 organizations, the referral preference, one benefit, both consents,
the confirmed legal representative); :mod:`edqueue.testing.strategies` for the mobile
operator codes.

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.rules import KAZAKHSTAN_POLICY, check_eligibility
>>> as_of = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
>>> organizations = generate_organizations(3, seed=7, as_of=as_of.date())
>>> [o.id for o in organizations], organizations[0].locality
(['org-00001', 'org-00002', 'org-00003'], 'г. Шахтинск')
>>> organizations[0].groups[0].key.label_ru
'2018 ГР казахский'
>>> applications = list(generate_applications(100, organizations, seed=7, as_of=as_of))
>>> applications[0].number, applications[-1].number
('1000001', '1000100')
>>> all(
...     check_eligibility(a, organizations, policy=KAZAKHSTAN_POLICY, as_of=as_of) == ()
...     for a in applications
... )
True
"""

from __future__ import annotations

from edqueue.testing.city._applications import BROKEN_CODES, generate_applications
from edqueue.testing.city._applications import _Generator as _Generator
from edqueue.testing.city._organizations import generate_organizations
from edqueue.testing.city._people import _Serials as _Serials
from edqueue.testing.city._writer import write_city

__all__ = [
    "BROKEN_CODES",
    "generate_applications",
    "generate_organizations",
    "write_city",
]
