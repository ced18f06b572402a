"""What-if forecasts: when an application would likely get a referral at a given rate of places.

A bare position ("47th") tells a family little. :func:`simulate` plays the coming months
forward: the places free now go first; then each month every group frees places at the
rate the host gives (fractions carry over, and a place nobody may take yet stays free).
Each month's places go out as a batch round
(:func:`~edqueue.rules.allocation.allocate`, each family's choices in its order) among the
applications that may take a place that month
(:func:`~edqueue.rules.referrals.referral_hold`: desired date, age, stop list).
Children who reach the age limit first leave the forecast.

This is an **estimate, not a promise**: the true rate varies, families join with benefits
ahead, others withdraw, referrals are declined. Every :class:`Estimate` says so in its
``label``. Source of the inputs: the live queues (:class:`~edqueue.rules.queue.QueueBook`)
and the dated policy; the rate is the host's assumption (e.g. last year's places freed per
month per group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime

import attrs
from dateutil.relativedelta import relativedelta

from edqueue.errors import AllocationError
from edqueue.models import ApplicationStatus, by_number, number_order, require_aware
from edqueue.rules.allocation import AllocationProblem, allocate
from edqueue.rules.events import QueueId
from edqueue.rules.policy import KAZAKHSTAN_POLICY, Policy, policy_date
from edqueue.rules.queue import QueueBook
from edqueue.rules.referrals import referral_hold

__all__ = ["Estimate", "Forecast", "simulate"]

ESTIMATE_LABEL = "estimate, not a promise"


@attrs.frozen
class Estimate:
    """When one application would likely get a referral, under the forecast's assumptions.

    ``month`` is the first day of the month of the likely referral, with the group in
    ``queue``; both are ``None`` when no place is likely within the forecast, and
    ``ages_out`` is the date the child leaves the queues if that comes first.
    """

    number: str
    month: date | None
    queue: QueueId | None
    ages_out: date | None = None
    label: str = ESTIMATE_LABEL

    def render(self, language: str = "en") -> str:
        """The estimate in one sentence, ``"en"`` or ``"ru"``."""
        ru = language == "ru"
        if self.month is not None and self.queue is not None:
            where = f"{self.queue[0]}, {self.queue[1].label_ru}"
            if ru:
                return f"Оценка, не обещание: направление около {self.month:%m.%Y} ({where})"
            return f"Estimate, not a promise: a referral around {self.month:%m.%Y} ({where})"
        if self.ages_out is not None:
            if ru:
                return (
                    "Оценка, не обещание: при этом темпе ребёнок достигнет предельного "
                    f"возраста ({self.ages_out:%d.%m.%Y}) раньше, чем получит место"
                )
            return (
                "Estimate, not a promise: at this rate the child reaches the age limit "
                f"({self.ages_out:%d.%m.%Y}) before a place comes"
            )
        if ru:
            return "Оценка, не обещание: при этом темпе место в пределах прогноза маловероятно"
        return "Estimate, not a promise: no place is likely within the forecast at this rate"


@attrs.frozen
class Forecast:
    """The result of :func:`simulate`: an :class:`Estimate` for every active application."""

    start: datetime
    months: int
    estimates: Mapping[str, Estimate]

    def __getitem__(self, number: str) -> Estimate:
        return self.estimates[number]


def _rates(
    book: QueueBook, places_per_month: float | Mapping[QueueId, float]
) -> dict[QueueId, float]:
    if isinstance(places_per_month, Mapping):
        rates = {q: float(places_per_month.get(q, 0.0)) for q in book.queue_ids()}
        unknown = set(places_per_month) - set(rates)
        if unknown:
            raise AllocationError(
                "allocation.unknown_queue", "a rate is given for a group the queue book lacks"
            )
    else:
        rates = dict.fromkeys(book.queue_ids(), float(places_per_month))
    if any(not math.isfinite(r) or r < 0 for r in rates.values()):
        raise AllocationError(
            "allocation.places", "places per month must be finite numbers >= 0, e.g. 1.5"
        )
    return rates


def simulate(
    book: QueueBook,
    places_per_month: float | Mapping[QueueId, float],
    months: int,
    *,
    start: datetime,
    policy: Policy = KAZAKHSTAN_POLICY,
    stop_list: Mapping[str, datetime] | None = None,
) -> Forecast:
    """Estimate when each active application would get a referral at the given rate.

    The places free now (the book's ``free_places``) are allocated first, at ``start``;
    ``places_per_month`` is one rate for every group or a rate per group (groups not named
    free none); ``months`` (1 to 120) is how far to look from ``start``. ``stop_list`` is the
    desk's (:meth:`~edqueue.rules.referrals.ReferralDesk.stop_list`). The queue book is not
    changed. O(months (Q + N c log p)).

    >>> from datetime import datetime
    >>> from edqueue.models import KAZAKHSTAN
    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> book = QueueBook(shakhtinsk_organizations())
    >>> _ = book.submit(seed_application())
    >>> forecast = simulate(book, 0.5, 12, start=datetime(2024, 2, 5, tzinfo=KAZAKHSTAN))
    >>> forecast["1292583"].render()      # Saltanat has 2 places free now
    'Estimate, not a promise: a referral around 02.2024 (shakhtinsk-saltanat, 2020 ГР русский)'
    """
    require_aware(start, "the start of the forecast")
    if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 120:
        raise AllocationError("allocation.argument", "months is a whole number from 1 to 120")
    rates = _rates(book, places_per_month)
    stops = dict(stop_list or {})
    remaining = {
        n for n in book.numbers() if book.application(n).status is ApplicationStatus.ACTIVE
    }
    tiers = {q: book.tiers(*q) for q in book.queue_ids()}
    carried = dict.fromkeys(rates, 0.0)
    unfilled: dict[QueueId, int] = {}  # places nobody could take yet stay free
    estimates: dict[str, Estimate] = {}
    for month in range(months + 1):
        when = start + relativedelta(months=month)
        values = policy.at(when)
        today = policy_date(when)
        places: dict[QueueId, int] = {}
        for queue_id, rate in rates.items():
            if month == 0:  # the places free now go first
                places[queue_id] = book.free_places(*queue_id)
                continue
            carried[queue_id] += rate
            freed = math.floor(carried[queue_id] + 1e-9)
            carried[queue_id] -= freed
            places[queue_id] = freed + unfilled.get(queue_id, 0)
        choices: dict[str, tuple[QueueId, ...]] = {}
        for number in by_number(remaining):
            application = book.application(number)
            if values.has_reached_age_limit(application.child.birth_date, today):
                ages_out = values.age_limit_date(application.child.birth_date)
                estimates[number] = Estimate(number, None, None, ages_out=ages_out)
                remaining.discard(number)
                continue
            if referral_hold(application, when, values, stops.get(number)) is None:
                wanted = tuple(q for q in application.group_keys if places.get(q, 0) > 0)
                if wanted:
                    choices[number] = wanted
        open_queues = {q for q, p in places.items() if p > 0}
        queues = {
            q: tuple(
                book.ordering.merge(
                    {t: [n for n in ns if n in remaining] for t, ns in tiers[q].items()}
                )
            )
            for q in open_queues
        }
        allocation = allocate(
            AllocationProblem(
                choices=choices, queues=queues, places={q: places[q] for q in open_queues}
            )
        )
        unfilled = allocation.unfilled()
        first_day = today.replace(day=1)
        for number, queue_id in allocation.assignment.items():
            estimates[number] = Estimate(number, first_day, queue_id)
            remaining.discard(number)
        if not remaining:
            break
    for number in remaining:
        estimates[number] = Estimate(number, None, None)
    ordered = dict(sorted(estimates.items(), key=lambda item: number_order(item[0])))
    return Forecast(start=start, months=months, estimates=ordered)
