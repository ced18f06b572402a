"""What only :class:`~edqueue.adapters.postgres.PostgresStore` promises, on the throwaway
server of ``tests/postgres_server.py``: a gap-free log under concurrent writers, lock waits
that end in ``port.timeout``, reconnection after a dropped connection, the schema's
migrations and ``edqueue db upgrade``. The contract suites run in ``tests/test_stores.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import psycopg
import psycopg_pool
import pytest

from edqueue.adapters.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresStore, upgrade
from edqueue.adapters.postgres._counters import _ATTEMPTS_LOCK
from edqueue.adapters.postgres._schema import _migrate
from edqueue.audit import verify_audit_log
from edqueue.cli import main
from edqueue.errors import PortError, StorageError
from edqueue.ports import AttemptLimit, EventRecord
from edqueue.sample import neighbour_applications, seed_application
from edqueue.testing.contracts import event
from tests.postgres_server import INSTALL, PostgresServer, find_binaries
from tests.test_journal import CHOICES, submit
from tests.test_many_processes import SALTANAT_2020_RU, service_over
from tests.test_stores import AT, MINUTE

# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn) as store:
        yield store


def rows(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as connection:
        return connection.execute(sql.encode()).fetchall()


def catalog(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """The tables, columns, indexes and constraints of the database's schema."""
    return {
        "columns": rows(
            dsn,
            "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, "
            "column_default, collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY 1, 3",
        ),
        "indexes": rows(
            dsn,
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY 1, 2",
        ),
        "constraints": rows(
            dsn,
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
            "ORDER BY 1, 2",
        ),
    }


# --- the log under concurrent writers -----------------------------------------------------------


def test_concurrent_writers_keep_the_log_gap_free_in_commit_order(postgres_dsn: str) -> None:
    """Six processes' worth of writers (each its own store and connections) append, some on
    the head they saw (deciding again on a conflict), while a reader follows the log: the
    sequences are 1..N without a gap, the reader never skips one, the chain verifies."""
    upgrade(postgres_dsn)
    seed = seed_application()
    written = [0] * 6
    problems: list[str] = []
    conflicts: list[str] = []
    done = threading.Event()
    start = threading.Barrier(len(written) + 1)

    def writer(w: int) -> None:
        with PostgresStore(postgres_dsn, pool_size=1) as store:
            start.wait()
            for i in range(12):
                number = str(10_000 + 100 * w + i)
                if i % 3 == 0:
                    store.append([event("notified"), event("notified")])
                    written[w] += 2
                    continue
                while True:  # decide on the head seen; on a conflict, catch up and again
                    head = store.events()[-1].sequence if store.events() else 0
                    try:
                        if i % 3 == 1:
                            store.add(
                                attrs.evolve(seed, number=number),
                                [event("application_submitted", number)],
                                log_head=head,
                            )
                        else:
                            store.append([event("place_freed")], log_head=head)
                    except StorageError as error:
                        conflicts.append(error.code)
                        continue
                    written[w] += 1
                    break

    def reader() -> None:
        with PostgresStore(postgres_dsn, pool_size=1) as store:
            start.wait()
            seen = 0
            while not done.is_set():
                batch = store.events(after=seen)
                if batch and batch[0].sequence != seen + 1:
                    problems.append(f"after {seen} the reader got {batch[0].sequence}")
                if [e.sequence for e in batch] != list(range(seen + 1, seen + 1 + len(batch))):
                    problems.append(f"a gap after {seen}")
                seen = batch[-1].sequence if batch else seen

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(len(written))]
    following = threading.Thread(target=reader)
    for thread in [*threads, following]:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    following.join()
    with PostgresStore(postgres_dsn) as store:
        log = store.events()
        assert [e.sequence for e in log] == list(range(1, sum(written) + 1))
        assert verify_audit_log(log).ok
        assert len(list(store.all())) == 6 * 4
    assert problems == []
    assert set(conflicts) <= {"storage.conflict"}


