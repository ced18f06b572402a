"""QueueBook: a stateful test against a plain sorted-list model, and examples of each command."""

from datetime import date, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from edqueue import (
    KAZAKHSTAN,
    Application,
    ApplicationStatus,
    BenefitClaim,
    BenefitStatus,
    Choice,
    Group,
    GroupKey,
    Iin,
    Language,
    Organization,
    OrganizationName,
    QueueError,
    QueueKind,
    Referral,
    Tier,
)
from edqueue.rules import BenefitTime, QueueBook, RatioOrdering, StandardOrdering, diff, rank
from edqueue.rules import _index as index_module
from edqueue.rules import queue as queue_module
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.testing import applications, benefit_claims, queue_books
from tests import rules_reference as ref

IDS = ("org-1", "org-2", "org-3")
YEARS = (2021, 2022)
T0 = datetime(2026, 1, 10, 9, 0, tzinfo=KAZAKHSTAN)


def universe() -> list[Organization]:
    groups = [
        Group(GroupKey(year, language, kind), capacity=3, free_places=0)
        for year in YEARS
        for language in (Language.RUSSIAN, Language.KAZAKH)
        for kind in QueueKind
    ]
    return [
        Organization(
            id=i,
            name=OrganizationName(f"Ясли-сад {i}"),
            ownership="state",
            locality="г. Шахтинск",
            address=f"г. Шахтинск, {i}",
            groups=groups,
        )
        for i in IDS
    ]


