"""The referral life cycle: an example test for each rule, then a stateful test of the desk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edqueue import (
    KAZAKHSTAN,
    AllocationError,
    Application,
    ApplicationStatus,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Child,
    Choice,
    FullName,
    GroupKey,
    Iin,
    Language,
    QueueError,
    ReferralPreference,
    ReferralStatus,
    Sex,
    Tier,
    TransitionError,
    by_number,
)
from edqueue.rules import (
    KAZAKHSTAN_POLICY,
    ApplicationRemoved,
    BenefitChanged,
    Duration,
    QueueBook,
    QueueEvent,
    RatioOrdering,
    ReferralClosed,
    ReferralDesk,
    ReferralIssued,
    StopListed,
    allocate,
    referral_hold,
    simulate,
)
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.testing import iin_prefix, kazakhstan_datetimes, queue_books

SALTANAT = "shakhtinsk-saltanat"
KARLYGASH = "shakhtinsk-karlygash"
RU_2020 = GroupKey(2020, Language.RUSSIAN)
KK_2020 = GroupKey(2020, Language.KAZAKH)
DAY0 = datetime(2024, 2, 5, 9, 0, tzinfo=KAZAKHSTAN)


def child_born(born: date, serial: int = 1) -> Child:
    prefix = iin_prefix(born, Sex.MALE)
    while True:
        eleven = f"{prefix}{serial:04d}"
        digit = Iin.check_digit(eleven)
        if digit is not None:
            break
        serial += 1
    return Child(iin=f"{eleven}{digit}", name=FullName("Иванов", "Иван"), birth_date=born)


def application(
    number: int,
    *,
    minutes: int = 0,
    born: date = date(2020, 6, 23),
    choices: Sequence[tuple[str, Language]] = ((SALTANAT, Language.RUSSIAN),),
    benefit: BenefitClaim | None = None,
    desired: date | None = None,
    serial: int = 1,
) -> Application:
    """A variant of the seed's application: submitted ``minutes`` after DAY0 minus a day."""
    return attrs.evolve(
        seed_application(),
        number=str(number),
        child=child_born(born, serial),
        choices=tuple(Choice(o, language) for o, language in choices),
        submitted_at=DAY0 - timedelta(days=1) + timedelta(minutes=minutes),
        benefit=benefit,
        referral=ReferralPreference.immediately()
        if desired is None
        else ReferralPreference.from_date(desired),
    )


def empty_desk(*, free: int = 0, siblings: bool = False) -> ReferralDesk:
    """Shakhtinsk with no free places, or ``free`` at Saltanat 2020 ru; nothing offered yet."""
    organizations = []
    for organization in shakhtinsk_organizations():
        groups = tuple(
            attrs.evolve(
                g, free_places=free if (organization.id, g.key) == (SALTANAT, RU_2020) else 0
            )
            for g in organization.groups
        )
        organizations.append(attrs.evolve(organization, groups=groups))
    return ReferralDesk(QueueBook(organizations, keep_siblings_together=siblings))


def issued(events: Sequence[object]) -> list[ReferralIssued]:
    return [e for e in events if isinstance(e, ReferralIssued)]


def test_a_freed_place_goes_to_the_first_in_line() -> None:
    desk = empty_desk()
    for number in (3, 1, 2):
        desk.submit(application(number, minutes=number))
    events = desk.free_place(SALTANAT, RU_2020, DAY0)
    [referral] = issued(events)
    assert referral.number == "1"
    assert referral.reason == "first in line"
    assert desk.book.application("1").status is ApplicationStatus.REFERRED
    assert desk.book.queue(SALTANAT, RU_2020) == ["2", "3"]
    assert desk.book.free_places(SALTANAT, RU_2020) == 0


def test_the_deadline_counts_working_days_past_a_holiday() -> None:
    # Thursday 7 March 2024; 8 March is a holiday: the 5 working days are 11-15 March.
    desk = empty_desk()
    desk.submit(application(1))
    at = datetime(2024, 3, 7, 10, 0, tzinfo=KAZAKHSTAN)
    [event] = issued(desk.free_place(SALTANAT, RU_2020, at))
    assert event.deadline == datetime(2024, 3, 16, 0, 0, tzinfo=KAZAKHSTAN)
    assert event.deadline.utcoffset() == timedelta(hours=5)  # after the 2024-03-01 change
    assert desk.book.referral(event.referral_id).deadline == event.deadline