def test_text_a_postgresql_text_cannot_hold_round_trips(store: PostgresStore) -> None:
    reason, kind = "a\x00b\\0c\\", "kind\\"
    written = store.append([EventRecord(kind, AT, None, reason, {"k\x00": "v\x00"})])
    assert store.events() == written
    assert (written[0].reason, written[0].kind) == (reason, kind)
    store.save("draft\x00", {"step": 1})
    store.save("draft\\0", {"step": 2})
    assert store.load("draft\x00") == {"step": 1}
    assert store.load("draft\\0") == {"step": 2}
    seed, other = seed_application(), neighbour_applications()[0]
    store.add(seed, idempotency_key="key\x00", idempotency_owner="owner\\")
    store.add(other, idempotency_key="key\\0")
    assert store.idempotency_owner("key\x00") == "owner\\"
    found = store.by_idempotency_key("key\\0")
    assert found is not None and found.application == other


# --- waits, failures and connections ------------------------------------------------------------


def test_a_lock_wait_past_the_timeout_is_a_port_timeout(postgres_dsn: str) -> None:
    with PostgresStore(postgres_dsn, timeout=0.3) as store, psycopg.connect(postgres_dsn) as other:
        other.execute("SELECT * FROM event_log_head FOR UPDATE")  # held until rollback
        began = time.monotonic()
        with pytest.raises(PortError) as raised:
            store.append([event("notified")])
        assert raised.value.code == "port.timeout"
        assert "55P03" in raised.value.message
        other.execute("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(PortError) as read:
            store.get("1292583")  # a read waits for a lock as long, no longer
        assert read.value.code == "port.timeout"
        assert time.monotonic() - began < 5
        other.rollback()
        assert [e.sequence for e in store.append([event("notified")])] == [1]
        assert store.events()[0].kind == "notified"


def test_the_timeouts_hold_on_a_pool_of_the_hosts(postgres_dsn: str) -> None:
    upgrade(postgres_dsn)
    with psycopg_pool.ConnectionPool(postgres_dsn, min_size=1, open=True) as pool:
        store = PostgresStore(pool=pool, timeout=0.3)
        with psycopg.connect(postgres_dsn) as other:
            other.execute("SELECT * FROM event_log_head FOR UPDATE")
            with pytest.raises(PortError) as raised:
                store.append([event("notified")])
            assert raised.value.code == "port.timeout"
        assert len(store.append([event("notified")])) == 1
        store.close()
        assert not pool.closed  # the host's pool is the host's to close
        with pytest.raises(ValueError, match="closed"):
            store.events()


def test_takes_under_one_key_wait_for_each_other_and_other_keys_do_not(
    postgres_dsn: str,
) -> None:
    limits = [AttemptLimit("phone-digest", 3, 10 * MINUTE)]
    with PostgresStore(postgres_dsn, timeout=0.3) as store, psycopg.connect(postgres_dsn) as other:
        other.execute(
            "SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
            (_ATTEMPTS_LOCK, "phone-digest"),
        )
        with pytest.raises(PortError) as raised:
            store.take("a", AT, limits)
        assert raised.value.code == "port.timeout"
        assert store.take("b", AT, [AttemptLimit("other-digest", 3, MINUTE)]).counts == (1,)
        other.rollback()
        assert store.take("a", AT, limits).counts == (1,)


def test_after_its_connections_are_terminated_the_next_call_works(postgres_dsn: str) -> None:
    seed = seed_application()
    with PostgresStore(postgres_dsn, pool_size=2) as store:
        store.add(seed, [event("application_submitted", seed.number)])
        killed = rows(
            postgres_dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert killed and all(ok for (ok,) in killed)
        assert store.get(seed.number) is not None  # the pool replaced the dropped connection
        assert [e.sequence for e in store.append([event("notified")])] == [2]
        assert store.next_number() == "1292583"


def test_an_unreachable_server_is_a_port_error_that_names_no_secret(tmp_path: Path) -> None:
    dsn = f"postgresql://edqueue:s3cret-word@/edqueue?host={tmp_path}"
    began = time.monotonic()
    with pytest.raises(PortError) as raised:
        PostgresStore(dsn, timeout=0.5)
    assert raised.value.code == "port.timeout"
    assert time.monotonic() - began < 5
    with pytest.raises(PortError) as upgrading:
        upgrade(dsn, timeout=0.5)
    assert upgrading.value.code == "port.failed"
    for error in (raised.value, upgrading.value):
        assert "s3cret" not in str(error)
        assert error.__cause__ is None and error.__suppress_context__
    with pytest.raises(ValueError, match="libpq"):
        PostgresStore("host='unterminated")


def test_the_store_shows_no_connection_string(store: PostgresStore) -> None:
    assert repr(store) == "PostgresStore(open)"
    store.close()
    store.close()
    assert repr(store) == "PostgresStore(closed)"
    with pytest.raises(ValueError, match="closed"):
        store.get("1292583")


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"dsn": "x", "pool": object()},
        {"dsn": "x", "first_number": 0},
        {"dsn": "x", "timeout": 0},
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"give either|positive"):
        PostgresStore(**arguments)