class QueueBookMachine(RuleBasedStateMachine):
    """Random commands on a QueueBook; every position must equal the plain model's."""

    ordering = StandardOrdering()

    def __init__(self) -> None:
        super().__init__()
        self.book = QueueBook(universe(), ordering=self.ordering)
        self.model: dict[str, Application] = {}
        self.free = {(o.id, g.key): 0 for o in universe() for g in o.groups}
        self.open_referrals: dict[str, Referral] = {}
        self.next_number = 1
        self.clock = T0

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def reference(self, queue_id) -> list[str]:
        members = [
            a
            for a in self.model.values()
            if a.status is ApplicationStatus.ACTIVE and queue_id in a.group_keys
        ]
        if isinstance(self.ordering, RatioOrdering):
            return ref.ratio_order(members, self.ordering.first_priority, self.ordering.general)
        return ref.standard_order(members)

    def active(self) -> list[str]:
        return sorted(n for n, a in self.model.items() if a.status is ApplicationStatus.ACTIVE)

    @rule(data=st.data())
    def submit(self, data) -> None:
        application = data.draw(
            applications(organization_ids=IDS, numbers=st.just(self.next_number), birth_years=YEARS)
        )
        self.next_number += 1
        self.book.submit(application)
        self.model[application.number] = application

    @precondition(lambda self: self.active())
    @rule(data=st.data())
    def withdraw(self, data) -> None:
        number = data.draw(st.sampled_from(self.active()))
        events = self.book.withdraw(number, self.tick())
        assert events[0].kind == "application_withdrawn"
        self.model[number] = self.model[number].with_status(ApplicationStatus.WITHDRAWN)

    @precondition(lambda self: self.active())
    @rule(data=st.data())
    def change_choices(self, data) -> None:
        number = data.draw(st.sampled_from(self.active()))
        ids = data.draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True))
        choices = [Choice(i, data.draw(st.sampled_from(["ru", "kk"]))) for i in ids]
        self.book.change_choices(number, choices, self.tick())
        self.model[number] = attrs.evolve(self.model[number], choices=choices)

    @precondition(lambda self: self.active())
    @rule(data=st.data())
    def set_benefit(self, data) -> None:
        number = data.draw(st.sampled_from(self.active()))
        claim = data.draw(st.none() | benefit_claims())
        event = self.book.set_benefit(number, claim, self.tick())[0]
        self.model[number] = attrs.evolve(self.model[number], benefit=claim)
        assert event.tier_after is self.model[number].tier

    @rule(data=st.data())
    def free_place(self, data) -> None:
        queue_id = data.draw(st.sampled_from(sorted(self.free)))
        if self.free[queue_id] >= 3:
            with pytest.raises(QueueError):
                self.book.free_place(*queue_id, self.tick())
            return
        self.book.free_place(*queue_id, self.tick())
        self.free[queue_id] += 1

    @rule(data=st.data())
    def issue_referral(self, data) -> None:
        candidates = [q for q, free in self.free.items() if free and self.reference(q)]
        if not candidates:
            return
        queue_id = data.draw(st.sampled_from(sorted(candidates)))
        number = self.reference(queue_id)[0]
        at = self.tick()
        referral = Referral(
            id=f"r-{number}-{at:%H%M%S}",
            application_number=number,
            organization_id=queue_id[0],
            group=queue_id[1],
            issued_at=at,
            deadline=at + timedelta(days=5),
        )
        self.book.issue_referral(referral)
        self.free[queue_id] -= 1
        self.open_referrals[referral.id] = referral
        self.model[number] = self.model[number].with_status(ApplicationStatus.REFERRED)

    @precondition(lambda self: self.open_referrals)
    @rule(data=st.data(), outcome=st.sampled_from(["use", "decline", "expire"]))
    def close_referral(self, data, outcome: str) -> None:
        referral_id = data.draw(st.sampled_from(sorted(self.open_referrals)))
        referral = self.open_referrals.pop(referral_id)
        queue_id = (referral.organization_id, referral.group)
        number = referral.application_number
        if outcome == "use":
            self.book.use_referral(referral_id, self.tick())
            self.model[number] = self.model[number].with_status(ApplicationStatus.ENROLLED)
        else:
            at = max(self.tick(), referral.deadline)
            closing = (
                self.book.decline_referral if outcome == "decline" else self.book.expire_referral
            )
            closing(referral_id, at)
            self.free[queue_id] += 1
            self.model[number] = self.model[number].with_status(ApplicationStatus.ACTIVE)

    @invariant()
    def every_position_matches_the_model(self) -> None:
        for queue_id in self.book.queue_ids():
            expected = self.reference(queue_id)
            assert self.book.queue(*queue_id) == expected
            assert self.book.length(*queue_id) == len(expected)
            assert self.book.free_places(*queue_id) == self.free[queue_id]
            for index, number in enumerate(expected):
                position = self.book.position(number, queue_id[0])
                assert position.position == index + 1
                assert position.position == 1 + sum(position.ahead.values())
                assert position.length == len(expected)

    @invariant()
    def inactive_applications_stand_nowhere(self) -> None:
        for number, application in self.model.items():
            if application.status is not ApplicationStatus.ACTIVE:
                with pytest.raises(QueueError) as caught:
                    self.book.positions(number)
                assert caught.value.code == "queue.not_in_queue"


class RatioQueueBookMachine(QueueBookMachine):
    ordering = RatioOrdering()


class LongTierQueueBookMachine(QueueBookMachine):
    """The same commands with tiers that outgrow a plain list after one member, so that
    every tier also runs as a ``SortedList`` (a national queue's long tiers do)."""

    def __init__(self) -> None:
        self.small = index_module._SMALL
        index_module._SMALL = 1
        super().__init__()

    def teardown(self) -> None:
        index_module._SMALL = self.small

    @invariant()
    def plain_lists_stay_short(self) -> None:
        for queue in self.book._index._queues.values():
            for members in queue.tiers.values():
                assert type(members) is not list or len(members) <= 1


TestQueueBook = QueueBookMachine.TestCase
TestQueueBook.settings = settings(stateful_step_count=25, deadline=None)
TestRatioQueueBook = RatioQueueBookMachine.TestCase
TestRatioQueueBook.settings = settings(stateful_step_count=25, deadline=None)
TestLongTierQueueBook = LongTierQueueBookMachine.TestCase
TestLongTierQueueBook.settings = settings(stateful_step_count=25, deadline=None)