@pytest.mark.parametrize(
    ("first", "second", "hold"),
    [
        ({"desired": date(2024, 9, 1)}, {}, "1 waiting for their desired date"),
        ({"born": date(2022, 6, 1)}, {"born": date(2022, 1, 10)}, "1 too young"),
    ],
)
def test_an_application_that_may_not_take_a_place_is_passed_over(
    first: dict[str, date], second: dict[str, date], hold: str
) -> None:
    desk = empty_desk()
    desk.submit(application(1, **first))
    desk.submit(application(2, minutes=5, **second))
    group = desk.book.application("1").group_keys[0][1]
    [event] = issued(desk.free_place(SALTANAT, group, DAY0))
    assert event.number == "2"
    assert hold in event.reason
    assert desk.book.position("1", SALTANAT).position == 1  # it keeps its place


def test_a_place_waits_until_someone_may_take_it() -> None:
    desk = empty_desk()
    desk.submit(application(1, desired=date(2024, 3, 1)))
    assert issued(desk.free_place(SALTANAT, RU_2020, DAY0)) == []
    assert desk.book.free_places(SALTANAT, RU_2020) == 1
    later = datetime(2024, 3, 1, 9, 0, tzinfo=KAZAKHSTAN)
    [event] = issued(desk.advance(later))
    assert event.number == "1"


def test_using_a_referral_enrols_and_frees_nothing() -> None:
    desk = empty_desk()
    desk.submit(
        application(1, choices=((SALTANAT, Language.RUSSIAN), (KARLYGASH, Language.KAZAKH)))
    )
    desk.submit(application(2, minutes=1))
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    events = desk.use(event.referral_id, DAY0 + timedelta(days=1))
    assert [e.kind for e in events] == ["referral_closed"]
    assert desk.book.application("1").status is ApplicationStatus.ENROLLED
    assert desk.book.queue(KARLYGASH, KK_2020) == []
    assert desk.book.free_places(SALTANAT, RU_2020) == 0
    assert desk.book.application("2").status is ApplicationStatus.ACTIVE


def test_a_referral_is_extended_on_request_up_to_the_policy_maximum() -> None:
    desk = empty_desk()
    desk.submit(application(1))
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    latest = datetime(2024, 3, 7, 0, 0, tzinfo=KAZAKHSTAN)  # 30 calendar days after 05.02
    with pytest.raises(QueueError, match=r"07\.03\.2024"):
        desk.extend(event.referral_id, DAY0 + timedelta(days=1), latest + timedelta(seconds=1))
    [extended] = desk.extend(event.referral_id, DAY0 + timedelta(days=1), latest)
    assert extended.kind == "referral_extended"
    assert (extended.deadline_before, extended.deadline) == (event.deadline, latest)
    assert desk.book.referral(event.referral_id).deadline == latest
    assert issued(desk.advance(event.deadline + timedelta(days=1))) == []
    assert desk.book.referral(event.referral_id).status is ReferralStatus.ISSUED
    closed = [e for e in desk.advance(latest) if isinstance(e, ReferralClosed)]
    assert [e.outcome for e in closed] == ["expired"]
    with pytest.raises(QueueError, match="no longer"):
        desk.extend(event.referral_id, latest, latest + timedelta(days=1))


def test_a_declined_referral_goes_to_the_next_and_stop_lists_the_family() -> None:
    desk = empty_desk()
    desk.submit(application(1))
    desk.submit(application(2, minutes=1))
    [first] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    at = DAY0 + timedelta(hours=3)
    events = desk.decline(first.referral_id, at)
    kinds = [e.kind for e in events]
    assert kinds == ["referral_closed", "stop_listed", "referral_issued"]
    stop = next(e for e in events if isinstance(e, StopListed))
    assert stop.number == "1"
    assert stop.until == datetime(2024, 2, 16, 0, 0, tzinfo=KAZAKHSTAN)  # 10 calendar days
    assert issued(events)[0].number == "2"
    # back in the queue at its original date, ahead of later applications
    desk.submit(application(3, minutes=2))
    assert desk.book.queue(SALTANAT, RU_2020) == ["1", "3"]
    # a place freed during the stop list passes it over; after it, it is first again
    [during] = issued(desk.free_place(SALTANAT, RU_2020, at + timedelta(days=1)))
    assert during.number == "3"
    assert "1 on the stop list" in during.reason
    desk.submit(application(4, minutes=3))
    [after] = issued(desk.free_place(SALTANAT, RU_2020, stop.until))
    assert after.number == "1"


