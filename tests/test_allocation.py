"""Batch allocation: every guarantee of ``allocate`` and ``check_allocation``, by hypothesis.

The model is ``tests/allocation_reference.py``: a round-based deferred acceptance, serial
dictatorship and brute-force judges of stability written from the textbook definitions.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edqueue.errors import AllocationError, EdqueueError
from edqueue.models import KAZAKHSTAN, GroupKey, Language, QueueKind, Referral, number_order
from edqueue.rules.allocation import (
    AllocationAudit,
    AllocationProblem,
    BlockingPair,
    PriorityInversion,
    allocate,
    check_allocation,
    serial_dictatorship,
)
from edqueue.rules.events import QueueId
from tests import allocation_reference as ref

K = TypeVar("K")
V = TypeVar("V")

# -- strategies ------------------------------------------------------------------------------


def queue_ids(count: int) -> list[QueueId]:
    """``count`` distinct groups: two birth years per organization, so ids share orgs too."""
    return [
        (f"kg-{i // 2}", GroupKey(2020 + i % 2, Language.RUSSIAN, QueueKind.GENERAL))
        for i in range(count)
    ]


def _problem(
    draw: st.DrawFn, max_groups: int, max_applications: int, common: bool
) -> tuple[AllocationProblem, list[str]]:
    groups = queue_ids(draw(st.integers(1, max_groups)))
    count = draw(st.integers(0, max_applications))
    everyone = draw(
        st.lists(st.integers(1, 9_999).map(str), unique=True, min_size=count, max_size=count + 3)
    )
    participants, outsiders = everyone[:count], everyone[count:]
    choices = {  # 1-4 distinct groups in a random order
        n: draw(st.permutations(groups))[: draw(st.integers(1, min(4, len(groups))))]
        for n in participants
    }
    # The common order, used only when every queue must be its restriction.
    order = draw(st.permutations(everyone)) if common else list(everyone)
    queues: dict[QueueId, list[str]] = {}
    for g in groups:
        members = {n for n in participants if g in choices[n]}
        members |= {n for n in outsiders if draw(st.booleans())}
        if common:
            queues[g] = [n for n in order if n in members]
        else:
            queues[g] = draw(st.permutations(sorted(members)))
    places: dict[QueueId, int] = {}
    for g in groups:
        free = draw(st.integers(0, 4))
        if free > 0 or draw(st.booleans()):  # a group not listed has no places
            places[g] = free
    problem = AllocationProblem(choices=choices, queues=queues, places=places)
    return problem, [n for n in order if n in choices]


@st.composite
def problems(draw: st.DrawFn, max_groups: int = 6, max_applications: int = 12) -> AllocationProblem:
    """A small round: 1-6 groups, 0-12 applications choosing 1-4 groups each, every queue a
    random order of its choosers plus perhaps a few non-participants, 0-4 places a group."""
    return _problem(draw, max_groups, max_applications, common=False)[0]


@st.composite
def common_order_problems(draw: st.DrawFn) -> tuple[AllocationProblem, list[str]]:
    """A small round whose every queue is the restriction of one global order (returned,
    participants only, best first)."""
    return _problem(draw, 6, 12, common=True)


@st.composite
def contested_problems(draw: st.DrawFn) -> AllocationProblem:
    """A small round with a group that is sure to end full with a participant left out.

    One more rival than the group has places (at least one) joins, each choosing that group
    only, at random places in its queue: one of them must be left out, ranked below every
    holder, while the group is full. Rivals are numbered from 10000, unlike the others.
    """
    problem = draw(problems())
    group = draw(st.sampled_from(sorted(problem.queues)))
    places = {**problem.places, group: max(1, problem.free(group))}
    rivals = [str(10_000 + i) for i in range(places[group] + 1)]
    queue = list(problem.queues[group])
    for rival in rivals:
        queue.insert(draw(st.integers(0, len(queue))), rival)
    return AllocationProblem(
        choices={**problem.choices, **{r: [group] for r in rivals}},
        queues={**problem.queues, group: queue},
        places=places,
    )


@st.composite
def large_problems(draw: st.DrawFn) -> AllocationProblem:
    """Up to 200 applications and 20 groups, filled in from a drawn random generator."""
    rnd: random.Random = draw(st.randoms(use_true_random=False))
    groups = queue_ids(draw(st.integers(1, 20)))
    participants = [str(n) for n in rnd.sample(range(1, 100_000), draw(st.integers(0, 200)))]
    outsiders = [f"x{n}" for n in range(rnd.randint(0, 20))]
    choices = {n: rnd.sample(groups, rnd.randint(1, min(4, len(groups)))) for n in participants}
    queues: dict[QueueId, list[str]] = {}
    for g in groups:
        members = [n for n in participants if g in choices[n]]
        members += [n for n in outsiders if rnd.random() < 0.3]
        rnd.shuffle(members)
        queues[g] = members
    places = {g: rnd.randint(0, 12) for g in groups}
    return AllocationProblem(choices=choices, queues=queues, places=places)


def placed_in(assignment: Mapping[str, QueueId], group: QueueId) -> list[str]:
    return [n for n, g in assignment.items() if g == group]


# -- the guarantees of allocate -------------------------------------------------------------


@given(problems())
def test_no_group_gets_more_than_its_places_and_everyone_gets_a_group_it_chose(
    problem: AllocationProblem,
) -> None:
    assignment = allocate(problem).assignment
    for number, group in assignment.items():
        assert number in problem.choices
        assert group in problem.choices[number]
    for group in problem.queues:
        assert len(placed_in(assignment, group)) <= problem.free(group)


@given(problems())
def test_holders_and_unfilled_agree_with_the_assignment(problem: AllocationProblem) -> None:
    allocation = allocate(problem)
    for group, order in problem.queues.items():
        held = placed_in(allocation.assignment, group)
        assert list(allocation.holders(group)) == [n for n in order if n in held]
    expected = {
        g: p - len(placed_in(allocation.assignment, g))
        for g, p in problem.places.items()
        if p > len(placed_in(allocation.assignment, g))
    }
    assert allocation.unfilled() == expected


@given(problems())
def test_the_allocation_is_stable(problem: AllocationProblem) -> None:
    assignment = allocate(problem).assignment
    assert ref.blocking_pairs(problem, assignment) == set()
    assert ref.is_stable(problem, assignment)
    audit = check_allocation(problem.queues, problem.places, assignment, choices=problem.choices)
    assert audit.ok, audit


@given(problems())
def test_no_place_stays_empty_while_a_participant_wants_it(problem: AllocationProblem) -> None:
    assert ref.wasteful(problem, allocate(problem).assignment) == set()


@given(problems())
def test_allocate_equals_the_round_based_reference(problem: AllocationProblem) -> None:
    assert dict(allocate(problem).assignment) == ref.allocate(problem)


@settings(max_examples=30)
@given(large_problems())
def test_allocate_equals_the_reference_on_hundreds_of_applications(
    problem: AllocationProblem,
) -> None:
    assert dict(allocate(problem).assignment) == ref.allocate(problem)


@given(problems(max_applications=6))
def test_no_applicant_gains_by_misreporting_its_choices(problem: AllocationProblem) -> None:
    truthful = allocate(problem).assignment
    for number, true_choices in problem.choices.items():
        got = truthful.get(number)
        truth_index = true_choices.index(got) if got is not None else len(true_choices)
        for size in range(1, len(true_choices) + 1):
            for lie in itertools.permutations(true_choices, size):
                lied = AllocationProblem(
                    choices={**problem.choices, number: lie},
                    queues=problem.queues,
                    places=problem.places,
                )
                gained = allocate(lied).assignment.get(number)
                if gained is not None:
                    assert true_choices.index(gained) >= truth_index, (number, lie)


@given(common_order_problems())
def test_a_common_order_gives_the_serial_dictatorship(
    drawn: tuple[AllocationProblem, list[str]],
) -> None:
    problem, order = drawn
    expected = ref.serial_dictatorship(order, problem.choices, problem.places)
    assert ref.allocate(problem) == expected  # the model agrees with itself
    assert dict(allocate(problem).assignment) == expected


@given(common_order_problems())
def test_proposing_in_the_common_order_gives_the_serial_dictatorship(
    drawn: tuple[AllocationProblem, list[str]],
) -> None:
    problem, order = drawn
    expected = ref.serial_dictatorship(order, problem.choices, problem.places)
    assert dict(allocate(problem, proposing_order=order).assignment) == expected


@given(common_order_problems(), st.data())
def test_serial_dictatorship_in_the_common_order_is_the_allocation(
    drawn: tuple[AllocationProblem, list[str]], data: st.DataObject
) -> None:
    problem, order = drawn
    # the order may leave participants out (they come after, by number), name others, or
    # name one again (only its first time counts)
    cut = data.draw(st.integers(0, len(order)))
    again = data.draw(st.lists(st.sampled_from(order[:cut]), max_size=3)) if cut else []
    given = [*order[:cut], *again, "not-a-participant"]
    expected = ref.serial_dictatorship(
        [*order[:cut], *sorted(order[cut:], key=number_order)], problem.choices, problem.places
    )
    got = serial_dictatorship(problem, given)
    assert dict(got.assignment) == expected
    if cut == len(order):
        assert list(got.assignment.items()) == list(allocate(problem).assignment.items())


@given(problems(), st.randoms(use_true_random=False))
def test_serial_dictatorship_without_an_order_takes_the_choices_as_listed(
    problem: AllocationProblem, rng: random.Random
) -> None:
    listing = list(problem.choices)
    rng.shuffle(listing)
    listed = AllocationProblem(
        choices={n: problem.choices[n] for n in listing},
        queues=problem.queues,
        places=problem.places,
    )
    expected = ref.serial_dictatorship(listing, problem.choices, problem.places)
    got = serial_dictatorship(listed)
    assert dict(got.assignment) == expected
    assert list(got.assignment) == sorted(expected, key=number_order)
    assert dict(serial_dictatorship(problem, listing).assignment) == expected


@given(common_order_problems())
def test_choices_listed_in_the_common_order_give_the_allocation_without_an_order(
    drawn: tuple[AllocationProblem, list[str]],
) -> None:
    """The desk's fast path: the choices in the order every queue follows, no ``order``."""
    problem, order = drawn
    listed = AllocationProblem(
        choices={n: problem.choices[n] for n in order},
        queues=problem.queues,
        places=problem.places,
    )
    assert list(serial_dictatorship(listed).assignment.items()) == list(
        allocate(problem).assignment.items()
    )