# --- examples -------------------------------------------------------------------------

SALTANAT = "shakhtinsk-saltanat"
RU_2020 = GroupKey(2020, "ru")


def seed_book(**options) -> QueueBook:
    book = QueueBook(shakhtinsk_organizations(), **options)
    book.submit(seed_application())
    return book


def another(number: int, minutes: int, **changes) -> Application:
    base = seed_application()
    return attrs.evolve(
        base, number=number, submitted_at=base.submitted_at + timedelta(minutes=minutes), **changes
    )


def test_the_seed_application_stands_first_in_both_queues() -> None:
    book = seed_book()
    positions = book.positions("1292583")
    assert [(p.organization_id, p.group.label_ru, p.position) for p in positions] == [
        ("shakhtinsk-saltanat", "2020 ГР русский", 1),
        ("shakhtinsk-karlygash", "2020 ГР казахский", 1),
    ]


def test_explain_names_the_tiers_ahead_and_the_rule() -> None:
    book = seed_book()
    verified = BenefitClaim(2, BenefitStatus.VERIFIED, T0, T0)
    book.submit(another(1292590, 60, benefit=verified))
    explanation = book.explain("1292583", SALTANAT)
    assert explanation.position == 2
    assert explanation.ahead[Tier.EXTRAORDINARY] == 1
    lines = explanation.render("en")
    assert lines[0] == "Position 2 of 2"
    assert "1 application(s) with a verified extraordinary benefit stand ahead" in lines
    assert any(line.startswith("Your tier (no verified benefit) starts") for line in lines)
    assert explanation.render("ru")[0] == "Позиция 2 из 2"


def test_diff_says_who_joined_and_who_left_ahead() -> None:
    book = seed_book()
    book.submit(another(1, -60))
    book.submit(another(2, -30))
    before = book.snapshot(SALTANAT, RU_2020, T0)
    assert before.position("1292583") == 3
    book.withdraw("1", T0)
    verified = BenefitClaim(1, BenefitStatus.VERIFIED, T0, T0)
    book.submit(another(3, 120, benefit=verified))
    book.submit(another(4, 130, benefit=verified))
    after = book.snapshot(SALTANAT, RU_2020, T0)
    change = diff(before, after, "1292583")
    assert (change.before, change.after) == (3, 4)
    assert change.moved == -1
    assert change.render("en") == [
        "2 application(s) with a verified extraordinary benefit were added ahead",
        "1 application(s) ahead were withdrawn",
    ]


def test_siblings_born_within_a_month_stand_together_when_asked() -> None:
    base = seed_application()
    prefix = base.child.iin.reveal()[:7]
    serial = next(
        f"{n:04d}" for n in range(2, 10_000) if Iin.check_digit(f"{prefix}{n:04d}") is not None
    )
    twin_iin = f"{prefix}{serial}{Iin.check_digit(prefix + serial)}"
    twin = attrs.evolve(base.child, iin=twin_iin)
    first = another(10, 0)
    other_family = another(11, 30, applicant=attrs.evolve(base.applicant, iin="881120400013"))
    second = another(12, 60, child=twin)
    for keep, expected in [(False, ["10", "11", "12"]), (True, ["10", "12", "11"])]:
        book = QueueBook(shakhtinsk_organizations(), keep_siblings_together=keep)
        for application in (first, other_family, second):
            book.submit(application)
        assert book.queue(SALTANAT, RU_2020) == expected
    book.withdraw("10", T0)
    assert book.queue(SALTANAT, RU_2020) == ["11", "12"]