def test_an_expired_referral_is_closed_by_advance() -> None:
    desk = empty_desk()
    desk.submit(application(1))
    desk.submit(application(2, minutes=1))
    [first] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    assert issued(desk.advance(first.deadline - timedelta(seconds=1))) == []
    events = desk.advance(first.deadline + timedelta(hours=1))
    closed = next(e for e in events if isinstance(e, ReferralClosed))
    assert (closed.number, closed.outcome, closed.at) == ("1", "expired", first.deadline)
    assert desk.book.referral(first.referral_id).status is ReferralStatus.EXPIRED
    assert [e.number for e in issued(events)] == ["2"]
    assert "1" in desk.stop_list(first.deadline + timedelta(hours=1))


def extraordinary(at: datetime) -> BenefitClaim:
    return BenefitClaim(BenefitCategory(1), BenefitStatus.VERIFIED, at, at)


def test_an_unconfirmed_extraordinary_benefit_cancels_the_referral() -> None:
    desk = empty_desk()
    desk.submit(application(1))
    desk.submit(application(2, minutes=30, benefit=extraordinary(DAY0 - timedelta(hours=1))))
    desk.submit(application(3, minutes=60))
    assert desk.book.queue(SALTANAT, RU_2020) == ["2", "1", "3"]
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    assert event.number == "2"
    assert event.confirm_by is not None
    assert desk.confirmation_due(event.referral_id) == event.confirm_by
    with pytest.raises(QueueError, match="confirm"):
        desk.use(event.referral_id, DAY0 + timedelta(hours=1))
    events = desk.advance(event.confirm_by)
    closed = next(e for e in events if isinstance(e, ReferralClosed))
    assert (closed.outcome, closed.reason) == (
        "cancelled",
        "extraordinary benefit not confirmed in time",
    )
    changed = next(e for e in events if isinstance(e, BenefitChanged))
    assert (changed.tier_before, changed.tier_after) == (Tier.EXTRAORDINARY, Tier.NONE)
    assert [e.number for e in issued(events)] == ["1"]
    # back in the general tier at its original date: after 1, before 3
    assert desk.book.queue(SALTANAT, RU_2020) == ["2", "3"]
    assert desk.stop_list(event.confirm_by) == {}


def test_a_confirmed_extraordinary_benefit_lets_the_family_enrol() -> None:
    desk = empty_desk()
    desk.submit(application(1, benefit=extraordinary(DAY0 - timedelta(days=2))))
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    assert event.confirm_by is not None
    [confirmed] = desk.confirm_benefit(event.referral_id, DAY0 + timedelta(days=1))
    assert confirmed.kind == "benefit_confirmed"
    assert desk.confirmation_due(event.referral_id) is None
    desk.use(event.referral_id, DAY0 + timedelta(days=2))
    assert desk.book.application("1").status is ApplicationStatus.ENROLLED
    with pytest.raises(QueueError):
        desk.confirm_benefit(event.referral_id, DAY0 + timedelta(days=2))


def test_a_late_confirmation_is_refused() -> None:
    desk = empty_desk()
    desk.submit(application(1, benefit=extraordinary(DAY0 - timedelta(days=2))))
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    assert event.confirm_by is not None
    with pytest.raises(QueueError, match="closed"):
        desk.confirm_benefit(event.referral_id, event.confirm_by)


