"""The applications of the city: :func:`generate_applications`, one stream of them drawn by
:class:`_Generator`."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Final

import attrs
from dateutil.relativedelta import relativedelta

from edqueue.errors import InputError
from edqueue.models import (
    KAZAKHSTAN,
    Applicant,
    Application,
    ApplicationStatus,
    BenefitCategory,
    Child,
    Choice,
    Consent,
    FullName,
    GroupSpecialization,
    LegalRepresentativeStatus,
    Organization,
    PhoneNumber,
    PmpkConclusion,
    QueueKind,
    ReferralPreference,
    require_aware,
)
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy, PolicyValues
from edqueue.testing.city._names import (
    _KAZAKH_FATHERS,
    _KAZAKH_MOTHERS,
    _KAZAKH_PATRONYMIC_SHARE,
    _KAZAKH_SURNAMES,
    _NO_PATRONYMIC_SHARE,
    _RUSSIAN_FATHERS,
    _RUSSIAN_MOTHERS,
    _RUSSIAN_NAMED_SHARE_KK,
    _RUSSIAN_NAMED_SHARE_RU,
    _RUSSIAN_SURNAMES,
)
from edqueue.testing.city._people import _DAY, _IMMEDIATELY, _Family, _People, _Serials
from edqueue.testing.city._shares import (
    _APPLICANT_MOTHER_SHARE,
    _CHOICE_COUNT,
    _CORRECTIONAL_SHARE,
    _EXTRAORDINARY,
    _FIRST_PRIORITY,
    _FROM_DATE_SHARE,
    _KAZAKH_LANGUAGE_SHARE,
    _MAX_DRAWS,
    _NEIGHBOURS,
    _PHONE_POOL,
    _SAME_SECOND_SHARE,
    _TWIN_SHARE,
    _WINDOW,
    _YOUNGEST,
    _cumulative,
    _new_rng,
    _pick,
)

BROKEN_CODES: Final = (
    "eligibility.unknown_organization",
    "eligibility.not_legal_representative",
    "eligibility.referral_date_after_age_limit",
)
"""The violations ``broken_share`` plants, one per broken application, in turn."""

_EPOCH = date(1970, 1, 1).toordinal()
_KZ_OFFSET = 5 * 3_600  # used only to keep submissions mostly in the (approximate) daytime
_BOTH_CONSENTS = frozenset(Consent)
_GENERAL, _CORRECTIONAL = QueueKind.GENERAL.value, QueueKind.CORRECTIONAL.value
_SPECIAL = frozenset({GroupSpecialization.INCLUSIVE, GroupSpecialization.SANATORIUM})
_SPECIAL_NEEDS = int(BenefitCategory.SPECIAL_EDUCATIONAL_NEEDS)  # needs inclusive/sanatorium
_LARGE_FAMILY = int(BenefitCategory.LARGE_FAMILY)


class _Generator(_People):
    """The state of one stream of applications: the random stream, the serial numbers of
    IINs and certificates given so far, the phones and names made so far, the queues."""

    def __init__(
        self,
        organizations: Sequence[Organization],
        *,
        seed: int,
        as_of: datetime,
        first_number: int,
        policy: Policy,
        broken_share: float,
    ) -> None:
        self.rng = _new_rng("applications", seed)
        self.random = self.rng.random
        self.as_of = require_aware(as_of, "as_of").astimezone(KAZAKHSTAN)
        self.on = self.as_of.date()
        self.values: PolicyValues = policy.at(self.on)
        self.first_number = first_number
        self.broken_share = broken_share
        self.broken = 0
        self.max_choices = self.values.max_organizations
        self.as_of_ts = int(self.as_of.timestamp())
        self.window_ts = int((self.as_of - _WINDOW).timestamp())

        earliest = self.on - relativedelta(years=self.values.age_limit_years) + timedelta(days=1)
        while self.values.has_reached_age_limit(earliest, self.on):
            earliest += timedelta(days=1)
        latest = min(date(self.on.year - 1, 12, 31), self.on - _YOUNGEST)
        if latest < earliest:
            raise InputError("input.argument", "as_of leaves no birth dates under the age limit")
        self.first_birth = earliest.toordinal()
        self.birth_days = latest.toordinal() - self.first_birth + 1

        ordered = sorted(organizations, key=lambda o: o.id)
        if not ordered:
            raise InputError("input.argument", "give at least one organization")
        ids = [o.id for o in ordered]
        if len(set(ids)) != len(ids):
            raise InputError("input.argument", "two organizations share an id; ids must be unique")
        self.locality_of = [o.locality for o in ordered]
        # (locality, birth year, language code, queue kind) -> organization indices, in id order
        self.queues: dict[tuple[str, int, str, str], list[int]] = {}
        # the same for general groups that are inclusive or sanatorium (benefit category 9)
        self.special: dict[tuple[str, int, str, str], list[int]] = {}
        # (birth year, language code) -> indices of organizations with such a general group
        self.anywhere: dict[tuple[int, str], list[int]] = {}
        self.choices: dict[tuple[int, str], Choice] = {}
        for index, organization in enumerate(ordered):
            for group in organization.groups:
                key = group.key
                code = key.language.code
                where = (organization.locality, key.birth_year, code, key.queue_kind.value)
                self.queues.setdefault(where, []).append(index)
                if key.queue_kind is QueueKind.GENERAL:
                    self.anywhere.setdefault((key.birth_year, code), []).append(index)
                    if group.specialization in _SPECIAL:
                        self.special.setdefault(where, []).append(index)
                if (index, code) not in self.choices:
                    self.choices[index, code] = Choice(organization.id, key.language)
        years = range(earliest.year, latest.year + 1)
        if not any((y, c) in self.anywhere for y in years for c in ("kk", "ru")):
            raise InputError(
                "input.argument",
                "no organization has a general group in Russian or Kazakh for the birth years "
                f"{years.start}-{years.stop - 1} (children under the age limit on as_of)",
            )

        self.choice_count = _cumulative(_CHOICE_COUNT)
        self.extraordinary = _cumulative(_EXTRAORDINARY)
        self.first_priority = _cumulative(_FIRST_PRIORITY)
        self.iin_serials: dict[int, _Serials] = {}  # by 2 * day ordinal + male
        self.certificate_serials: dict[int, int] = {}
        self.pmpk_serial = 0
        self.names: dict[tuple[str, str, str | None], FullName] = {}
        self.phone_step = 2 * self.below(_PHONE_POOL // 2) + 1  # odd: a permutation of the pool
        self.phone_offset = self.below(_PHONE_POOL)
        self.phone_multiplier = 2 * self.below(10**7 // 2) + 1
        while self.phone_multiplier % 5 == 0:  # coprime with 10**7: distinct subscribers
            self.phone_multiplier = 2 * self.below(10**7 // 2) + 1
        self.phone_base = self.below(10**7)
        self.phones: dict[int, PhoneNumber] = {}
        self.previous: Application | None = None  # the last application made afresh
        self.family: tuple[Application, _Family] | None = None  # the last one a twin may join

    # --- one application ------------------------------------------------------------------

    def candidates(self, home: int, year: int, language: str, kind: str) -> list[int]:
        """The organizations (indices, in id order) with the group, in the home's locality;
        for the general queue, in another locality if the home's has none."""
        locality = self.locality_of[home]
        found = self.queues.get((locality, year, language, kind))
        if found or kind != _GENERAL:
            return found or []
        anywhere = self.anywhere.get((year, language))
        if not anywhere:
            return []
        other = self.among(anywhere)
        return self.queues[self.locality_of[other], year, language, _GENERAL]

    def pick_choices(self, home: int, candidates: list[int]) -> list[int]:
        """The candidate nearest ``home`` by id, then some of its neighbours by id."""
        count = min(_pick(self.rng, self.choice_count), self.max_choices, len(candidates))
        at = min(bisect.bisect_left(candidates, home), len(candidates) - 1)
        first = candidates[at]
        if count == 1:
            return [first]
        window = candidates[max(0, at - _NEIGHBOURS) : at + _NEIGHBOURS + 1]
        if len(window) < count:
            window = candidates
        others = [i for i in window if i != first]
        if count == 2:
            return [first, self.among(others)]
        return [first, *self.rng.sample(others, count - 1)]

    def submission_ts(self, lowest: int) -> int:
        low = max(self.window_ts, lowest)
        ts = low + self.below(self.as_of_ts - low + 1)
        # mostly in the daytime: 80 % of submissions drawn between 00:00 and 07:00 move to
        # 08:00-15:00 (at UTC+5), unless that passes as_of
        if (ts + _KZ_OFFSET) % _DAY < 7 * 3_600 and self.random() < 0.8:
            moved = ts + 8 * 3_600
            if moved <= self.as_of_ts:
                ts = moved
        return ts

    def twin(self, ordinal: int, sibling: Application, family: _Family) -> Application | None:
        """The twin of ``sibling``: same applicant, birth date, choices and submission time."""
        born = sibling.child.birth_date
        male = self.random() < 0.5
        iin = self.iin(born.toordinal(), male)
        if iin is None:
            return None
        name = self.child_name(family, male, avoid=sibling.child.name.first)
        child = Child(iin, name, born, self.certificate(born))
        return attrs.evolve(sibling, number=str(self.first_number + ordinal), child=child)

    def make(self, ordinal: int) -> Application:
        """The ``ordinal``-th application (from 0), numbered ``first_number + ordinal``."""
        if self.family is not None and self.random() < _TWIN_SHARE:
            twin = self.twin(ordinal, *self.family)
            if twin is not None:
                self.family = None  # no triplets
                return self.finish(twin)
        for _ in range(_MAX_DRAWS):
            application = self.fresh(ordinal)
            if application is not None:
                return self.finish(application)
        raise InputError(
            "input.argument",
            f"no application could be made in {_MAX_DRAWS} draws: the organizations have too "
            "few groups under the age limit, or the IINs of the birth dates are used up",
        )

    def fresh(self, ordinal: int) -> Application | None:
        """A new family's application, or ``None`` if the draw found no group: draw again."""
        random = self.random
        home = int(random() * len(self.locality_of))
        language = "kk" if random() < _KAZAKH_LANGUAGE_SHARE else "ru"
        born_day = self.first_birth + int(random() * self.birth_days)
        born = date.fromordinal(born_day)
        born_ts = (born_day - _EPOCH) * _DAY - _KZ_OFFSET  # about 00:00 on the birth day
        kind = _GENERAL
        lowest = born_ts + 14 * _DAY
        if random() < _CORRECTIONAL_SHARE and born_ts + 365 * _DAY < self.as_of_ts - _DAY:
            kind, lowest = _CORRECTIONAL, born_ts + 365 * _DAY
        category = self.benefit_category()
        candidates: list[int] = []
        if category == _SPECIAL_NEEDS:
            if kind == _GENERAL:
                where = (self.locality_of[home], born.year, language, _GENERAL)
                candidates = self.special.get(where, [])
            if not candidates:
                category = _LARGE_FAMILY
        if not candidates:
            candidates = self.candidates(home, born.year, language, kind)
        if not candidates and kind == _CORRECTIONAL:
            kind, lowest = _GENERAL, born_ts + 14 * _DAY
            candidates = self.candidates(home, born.year, language, kind)
        if not candidates:
            return None
        chosen = self.pick_choices(home, candidates)

        russian_names = random() < (
            _RUSSIAN_NAMED_SHARE_RU if language == "ru" else _RUSSIAN_NAMED_SHARE_KK
        )
        fathers = _RUSSIAN_FATHERS if russian_names else _KAZAKH_FATHERS
        surnames = _RUSSIAN_SURNAMES if russian_names else _KAZAKH_SURNAMES
        family = _Family(
            russian_names,
            surnames[int(random() * len(surnames))],
            fathers[int(random() * len(fathers))],
            not russian_names and random() < _KAZAKH_PATRONYMIC_SHARE,
        )
        mother = random() < _APPLICANT_MOTHER_SHARE
        parent_iin = self.iin(born_day - 20 * 365 - int(random() * 20 * 365), not mother)
        male = random() < 0.5
        child_iin = self.iin(born_day, male)
        if parent_iin is None or child_iin is None:
            return None
        grandfather = fathers[int(random() * len(fathers))]
        if mother:
            mothers = _RUSSIAN_MOTHERS if russian_names else _KAZAKH_MOTHERS
            parent_first = mothers[int(random() * len(mothers))]
        else:
            parent_first = family.father[0]
        if random() < _NO_PATRONYMIC_SHARE:
            parent_patronymic = None
        elif family.kazakh_patronymic and grandfather[3] is not None:
            parent_patronymic = grandfather[4] if mother else grandfather[3]
        else:
            parent_patronymic = grandfather[2] if mother else grandfather[1]
        applicant = Applicant(
            iin=parent_iin,
            name=self.name(family.surname[1 if mother else 0], parent_first, parent_patronymic),
            phone=self.phone(ordinal),
        )
        child = Child(child_iin, self.child_name(family, male), born, self.certificate(born))

        previous = self.previous
        if (
            previous is not None
            and random() < _SAME_SECOND_SHARE
            and previous.submitted_at.timestamp() >= max(lowest, self.window_ts)
        ):
            submitted = previous.submitted_at
            submitted_ts = int(submitted.timestamp())
        else:
            submitted_ts = self.submission_ts(lowest)
            submitted = datetime.fromtimestamp(submitted_ts, KAZAKHSTAN)
        pmpk = None
        if kind == _CORRECTIONAL:
            self.pmpk_serial += 1
            issued = max(
                born + timedelta(days=365), submitted.date() - timedelta(days=self.below(91))
            )
            pmpk = PmpkConclusion(f"{self.pmpk_serial}/{issued.year}", issued)
        application = Application(
            number=str(self.first_number + ordinal),
            applicant=applicant,
            child=child,
            choices=[self.choices[i, language] for i in chosen],
            submitted_at=submitted,
            queue_kind=kind,
            referral=(
                _IMMEDIATELY if random() >= _FROM_DATE_SHARE else self.referral_from_date(born)
            ),
            benefit=None if category is None else self.benefit(category, submitted_ts),
            consents=_BOTH_CONSENTS,
            representative_status=LegalRepresentativeStatus.CONFIRMED,
            pmpk=pmpk,
            status=ApplicationStatus.ACTIVE,
        )
        self.previous = application
        twins_allowed = kind == _GENERAL and category != _SPECIAL_NEEDS
        self.family = (application, family) if twins_allowed else None
        return application

    def finish(self, application: Application) -> Application:
        """Break the application on purpose, for a ``broken_share`` of them."""
        if not self.broken_share or self.random() >= self.broken_share:
            return application
        code = BROKEN_CODES[self.broken % len(BROKEN_CODES)]
        self.broken += 1
        if code == "eligibility.unknown_organization":
            choices = list(application.choices)
            unknown = Choice(f"unknown-{application.number}", choices[0].language)
            if len(choices) < self.max_choices:
                choices.append(unknown)
            else:
                choices[-1] = unknown
            return attrs.evolve(application, choices=choices)
        if code == "eligibility.not_legal_representative":
            return attrs.evolve(
                application, representative_status=LegalRepresentativeStatus.NOT_CONFIRMED
            )
        limit = self.values.age_limit_date(application.child.birth_date)
        desired = max(limit, self.on + timedelta(days=1))
        return attrs.evolve(application, referral=ReferralPreference.from_date(desired))


