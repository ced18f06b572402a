"""Ordering (очередность): who stands ahead of whom in one queue.

A queue is one organization's group: one birth year, one language, one queue kind. The
default order is the one the citizen acknowledges in the application text (seed, step 4):

    "Заявления в очереди располагаются по году рождения ребенка с учетом даты и времени
    подачи заявления; Заявления граждан, имеющих льготу, имеют приоритетное положение в
    очереди."

so within a queue: verified extraordinary benefits first, then verified first-priority
benefits, then the rest (:class:`~edqueue.models.Tier`); within a tier by submission instant;
ties by application number compared numerically. Pending, rejected and expired benefits
count as none.

An :class:`OrderingPolicy` splits the order in two, so that positions stay O(log n):
``tier_and_key`` places an application in a tier with a sort key, and ``ahead`` turns a rank
inside a tier into how many of each tier stand ahead. :class:`StandardOrdering` concatenates
the tiers; :class:`RatioOrdering` interleaves first-priority and general applications 1:3
(Astana practice).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from edqueue.errors import PolicyError
from edqueue.models import Application, BenefitStatus, Tier, instant

__all__ = [
    "BenefitTime",
    "OrderingPolicy",
    "RatioOrdering",
    "SortKey",
    "StandardOrdering",
    "instant_key",
    "rank",
]

T = TypeVar("T")

SortKey = tuple[int, int]
"""Within a tier: (microseconds since 1970-01-01 UTC of the time that counts, number)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIERS = tuple(Tier)  # iterating a tuple is several times faster than iterating the enum
_MICROSECOND = timedelta(microseconds=1)


def instant_key(moment: datetime) -> int:
    """Microseconds since the Unix epoch: an exact integer instant (no float rounding)."""
    return (instant(moment) - _EPOCH) // _MICROSECOND


def from_instant_key(key: int) -> datetime:
    """The UTC datetime of an :func:`instant_key`."""
    return _EPOCH + timedelta(microseconds=key)


class BenefitTime(enum.StrEnum):
    """From which moment a benefit verified after submission counts.

    ``SUBMISSION`` (the default): the application keeps its original submission time in the
    benefit's tier. Source: Astana practice (bilim.astana.kz, 2019): a child whose benefit is
    not confirmed "returns to the place without an exemption, according to your queuing
    date", i.e. the queue date is the submission date whatever the benefit does.

    ``VERIFICATION``: the application enters the benefit's tier at the moment the benefit
    was verified (``BenefitClaim.decided_at``; the submission time when that is unknown).
    """

    SUBMISSION = "submission"
    VERIFICATION = "verification"


@runtime_checkable
class OrderingPolicy(Protocol):
    """How applications of one queue are ordered. Implement this to plug in a regional rule.

    ``tier_and_key`` must depend only on the application; ``ahead`` must be consistent with
    ``merge`` (the ``rank``-th element of tier ``tier`` in ``merge`` has exactly
    ``sum(ahead(...).values())`` elements before it).
    """

    @property
    def name(self) -> str:
        """A stable identifier, used in explanations."""
        ...

    def tier_and_key(self, application: Application) -> tuple[Tier, SortKey]:
        """The tier the application stands in and its key inside that tier."""
        ...

    def ahead(self, tier: Tier, rank: int, counts: Mapping[Tier, int]) -> dict[Tier, int]:
        """How many of each tier stand ahead of the ``rank``-th (0-based) of ``tier``."""
        ...

    def merge(self, tiers: Mapping[Tier, Sequence[T]]) -> Iterator[T]:
        """The whole queue, given each tier's members in key order."""
        ...


def _tier_and_key(application: Application, benefit_time: BenefitTime) -> tuple[Tier, SortKey]:
    tier = application.tier
    moment = application.submitted_at
    benefit = application.benefit
    if (
        benefit_time is BenefitTime.VERIFICATION
        and tier is not Tier.NONE
        and benefit is not None
        and benefit.status is BenefitStatus.VERIFIED
        and benefit.decided_at is not None
        and instant(benefit.decided_at) > instant(moment)
    ):
        moment = benefit.decided_at
    return tier, (instant_key(moment), application.number_value)