def test_the_sibling_window_is_a_parameter_with_the_policys_default() -> None:
    from edqueue.models.identity import Sex
    from edqueue.rules import KAZAKHSTAN_POLICY
    from edqueue.testing import iin_prefix

    base = seed_application()
    born = base.child.birth_date + timedelta(weeks=6)  # a month and a half apart
    prefix = iin_prefix(born, Sex.MALE)
    serial = next(
        f"{n:04d}" for n in range(2, 10_000) if Iin.check_digit(f"{prefix}{n:04d}") is not None
    )
    sibling = attrs.evolve(
        base.child, iin=f"{prefix}{serial}{Iin.check_digit(prefix + serial)}", birth_date=born
    )
    first = another(10, 0)
    other_family = another(11, 30, applicant=attrs.evolve(base.applicant, iin="881120400013"))
    second = another(12, 60, child=sibling)
    default = KAZAKHSTAN_POLICY.at(T0).sibling_window_months
    assert default == 1
    for months, expected in [(default, ["10", "11", "12"]), (2, ["10", "12", "11"])]:
        book = QueueBook(
            shakhtinsk_organizations(), keep_siblings_together=True, sibling_window_months=months
        )
        for application in (first, other_family, second):
            book.submit(application)
        assert book.queue(SALTANAT, RU_2020) == expected


def test_a_failed_command_changes_nothing() -> None:
    book = seed_book()
    before = book.snapshot(SALTANAT, RU_2020, T0)
    with pytest.raises(QueueError) as caught:
        book.change_choices("1292583", [Choice("no-such-org", "ru")], T0)
    assert caught.value.code == "queue.unknown_queue"
    with pytest.raises(QueueError) as caught:
        book.submit(seed_application())
    assert caught.value.code == "queue.duplicate_number"
    with pytest.raises(QueueError) as caught:
        book.issue_referral(
            Referral(
                id="r-1",
                application_number="1292583",
                organization_id=SALTANAT,
                group=GroupKey(2021, "ru"),
                issued_at=T0,
                deadline=T0 + timedelta(days=5),
            )
        )
    assert caught.value.code == "queue.not_in_queue"
    assert book.snapshot(SALTANAT, RU_2020, T0) == before
    assert book.application("1292583") == seed_application()


def test_referral_round_trip_frees_nothing_twice() -> None:
    book = seed_book()
    assert book.free_places(SALTANAT, RU_2020) == 2
    referral = Referral(
        id="r-1",
        application_number="1292583",
        organization_id=SALTANAT,
        group=RU_2020,
        issued_at=T0,
        deadline=T0 + timedelta(days=5),
    )
    assert book.issue_referral(referral)[0].kind == "referral_issued"
    assert book.free_places(SALTANAT, RU_2020) == 1
    with pytest.raises(QueueError):
        book.withdraw("1292583", T0)  # the open referral must be closed first
    closed = book.decline_referral("r-1", T0 + timedelta(days=1))
    assert closed[0].outcome == "declined"
    assert book.free_places(SALTANAT, RU_2020) == 2
    assert book.positions("1292583")[0].position == 1
    with pytest.raises(Exception):  # noqa: B017, PT011 - any EdqueueError: already closed
        book.decline_referral("r-1", T0 + timedelta(days=2))
    assert book.free_places(SALTANAT, RU_2020) == 2


def test_children_who_reach_the_age_limit_leave_with_an_event() -> None:
    book = seed_book()
    book.submit(another(5, 10, child=attrs.evolve(seed_application().child)))
    events = book.remove_aged_out(
        lambda born: date(born.year + 6, born.month, born.day), T0.replace(year=2026, month=7)
    )
    assert [e.number for e in events] == ["5", "1292583"]
    assert all(e.kind == "application_removed" for e in events)
    assert book.length(SALTANAT, RU_2020) == 0