def test_twins_get_referrals_only_when_the_group_has_places_for_both() -> None:
    desk = empty_desk(siblings=True)
    desk.submit(application(1, serial=1))
    desk.submit(application(2, minutes=1, serial=2))  # the twin, same applicant
    desk.submit(application(3, minutes=2, born=date(2020, 1, 1)))
    assert desk.book.units(SALTANAT, RU_2020) == [("1", "2"), ("3",)]
    [event] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    assert event.number == "3"
    assert "2 twins without enough places" in event.reason
    both = issued(desk.free_place(SALTANAT, RU_2020, DAY0, count=2))
    assert sorted(e.number for e in both) == ["1", "2"]


def test_withdrawing_with_an_open_referral_frees_the_place_once() -> None:
    desk = empty_desk()
    desk.submit(application(1))
    desk.submit(application(2, minutes=1))
    [first] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    events = desk.withdraw("1", DAY0 + timedelta(hours=1))
    assert [e.kind for e in events] == [
        "referral_closed",
        "application_withdrawn",
        "referral_issued",
    ]
    assert desk.book.referral(first.referral_id).status is ReferralStatus.CANCELLED
    assert desk.book.free_places(SALTANAT, RU_2020) == 0
    assert desk.book.open_referral("2") is not None
    with pytest.raises(TransitionError):
        desk.withdraw("1", DAY0 + timedelta(hours=2))
    assert desk.book.free_places(SALTANAT, RU_2020) == 0


def test_children_at_the_age_limit_leave_with_an_event() -> None:
    desk = empty_desk()
    desk.submit(application(1, born=date(2020, 6, 23)))
    desk.submit(application(2, born=date(2020, 7, 1), serial=7))
    at = datetime(2026, 6, 23, 8, 0, tzinfo=KAZAKHSTAN)
    events = desk.advance(at)
    removed = [e for e in events if isinstance(e, ApplicationRemoved)]
    assert [e.number for e in removed] == ["1"]
    assert removed[0].reason == "child reached the age limit"
    assert desk.book.application("1").status is ApplicationStatus.REMOVED
    assert desk.book.application("2").status is ApplicationStatus.ACTIVE


def test_a_regional_policy_changes_the_windows() -> None:
    policy = KAZAKHSTAN_POLICY.amend(
        "stop_list_period", date(2024, 1, 1), Duration(0, "calendar_days"), source="a test"
    )
    desk = ReferralDesk(empty_desk().book, policy=policy)
    desk.submit(application(1))
    [first] = issued(desk.free_place(SALTANAT, RU_2020, DAY0))
    events = desk.decline(first.referral_id, DAY0 + timedelta(hours=1))
    assert not any(isinstance(e, StopListed) for e in events)
    assert [e.number for e in issued(events)] == ["1"]  # no stop list: first again


def test_a_batch_round_explains_every_outcome() -> None:
    desk = empty_desk(free=1)
    both = ((SALTANAT, Language.RUSSIAN), (KARLYGASH, Language.KAZAKH))
    desk.book.submit(application(1, choices=both))
    desk.book.submit(application(2, minutes=1, choices=both))
    desk.book.submit(application(3, minutes=2, desired=date(2025, 9, 1)))
    desk.book.free_place(KARLYGASH, KK_2020, DAY0)
    round_ = desk.allocate(DAY0)
    assert {r.application_number: r.organization_id for r in round_.referrals} == {
        "1": SALTANAT,
        "2": KARLYGASH,
    }
    assert [r.render() for r in round_.explain("1")] == [
        "Choice 1 (shakhtinsk-saltanat, 2020 ГР русский): referral, place 1 of 1",
        "Choice 2 (shakhtinsk-karlygash, 2020 ГР казахский): not needed, a preferred choice "
        "was given",
    ]
    assert [r.render() for r in round_.explain("2")] == [
        "Choice 1 (shakhtinsk-saltanat, 2020 ГР русский): all 1 place(s) went to applications "
        "ranked higher; the last one placed had no verified benefit and counts from "
        "04.02.2024 09:00",
        "Choice 2 (shakhtinsk-karlygash, 2020 ГР казахский): referral, place 1 of 1",
    ]
    assert [r.render("ru") for r in round_.explain("3")] == [
        "Ожидает желаемой даты направления 01.09.2025"
    ]
    assert round_.allocation.unfilled() == {}
    assert len(issued(round_.events)) == 2


