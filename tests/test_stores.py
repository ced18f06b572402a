"""The stores: the contract suites of :mod:`edqueue.testing.contracts` run against the memory
and SQLite stores, and what only SQLite promises (a restart, WAL, several objects and
processes on one file)."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from edqueue.adapters.memory import MemoryNumbers
from edqueue.adapters.memory_store import MemoryAttempts, MemoryDrafts, MemoryRepository
from edqueue.adapters.postgres import PostgresStore
from edqueue.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from edqueue.audit import GENESIS, seal, verify_audit_log
from edqueue.errors import PortError, StorageError
from edqueue.models import KAZAKHSTAN, ApplicationStatus
from edqueue.ports import (
    ApplicationRepository,
    AttemptCounter,
    AttemptLimit,
    AttemptTally,
    DraftStore,
    EventLog,
    EventRecord,
    NumberSequence,
    StoredApplication,
)
from edqueue.sample import neighbour_applications, seed_application
from edqueue.schemas import dump_application
from edqueue.testing.contracts import (
    AttemptCounterContract,
    DraftStoreContract,
    NumberSequenceContract,
    RepositoryContract,
    SnapshotStoreContract,
    event,
)
from tests.postgres_server import fresh_schema

NUMBER = "1292583"
AT = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)
MINUTE = timedelta(minutes=1)

# --- the contract suites ------------------------------------------------------------------


class TestMemoryRepository(RepositoryContract):
    def make(self, directory: Path) -> MemoryRepository:
        return MemoryRepository()


class TestSqliteRepository(RepositoryContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "edqueue.sqlite3")


class TestMemorySnapshots(SnapshotStoreContract):
    def make(self, directory: Path) -> MemoryRepository:
        return MemoryRepository()


class TestSqliteSnapshots(SnapshotStoreContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "snapshots.sqlite")


class TestMemoryDrafts(DraftStoreContract):
    def make(self, directory: Path) -> MemoryDrafts:
        return MemoryDrafts()


class TestSqliteDrafts(DraftStoreContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "edqueue.sqlite3")


class TestMemoryAttempts(AttemptCounterContract):
    def make(self, directory: Path) -> MemoryAttempts:
        return MemoryAttempts()


class TestSqliteAttempts(AttemptCounterContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "edqueue.sqlite3")


class TestMemoryNumbers(NumberSequenceContract):
    def make(self, directory: Path) -> MemoryNumbers:
        return MemoryNumbers()


class TestSqliteNumbers(NumberSequenceContract):
    def make(self, directory: Path) -> SqliteStore:
        return SqliteStore(directory / "edqueue.sqlite3")


# --- what only these stores promise -------------------------------------------------------


def codes(limit: int = 3) -> list[AttemptLimit]:
    """One limit: ``limit`` attempts per ten minutes under one key."""
    return [AttemptLimit("phone-digest", limit, 10 * MINUTE)]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "edqueue.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(path) as opened:
        yield opened


def test_the_stores_implement_their_ports(store: SqliteStore) -> None:
    for port in (ApplicationRepository, EventLog, DraftStore, AttemptCounter, NumberSequence):
        assert isinstance(store, port)
    assert isinstance(MemoryRepository(), ApplicationRepository)
    assert isinstance(MemoryRepository(), EventLog)
    assert isinstance(MemoryDrafts(), DraftStore)
    assert isinstance(MemoryAttempts(), AttemptCounter)


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
    attempts = MemoryAttempts()
    attempts.take("t", AT, [AttemptLimit("k1", 3, MINUTE), AttemptLimit("k2", 3, MINUTE)])
    assert repr(attempts) == "MemoryAttempts(attempts=2)"


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


# The tables of schema version 2 (edqueue before idempotency owners, draft expiry and
# attempts), written out here so the test keeps meaning what it says if _SCHEMA changes.
_VERSION_2 = (
    """CREATE TABLE applications (
        number TEXT PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 1),
        child_iin TEXT NOT NULL,
        idempotency_key TEXT UNIQUE,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX applications_by_child ON applications (child_iin)",
    "CREATE INDEX applications_in_number_order ON applications (length(number), number)",
    """CREATE TABLE events (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        number TEXT,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        zone TEXT,
        reason TEXT NOT NULL,
        data TEXT NOT NULL,
        data_digest TEXT NOT NULL DEFAULT '',
        digest TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX events_by_number ON events (number)",
    "CREATE INDEX events_by_time ON events (at_us)",
    "CREATE TABLE drafts (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, next INTEGER NOT NULL)",
)


def _tables(path: Path) -> dict[str, Any]:
    """Every table's columns and every index's columns, as SQLite reports them."""
    raw = sqlite3.connect(path)
    try:
        names = raw.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        ).fetchall()
        return {
            name: raw.execute(
                f"PRAGMA {'table_info' if kind == 'table' else 'index_info'}({name})"
            ).fetchall()
            for kind, name, _ in names
        }
    finally:
        raw.close()


def test_a_version_2_database_is_upgraded_and_keeps_its_rows(path: Path, tmp_path: Path) -> None:
    seed = seed_application()
    submitted = seal(
        GENESIS,
        EventRecord("application_submitted", AT, NUMBER, "submitted", {"position": 1}, 1),
    )
    raw = sqlite3.connect(path)
    for statement in _VERSION_2:
        raw.execute(statement)
    raw.execute(
        "INSERT INTO applications (number, version, child_iin, idempotency_key, body) "
        "VALUES (?, 2, ?, 'form-42', ?)",
        (NUMBER, seed.child.iin.reveal(), json.dumps(dump_application(seed))),
    )
    raw.execute(
        "INSERT INTO events (sequence, number, kind, at, at_us, zone, reason, data, "
        "data_digest, digest) VALUES (1, ?, ?, ?, ?, 'Asia/Almaty', ?, ?, ?, ?)",
        (
            NUMBER,
            submitted.kind,
            AT.isoformat(),
            int(AT.timestamp()) * 1_000_000,
            submitted.reason,
            json.dumps(dict(submitted.data)),
            submitted.data_digest,
            submitted.digest,
        ),
    )
    raw.execute("INSERT INTO drafts (id, body) VALUES ('old-draft', '{\"step\": 2}')")
    raw.execute("INSERT INTO counters (name, next) VALUES ('application_number', 1292600)")
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()

    with SqliteStore(path) as store:
        assert store.get(NUMBER) == StoredApplication(seed, 2)
        assert store.by_idempotency_key("form-42") == StoredApplication(seed, 2)
        assert store.idempotency_owner("form-42") is None  # written before owners
        assert store.events() == [submitted]
        assert verify_audit_log(store.events()).ok
        assert store.load("old-draft") == {"step": 2}
        assert store.next_number() == "1292600"
        # What version 3 adds works on the upgraded file.
        other = neighbour_applications()[0]
        store.add(other, idempotency_key="form-43", idempotency_owner="draft-digest")
        assert store.idempotency_owner("form-43") == "draft-digest"
        store.save("new-draft", {"step": 1}, expires_at=AT + timedelta(hours=1))
        assert store.take("t", AT, codes(limit=1)) == AttemptTally((1,))
        assert store.take("u", AT, codes(limit=1)).refused == 0
        assert store.purge(AT) == 1  # the old draft had no expiry
        assert store.load("new-draft") == {"step": 1}
        # What version 4 adds too: a snapshot of the queues.
        assert store.save_snapshot("г.Шахтинск", 1, b"queues")
        assert store.load_snapshot("г.Шахтинск") == (1, b"queues")
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    raw.close()
    with SqliteStore(path) as reopened:  # opening again changes nothing
        assert reopened.get(NUMBER) == StoredApplication(seed, 2)
        assert reopened.idempotency_owner("form-43") == "draft-digest"
    # The upgraded file has the same tables, columns and indexes as a new one.
    fresh = tmp_path / "fresh.sqlite3"
    SqliteStore(fresh).close()
    assert _tables(path) == _tables(fresh)
    assert {"attempts", "attempts_by_key", "attempts_by_token"} <= set(_tables(fresh))
    assert [c[1] for c in _tables(fresh)["attempts"]] == ["key", "token", "at_us"]
    assert "idempotency_owner" in [c[1] for c in _tables(fresh)["applications"]]
    assert "expires_at_us" in [c[1] for c in _tables(fresh)["drafts"]]


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


def _take_one_attempt(path: str, worker: int, start: Any, results: Any) -> None:
    """One process: one ``take`` under the shared key, limit 3; report the tally."""
    with SqliteStore(path, timeout=30) as store:
        start.wait()
        tally = store.take(f"worker-{worker}", AT, codes(limit=3))
    results.put((worker, tally.counts, tally.refused, tally.until))


def test_processes_together_never_pass_a_limit(path: Path) -> None:
    SqliteStore(path).close()  # the tables exist before the race
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(8)
    results = context.Queue()
    processes = [
        context.Process(target=_take_one_attempt, args=(str(path), worker, start, results))
        for worker in range(8)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * 8
    assert sorted(w for w, *_ in outcomes) == list(range(8))
    winners = [counts for _, counts, refused, _ in outcomes if refused is None]
    assert sorted(winners) == [(1,), (2,), (3,)]  # each saw the ones before it, and no more
    refused = [
        (counts, refused, until) for _, counts, refused, until in outcomes if refused is not None
    ]
    assert refused == [((3,), 0, AT + 10 * MINUTE)] * 5
    with SqliteStore(path) as store:
        assert store.take("later", AT, codes(limit=100)) == AttemptTally((4,))


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
    store.add(attrs.evolve(seed_application(), number="1292584"))
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


# --- the contract suites on PostgreSQL (the server of tests/postgres_server.py) ----------------


class _OnPostgres:
    """``make`` opens a :class:`PostgresStore` on a new, empty schema of a database made for
    the test (the model tests make one store per example)."""

    dsn: str

    @pytest.fixture(autouse=True)
    def _database(self, postgres_dsn: str) -> None:
        self.dsn = postgres_dsn

    def make(self, directory: Path) -> PostgresStore:
        return PostgresStore(fresh_schema(self.dsn), pool_size=8)


class TestPostgresRepository(_OnPostgres, RepositoryContract):
    pass


class TestPostgresDrafts(_OnPostgres, DraftStoreContract):
    pass


class TestPostgresAttempts(_OnPostgres, AttemptCounterContract):
    pass


class TestPostgresNumbers(_OnPostgres, NumberSequenceContract):
    pass


class TestPostgresSnapshots(_OnPostgres, SnapshotStoreContract):
    pass