@given(st.data())
def test_generated_books_agree_with_the_reference(data) -> None:
    ordering = data.draw(st.sampled_from([StandardOrdering(), RatioOrdering()]))
    book = data.draw(queue_books(ordering=ordering))
    applications_ = [book.application(n) for n in book.numbers()]
    for queue_id in book.queue_ids():
        members = [
            a
            for a in applications_
            if a.status is ApplicationStatus.ACTIVE and queue_id in a.group_keys
        ]
        expected = (
            ref.ratio_order(members)
            if isinstance(ordering, RatioOrdering)
            else ref.standard_order(members)
        )
        assert book.queue(*queue_id) == expected
        assert [a.number for a in rank(members, ordering)] == expected
        for index, number in enumerate(expected):
            assert book.position(number, queue_id[0]).position == index + 1


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_reason_code_renders_a_whole_sentence(language: str) -> None:
    from edqueue.rules.explain import _TEMPLATES, Reason

    params = {
        "position": 2,
        "length": 5,
        "count": 3,
        "tier": 1,
        "before": 3,
        "after": 2,
        "since": "05.02.2024 10:15:00",
        "name": "standard",
        "status": "withdrawn",
        "choice": 1,
        "organization": "shakhtinsk-saltanat",
        "group": "2020 ГР русский",
        "places": 25,
        "rank": 3,
        "date": "01.09.2026",
        "until": "16.02.2024 00:00",
        "basis": "birth",
    }
    for code in _TEMPLATES:
        text = Reason(code, params).render(language)
        assert text
        assert "{" not in text
        assert text != code
    assert Reason("no.such.code").render(language) == "no.such.code"


def _standing(book: QueueBook) -> dict[object, object]:
    """Everything a reader can see of a book: every queue in order with its tiers and free
    places, every position of every application, every status."""
    seen: dict[object, object] = {}
    for queue_id in book.queue_ids():
        seen[queue_id] = (
            book.queue(*queue_id),
            book.tiers(*queue_id),
            book.free_places(*queue_id),
            book.length(*queue_id),
            book.units(*queue_id),
        )
    for number in book.numbers():
        application = book.application(number)
        seen[number] = (
            application,
            book.positions(number) if application.status is ApplicationStatus.ACTIVE else None,
        )
    return seen


@given(st.data())
def test_building_at_once_gives_the_book_of_one_by_one_submissions(data) -> None:
    ordering = data.draw(st.sampled_from([StandardOrdering(), RatioOrdering()]))
    siblings = data.draw(st.booleans())
    book = data.draw(
        queue_books(ordering=ordering, keep_siblings_together=siblings, max_applications=30)
    )
    applications_ = [book.application(n) for n in book.numbers()]
    data.draw(st.randoms(use_true_random=False)).shuffle(applications_)
    # the national case too: tiers too long for a plain list become SortedLists
    small, index_module._SMALL = index_module._SMALL, data.draw(st.sampled_from([1, 2048]))
    try:
        built = QueueBook.build(
            book.organizations.values(),
            applications_,
            ordering=ordering,
            keep_siblings_together=siblings,
        )
    finally:
        index_module._SMALL = small
    assert _standing(built) == _standing(book)
    for queue_id in book.queue_ids():
        at = datetime(2026, 1, 1, tzinfo=KAZAKHSTAN)
        assert built.snapshot(*queue_id, at) == book.snapshot(*queue_id, at)


def test_building_refuses_a_number_twice_and_an_unknown_group() -> None:
    with pytest.raises(QueueError) as caught:
        QueueBook.build(shakhtinsk_organizations(), [seed_application(), seed_application()])
    assert caught.value.code == "queue.duplicate_number"
    stranger = attrs.evolve(seed_application(), choices=(Choice("no-such-org", "ru"),))
    with pytest.raises(QueueError) as caught:
        QueueBook.build(shakhtinsk_organizations(), [stranger])
    assert caught.value.code == "queue.unknown_queue"