def test_simulate_is_labelled_and_follows_the_queue() -> None:
    desk = empty_desk()
    for number in range(1, 6):
        desk.submit(application(number, minutes=number))
    forecast = simulate(desk.book, {(SALTANAT, RU_2020): 1.0}, 12, start=DAY0)
    months = [forecast[str(n)].month for n in range(1, 6)]
    assert months == [date(2024, m, 1) for m in (3, 4, 5, 6, 7)]
    assert all(e.label == "estimate, not a promise" for e in forecast.estimates.values())
    slow = simulate(desk.book, 0.0, 6, start=DAY0)
    assert all(e.month is None for e in slow.estimates.values())
    assert slow["1"].render().startswith("Estimate, not a promise: no place")
    late = simulate(desk.book, 1.0, 120, start=datetime(2026, 3, 1, tzinfo=KAZAKHSTAN))
    assert [late[n].month for n in "123"] == [date(2026, m, 1) for m in (4, 5, 6)]
    assert [late[n].ages_out for n in "45"] == [date(2026, 6, 23)] * 2
    assert "age limit (23.06.2026)" in late["5"].render()
    assert desk.book.queue(SALTANAT, RU_2020) == ["1", "2", "3", "4", "5"]  # unchanged


def test_a_place_nobody_may_take_yet_stays_free_in_the_forecast() -> None:
    desk = empty_desk(free=1)
    desk.book.submit(application(1, desired=date(2024, 5, 1)))
    forecast = simulate(desk.book, 0.0, 12, start=DAY0)
    assert forecast["1"].month == date(2024, 5, 1)
    assert forecast["1"].queue == (SALTANAT, RU_2020)


def test_forecast_arguments_are_checked() -> None:
    book = empty_desk().book
    with pytest.raises(AllocationError) as months:
        simulate(book, 1.0, 0, start=DAY0)
    assert months.value.code == "allocation.argument"
    with pytest.raises(AllocationError) as rate:
        simulate(book, -1.0, 3, start=DAY0)
    assert rate.value.code == "allocation.places"
    with pytest.raises(AllocationError) as unknown:
        simulate(book, {("nowhere", RU_2020): 1.0}, 3, start=DAY0)
    assert unknown.value.code == "allocation.unknown_queue"


@given(st.one_of(queue_books(), queue_books(ordering=RatioOrdering())), st.data())
def test_freed_places_go_to_the_first_in_line_who_may_take_them(
    book: QueueBook, data: st.DataObject
) -> None:
    desk = ReferralDesk(book)
    queue_id = data.draw(st.sampled_from(book.queue_ids()))
    at = data.draw(
        kazakhstan_datetimes(datetime(2022, 1, 1), datetime(2028, 12, 31))  # noqa: DTZ001
    )
    before = book.queue(*queue_id)
    free = book.free_places(*queue_id) + 1
    may_take = [n for n in before if desk.hold(n, at) is None]
    events = desk.free_place(*queue_id, at)
    assert [e.number for e in issued(events)] == may_take[:free]
    assert book.free_places(*queue_id) == free - len(may_take[:free])
    assert book.queue(*queue_id) == [n for n in before if n not in may_take[:free]]


@given(st.one_of(queue_books(), queue_books(ordering=RatioOrdering())), st.data())
def test_a_batch_round_passes_over_exactly_whom_referral_hold_holds(
    book: QueueBook, data: st.DataObject
) -> None:
    """The round works the day out once and the age rules once per birth date; its
    ``waiting`` is still :func:`referral_hold` of each application, one at a time."""
    desk = ReferralDesk(book)
    at = data.draw(
        kazakhstan_datetimes(datetime(2022, 1, 1), datetime(2028, 12, 31))  # noqa: DTZ001
    )
    values = KAZAKHSTAN_POLICY.at(at)
    standing = {n for q in book.queue_ids() for n in book.queue(*q)}
    holds = {n: referral_hold(book.application(n), at, values) for n in standing}
    round_ = desk.allocate(at)
    assert dict(round_.waiting) == {n: h for n, h in holds.items() if h is not None}
    assert set(round_.allocation.problem.choices) == {n for n, h in holds.items() if h is None}
    assert list(round_.waiting) == by_number(round_.waiting)


