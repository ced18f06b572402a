"""The replay is whole (issue 16, item 6): a locality that opens an organization or changes a
group's capacity or free places records it in the log, so a replay, a restart and another
process give the same queues and free places as the live book."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edqueue import KAZAKHSTAN, EdqueueError, Group, GroupKey, Language
from edqueue.adapters.memory_store import MemoryDrafts
from edqueue.adapters.sqlite import SqliteStore
from edqueue.journal import rebuild_desk
from edqueue.models import Application, Organization, OrganizationName, Referral
from edqueue.rules import QueueBook
from edqueue.rules.events import OrganizationChanged, QueueEvent
from edqueue.sample import neighbour_applications, seed_application, shakhtinsk_organizations
from edqueue.service import ApplicationService
from edqueue.testing.world import seed_ports

NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
SALTANAT, KARLYGASH = shakhtinsk_organizations()
RU_2020 = GroupKey(2020, Language.RUSSIAN)


def with_group(organization: Organization, key: GroupKey, capacity: int, free: int) -> Organization:
    """``organization`` with the group ``key`` set to ``capacity`` and ``free`` places."""
    groups = [g for g in organization.groups if g.key != key]
    return attrs.evolve(organization, groups=[*groups, Group(key, capacity, free)])


def opened(number: int) -> Organization:
    """A new kindergarten of Shakhtinsk, with one group of 2020 in Russian."""
    return attrs.evolve(
        KARLYGASH,
        id=f"shakhtinsk-new-{number}",
        name=OrganizationName(f"Ясли-сад № {number}"),
        groups=[Group(RU_2020, 20, 3)],
    )


def standing(book: QueueBook) -> object:
    """Everything a reader sees of a book: organizations, queues, free places, referrals."""
    return (
        dict(book.organizations),
        {q: (book.queue(*q), book.free_places(*q)) for q in book.queue_ids()},
        book.referrals(),
    )


# --- the book ---------------------------------------------------------------------------------


def test_a_new_organization_opens_its_queues() -> None:
    book = QueueBook([SALTANAT, KARLYGASH])
    new = opened(1)
    [event] = book.declare_organization(new, NOW)
    assert isinstance(event, OrganizationChanged)
    assert event.organization == new
    assert event.reason == "organization opened"
    assert book.organizations[new.id] == new
    assert book.free_places(new.id, RU_2020) == 3
    assert book.queue(new.id, RU_2020) == []


def test_free_places_count_from_the_previous_record() -> None:
    book = QueueBook([SALTANAT, KARLYGASH])
    book.submit(seed_application())
    book.declare_organization(SALTANAT, NOW)  # the first record the log holds
    assert book.free_places(SALTANAT.id, RU_2020) == 2
    book.issue_referral(_referral(book))
    assert book.free_places(SALTANAT.id, RU_2020) == 1
    # the locality now says 5 free places where its record said 2: 3 more, whatever was taken
    book.declare_organization(with_group(SALTANAT, RU_2020, 30, 5), NOW + timedelta(hours=1))
    assert book.free_places(SALTANAT.id, RU_2020) == 4


def test_the_same_record_again_is_no_event() -> None:
    book = QueueBook([SALTANAT])
    assert len(book.declare_organization(SALTANAT, NOW)) == 1  # the first time: the log's
    assert book.declare_organization(SALTANAT, NOW) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (attrs.evolve(SALTANAT, groups=SALTANAT.groups[1:]), "lose its groups"),
        (with_group(SALTANAT, RU_2020, 1, 0), "free places"),
    ],
)
def test_a_record_that_cannot_be_is_refused_and_changes_nothing(
    change: Organization, why: str
) -> None:
    book = QueueBook([SALTANAT, KARLYGASH])
    book.declare_organization(SALTANAT, NOW)
    book.submit(seed_application())
    book.issue_referral(_referral(book))
    book.issue_referral(_referral(book, neighbour_applications()[0]))
    before = standing(book)  # 2 taken of 2: a record of 0 free of 1 would leave -2
    with pytest.raises(EdqueueError) as caught:
        book.declare_organization(change, NOW)
    assert caught.value.code == "queue.invalid_operation"
    assert why in str(caught.value)
    assert standing(book) == before


def _referral(book: QueueBook, application: Application | None = None) -> Referral:
    """A referral to Saltanat's 2020 Russian group for ``application`` (the seed's), which
    is submitted first if the book does not hold it."""
    application = seed_application() if application is None else application
    if application.number not in book:
        book.submit(application)
    return Referral(
        id=f"R-{application.number}",
        application_number=application.number,
        organization_id=SALTANAT.id,
        group=RU_2020,
        issued_at=NOW,
        deadline=NOW + timedelta(days=5),
    )


changes = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.integers(1, 3)),
        st.tuples(st.just("places"), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.just("submit"), st.integers(0, 3)),
        st.tuples(st.just("refer"), st.integers(0, 3)),
        st.tuples(st.just("free"), st.integers(1, 2)),
    ),
    max_size=25,
)


@settings(max_examples=60)
@given(changes)
def test_a_replay_after_organization_changes_equals_the_live_book(
    steps: list[tuple[object, ...]],
) -> None:
    """Any mix of openings, changes of places, submissions, referrals and freed places: the
    events replayed onto a book built with the first organizations give the live book."""
    live = QueueBook([SALTANAT, KARLYGASH])
    events: list[QueueEvent] = []
    applications = [seed_application(), *neighbour_applications()]
    submitted = {a.number: a for a in applications}
    at = NOW
    for step in steps:
        at += timedelta(minutes=1)
        try:
            if step[0] == "open":
                events += live.declare_organization(opened(step[1]), at)
            elif step[0] == "places":
                record = live.organizations[SALTANAT.id]
                group = record.group(RU_2020)
                assert group is not None
                capacity = group.capacity + step[1]
                free = min(capacity, group.free_places + step[2])
                events += live.declare_organization(with_group(record, RU_2020, capacity, free), at)
            elif step[0] == "submit":
                application = applications[int(step[1])]  # type: ignore[call-overload]
                if application.number not in live:
                    events += live.submit(application)
            elif step[0] == "refer":
                application = applications[step[1]]
                if application.number in live:
                    referral = _referral(live, application)
                    events += live.issue_referral(attrs.evolve(referral, issued_at=at))
            else:
                events += live.free_place(SALTANAT.id, RU_2020, at, step[1])
        except EdqueueError:
            continue  # refused, nothing changed
    replayed = QueueBook([SALTANAT, KARLYGASH])
    replayed.replay(events, submitted)
    assert standing(replayed) == standing(live)


# --- the service: restarts and other processes --------------------------------------------


def service_over(store: SqliteStore, organizations: list[Organization]) -> ApplicationService:
    ports = seed_ports(NOW)
    return ports.service(store, MemoryDrafts(), organizations=organizations)


def test_a_restart_with_changed_organizations_logs_the_change_and_replays_to_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "queue.sqlite"
    with SqliteStore(path) as store:
        first = service_over(store, [SALTANAT, KARLYGASH])
        kinds = [r.kind for r in store.events()]
        assert kinds == ["organization_changed", "organization_changed"]  # the genesis
        assert first.book.free_places(SALTANAT.id, RU_2020) == 2
    changed = [with_group(SALTANAT, RU_2020, 30, 6), KARLYGASH, opened(1)]
    with SqliteStore(path) as store:
        second = service_over(store, changed)
        assert [r.kind for r in store.events()][2:] == ["organization_changed"] * 2
        assert second.book.free_places(SALTANAT.id, RU_2020) == 6
        assert second.book.organizations[opened(1).id] == opened(1)
        live = standing(second.book)
    with SqliteStore(path) as store:
        third = service_over(store, changed)
        assert len(store.events()) == 4  # nothing new to log
        assert standing(third.book) == live
        rebuilt = rebuild_desk(store, [SALTANAT, KARLYGASH])
        assert standing(rebuilt.book) == live


def test_a_running_process_takes_in_what_another_one_declared(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite"
    with SqliteStore(path) as one, SqliteStore(path) as two:
        running = service_over(one, [SALTANAT, KARLYGASH])
        assert running.book.free_places(SALTANAT.id, RU_2020) == 2
        service_over(two, [with_group(SALTANAT, RU_2020, 25, 4), KARLYGASH, opened(2)])
        assert running.book.free_places(SALTANAT.id, RU_2020) == 4
        assert opened(2).id in running.book.organizations


def test_the_service_declares_through_its_desk(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "queue.sqlite") as store:
        service = service_over(store, [SALTANAT, KARLYGASH])
        [event] = service.declare_organizations([opened(3), KARLYGASH])
        assert isinstance(event, OrganizationChanged)
        assert store.events()[-1].data["actor"] == "locality"
        assert service.book.free_places(opened(3).id, RU_2020) == 3


# --- the ordering a region's dated policy asks for --------------------------------------------


def test_the_service_orders_as_the_regions_policy_says_from_its_date() -> None:
    from datetime import date

    from edqueue.rules import KAZAKHSTAN_POLICY, RatioOrdering, StandardOrdering
    from edqueue.service import LocalityConfig

    astana = KAZAKHSTAN_POLICY.amend(
        "first_priority_ratio_general", date(2025, 1, 1), 3, source="Astana (example)"
    )
    config = LocalityConfig(
        organizations=[SALTANAT, KARLYGASH], authority="x", locality="y", policy=astana
    )
    assert config.queue_ordering(date(2024, 12, 31)) == StandardOrdering()
    assert config.queue_ordering(date(2025, 1, 1)) == RatioOrdering(1, 3)
    given_one = attrs.evolve(config, ordering=RatioOrdering(1, 2))
    assert given_one.queue_ordering(date(2025, 1, 1)) == RatioOrdering(1, 2)
    ports = seed_ports(datetime(2025, 2, 1, 10, tzinfo=KAZAKHSTAN))
    with SqliteStore(":memory:") as store:
        service = ports.service(store, MemoryDrafts(), policy=astana)
        assert service.book.ordering == RatioOrdering(1, 3)
