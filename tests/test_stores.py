"""The stores: the repository contract run against memory and SQLite, the draft stores, and
what only SQLite promises (a restart, WAL, several objects and processes on one file)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from edqueue.errors import PortError, StorageError
from edqueue.models import KAZAKHSTAN, ApplicationStatus
from edqueue.ports import (
    ApplicationRepository,
    DraftStore,
    EventLog,
    NumberSequence,
    StoredApplication,
)
from edqueue.sample import neighbour_applications, seed_application
from tests.repository_contract import AT, RepositoryContract, event, numbered

NUMBER = "1292583"


class TestMemoryRepository(RepositoryContract):
    def make(self, directory: Path) -> MemoryRepository:
        return MemoryRepository()


class TestSqliteRepository(RepositoryContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "edqueue.sqlite3")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "edqueue.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(path) as opened:
        yield opened


def test_the_stores_implement_their_ports(store: SqliteStore) -> None:
    for port in (ApplicationRepository, EventLog, DraftStore, NumberSequence):
        assert isinstance(store, port)
    assert isinstance(MemoryRepository(), ApplicationRepository)
    assert isinstance(MemoryRepository(), EventLog)
    assert isinstance(MemoryDrafts(), DraftStore)


def test_reprs_show_no_personal_data(store: SqliteStore) -> None:
    memory = MemoryRepository()
    seed = seed_application()
    for repository in (memory, store):
        repository.add(seed, [event("application_submitted", seed.number)])
    assert repr(memory) == "MemoryRepository(applications=1, events=1)"
    assert seed.child.iin.reveal() not in repr(store)
    drafts = MemoryDrafts()
    drafts.save("d", {"iin": seed.child.iin.reveal()})
    assert repr(drafts) == "MemoryDrafts(drafts=1)"


# --- drafts -------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def drafts(request: pytest.FixtureRequest, path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryDrafts()
    else:
        with SqliteStore(path) as opened:
            yield opened


def test_a_draft_is_saved_replaced_and_deleted(drafts: Any) -> None:
    data = {"step": 2, "child": {"name": "Алихан", "born": "2020-06-23"}, "choices": ["a", "b"]}
    drafts.save("draft-1", data)
    assert drafts.load("draft-1") == data
    assert drafts.load("draft-2") is None
    drafts.save("draft-1", {"step": 3})
    assert drafts.load("draft-1") == {"step": 3}
    drafts.delete("draft-1")
    assert drafts.load("draft-1") is None
    drafts.delete("draft-1")  # deleting what is not stored is not an error


def test_a_draft_does_not_share_state_with_the_caller(drafts: Any) -> None:
    data: dict[str, Any] = {"step": 1, "choices": ["org-1"]}
    drafts.save("d", data)
    data["choices"].append("org-2")
    data["step"] = 9
    loaded = drafts.load("d")
    assert loaded == {"step": 1, "choices": ["org-1"]}
    loaded["choices"].append("org-3")
    assert drafts.load("d") == {"step": 1, "choices": ["org-1"]}


def test_a_draft_that_is_not_json_is_refused_and_nothing_changes(drafts: Any) -> None:
    drafts.save("d", {"step": 1})
    with pytest.raises(TypeError):
        drafts.save("d", {"step": 2, "at": AT})
    with pytest.raises(ValueError, match="JSON"):
        drafts.save("d", {"step": 2, "score": float("nan")})
    assert drafts.load("d") == {"step": 1}


# --- SQLite: files, restarts, settings ----------------------------------------------------


def test_everything_survives_a_restart(path: Path) -> None:
    seed, *neighbours = (seed_application(), *neighbour_applications())
    with SqliteStore(path, first_number=500) as store:
        numbers = [store.next_number(), store.next_number()]
        store.add(seed, [event("application_submitted", seed.number)], idempotency_key="k1")
        for application in neighbours:
            store.add(application, [event("application_submitted", application.number)])
        store.update(
            seed.with_status(ApplicationStatus.REFERRED),
            1,
            [event("referral_issued", seed.number, organization="shakhtinsk-saltanat")],
        )
        store.append([event("notified", seed.number, channel="sms")])
        store.save("draft-1", {"step": 2, "name": "Алихан"})
        before = (list(store.all()), store.events(), store.for_child(seed.child.iin))
    assert numbers == ["500", "501"]
    with SqliteStore(path, first_number=1) as reopened:  # an existing counter is kept
        assert (
            list(reopened.all()),
            reopened.events(),
            reopened.for_child(seed.child.iin),
        ) == before
        assert reopened.get(seed.number) == StoredApplication(
            seed.with_status(ApplicationStatus.REFERRED), 2
        )
        assert [e.sequence for e in reopened.events()] == [1, 2, 3, 4, 5, 6]
        assert reopened.by_idempotency_key("k1") == before[0][0]
        assert reopened.load("draft-1") == {"step": 2, "name": "Алихан"}
        assert reopened.next_number() == "502"
        assert reopened.append([event("later")])[0].sequence == 7


def test_wal_full_sync_and_the_schema_version_are_set(store: SqliteStore, path: Path) -> None:
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()
    connection = store._connection  # the store's own per-connection settings
    assert connection is not None
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert connection.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_a_newer_schema_is_refused(path: Path) -> None:
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StorageError) as raised:
        SqliteStore(path)
    assert raised.value.code == "storage.corrupt"


def test_a_closed_store_refuses_commands(path: Path) -> None:
    with SqliteStore(path) as store:
        store.add(seed_application())
    with pytest.raises(ValueError, match="closed"):
        store.get(NUMBER)
    store.close()  # closing twice is fine
    assert "closed" in repr(store)
    with pytest.raises(ValueError, match="first_number"):
        SqliteStore(path, first_number=0)


# --- SQLite: several objects and processes on one file ------------------------------------


def test_two_stores_on_one_file_never_both_win(path: Path) -> None:
    seed = seed_application()
    with SqliteStore(path) as first, SqliteStore(path) as second:
        first.add(seed)
        read_by_first, read_by_second = first.get(NUMBER), second.get(NUMBER)
        assert read_by_first is not None and read_by_second is not None
        referred = read_by_first.application.with_status(ApplicationStatus.REFERRED)
        withdrawn = read_by_second.application.with_status(ApplicationStatus.WITHDRAWN)
        assert first.update(referred, read_by_first.version).version == 2
        with pytest.raises(StorageError) as raised:
            second.update(withdrawn, read_by_second.version, [event("application_withdrawn")])
        assert raised.value.code == "storage.conflict"
        assert second.get(NUMBER) == StoredApplication(referred, 2)
        assert second.events() == []


def test_racing_stores_on_one_file_have_exactly_one_winner(path: Path) -> None:
    seed = seed_application()
    stores = [SqliteStore(path) for _ in range(4)]
    try:
        stores[0].add(seed)
        statuses = [ApplicationStatus.REFERRED, ApplicationStatus.WITHDRAWN] * 2
        outcomes: dict[int, str] = {}
        start = threading.Barrier(len(stores))

        def attempt(i: int) -> None:
            start.wait()
            try:
                stores[i].update(seed.with_status(statuses[i]), 1, [event("changed", NUMBER)])
            except StorageError as error:
                outcomes[i] = error.code
            else:
                outcomes[i] = "won"

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1
        assert sorted(outcomes.values()) == ["storage.conflict"] * 3 + ["won"]
        final = stores[1].get(NUMBER)
        assert final == StoredApplication(seed.with_status(statuses[winners[0]]), 2)
        assert len(stores[2].events()) == 1
    finally:
        for opened in stores:
            opened.close()


_UPDATES = 200


def _read_modify_write(path: str, worker: int, start: Any) -> None:
    """One process: ``_UPDATES`` updates of the seed's application, each from a fresh read,
    retried on conflict. Each flips the status (read-modify-write) and records the version
    it read, so a lost update would show as a version read twice."""
    with SqliteStore(path, timeout=30) as store:
        start.wait()
        done = 0
        while done < _UPDATES:
            stored = store.get(NUMBER)
            if stored is None:
                raise RuntimeError("the application is missing")
            application = stored.application
            flipped = application.with_status(
                ApplicationStatus.ACTIVE
                if application.status is ApplicationStatus.REFERRED
                else ApplicationStatus.REFERRED
            )
            record = event("flipped", NUMBER, worker=worker, read=stored.version)
            try:
                store.update(flipped, stored.version, [record])
            except StorageError as error:
                if error.code != "storage.conflict":
                    raise
            else:
                done += 1


def test_two_processes_lose_no_update(path: Path) -> None:
    with SqliteStore(path) as store:
        store.add(seed_application())
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    processes = [
        context.Process(target=_read_modify_write, args=(str(path), worker, start))
        for worker in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    with SqliteStore(path) as store:
        final = store.get(NUMBER)
        events = store.events()
    assert final is not None
    assert final.version == 1 + 2 * _UPDATES
    assert final.application.status is ApplicationStatus.ACTIVE  # an even number of flips
    assert sorted(int(e.data["read"] or 0) for e in events) == list(range(1, 2 * _UPDATES + 1))
    assert [e.sequence for e in events] == list(range(1, 2 * _UPDATES + 1))
    for worker in (1, 2):
        assert sum(e.data["worker"] == worker for e in events) == _UPDATES


def test_numbers_are_unique_across_stores_on_one_file(path: Path) -> None:
    stores = [SqliteStore(path, first_number=1292583) for _ in range(2)]
    given: list[list[str]] = [[], []]
    try:

        def draw(i: int) -> None:
            for _ in range(100):
                given[i].append(stores[i].next_number())

        threads = [threading.Thread(target=draw, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for opened in stores:
            opened.close()
    everything = given[0] + given[1]
    assert len(set(everything)) == 200
    assert sorted(map(int, everything)) == list(range(1292583, 1292583 + 200))
    assert given[0] == sorted(given[0], key=int)


# --- SQLite: damaged rows, failures, forgetting -------------------------------------------


def _raw(path: Path, sql: str, *parameters: object) -> None:
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(sql, parameters)
    raw.close()


@pytest.mark.parametrize(
    "body",
    ["{not json", "[]", '{"number": "1292583"}', "null"],
    ids=["not-json", "a-list", "a-partial-record", "null"],
)
def test_a_damaged_application_is_reported_without_personal_data(
    store: SqliteStore, path: Path, body: str
) -> None:
    seed = seed_application()
    store.add(seed)
    _raw(path, "UPDATE applications SET body = ? WHERE number = ?", body, NUMBER)
    for read in (
        lambda: store.get(NUMBER),
        lambda: list(store.all()),
        lambda: store.for_child(seed.child.iin),
    ):
        with pytest.raises(StorageError) as raised:
            read()
        assert raised.value.code == "storage.corrupt"
        text = str(raised.value)
        assert NUMBER in text
        for secret in (seed.child.iin.reveal(), seed.applicant.iin.reveal(), "Алихан"):
            assert secret not in text


def test_a_record_stored_under_another_number_is_damaged(store: SqliteStore, path: Path) -> None:
    store.add(seed_application())
    store.add(numbered(seed_application(), "1292584"))
    _raw(
        path,
        "UPDATE applications SET body = (SELECT body FROM applications WHERE number = ?) "
        "WHERE number = ?",
        NUMBER,
        "1292584",
    )
    with pytest.raises(StorageError) as raised:
        store.get("1292584")
    assert raised.value.code == "storage.corrupt"


def test_damaged_events_and_drafts_are_reported(store: SqliteStore, path: Path) -> None:
    store.append([event("a"), event("b")])
    store.save("d", {"step": 1})
    _raw(path, "UPDATE events SET at = 'yesterday' WHERE sequence = 1")
    _raw(path, "UPDATE drafts SET body = '[1, 2]'")
    with pytest.raises(StorageError) as raised:
        store.events()
    assert raised.value.code == "storage.corrupt"
    assert "yesterday" not in str(raised.value)
    assert [e.kind for e in store.events(after=1)] == ["b"]  # the rest is still readable
    with pytest.raises(StorageError) as draft:
        store.load("d")
    assert draft.value.code == "storage.corrupt"


def test_a_locked_database_is_a_timeout_and_nothing_is_written(path: Path) -> None:
    with SqliteStore(path, timeout=0.1) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(PortError) as raised:
                store.add(seed_application(), [event("application_submitted", NUMBER)])
            assert raised.value.code == "port.timeout"
            assert store.get(NUMBER) is None  # readers are not blocked in WAL mode
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.events() == []
        store.add(seed_application())  # the lock is gone: the command can be retried
        assert store.get(NUMBER) is not None


def test_a_failure_half_way_rolls_back_the_whole_command(store: SqliteStore, path: Path) -> None:
    _raw(path, "ALTER TABLE events RENAME TO events_elsewhere")
    with pytest.raises(PortError) as raised:
        store.add(seed_application(), [event("application_submitted", NUMBER)])
    assert raised.value.code == "port.failed"
    assert store.get(NUMBER) is None  # the application row went with the failed event insert


def test_forget_erases_the_application_from_the_files(store: SqliteStore, path: Path) -> None:
    seed, other = seed_application(), neighbour_applications()[0]
    store.add(seed, [event("application_submitted", NUMBER, position=2)], idempotency_key="k")
    store.add(other)
    store.update(seed.with_status(ApplicationStatus.REFERRED), 1)
    store.save("flow-of-the-family", {"child": seed.child.iin.reveal()})
    store.save("flow-of-another", {"step": 1})
    assert store.forget(NUMBER, drafts=["flow-of-the-family"]) is True
    assert store.get(NUMBER) is None
    assert store.load("flow-of-the-family") is None
    assert store.load("flow-of-another") == {"step": 1}
    assert store.events()[0].data == {}
    assert store.events()[0].kind == "application_submitted"
    files = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    for secret in (seed.child.iin.reveal(), "Алихан", seed.applicant.iin.reveal()):
        assert secret.encode() not in files
    assert other.child.iin.reveal().encode() in files  # the check can see what is there
    assert store.forget(NUMBER) is False


def test_event_times_are_stored_as_instants_for_ordering(store: SqliteStore, path: Path) -> None:
    early = datetime(2024, 3, 1, 0, 30, tzinfo=KAZAKHSTAN)  # UTC+5: 2024-02-29 19:30 UTC
    late = datetime(2024, 2, 29, 23, 45, tzinfo=KAZAKHSTAN)  # UTC+6: 2024-02-29 17:45 UTC
    store.append([attrs.evolve(event("a"), at=early), attrs.evolve(event("b"), at=late)])
    raw = sqlite3.connect(path)
    rows = raw.execute("SELECT kind, at FROM events ORDER BY at_us").fetchall()
    raw.close()
    assert rows == [("b", "2024-02-29T23:45:00+06:00"), ("a", "2024-03-01T00:30:00+05:00")]
    assert [e.at for e in store.events()] == [early, late]