def generate_applications(
    count: int,
    organizations: Sequence[Organization],
    *,
    seed: int,
    as_of: datetime,
    first_number: int = 1_000_001,
    policy: Policy = KAZAKHSTAN_POLICY,
    broken_share: float = 0.0,
) -> Iterator[Application]:
    """``count`` synthetic applications to ``organizations``, lazily, the same for the same
    arguments (and the first ``n`` of them the same whatever ``count``).

    Every application passes ``check_eligibility(app, organizations, policy=policy,
    as_of=as_of)`` with no violation, and no two share a child IIN. Numbers are
    ``first_number``, ``first_number + 1``, ... Arguments are checked, and the queues of
    ``organizations`` indexed, when this is called; records are made as they are taken,
    each in O(log n) for n organizations: about 40 µs, over half of it the records' own
    checks (two IINs, the names, the application), plus ~40 µs for each of the first
    65 536 phone numbers (libphonenumber's check).

    Assumptions (synthetic, not statistics of Kazakhstan):

    - the child is born on a uniformly drawn day between the age limit (6 years in
      ``policy`` on ``as_of``) and about three months before ``as_of``, no later than the
      end of the previous year (so a group for the birth year exists); boys and girls 1:1;
    - the applicant is the mother (80 %) or the father, 20-40 years older than the child;
      names come from short lists of common Kazakh and Russian names: families choosing
      Kazakh groups have Kazakh names (95 %), those choosing Russian groups Kazakh names
      (55 %) or Russian ones; Kazakh families write the patronymic "Ержанұлы" or "Ержанович"
      (1:1); 5 % of applicants have no patronymic;
    - phones are mobile numbers +7 70x / 77x: distinct for the first 65 536 applications
      (twins share their parent's), then reused in the same order, as checking a number
      costs ~40 µs, too slow to do a million times;
    - the first choice is an organization drawn uniformly (so demand follows supply across
      localities), 1-4 choices (45/30/15/10 %, at most the policy's maximum), the others
      among its 4 neighbours by id on either side in the same locality (ids follow the map
      in :func:`~edqueue.testing.city.generate_organizations`), all in one language:
      Kazakh 60 %, Russian 40 %;
    - 2 % the correctional queue with a ПМПК conclusion (only children over a year old,
      in a locality with such groups, else general); 1.5 % twins of the previous
      application (same applicant, choices and submission time: a tie); 0.5 % submitted in
      the same second as the previous application (another tie); otherwise submitted at a
      uniform second in the 5 years (1826 days) before ``as_of`` and at least two weeks
      after the birth (a year for the correctional queue), mostly in the daytime, in
      Asia/Almaty;
    - the referral wanted immediately (90 %) or from a date after ``as_of`` and before the
      age limit (the next 1 September, else within 180 days);
    - benefits: 2 % extraordinary, categories 1-4 (35/15/40/10 %), half verified (a person
      reads the document in 1-10 days), half pending; 12 % first-priority, categories 5-11
      (10/4/2/50/5/9/20 %, category 8 "large families" the most common), 85 % verified (a
      register answers within minutes), 15 % pending; 86 % none. 20 % of the claims are
      made after the submission. Category 9 chooses only inclusive or sanatorium groups;
      where there is none, it becomes category 8;
    - both consents, the legal representative confirmed, status active.

    ``broken_share`` (0 to 1) breaks that share of applications on purpose, each with
    exactly one violation, taking :data:`~edqueue.testing.city.BROKEN_CODES` in turn: an
    unknown organization added as the last choice, the legal representative not confirmed,
    a desired referral date on or after the day the child reaches the age limit.

    Raises :class:`~edqueue.errors.InputError` (``input.argument``) for ``count < 0``,
    ``first_number < 1``, ``broken_share`` outside [0, 1], no organizations, two
    organizations under one id, or no general group in Russian or Kazakh for a birth year
    under the age limit; :class:`~edqueue.errors.TimeError` for a naive ``as_of``.
    """
    if count < 0:
        raise InputError("input.argument", "count must be >= 0")
    if first_number < 1:
        raise InputError("input.argument", "first_number must be >= 1")
    if not 0.0 <= broken_share <= 1.0:
        raise InputError("input.argument", "broken_share must be between 0 and 1")
    generator = _Generator(
        organizations,
        seed=seed,
        as_of=as_of,
        first_number=first_number,
        policy=policy,
        broken_share=broken_share,
    )
    return map(generator.make, range(count))