@attrs.frozen
class StandardOrdering:
    """Extraordinary, then first-priority, then the rest; each by time, then by number.

    Source: the application text the citizen acknowledges (seed, step 4), quoted in the
    module docstring. ``ahead`` is O(1).
    """

    benefit_time: BenefitTime = attrs.field(default=BenefitTime.SUBMISSION, converter=BenefitTime)

    @property
    def name(self) -> str:
        """``"standard"``."""
        return "standard"

    def tier_and_key(self, application: Application) -> tuple[Tier, SortKey]:
        """The verified benefit's tier (else ``Tier.NONE``) and (instant, number)."""
        return _tier_and_key(application, self.benefit_time)

    def ahead(self, tier: Tier, rank: int, counts: Mapping[Tier, int]) -> dict[Tier, int]:
        """Everyone of a better tier, and ``rank`` of one's own."""
        result = {t: counts.get(t, 0) for t in _TIERS if t < tier}
        result[tier] = rank
        return result

    def merge(self, tiers: Mapping[Tier, Sequence[T]]) -> Iterator[T]:
        """The tiers one after another."""
        return chain.from_iterable([tiers.get(tier, ()) for tier in _TIERS])


def _ratio(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PolicyError("policy.invalid_value", f"{attribute.name} must be a whole number >= 1")


@attrs.frozen
class RatioOrdering:
    """Extraordinary first; then first-priority and general interleaved ``1:3``.

    One first-priority application, then three general ones, then one first-priority, and
    so on; when one side runs out, the other follows in its own order.

    Source: Astana practice (Управление образования г. Астаны, bilim.astana.kz/archives/49434,
    2019): first-priority categories "receive directions in the ratio of one to three (one
    applicant of preferential category and three applicants on a common basis)";
    extraordinary categories go first.

    A consequence worth telling families: under this rule a verified first-priority benefit
    can move an application *down* when the first-priority list is long and the general one
    short (the general application was 2nd behind one beneficiary; as the 4th beneficiary
    it waits for three blocks). Under :class:`StandardOrdering` a verified benefit never
    moves an application down.
    """

    first_priority: int = attrs.field(default=1, validator=_ratio)
    general: int = attrs.field(default=3, validator=_ratio)
    benefit_time: BenefitTime = attrs.field(default=BenefitTime.SUBMISSION, converter=BenefitTime)

    @property
    def name(self) -> str:
        """``"ratio-1:3"`` for the default ratio."""
        return f"ratio-{self.first_priority}:{self.general}"

    def tier_and_key(self, application: Application) -> tuple[Tier, SortKey]:
        """As :class:`StandardOrdering`."""
        return _tier_and_key(application, self.benefit_time)

    def ahead(self, tier: Tier, rank: int, counts: Mapping[Tier, int]) -> dict[Tier, int]:
        """O(1): the block a member falls in tells how many of the other side precede it."""
        extraordinary = counts.get(Tier.EXTRAORDINARY, 0)
        if tier is Tier.EXTRAORDINARY:
            return {Tier.EXTRAORDINARY: rank}
        if tier is Tier.FIRST_PRIORITY:
            general = min(self.general * (rank // self.first_priority), counts.get(Tier.NONE, 0))
            return {
                Tier.EXTRAORDINARY: extraordinary,
                Tier.FIRST_PRIORITY: rank,
                Tier.NONE: general,
            }
        first = min(
            self.first_priority * (rank // self.general + 1), counts.get(Tier.FIRST_PRIORITY, 0)
        )
        return {Tier.EXTRAORDINARY: extraordinary, Tier.FIRST_PRIORITY: first, Tier.NONE: rank}

    def merge(self, tiers: Mapping[Tier, Sequence[T]]) -> Iterator[T]:
        """Extraordinary, then blocks of ``first_priority`` and ``general``."""
        yield from tiers.get(Tier.EXTRAORDINARY, ())
        first = tiers.get(Tier.FIRST_PRIORITY, ())
        general = tiers.get(Tier.NONE, ())
        i = j = 0
        while i < len(first) or j < len(general):
            yield from first[i : i + self.first_priority]
            i += self.first_priority
            yield from general[j : j + self.general]
            j += self.general


def rank(
    applications: Iterable[Application], ordering: OrderingPolicy | None = None
) -> list[Application]:
    """The applications of one queue in queue order. O(n log n).

    The caller decides which applications stand in the queue (active ones that chose it).
    Two applications with the same number are an error of the caller's data: the order
    would not be total.
    """
    policy = ordering if ordering is not None else StandardOrdering()
    tiers: dict[Tier, list[tuple[SortKey, Application]]] = {t: [] for t in Tier}
    for application in applications:
        tier, key = policy.tier_and_key(application)
        tiers[tier].append((key, application))
    ordered = {t: [a for _, a in sorted(members, key=_first)] for t, members in tiers.items()}
    return list(policy.merge(ordered))


def _first(item: tuple[SortKey, Application]) -> SortKey:
    return item[0]
