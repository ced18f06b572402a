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
``standing`` says, in the family's terms, where an application stands (its tier, and the
moment from which it counts in that tier: :class:`Standing`), and ``ahead`` turns a rank
inside a tier into how many of each tier stand ahead. Within a tier the earlier moment stands
ahead, and the application number breaks ties (compared numerically). How the queues keep
that order fast is their own matter (a private index packs it into integers); an ordering
never sees it. :class:`StandardOrdering` concatenates the tiers; :class:`RatioOrdering`
interleaves first-priority and general applications 1:N (Astana practice: 1:3).

A host's own ordering implements the protocol, and explanations name its moment:

>>> import attrs
>>> from edqueue.sample import seed_application
>>> @attrs.frozen
... class OldestFirst(StandardOrdering):
...     @property
...     def name(self) -> str:
...         return "oldest-first"
...     def standing(self, application: Application) -> Standing:
...         return Standing(application.tier, application.child.birth_date, Basis.BIRTH)
>>> OldestFirst().standing(seed_application())
Standing(tier=<Tier.NONE: 3>, since=datetime.date(2020, 6, 23), basis=<Basis.BIRTH: 'birth'>)
"""

from __future__ import annotations

import enum
import functools
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from typing import Protocol, TypeVar, runtime_checkable

import attrs

from edqueue.errors import PolicyError
from edqueue.models import KAZAKHSTAN, Application, BenefitStatus, Tier, instant

__all__ = [
    "Basis",
    "BenefitTime",
    "OrderingPolicy",
    "RatioOrdering",
    "SortKey",
    "StandardOrdering",
    "Standing",
    "instant_key",
    "policy_ordering",
    "rank",
    "sort_function",
]

T = TypeVar("T")

SortKey = tuple[int, int]
"""Within a tier: (microseconds since 1970-01-01 UTC of the time that counts, number). What
the queues' index keeps; an :class:`OrderingPolicy` states a :class:`Standing` instead."""

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


class Basis(enum.StrEnum):
    """What the moment of a :class:`Standing` is, as an explanation names it."""

    SUBMITTED = "submitted"
    """The application's submission (seed, step 4: "с учетом даты и времени подачи")."""
    VERIFIED = "verified"
    """The verification of its benefit (``BenefitTime.VERIFICATION``)."""
    BIRTH = "birth"
    """The child's birth date (a host's ordering by age)."""


def _since(value: object) -> date | datetime:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise PolicyError(
                "policy.invalid_value", "a standing's moment needs a time zone; give an aware time"
            )
        return value
    if isinstance(value, date):
        return value
    raise PolicyError(
        "policy.invalid_value",
        f"a standing counts from a date or an aware datetime, not {type(value).__name__}",
    )


@attrs.frozen
class Standing:
    """Where an application stands in one queue, in the terms a family is told.

    ``tier``: the tier it stands in. ``since``: the moment from which it counts in that tier
    (an aware instant, or a calendar day, read as its start in Kazakhstan); in a tier the
    earlier moment stands ahead, and the application number breaks ties (compared as
    integers; edqueue's choice, see ``docs/ordering.md``). ``basis``: what that moment is, for
    explanations ("counted from the child's birth date of 14.05.2022").
    """

    tier: Tier = attrs.field(converter=Tier)
    since: date | datetime = attrs.field(converter=_since)
    basis: Basis = attrs.field(default=Basis.SUBMITTED, converter=Basis)

    @property
    def instant(self) -> datetime:
        """``since`` as an instant: a day is its midnight in Kazakhstan (Asia/Almaty)."""
        since = self.since
        if isinstance(since, datetime):
            return since
        return datetime.combine(since, time(), tzinfo=KAZAKHSTAN)


@runtime_checkable
class OrderingPolicy(Protocol):
    """How applications of one queue are ordered. Implement this to plug in a regional rule.

    ``standing`` must depend only on the application; ``ahead`` must be consistent with
    ``merge`` (the ``rank``-th element of tier ``tier`` in ``merge`` has exactly
    ``sum(ahead(...).values())`` elements before it).

    Until this release the protocol asked for ``tier_and_key`` (a tier and an integer key)
    instead of ``standing``. An ordering that still has only ``tier_and_key`` keeps working for one
    release with a :class:`DeprecationWarning` (its explanations read the key as a time, as
    before).
    """

    @property
    def name(self) -> str:
        """A stable identifier, used in explanations."""
        ...

    def standing(self, application: Application) -> Standing:
        """The tier the application stands in and the moment it counts from there."""
        ...

    def ahead(self, tier: Tier, rank: int, counts: Mapping[Tier, int]) -> dict[Tier, int]:
        """How many of each tier stand ahead of the ``rank``-th (0-based) of ``tier``."""
        ...

    def merge(self, tiers: Mapping[Tier, Sequence[T]]) -> Iterator[T]:
        """The whole queue, given each tier's members in key order."""
        ...


def _verified_later(application: Application, benefit_time: BenefitTime) -> datetime | None:
    """The moment its benefit was verified, when that counts and came after submission."""
    benefit = application.benefit
    if (
        benefit_time is BenefitTime.VERIFICATION
        and application.tier is not Tier.NONE
        and benefit is not None
        and benefit.status is BenefitStatus.VERIFIED
        and benefit.decided_at is not None
        and instant(benefit.decided_at) > instant(application.submitted_at)
    ):
        return benefit.decided_at
    return None