# --- the schema and its migrations --------------------------------------------------------------


def test_upgrade_creates_the_tables_and_again_changes_nothing(postgres_dsn: str) -> None:
    assert upgrade(postgres_dsn) == SCHEMA_VERSION
    first = catalog(postgres_dsn)
    assert {name for name, *_ in first["columns"]} == {
        "applications",
        "attempts",
        "counters",
        "drafts",
        "event_log_head",
        "events",
        "schema_version",
        "snapshots",
    }
    assert upgrade(postgres_dsn) == SCHEMA_VERSION
    with PostgresStore(postgres_dsn, migrate=True):
        pass
    assert catalog(postgres_dsn) == first
    assert rows(postgres_dsn, "SELECT version FROM schema_version ORDER BY 1") == [
        (version,) for version, _ in MIGRATIONS
    ]


def test_a_database_migrated_step_by_step_equals_a_new_one(
    postgres_server: PostgresServer, postgres_dsn: str
) -> None:
    fresh, stepped = postgres_dsn, postgres_server.new_database()  # both dropped after
    upgrade(fresh)
    for version, _ in MIGRATIONS:
        with psycopg.connect(stepped, autocommit=True) as connection, connection.transaction():
            assert _migrate(connection, target=version) == version
    assert catalog(stepped) == catalog(fresh)
    assert rows(stepped, "SELECT version FROM schema_version ORDER BY 1") == [
        (version,) for version, _ in MIGRATIONS
    ]


