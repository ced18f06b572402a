"""Many processes on one store (issue 17): a desk decision made on a stale view of the queues
is refused by the store (``log_head``) and decided again after catching up, never applied, so
no free place is referred twice and the store stays loadable by every process.

Before: two desk processes on one SQLite file both issued referral ``R-1`` to #1292583 in 3
of 4 runs, and afterwards every process failed at construction with
``queue.invalid_operation: referral 'R-1' is already recorded``."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edqueue import Consent, EdqueueError, GroupKey, Language, StorageError
from edqueue.adapters.sqlite import SqliteStore
from edqueue.audit import verify_audit_log
from edqueue.journal import rebuild_desk
from edqueue.ports import EventRecord
from edqueue.sample import shakhtinsk_organizations
from edqueue.service import ApplicationService
from edqueue.service.projection import DECISIONS
from tests.test_journal import CHOICES, NOW, city_ports, submit

ORGANIZATIONS = shakhtinsk_organizations()
SALTANAT_2020_RU = ("shakhtinsk-saltanat", GroupKey(2020, Language.RUSSIAN))
"""The group with 2 free places; the families 0, 1, 4, 5, ... have children born in 2020."""


def service_over(store: Any, families: int = 6) -> tuple[Any, Any, ApplicationService]:
    ports, made = city_ports(families)
    return ports, made, ports.service(store, store, numbers=store)


class Interleaved(SqliteStore):
    """A store whose next guarded write first lets another process decide (``before``)."""

    before: Any = None

    def _race(self) -> None:
        before, self.before = self.before, None
        if before is not None:
            before()

    def add(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("log_head") is not None:
            self._race()
        return super().add(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("log_head") is not None:
            self._race()
        return super().update(*args, **kwargs)

    def append(self, *args: Any, **kwargs: Any) -> list[EventRecord]:
        if kwargs.get("log_head") is not None:
            self._race()
        return super().append(*args, **kwargs)


def test_a_desk_that_decided_on_a_stale_view_decides_again_and_gives_no_place_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "queue.sqlite3"
    with SqliteStore(path) as first_store, Interleaved(path) as second_store:
        ports, families, first = service_over(first_store)
        numbers = [submit(first, ports, family, CHOICES[0]) for family in families[:3]]
        _, _, second = service_over(second_store)
        assert second.book.free_places(*SALTANAT_2020_RU) == 2
        # the second desk decides on its view; just before its write, the first desk gives
        # both free places away
        second_store.before = first.offer_all
        issued = second.offer_all()
        assert issued == []  # decided again after catching up: nothing left to give
        referrals = [r for r in first_store.events() if r.kind == "referral_issued"]
        assert len(referrals) == 2
        assert len({r.data["referral_id"] for r in referrals}) == 2
        assert {r.number for r in referrals} == set(numbers[:2])
        for service in (first, second):
            assert [r.application_number for r in service.book.open_referrals()] == numbers[:2]
            assert service.book.free_places(*SALTANAT_2020_RU) == 0
    with SqliteStore(path) as reopened:
        rebuilt = rebuild_desk(reopened, ORGANIZATIONS)
        assert len(rebuilt.book.open_referrals()) == 2
        assert verify_audit_log(reopened.events()).ok


def test_a_view_that_stays_stale_gives_up_with_a_conflict(tmp_path: Path) -> None:
    """Another process writes before every attempt: after DECISIONS attempts the conflict
    goes to the caller, and nothing of the stale decisions was written."""
    path = tmp_path / "queue.sqlite3"
    with SqliteStore(path) as first_store, Interleaved(path) as second_store:
        ports, families, first = service_over(first_store)
        submit(first, ports, families[0], CHOICES[0])
        _, _, second = service_over(second_store)
        attempts = 0

        def meanwhile() -> None:
            nonlocal attempts
            attempts += 1
            first_store.append([_note()])  # another process logs something, every time
            second_store.before = meanwhile

        second_store.before = meanwhile
        with pytest.raises(StorageError) as raised:
            second.offer_all()
        assert raised.value.code == "storage.conflict"
        assert attempts == DECISIONS
        assert not [r for r in first_store.events() if r.kind == "referral_issued"]


def _note() -> EventRecord:
    return EventRecord(kind="test_note", at=NOW, number=None, reason="another process")


# --- real processes ---------------------------------------------------------------------------


Place = tuple[str, str]
"""Where the store is: ("sqlite", a file's path) or ("postgres", a connection string)."""


def open_store(place: Place) -> Any:
    """A new store (its own connections) at ``place``, as each process opens it."""
    kind, address = place
    if kind == "sqlite":
        return SqliteStore(Path(address))
    from edqueue.adapters.postgres import PostgresStore

    return PostgresStore(address)


@pytest.fixture(params=["sqlite", "postgres"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """The store every process of a test opens: an SQLite file, or a PostgreSQL database
    of the server the tests start (``tests/postgres_server.py``)."""
    if request.param == "sqlite":
        return ("sqlite", str(tmp_path / "queue.sqlite3"))
    dsn: str = request.getfixturevalue("postgres_dsn")
    return ("postgres", dsn)


def _desk(place: Place, rounds: int) -> list[str]:
    """One desk process: offers every free place, then declines one open referral (its
    place goes back), ``rounds`` times, racing the other desk for the same places."""
    outcomes = []
    with open_store(place) as store:
        ports, _, service = service_over(store)
        for k in range(rounds):
            ports.clock.advance(minutes=1)
            try:
                service.offer_all()
                open_ = service.book.open_referrals()
                if open_ and k % 2:
                    service.decline_referral(open_[0].id)
                outcomes.append("ok")
            except EdqueueError as error:
                outcomes.append(error.code)
    return outcomes


def _submitter(place: Place, first: int, count: int) -> list[str]:
    """One family process: submits ``count`` families from ``first`` on. A submission the
    service gives up on (``storage.conflict``: the desks kept writing before it could) is
    sent again with the same draft and key, as a portal would."""
    numbers = []
    with open_store(place) as store:
        ports, families, service = service_over(store, first + count)
        for family in families[first : first + count]:
            ports.clock.advance(seconds=1)
            draft = service.start(family.phone)
            service.confirm_code(draft.id, ports.identity.last_code(family.phone) or "")
            service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
            service.request_family_access(draft.id, family.applicant)
            service.choose_child(draft.id, family.child)
            service.choose_organizations(draft.id, CHOICES[0])
            service.claim_benefit(draft.id, None)
            for _ in range(10):
                try:
                    numbers.append(service.submit(draft.id, f"form-{family.phone}").number)
                    break
                except StorageError as error:
                    if error.code != "storage.conflict":
                        raise
    return numbers


def test_desks_and_families_in_processes_at_once_give_no_place_twice(place: Place) -> None:
    with open_store(place) as store:
        ports, families, service = service_over(store, 4)
        for family in families[:4]:
            submit(service, ports, family, CHOICES[0])
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        desks = [pool.apply_async(_desk, (place, 12)) for _ in range(2)]
        families_ = [pool.apply_async(_submitter, (place, 4 + 3 * k, 3)) for k in range(2)]
        outcomes = [o for d in desks for o in d.get(timeout=240)]
        numbers = [n for f in families_ for n in f.get(timeout=240)]
    assert len(numbers) == len(set(numbers)) == 6
    # refused on the fresh view: the other desk declined that referral first
    assert set(outcomes) <= {"ok", "storage.conflict", "referral.invalid_transition"}
    assert outcomes.count("ok") >= len(outcomes) // 2
    with open_store(place) as store:
        events = store.events()
        assert verify_audit_log(events).ok
        stored = [s.application.number for s in store.all()]
        assert len(stored) == len(set(stored)) == 10
        assert set(numbers) <= set(stored)
        issued = Counter(e.data["referral_id"] for e in events if e.kind == "referral_issued")
        assert issued and max(issued.values()) == 1  # no referral id twice
        rebuilt = rebuild_desk(store, ORGANIZATIONS)  # raises if a place was given twice
        open_ = rebuilt.book.open_referrals()
        assert len({r.application_number for r in open_}) == len(open_)
        assert len(open_) <= 2  # Saltanat's 2020 Russian group has 2 places
        free = rebuilt.book.free_places(*SALTANAT_2020_RU)
        assert free + len(open_) == 2
        _, _, restarted = service_over(store)  # every process can still open the store
        assert restarted.book.open_referrals() == open_


def test_submissions_do_not_wait_for_each_other_to_be_decided_again(tmp_path: Path) -> None:
    """Two families submitting at once through two processes: both are stored (one of them
    is decided again after catching up), each with its own number."""
    path = tmp_path / "queue.sqlite3"
    with SqliteStore(path) as first_store, Interleaved(path) as second_store:
        ports, families, first = service_over(first_store)
        second_ports, _, second = service_over(second_store)
        draft = second.start(families[1].phone)
        second.confirm_code(draft.id, second_ports.identity.last_code(families[1].phone) or "")
        second_store.before = lambda: submit(first, ports, families[0], CHOICES[0])
        number = submit(second, second_ports, families[1], CHOICES[0])
        stored = [s.application.number for s in first_store.all()]
        assert len(stored) == 2 and number in stored
        assert sorted(second.book.numbers()) == sorted(stored)


# --- a record the queues cannot apply -------------------------------------------------------


def test_a_record_the_queues_cannot_apply_is_reported_and_the_service_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from edqueue.journal import to_record
    from edqueue.rules.events import ReferralIssued

    path = tmp_path / "queue.sqlite3"
    with SqliteStore(path) as store:
        ports, families, service = service_over(store)
        number = submit(service, ports, families[0], CHOICES[0])
        bad = ReferralIssued(  # a referral for an application the store never held
            at=NOW,
            number="999",
            referral_id="R-bad",
            organization_id=SALTANAT_2020_RU[0],
            group=SALTANAT_2020_RU[1],
            deadline=NOW + timedelta(days=5),
            reason="written by a faulty process",
        )
        [written] = store.append([to_record(bad, actor="desk")])
    with SqliteStore(path) as store:
        with caplog.at_level("WARNING", logger="edqueue"):
            _, _, restarted = service_over(store)
        [unapplied] = restarted.unapplied
        assert (unapplied.sequence, unapplied.kind) == (written.sequence, "referral_issued")
        assert unapplied.code == "queue.unknown_application"
        assert f"event {written.sequence} (referral_issued)" in caplog.text
        assert restarted.position(number)[0].position == 1  # the rest keeps serving
        issued = restarted.offer_all()
        assert [e.number for e in issued if isinstance(e, ReferralIssued)] == [number]
        assert len(restarted.unapplied) == 1  # reported once
    with SqliteStore(path) as store, pytest.raises(EdqueueError):
        rebuild_desk(store, ORGANIZATIONS)  # the strict rebuild still says so