@given(st.data())
def test_every_standard_queue_follows_the_books_priority_order(data) -> None:
    book = data.draw(queue_books(ordering=StandardOrdering(), max_applications=30))
    order = book.priority_order()
    standing = {n for q in book.queue_ids() for n in book.queue(*q)}
    assert sorted(order) == sorted(standing)
    at = {number: index for index, number in enumerate(order)}
    for queue_id in book.queue_ids():
        ranks = [at[number] for number in book.queue(*queue_id)]
        assert ranks == sorted(ranks)


@given(st.data())
def test_a_common_order_is_given_only_where_every_queue_follows_it(data) -> None:
    ordering = data.draw(st.sampled_from([StandardOrdering(), RatioOrdering()]))
    siblings = data.draw(st.booleans())
    book = data.draw(
        queue_books(ordering=ordering, keep_siblings_together=siblings, max_applications=30)
    )
    common = book.common_order()
    if siblings or isinstance(ordering, RatioOrdering):
        assert common is None
        return
    assert common == book.priority_order()


@given(st.data())
def test_queues_gives_every_queue_with_members_in_order(data) -> None:
    ordering = data.draw(st.sampled_from([StandardOrdering(), RatioOrdering()]))
    siblings = data.draw(st.booleans())
    book = data.draw(queue_books(ordering=ordering, keep_siblings_together=siblings))
    expected = [(q, book.queue(*q)) for q in book.queue_ids() if book.queue(*q)]
    assert list(book.queues()) == expected


@given(st.data())
def test_ranked_queues_from_entries_alone_are_the_built_books_queues(data) -> None:
    """What ``edqueue rank`` writes without keeping the records equals the book's queues."""
    ordering = data.draw(
        st.sampled_from(
            [
                StandardOrdering(),
                StandardOrdering(benefit_time=BenefitTime.VERIFICATION),
                RatioOrdering(),
            ]
        )
    )
    crowded = data.draw(st.booleans())  # one organization, one birth year: long queues
    book = data.draw(
        queue_books(
            ordering=ordering,
            max_applications=40,
            max_organizations=1 if crowded else 3,
            birth_years=(2021,) if crowded else (2021, 2022),
        )
    )
    organizations = list(book.organizations.values())
    verified = benefit_claims(statuses=(BenefitStatus.VERIFIED,))
    records = [  # half with a verified benefit: the tiers mix, and RatioOrdering interleaves
        book.application(n).replace(benefit=data.draw(verified))
        if data.draw(st.booleans())
        else book.application(n)
        for n in book.numbers()
    ]
    active = [a for a in records if a.status is ApplicationStatus.ACTIVE]
    entries = [(queue_module.queue_entry(a, ordering), a.group_keys) for a in active]
    built = QueueBook.build(organizations, records, ordering=ordering)
    ranked = list(queue_module.ranked_queues(organizations, entries, ordering))
    assert ranked == list(built.queues())
    assert sum(len(numbers) for _, numbers in ranked) == sum(len(a.group_keys) for a in active)


def test_ranked_queues_refuse_what_the_book_refuses() -> None:
    organizations = shakhtinsk_organizations()
    stranger = attrs.evolve(seed_application(), choices=(Choice("no-such-org", "ru"),))
    entry = queue_module.queue_entry(stranger, StandardOrdering())
    with pytest.raises(QueueError) as caught:
        list(queue_module.ranked_queues(organizations, [(entry, stranger.group_keys)]))
    assert caught.value.code == "queue.unknown_queue"
    with pytest.raises(QueueError) as caught:
        list(queue_module.ranked_queues([*organizations, organizations[0]], []))
    assert caught.value.code == "queue.invalid_operation"


def test_an_organization_without_groups_is_known_to_the_book() -> None:
    """It has no queue to stand in, but the book knows it, as it knows the others."""
    empty = attrs.evolve(shakhtinsk_organizations()[0], id="no-groups-yet", groups=())
    book = QueueBook([*shakhtinsk_organizations(), empty])
    assert book.organizations["no-groups-yet"] == empty
    assert not [q for q in book.queue_ids() if q[0] == "no-groups-yet"]