def test_concurrent_upgrades_migrate_once(postgres_dsn: str) -> None:
    reached: list[int] = []
    threads = [
        threading.Thread(target=lambda: reached.append(upgrade(postgres_dsn))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert reached == [SCHEMA_VERSION] * 4
    assert rows(postgres_dsn, "SELECT count(*) FROM schema_version") == [(len(MIGRATIONS),)]


def test_a_newer_schema_is_refused_and_left_alone(postgres_dsn: str) -> None:
    upgrade(postgres_dsn)
    with psycopg.connect(postgres_dsn) as connection:
        connection.execute("INSERT INTO schema_version (version) VALUES (99)")
    for opening in (lambda: PostgresStore(postgres_dsn), lambda: upgrade(postgres_dsn)):
        with pytest.raises(StorageError) as raised:
            opening()
        assert raised.value.code == "storage.corrupt"
        assert "schema version 99" in raised.value.message
        assert f"up to {SCHEMA_VERSION}" in raised.value.message
    assert rows(postgres_dsn, "SELECT version FROM schema_version ORDER BY 1") == [
        *((version,) for version, _ in MIGRATIONS),
        (99,),
    ]


def test_without_migrate_an_old_database_is_refused(postgres_dsn: str) -> None:
    with pytest.raises(StorageError) as raised:
        PostgresStore(postgres_dsn, migrate=False)
    assert raised.value.code == "storage.corrupt"
    assert "edqueue db upgrade" in raised.value.message
    assert rows(postgres_dsn, "SELECT to_regclass('applications') IS NULL") == [(True,)]
    upgrade(postgres_dsn)
    with PostgresStore(postgres_dsn, migrate=False, first_number=7) as store:
        assert store.next_number() == "7"


def test_personal_data_are_only_in_applications_and_drafts(postgres_dsn: str) -> None:
    seed = seed_application()
    with PostgresStore(postgres_dsn) as store:
        store.add(seed, [event("application_submitted", seed.number, position=2)])
        store.save("flow", {"child": seed.child.iin.reveal(), "phone": "+77010000001"})
        store.take("t", AT, [AttemptLimit("phone-digest", 3, MINUTE)])
        store.next_number()
    secrets = [seed.child.iin.reveal(), seed.applicant.iin.reveal(), "Алихан", "7010000001"]
    tables = rows(
        postgres_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    holding = set()
    with psycopg.connect(postgres_dsn) as connection:
        for (table,) in tables:
            query = psycopg.sql.SQL("SELECT * FROM {}").format(psycopg.sql.Identifier(table))
            found = connection.execute(query).fetchall()
            text = json.dumps(found, default=str, ensure_ascii=False)
            if any(secret in text for secret in secrets):
                holding.add(table)
    assert holding == {"applications", "drafts"}


# --- edqueue db upgrade -------------------------------------------------------------------------


def test_db_upgrade_on_the_command_line(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["db", "upgrade", "--dsn", postgres_dsn]) == 0
    assert json.loads(capsys.readouterr().out) == {"schema_version": SCHEMA_VERSION}
    assert main(["db", "upgrade", "--dsn", postgres_dsn]) == 0
    assert json.loads(capsys.readouterr().out) == {"schema_version": SCHEMA_VERSION}
    unreachable = f"postgresql://edqueue:s3cret-word@/edqueue?host={tmp_path}"
    assert main(["db", "upgrade", "--dsn", unreachable]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [port.failed]: the connection to PostgreSQL failed")
    assert "s3cret" not in err
    assert main(["db", "upgrade", "--dsn", "host='s3cret"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error [input.argument]: --dsn is not a connection string")
    assert "s3cret" not in err


def test_the_package_imports_without_psycopg() -> None:
    script = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "sys.modules['psycopg_pool'] = None\n"
        "import edqueue, edqueue.adapters, edqueue.adapters.sqlite, edqueue.cli\n"
        "try:\n"
        "    import edqueue.adapters.postgres\n"
        "except ImportError as error:\n"
        "    print(error)\n"
        "sys.exit(edqueue.cli.main(['db', 'upgrade', '--dsn', 'x']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip().endswith("pip install 'edqueue[postgres]'")
    assert "error [input.argument]" in done.stderr
    assert "pip install 'edqueue[postgres]'" in done.stderr
    assert done.returncode == 2


def test_the_newest_server_is_found_or_what_to_install_is_said(tmp_path: Path) -> None:
    assert find_binaries(tmp_path / "nothing-here") is None
    for version, programs in (("9", 3), ("13", 3), ("15", 3), ("16", 2), ("main", 3)):
        (tmp_path / version / "bin").mkdir(parents=True)
        for program in ("initdb", "pg_ctl", "postgres")[:programs]:
            (tmp_path / version / "bin" / program).touch()
    assert find_binaries(tmp_path) == tmp_path / "15" / "bin"  # 16 lacks postgres
    assert "apt-get install postgresql-15" in INSTALL


# --- the service over PostgreSQL ----------------------------------------------------------------


class Interleaved(PostgresStore):
    """A store whose next write on a log head first lets another process decide."""

    before: Any = None

    def _race(self, kwargs: dict[str, Any]) -> None:
        before, self.before = self.before, None
        if before is not None and kwargs.get("log_head") is not None:
            before()

    def add(self, *args: Any, **kwargs: Any) -> Any:
        self._race(kwargs)
        return super().add(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        self._race(kwargs)
        return super().update(*args, **kwargs)

    def append(self, *args: Any, **kwargs: Any) -> list[EventRecord]:
        self._race(kwargs)
        return super().append(*args, **kwargs)


def test_two_desks_on_one_database_give_no_place_twice(postgres_dsn: str) -> None:
    with PostgresStore(postgres_dsn) as first_store, Interleaved(postgres_dsn) as second_store:
        ports, families, first = service_over(first_store)
        numbers = [submit(first, ports, family, CHOICES[0]) for family in families[:3]]
        _, _, second = service_over(second_store)
        assert second.book.free_places(*SALTANAT_2020_RU) == 2
        second_store.before = first.offer_all  # the first desk gives both places meanwhile
        assert second.offer_all() == []  # decided again after catching up
        referrals = [r for r in first_store.events() if r.kind == "referral_issued"]
        assert {r.number for r in referrals} == set(numbers[:2])
        for service in (first, second):
            assert [r.application_number for r in service.book.open_referrals()] == numbers[:2]
        assert verify_audit_log(first_store.events()).ok
