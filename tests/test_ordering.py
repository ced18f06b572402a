"""Ordering rules: properties against an independent reference implementation."""

import itertools
from datetime import timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import Application, BenefitClaim, BenefitStatus, PolicyError, Tier
from edqueue.rules.ordering import (
    BenefitTime,
    RatioOrdering,
    StandardOrdering,
    rank,
    sort_function,
)
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
    key = sort_function(StandardOrdering())
    keys = [key(a) for a in rank(queue)]
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
        tier_and_key = sort_function(ordering)
        counts = {t: sum(1 for a in queue if tier_and_key(a)[0] is t) for t in Tier}
        for index, application in enumerate(ranked):
            tier, key = tier_and_key(application)
            rank_in_tier = sum(
                1 for a in queue if tier_and_key(a)[0] is tier and tier_and_key(a)[1] < key
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
        assert StandardOrdering().standing(attrs.evolve(base, benefit=claim)).tier is Tier.NONE


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


# --- the protocol in domain terms: Standing ------------------------------------------------


@given(queues(min_size=1))
def test_the_built_in_fast_path_gives_what_their_standing_states(
    queue: list[Application],
) -> None:
    from edqueue.rules.ordering import instant_key

    for ordering in (
        StandardOrdering(),
        StandardOrdering(BenefitTime.VERIFICATION),
        RatioOrdering(),
        RatioOrdering(2, 5, BenefitTime.VERIFICATION),
    ):
        fast = sort_function(ordering)
        for application in queue:
            stood = ordering.standing(application)
            stated = (stood.tier, (instant_key(stood.instant), application.number_value))
            assert fast(application) == stated


@attrs.frozen
class OldestFirst:
    """A host's ordering: older children first, whatever the benefit (one tier)."""

    @property
    def name(self) -> str:
        return "oldest-first"

    def standing(self, application: Application):
        from edqueue.rules.ordering import Basis, Standing

        return Standing(Tier.NONE, application.child.birth_date, Basis.BIRTH)

    def ahead(self, tier, rank, counts):
        return {tier: rank}

    def merge(self, tiers):
        return iter(tiers.get(Tier.NONE, ()))


def test_an_ordering_by_birth_date_is_explained_by_birth_date() -> None:
    from edqueue.rules import QueueBook
    from edqueue.sample import neighbour_applications, seed_application, shakhtinsk_organizations

    applications_ = [seed_application(), *neighbour_applications()]
    book = QueueBook.build(shakhtinsk_organizations(), applications_, ordering=OldestFirst())
    organization, group = next(iter(book.queues()))[0]
    order = book.queue(organization, group)
    by_birth = sorted(
        (book.application(n) for n in order), key=lambda a: (a.child.birth_date, a.number_value)
    )
    assert order == [a.number for a in by_birth]
    last = order[-1]
    explanation = book.explain(last, organization)
    starts = [r for r in explanation.reasons if r.code.startswith("tier.")]
    assert [r.code for r in starts] == ["tier.counts_from"]
    oldest = by_birth[0].child.birth_date
    assert starts[0].params["since"] == f"{oldest:%d.%m.%Y}"
    assert starts[0].params["basis"] == "birth"
    english = [r.render("en") for r in explanation.reasons]
    assert f"counted from {oldest:%d.%m.%Y} (child's birth date)" in " ".join(english)
    assert "1970" not in " ".join(english)
    assert "дата рождения" in " ".join(r.render("ru") for r in explanation.reasons)


def test_a_verification_time_is_explained_as_one() -> None:
    from edqueue.rules import QueueBook
    from edqueue.sample import seed_application, shakhtinsk_organizations

    seed = seed_application()
    verified_at = seed.submitted_at + timedelta(days=3)
    claim = BenefitClaim(8, BenefitStatus.VERIFIED, None, verified_at)
    application = attrs.evolve(seed, benefit=claim)
    book = QueueBook.build(
        shakhtinsk_organizations(),
        [application],
        ordering=StandardOrdering(BenefitTime.VERIFICATION),
    )
    organization = application.choices[0].organization_id
    reasons = {r.code: r for r in book.explain(seed.number, organization).reasons}
    assert reasons["tier.counts_from"].params["basis"] == "verified"
    assert reasons["tier.counts_from"].params["since"] == f"{verified_at:%d.%m.%Y %H:%M:%S}"


def test_the_default_explanation_still_names_the_submission() -> None:
    from edqueue.rules import QueueBook
    from edqueue.sample import seed_application, shakhtinsk_organizations

    seed = seed_application()
    book = QueueBook.build(shakhtinsk_organizations(), [seed])
    organization = seed.choices[0].organization_id
    reasons = {r.code: r for r in book.explain(seed.number, organization).reasons}
    assert reasons["tier.starts"].params["since"] == "05.02.2024 10:15:00"
    assert "tier.counts_from" not in reasons


def test_an_ordering_with_only_the_old_tier_and_key_still_works_with_a_warning() -> None:
    from edqueue.rules import QueueBook
    from edqueue.rules.ordering import _tier_and_key
    from edqueue.sample import neighbour_applications, seed_application, shakhtinsk_organizations

    @attrs.frozen
    class Old:
        name = "old"

        def tier_and_key(self, application):
            return _tier_and_key(application, BenefitTime.SUBMISSION)

        def ahead(self, tier, rank, counts):
            return StandardOrdering().ahead(tier, rank, counts)

        def merge(self, tiers):
            return StandardOrdering().merge(tiers)

    applications_ = [seed_application(), *neighbour_applications()]
    with pytest.warns(DeprecationWarning, match="standing"):
        old = QueueBook.build(shakhtinsk_organizations(), applications_, ordering=Old())
    new = QueueBook.build(shakhtinsk_organizations(), applications_)
    assert list(old.queues()) == list(new.queues())
    seed = seed_application()
    organization = seed.choices[0].organization_id
    assert (
        old.explain(seed.number, organization).reasons[-2]
        == (new.explain(seed.number, organization).reasons[-2])
    )


def test_the_built_in_tier_and_key_is_deprecated() -> None:
    from edqueue.sample import seed_application

    with pytest.warns(DeprecationWarning, match="standing"):
        StandardOrdering().tier_and_key(seed_application())


def test_a_standing_refuses_a_naive_time() -> None:
    from datetime import datetime

    from edqueue.rules.ordering import Standing

    with pytest.raises(PolicyError) as caught:
        Standing(Tier.NONE, datetime(2024, 2, 5, 10, 15))  # noqa: DTZ001 - the attack
    assert caught.value.code == "policy.invalid_value"
    with pytest.raises(PolicyError):
        Standing(Tier.NONE, "2024-02-05")