def _standing(application: Application, benefit_time: BenefitTime) -> Standing:
    verified = _verified_later(application, benefit_time)
    if verified is not None:
        return Standing(application.tier, verified, Basis.VERIFIED)
    return Standing(application.tier, application.submitted_at)


def _tier_and_key(application: Application, benefit_time: BenefitTime) -> tuple[Tier, SortKey]:
    """The built-in orderings' fast path: what :func:`sort_function` gives of their
    :meth:`standing` (``tests/test_ordering.py`` proves both the same), without making a
    :class:`Standing` per application of a national build."""
    moment = application.submitted_at
    if benefit_time is BenefitTime.VERIFICATION:
        moment = _verified_later(application, benefit_time) or moment
    return application.tier, (instant_key(moment), application.number_value)


_TIER_AND_KEY_MOVED = (
    "OrderingPolicy.tier_and_key is deprecated and will be removed in the next release; "
    "implement standing() (a Standing: tier, since, basis) instead"
)


def sort_function(ordering: OrderingPolicy) -> Callable[[Application], tuple[Tier, SortKey]]:
    """How the queues' index orders applications under ``ordering``: a tier and an integer
    key (the instant of :attr:`Standing.since` in microseconds, then the number).

    Internal to the queues (hosts state a :class:`Standing`); the built-in orderings use a
    fast path that gives the same values. An ordering with only the deprecated
    ``tier_and_key`` is used through it, with a :class:`DeprecationWarning`.
    """
    if type(ordering) in (StandardOrdering, RatioOrdering):
        benefit_time = ordering.benefit_time  # type: ignore[attr-defined]
        return functools.partial(_tier_and_key, benefit_time=benefit_time)
    standing = getattr(ordering, "standing", None)
    if standing is None:
        old = getattr(ordering, "tier_and_key", None)
        if old is None:
            raise PolicyError(
                "policy.invalid_value",
                f"{type(ordering).__name__} is not an OrderingPolicy: it has no standing()",
            )
        warnings.warn(_TIER_AND_KEY_MOVED, DeprecationWarning, stacklevel=3)
        return old  # type: ignore[no-any-return]

    def stated(application: Application) -> tuple[Tier, SortKey]:
        stood = standing(application)
        return stood.tier, (instant_key(stood.instant), application.number_value)

    return stated


def standing_of(ordering: OrderingPolicy, application: Application) -> Standing:
    """``ordering.standing(application)``; for an ordering with only the deprecated
    ``tier_and_key``, its key read as a submission time, as explanations did before."""
    standing = getattr(ordering, "standing", None)
    if standing is not None:
        stood: Standing = standing(application)
        return stood
    tier, key = ordering.tier_and_key(application)  # type: ignore[attr-defined]
    return Standing(tier, from_instant_key(key[0]))


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

    def standing(self, application: Application) -> Standing:
        """The verified benefit's tier (else ``Tier.NONE``), counted from the submission (or,
        with ``BenefitTime.VERIFICATION``, from a later verification)."""
        return _standing(application, self.benefit_time)

    def tier_and_key(self, application: Application) -> tuple[Tier, SortKey]:
        """Deprecated: the tier and the index's integer key (use :meth:`standing`)."""
        warnings.warn(_TIER_AND_KEY_MOVED, DeprecationWarning, stacklevel=2)
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

    def standing(self, application: Application) -> Standing:
        """As :class:`StandardOrdering`."""
        return _standing(application, self.benefit_time)

    def tier_and_key(self, application: Application) -> tuple[Tier, SortKey]:
        """Deprecated: the tier and the index's integer key (use :meth:`standing`)."""
        warnings.warn(_TIER_AND_KEY_MOVED, DeprecationWarning, stacklevel=2)
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


def policy_ordering(
    first_priority_ratio_general: int, benefit_time: BenefitTime = BenefitTime.SUBMISSION
) -> OrderingPolicy:
    """The ordering a dated policy asks for: its ``first_priority_ratio_general`` value 0
    gives :class:`StandardOrdering` (the tiers one after another, as the seed's application
    text states), N gives :class:`RatioOrdering` ``1:N`` (Astana practice, N = 3).

    >>> policy_ordering(0).name, policy_ordering(3).name
    ('standard', 'ratio-1:3')
    """
    if first_priority_ratio_general == 0:
        return StandardOrdering(benefit_time)
    return RatioOrdering(1, first_priority_ratio_general, benefit_time)


def rank(
    applications: Iterable[Application], ordering: OrderingPolicy | None = None
) -> list[Application]:
    """The applications of one queue in queue order. O(n log n).

    The caller decides which applications stand in the queue (active ones that chose it).
    Two applications with the same number are an error of the caller's data: the order
    would not be total.
    """
    policy = ordering if ordering is not None else StandardOrdering()
    tier_and_key = sort_function(policy)
    tiers: dict[Tier, list[tuple[SortKey, Application]]] = {t: [] for t in Tier}
    for application in applications:
        tier, key = tier_and_key(application)
        tiers[tier].append((key, application))
    ordered = {t: [a for _, a in sorted(members, key=_first)] for t, members in tiers.items()}
    return list(policy.merge(ordered))


def _first(item: tuple[SortKey, Application]) -> SortKey:
    return item[0]