def test_an_application_the_order_gives_twice_does_not_hide_one_it_leaves_out() -> None:
    """#1 comes again when its group is full; #2, left out of the order, still gets a place."""
    first, second = queue_ids(2)
    problem = AllocationProblem(
        choices={"1": (first,), "2": (second,)},
        queues={first: ("1",), second: ("2",)},
        places={first: 1, second: 1},
    )
    got = serial_dictatorship(problem, ["1", "1"])
    assert dict(got.assignment) == {"1": first, "2": second}


@given(problems(), st.data())
def test_any_proposing_order_gives_the_same_allocation(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    numbers = sorted(problem.choices)
    order = data.draw(st.lists(st.sampled_from(numbers), unique=True) if numbers else st.just([]))
    extra = data.draw(st.lists(st.sampled_from(["x1", "x2"]), unique=True))
    got = allocate(problem, proposing_order=[*extra, *order]).assignment
    assert list(got.items()) == list(allocate(problem).assignment.items())
    assert dict(got) == ref.allocate(problem)


@given(problems(), st.data())
def test_the_result_does_not_depend_on_the_order_of_the_input(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    def shuffled(mapping: Mapping[K, V]) -> dict[K, V]:
        return dict(data.draw(st.permutations(list(mapping.items()))))

    reordered = AllocationProblem(
        choices=shuffled(problem.choices),
        queues=shuffled(problem.queues),
        places=shuffled(problem.places),
    )
    first, second = allocate(problem).assignment, allocate(reordered).assignment
    assert list(second.items()) == list(first.items())


@given(problems())
def test_outcomes_explain_every_choice(problem: AllocationProblem) -> None:
    allocation = allocate(problem)
    for number, chosen in problem.choices.items():
        outcomes = allocation.outcomes(number)
        assert [o.choice for o in outcomes] == list(range(1, len(chosen) + 1))
        assert [o.queue for o in outcomes] == list(chosen)
        assert [o.places for o in outcomes] == [problem.free(g) for g in chosen]
        got = allocation.assignment.get(number)
        placed_at = chosen.index(got) if got is not None else len(chosen)
        for index, outcome in enumerate(outcomes):
            group = outcome.queue
            if index == placed_at:
                assert outcome.outcome == "placed"
                assert outcome.rank == allocation.holders(group).index(number) + 1
            elif index > placed_at:
                assert outcome.outcome == "not_needed"
            elif problem.free(group) == 0:
                assert outcome.outcome == "no_places"
            else:
                assert outcome.outcome == "full"
                order = list(problem.queues[group])
                holders = allocation.holders(group)
                assert len(holders) == problem.free(group)
                assert all(order.index(h) < order.index(number) for h in holders)
                assert outcome.last_placed == holders[-1]
        if got is None:
            assert all(o.outcome != "placed" for o in outcomes)


# -- check_allocation finds tampering ---------------------------------------------------------


def audit_of(problem: AllocationProblem, assignment: Mapping[str, QueueId]) -> AllocationAudit:
    return check_allocation(problem.queues, problem.places, assignment, choices=problem.choices)


@given(contested_problems(), st.data())
def test_the_audit_reports_a_group_given_past_its_places(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    assignment = dict(allocate(problem).assignment)
    candidates = [
        (n, g)
        for n, chosen in problem.choices.items()
        if n not in assignment
        for g in chosen
        if len(placed_in(assignment, g)) >= problem.free(g)
    ]
    number, group = data.draw(st.sampled_from(candidates))
    assignment[number] = group
    audit = audit_of(problem, assignment)
    assert audit.over_capacity == {group: (problem.free(group) + 1, problem.free(group))}
    assert not audit.ok


@given(contested_problems(), st.data())
def test_the_audit_reports_a_place_taken_back(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    assignment = dict(allocate(problem).assignment)
    candidates = [
        (placed, wanting, g)
        for placed, g in assignment.items()
        for wanting in problem.choices
        if wanting != placed and ref.prefers(problem.choices, wanting, g, assignment)
    ]
    placed, wanting, group = data.draw(st.sampled_from(candidates))
    del assignment[placed]
    audit = audit_of(problem, assignment)
    assert audit.wasted.get(group) == 1
    assert BlockingPair(wanting, group, None) in audit.blocking_pairs
    assert BlockingPair(placed, group, None) in audit.blocking_pairs
    assert not audit.ok


@given(contested_problems(), st.data())
def test_the_audit_reports_a_place_moved_down_the_queue(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    assignment = dict(allocate(problem).assignment)
    candidates = [
        (higher, lower, g)
        for higher, g in assignment.items()
        for lower in problem.queues[g][problem.queues[g].index(higher) + 1 :]
        if lower in problem.choices and g in problem.choices[lower] and lower not in assignment
    ]
    higher, lower, group = data.draw(st.sampled_from(candidates))
    del assignment[higher]
    assignment[lower] = group
    audit = audit_of(problem, assignment)
    assert PriorityInversion(group, higher, lower) in audit.inversions
    assert not audit.ok


@given(problems(), st.data())
def test_the_audit_agrees_with_the_definitions_on_any_assignment(
    problem: AllocationProblem, data: st.DataObject
) -> None:
    """Not only DA's results: any assignment to chosen groups, over-filled or not."""
    assignment: dict[str, QueueId] = {}
    for number, chosen in problem.choices.items():
        group = data.draw(st.sampled_from([None, *chosen]))
        if group is not None:
            assignment[number] = group
    audit = audit_of(problem, assignment)
    counts = {g: len(placed_in(assignment, g)) for g in problem.queues}
    assert audit.unchosen == ()
    assert audit.over_capacity == {
        g: (c, problem.free(g)) for g, c in counts.items() if c > problem.free(g)
    }
    wasted = ref.wasteful(problem, assignment)
    assert audit.wasted == {g: ref.free_left(problem, assignment, g) for _, g in wasted}
    found = [(b.number, b.queue) for b in audit.blocking_pairs]
    assert len(found) == len(set(found))
    assert set(found) == ref.blocking_pairs(problem, assignment)
    for pair in audit.blocking_pairs:
        order = list(problem.queues[pair.queue])
        if pair.instead_of is None:
            assert ref.free_left(problem, assignment, pair.queue) > 0
        else:
            lowest = max(placed_in(assignment, pair.queue), key=order.index)
            assert pair.instead_of == lowest
            assert order.index(lowest) > order.index(pair.number)
    assert {(i.queue, i.higher, i.lower) for i in audit.inversions} == ref.inversions(
        problem, assignment
    )
    assert len(audit.inversions) == len(set(audit.inversions))
    assert audit.ok == (not (wasted or found or audit.over_capacity or audit.inversions))


# -- examples --------------------------------------------------------------------------------

A, B, C = queue_ids(3)


def test_each_family_gets_its_first_choice_though_each_group_ranks_the_other_first() -> None:
    """Applicant-proposing DA is the stable allocation the families like best."""
    problem = AllocationProblem(
        choices={"1": [A, B], "2": [B, A]},
        queues={A: ["2", "1"], B: ["1", "2"]},
        places={A: 1, B: 1},
    )
    assert dict(allocate(problem).assignment) == {"1": A, "2": B}


def test_a_displaced_application_moves_on_and_displaces_in_turn() -> None:
    problem = AllocationProblem(
        choices={"1": [A, B], "2": [A, C], "3": [B], "4": [A]},
        queues={A: ["4", "2", "1"], B: ["1", "3"], C: ["2"]},
        places={A: 1, B: 1, C: 1},
    )
    assert dict(allocate(problem).assignment) == {"4": A, "1": B, "2": C}
    outcomes = allocate(problem).outcomes("3")
    assert [(o.outcome, o.last_placed) for o in outcomes] == [("full", "1")]


def test_a_non_participant_keeps_its_rank_but_claims_nothing() -> None:
    problem = AllocationProblem(choices={"2": [A]}, queues={A: ["1", "2"]}, places={A: 1})
    assert dict(allocate(problem).assignment) == {"2": A}


def test_an_empty_round_allocates_nothing() -> None:
    problem = AllocationProblem(choices={}, queues={A: []}, places={A: 3})
    allocation = allocate(problem)
    assert dict(allocation.assignment) == {}
    assert allocation.unfilled() == {A: 3}


def error_of(call: Callable[..., object], *args: object, **kwargs: object) -> AllocationError:
    with pytest.raises(AllocationError) as caught:
        call(*args, **kwargs)
    assert isinstance(caught.value, EdqueueError)
    return caught.value


@pytest.mark.parametrize(
    ("choices", "queues", "places", "code"),
    [
        ({}, {A: []}, {B: 1}, "allocation.unknown_queue"),
        ({"1": [B]}, {A: ["1"]}, {A: 1}, "allocation.unknown_queue"),
        ({"1": [A, B]}, {A: ["1"], B: ["2"]}, {A: 1}, "allocation.not_in_queue"),
        ({}, {A: []}, {A: -1}, "allocation.places"),
        ({}, {A: []}, {A: True}, "allocation.places"),
        ({}, {A: []}, {A: 1.0}, "allocation.places"),
        ({}, {A: []}, {A: "2"}, "allocation.places"),
        ({"1": [A]}, {A: ["1", "2", "1"]}, {A: 1}, "allocation.duplicate"),
        ({"1": [A, A]}, {A: ["1"]}, {A: 1}, "allocation.duplicate"),
    ],
)
def test_a_problem_that_does_not_hold_together_is_refused(
    choices: dict[str, list[QueueId]],
    queues: dict[QueueId, list[str]],
    places: dict[QueueId, object],
    code: str,
) -> None:
    assert error_of(AllocationProblem, choices, queues, places).code == code
    assert error_of(check_allocation, queues, places, {}, choices=choices).code == code


def test_outcomes_of_an_application_that_did_not_take_part_are_refused() -> None:
    problem = AllocationProblem(choices={"2": [A]}, queues={A: ["1", "2"]}, places={A: 1})
    assert error_of(allocate(problem).outcomes, "1").code == "allocation.not_in_queue"


ISSUED = datetime(2024, 8, 1, 9, 0, tzinfo=KAZAKHSTAN)


def referral(number: str, group: QueueId, suffix: str = "") -> Referral:
    return Referral(
        id=f"r-{number}{suffix}",
        application_number=number,
        organization_id=group[0],
        group=group[1],
        issued_at=ISSUED,
        deadline=ISSUED + timedelta(days=5),
    )


ROUND = AllocationProblem(
    choices={"1": [A, B], "2": [B], "3": [A, B]},
    queues={A: ["3", "1"], B: ["2", "1", "3"]},
    places={A: 1, B: 1},
)


def audit_referrals(referrals: list[Referral]) -> AllocationAudit:
    return check_allocation(ROUND.queues, ROUND.places, referrals, choices=ROUND.choices)


def test_referrals_of_a_fair_round_pass_the_audit() -> None:
    assignment = allocate(ROUND).assignment
    assert dict(assignment) == {"3": A, "2": B}
    audit = audit_referrals([referral(n, g) for n, g in assignment.items()])
    assert audit.ok, audit


def test_an_application_referred_twice_is_listed_as_unchosen() -> None:
    referrals = [referral("3", A), referral("2", B), referral("3", A, suffix="-again")]
    audit = audit_referrals(referrals)
    assert audit.unchosen == ("3",)
    assert not audit.ok


def test_referrals_to_groups_not_chosen_are_listed_as_unchosen() -> None:
    referrals = [referral("3", A), referral("2", A), referral("9", B)]
    audit = audit_referrals(referrals)
    assert audit.unchosen == ("2", "9")
    # Every referral takes a place, chosen or not: A is over capacity, B is not wasted.
    assert audit.over_capacity == {A: (2, 1)}
    assert audit.wasted == {}
    # A referral that was not chosen ranks below everyone: 1 and 2 envy it.
    assert audit.blocking_pairs == (
        BlockingPair("1", A, "2"),
        BlockingPair("1", B, "9"),
        BlockingPair("2", B, "9"),
    )


def test_referrals_out_of_queue_order_are_inversions_and_blocking_pairs() -> None:
    audit = audit_referrals([referral("1", A), referral("2", B)])
    assert audit.inversions == (PriorityInversion(A, "3", "1"),)
    assert audit.blocking_pairs == (BlockingPair("3", A, "1"),)
    assert audit.over_capacity == {}
    assert audit.wasted == {}


def test_without_choices_every_queue_member_counts_and_only_the_unplaced_can_envy() -> None:
    audit = check_allocation({A: ["1", "2"], B: ["2"]}, {A: 1, B: 1}, {"2": A})
    assert audit.inversions == (PriorityInversion(A, "1", "2"),)
    # 2 is placed, so its envy of B's free place is unknown; 1 envies A.
    assert audit.blocking_pairs == (BlockingPair("1", A, "2"),)
    assert audit.wasted == {}


def test_a_family_referred_to_a_group_it_did_not_choose_still_envies_its_choices() -> None:
    # 2 chose only B, stands first in B's queue and was referred to A instead; B went to 1.
    audit = check_allocation(
        {A: ["2"], B: ["2", "1"]}, {A: 1, B: 1}, {"1": B, "2": A}, choices={"1": [B], "2": [B]}
    )
    assert audit.unchosen == ("2",)
    assert PriorityInversion(B, "2", "1") in audit.inversions
    assert BlockingPair("2", B, "1") in audit.blocking_pairs
    # 2 chose only B, which stays empty, and was referred to A instead.
    audit = check_allocation({A: [], B: ["2"]}, {A: 1, B: 1}, {"2": A}, choices={"2": [B]})
    assert audit.wasted == {B: 1}