@given(st.one_of(queue_books(), queue_books(ordering=RatioOrdering())), st.data())
def test_a_batch_round_is_deferred_acceptance_however_the_desk_computes_it(
    book: QueueBook, data: st.DataObject
) -> None:
    """Under a common order the desk lists the choices in it and takes them in turn (serial
    dictatorship); otherwise it runs deferred acceptance. Either way: the stable allocation."""
    at = data.draw(
        kazakhstan_datetimes(datetime(2022, 1, 1), datetime(2028, 12, 31))  # noqa: DTZ001
    )
    common = book.common_order()
    round_ = ReferralDesk(book).allocate(at)
    problem = round_.allocation.problem
    listed = list(problem.choices)
    if common is None:
        assert listed == by_number(listed)
    else:
        assert listed == [n for n in common if n in problem.choices]
    assert list(round_.allocation.assignment.items()) == list(allocate(problem).assignment.items())


# --- a stateful test of the desk -------------------------------------------------------------


class DeskMachine(RuleBasedStateMachine):
    """Random submissions, freed places, answers and time; the desk must keep its promises.

    Invariants: places are conserved (free + open + used = initial + freed: nothing is freed
    twice); no free place waits while someone in its queue may take it; an open referral's
    application stands in no queue; no stop-listed application holds a referral issued
    during its stay.
    """

    def __init__(self) -> None:
        super().__init__()
        self.desk = empty_desk()
        self.now = DAY0
        self.submitted = 0
        self.freed: dict[tuple[str, GroupKey], int] = {}
        self.initial = {q: self.desk.book.free_places(*q) for q in self.desk.book.queue_ids()}
        self.log: list[QueueEvent] = []  # every event the desk returned, in order
        self.records: dict[str, Application] = {}  # as submitted, for the replay

    @rule(
        born=st.sampled_from([date(2020, 6, 23), date(2020, 11, 2), date(2022, 3, 1)]),
        orgs=st.sampled_from([(SALTANAT,), (KARLYGASH, SALTANAT), (SALTANAT, KARLYGASH)]),
        desired=st.sampled_from([None, None, date(2024, 3, 1)]),
        benefit=st.sampled_from([None, None, 1, 8]),
    )
    def submit(
        self, born: date, orgs: tuple[str, ...], desired: date | None, benefit: int | None
    ) -> None:
        self.submitted += 1
        claim = None
        if benefit is not None:
            claim = BenefitClaim(BenefitCategory(benefit), BenefitStatus.VERIFIED, DAY0, DAY0)
        app = application(
            self.submitted,
            born=born,
            choices=tuple((org, Language.RUSSIAN) for org in orgs),
            benefit=claim,
            desired=desired,
            serial=self.submitted,
        )
        app = attrs.evolve(app, submitted_at=self.now)
        self.records[app.number] = app
        self.log += self.desk.submit(app)

    @rule(
        org=st.sampled_from([SALTANAT, KARLYGASH]),
        key=st.sampled_from([RU_2020, GroupKey(2022, Language.RUSSIAN)]),
        count=st.integers(1, 2),
    )
    def free(self, org: str, key: GroupKey, count: int) -> None:
        queue_id = (org, key)
        if self.desk.book.free_places(*queue_id) > 0:
            return  # places are scarce: a group frees more only when it has none left
        self.log += self.desk.free_place(org, key, self.now, count)
        self.freed[queue_id] = self.freed.get(queue_id, 0) + count

    def _open(self) -> list[str]:
        return [r.id for r in self.desk.book.open_referrals()]

    @precondition(lambda self: self.desk.book.open_referrals())
    @rule(data=st.data())
    def use(self, data: st.DataObject) -> None:
        referral_id = data.draw(st.sampled_from(self._open()))
        if self.desk.confirmation_due(referral_id) is not None:
            self.log += self.desk.confirm_benefit(referral_id, self.now)
        self.log += self.desk.use(referral_id, self.now)

    @precondition(lambda self: self.desk.book.open_referrals())
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        self.log += self.desk.decline(data.draw(st.sampled_from(self._open())), self.now)

    @precondition(lambda self: self.desk.book.open_referrals())
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        referral = self.desk.book.referral(data.draw(st.sampled_from(self._open())))
        self.log += self.desk.withdraw(referral.application_number, self.now)

    @rule(hours=st.sampled_from([1, 30, 24 * 8, 24 * 40]))
    def wait(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.log += self.desk.advance(self.now)

    @invariant()
    def places_are_conserved(self) -> None:
        book = self.desk.book
        held: dict[tuple[str, GroupKey], int] = {}
        for referral in book.referrals():
            if referral.status in (ReferralStatus.ISSUED, ReferralStatus.USED):
                key = (referral.organization_id, referral.group)
                held[key] = held.get(key, 0) + 1
        for queue_id, initial in self.initial.items():
            total = book.free_places(*queue_id) + held.get(queue_id, 0)
            assert total == initial + self.freed.get(queue_id, 0), queue_id

    @invariant()
    def no_place_waits_for_someone_who_may_take_it(self) -> None:
        book = self.desk.book
        for queue_id in book.queue_ids():
            if book.free_places(*queue_id) == 0:
                continue
            for number in book.queue(*queue_id):
                assert self.desk.hold(number, self.now) is not None, (queue_id, number)

    @invariant()
    def replaying_the_events_rebuilds_the_same_book(self) -> None:
        live = self.desk.book
        replayed = empty_desk().book
        replayed.replay(self.log, self.records)
        for queue_id in live.queue_ids():
            assert replayed.queue(*queue_id) == live.queue(*queue_id), queue_id
            assert replayed.free_places(*queue_id) == live.free_places(*queue_id)
        for number in live.numbers():
            assert replayed.application(number) == live.application(number)
            if number in [n for q in live.queue_ids() for n in live.queue(*q)]:
                assert replayed.positions(number) == live.positions(number)
        assert replayed.referrals() == live.referrals()

    @invariant()
    def an_open_referral_stands_in_no_queue(self) -> None:
        book = self.desk.book
        for referral in book.open_referrals():
            number = referral.application_number
            assert book.application(number).status is ApplicationStatus.REFERRED
            assert all(number not in book.queue(*q) for q in book.queue_ids())


DeskMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestDesk = DeskMachine.TestCase


def test_every_kind_of_event_replays() -> None:
    desk = empty_desk(free=1)
    log: list[QueueEvent] = []
    both = ((SALTANAT, Language.RUSSIAN), (KARLYGASH, Language.KAZAKH))
    records = {
        "1": application(1, choices=both),
        "2": application(2, minutes=1),
        "3": application(3, minutes=2, born=date(2020, 7, 1), serial=3),
    }
    for record in records.values():
        log += desk.book.submit(record)
    at = DAY0 + timedelta(hours=1)
    log += desk.book.change_choices("2", [Choice(KARLYGASH, Language.KAZAKH)], at)
    claim = BenefitClaim(BenefitCategory(8), BenefitStatus.VERIFIED, at, at)
    log += desk.book.set_benefit("3", claim, at)
    log += desk.offer_all(at)  # the free place goes to 3, now first-priority
    referral = desk.book.open_referral("3")
    assert referral is not None
    log += desk.extend(referral.id, at, referral.deadline + timedelta(days=2))
    log += desk.decline(referral.id, at + timedelta(hours=1))
    log += desk.free_place(KARLYGASH, KK_2020, at + timedelta(hours=2), count=2)
    log += desk.book.remove("3", at + timedelta(hours=3), "child reached the age limit")
    kinds = {event.kind for event in log}
    assert {
        "application_submitted",
        "choices_changed",
        "benefit_changed",
        "referral_issued",
        "referral_extended",
        "referral_closed",
        "place_freed",
        "application_removed",
    } <= kinds
    replayed = empty_desk(free=1).book
    replayed.replay(log, records)
    for queue_id in desk.book.queue_ids():
        assert replayed.queue(*queue_id) == desk.book.queue(*queue_id)
        assert replayed.free_places(*queue_id) == desk.book.free_places(*queue_id)
    assert [replayed.application(n) for n in records] == [desk.book.application(n) for n in records]
    assert replayed.referrals() == desk.book.referrals()
    with pytest.raises(QueueError):
        empty_desk().book.replay(log[:1], {})
