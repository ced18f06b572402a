"""Ordering rules: properties against an independent reference implementation."""

import itertools
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import Application, BenefitClaim, BenefitStatus, PolicyError, Tier
from edqueue.rules.ordering import BenefitTime, RatioOrdering, StandardOrdering, rank
from edqueue.testing import applications
from tests import rules_reference as ref


@st.composite
def queues(draw, min_size=0, max_size=15) -> list[Application]:
    """Applications with distinct numbers, all standing in one queue of org-1."""
    numbers = draw(
        st.lists(st.integers(1, 10**6), min_size=min_size, max_size=max_size, unique=True)
    )
    return [draw(applications(organization_ids=["org-1"], numbers=st.just(n))) for n in numbers]


def numbers(ranked: list[Application]) -> list[str]:
    return [a.number for a in ranked]


@given(queues())
def test_standard_order_matches_the_reference(queue: list[Application]) -> None:
    assert numbers(rank(queue)) == ref.standard_order(queue)


@given(queues())
def test_verification_time_alternative_matches_the_reference(queue: list[Application]) -> None:
    ordering = StandardOrdering(BenefitTime.VERIFICATION)
    assert numbers(rank(queue, ordering)) == ref.standard_order(queue, from_verification=True)


@given(queues(), st.integers(1, 3), st.integers(1, 4))
def test_ratio_order_is_the_exact_interleaving(
    queue: list[Application], first: int, general: int
) -> None:
    ordering = RatioOrdering(first, general)
    assert numbers(rank(queue, ordering)) == ref.ratio_order(queue, first, general)


@given(queues(), st.randoms(use_true_random=False))
def test_ranking_is_independent_of_input_order(queue: list[Application], random) -> None:
    shuffled = list(queue)
    random.shuffle(shuffled)
    for ordering in (StandardOrdering(), RatioOrdering()):
        assert numbers(rank(shuffled, ordering)) == numbers(rank(queue, ordering))


@given(queues(min_size=2))
def test_the_order_is_strict_and_total(queue: list[Application]) -> None:
    ordering = StandardOrdering()
    keys = [ordering.tier_and_key(a) for a in rank(queue)]
    assert all(a < b for a, b in itertools.pairwise(keys))


@given(queues(min_size=2))
def test_an_earlier_submission_never_stands_behind_a_later_one_of_its_tier(
    queue: list[Application],
) -> None:
    for ordering in (StandardOrdering(), RatioOrdering()):
        ranked = rank(queue, ordering)
        for i, earlier in enumerate(ranked):
            for later in ranked[i + 1 :]:
                if earlier.tier is later.tier:
                    assert earlier.submitted_instant <= later.submitted_instant


def position(queue: list[Application], number: str, ordering) -> int:
    return numbers(rank(queue, ordering)).index(number) + 1


@given(queues(min_size=1), st.data())
def test_verifying_a_benefit_never_moves_down_and_rejecting_never_up(
    queue: list[Application], data
) -> None:
    target = data.draw(st.sampled_from(queue))
    category = data.draw(st.integers(1, 11))
    pending = attrs.evolve(target, benefit=BenefitClaim(category, BenefitStatus.PENDING))
    at = target.submitted_at + timedelta(days=1)
    verified = attrs.evolve(pending, benefit=pending.benefit.verify(at))
    rejected = attrs.evolve(verified, benefit=verified.benefit.reject(at))
    others = [a for a in queue if a is not target]
    orderings = [StandardOrdering()]
    if category <= 4:
        # Under 1:3 a first-priority benefit can move an application down (a long
        # first-priority list behind a short general one); an extraordinary one cannot.
        orderings.append(RatioOrdering())
    for ordering in orderings:
        before = position([*others, pending], target.number, ordering)
        after_verify = position([*others, verified], target.number, ordering)
        after_reject = position([*others, rejected], target.number, ordering)
        assert after_verify <= before
        assert after_reject >= after_verify


@given(queues(min_size=1), st.data())
def test_removing_an_application_moves_nobody_down(queue: list[Application], data) -> None:
    gone = data.draw(st.sampled_from(queue))
    rest = [a for a in queue if a is not gone]
    for ordering in (StandardOrdering(), RatioOrdering()):
        for application in rest:
            assert position(rest, application.number, ordering) <= position(
                queue, application.number, ordering
            )


@given(queues(), st.data())
def test_ahead_counts_agree_with_the_merged_order(queue: list[Application], data) -> None:
    for ordering in (StandardOrdering(), RatioOrdering(), RatioOrdering(2, 5)):
        ranked = rank(queue, ordering)
        counts = {t: sum(1 for a in queue if ordering.tier_and_key(a)[0] is t) for t in Tier}
        for index, application in enumerate(ranked):
            tier, key = ordering.tier_and_key(application)
            rank_in_tier = sum(
                1
                for a in queue
                if ordering.tier_and_key(a)[0] is tier and ordering.tier_and_key(a)[1] < key
            )
            ahead = ordering.ahead(tier, rank_in_tier, counts)
            assert sum(ahead.values()) == index
            for t, n in ahead.items():
                assert n == sum(1 for a in ranked[:index] if a.tier is t)


def test_pending_rejected_and_expired_benefits_count_as_none() -> None:
    from edqueue.sample import seed_application

    base = seed_application()
    for status in (BenefitStatus.PENDING, BenefitStatus.REJECTED, BenefitStatus.EXPIRED):
        claim = BenefitClaim(
            1, status, None, None if status is BenefitStatus.PENDING else base.submitted_at
        )
        assert StandardOrdering().tier_and_key(attrs.evolve(base, benefit=claim))[0] is Tier.NONE


def test_a_ratio_must_be_positive() -> None:
    with pytest.raises(PolicyError):
        RatioOrdering(0, 3)


def test_under_ratio_a_first_priority_benefit_can_move_an_application_down() -> None:
    """The documented consequence of 1:3: with 3 first-priority and 1 general application,
    the general one stands 2nd; verified first-priority, it becomes 4th."""
    from edqueue.sample import seed_application

    base = seed_application()
    at = base.submitted_at
    verified = BenefitClaim(8, BenefitStatus.VERIFIED, at, at)
    queue = [
        attrs.evolve(base, number=n, submitted_at=at + timedelta(minutes=n), benefit=verified)
        for n in (1, 2, 3)
    ]
    general = attrs.evolve(base, number=9, submitted_at=at + timedelta(minutes=9))
    assert position([*queue, general], "9", RatioOrdering()) == 2
    promoted = attrs.evolve(general, benefit=verified)
    assert position([*queue, promoted], "9", RatioOrdering()) == 4
