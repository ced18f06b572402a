"""Wake-ups (issue 17): a worker learns of other processes' records promptly through
``wait_for_events`` (the ``EventWaiter`` port), over every store: a condition in memory, a
poll of the head on SQLite, LISTEN/NOTIFY on PostgreSQL with the log as the truth, polling
as the fallback when a notification is lost, and reconnection after a dropped connection.

No assertion reads a clock. A wait that should return early is given a generous timeout
(30 s, so a broken wait cannot hang the run) and a *late record*: unless the wait has
returned by then, another record is appended 10 s after the wait began. A wait that returned
when it should returns the head before the late record; one that slept until its timeout
returns a larger head, and the assertion on the value fails.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from edqueue.adapters.memory_store import MemoryRepository
from edqueue.adapters.postgres import CHANNEL, PostgresStore, log_channel
from edqueue.adapters.sqlite import SqliteStore
from edqueue.errors import PortError, StorageError
from edqueue.ports import EventWaiter
from edqueue.testing.contracts import event
from tests.postgres_server import fresh_schema

TIMEOUT = 30.0
"""Every wait that should end early may last this long before the test fails (never hangs)."""
LATE = 10.0
"""When the late record is appended, unless the wait under test has returned."""


def note(store: Any, count: int = 1) -> int:
    """Append ``count`` records that belong to no application; the new head."""
    written = store.append([event("notified") for _ in range(count)])
    return int(written[-1].sequence)


def wait_while(
    waiter: Any, after: int, meanwhile: Callable[[], object], late: Any, *, delay: float = 0.1
) -> int:
    """``waiter.wait_for_events(after, TIMEOUT)`` while another thread runs ``meanwhile``
    ``delay`` seconds after the wait began, and appends one late record to ``late`` at
    :data:`LATE` seconds unless the wait has returned by then."""
    done = threading.Event()

    def append_late() -> None:
        if not done.is_set():
            note(late)

    # a failure in either thread fails the test (pytest reports exceptions in threads)
    timers = [threading.Timer(delay, meanwhile), threading.Timer(LATE, append_late)]
    for timer in timers:
        timer.start()
    try:
        return int(waiter.wait_for_events(after, TIMEOUT))
    finally:
        done.set()
        timers[1].cancel()
        for timer in timers:
            timer.join()


# --- every store --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """A store that waits, and another object over the same log that writes (as another
    process would; the memory store has only one object, shared by threads)."""
    if request.param == "memory":
        store = MemoryRepository()
        yield store, store
        return
    if request.param == "sqlite":
        path = tmp_path / "queue.sqlite3"
        with SqliteStore(path) as waiter, SqliteStore(path) as writer:
            yield waiter, writer
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    # polling only after the late record: the waits end early by notification alone
    with PostgresStore(dsn, poll_interval=60) as waiter, PostgresStore(dsn) as writer:
        yield waiter, writer


def test_every_store_is_an_event_waiter(pair: tuple[Any, Any]) -> None:
    waiter, _ = pair
    assert isinstance(waiter, EventWaiter)


def test_a_wait_returns_the_new_head_as_soon_as_another_writer_appends(
    pair: tuple[Any, Any],
) -> None:
    waiter, writer = pair
    head = note(writer, 2)
    assert wait_while(waiter, head, lambda: note(writer, 3), writer) == head + 3
    # the same loop again, from the head it returned: nothing is taken twice
    assert wait_while(waiter, head + 3, lambda: note(writer), writer) == head + 4


def test_a_wait_past_a_head_already_moved_returns_at_once(pair: tuple[Any, Any]) -> None:
    """A record committed between the caller's read and the wait is not waited for."""
    waiter, writer = pair
    head = note(writer, 3)
    assert waiter.wait_for_events(0, TIMEOUT) == head
    assert waiter.wait_for_events(head - 1, TIMEOUT) == head


def test_a_wait_with_nothing_new_returns_the_unchanged_head_at_its_timeout(
    pair: tuple[Any, Any],
) -> None:
    waiter, writer = pair
    assert waiter.wait_for_events(0, 0.2) == 0  # an empty log
    head = note(writer, 2)
    assert waiter.wait_for_events(head, 0.2) == head
    assert waiter.wait_for_events(head, 0) == head
    assert waiter.wait_for_events(head + 5, 0.1) == head  # a caller ahead of the log


def test_a_worker_loop_catches_up_after_each_wait(pair: tuple[Any, Any]) -> None:
    """What a host's worker does over any store: wait past what it has read, then read
    the new records; every record is read once, in order."""
    waiter, writer = pair
    read: list[int] = []
    seen = 0
    for _ in range(3):
        seen = wait_while(waiter, seen, lambda: note(writer, 2), writer)
        read += [e.sequence for e in waiter.events(read[-1] if read else 0)]
        assert read[-1] == seen
    assert read == list(range(1, 7))


# --- PostgreSQL ---------------------------------------------------------------------------------


_WRITER = """
import sys
from edqueue.adapters.postgres import PostgresStore
from edqueue.testing.contracts import event
with PostgresStore(sys.argv[1]) as store:
    print(store.append([event("notified"), event("notified")])[-1].sequence)
"""


def test_a_wait_returns_when_another_process_appends(postgres_dsn: str) -> None:
    with PostgresStore(postgres_dsn, poll_interval=60) as waiter:
        head = note(waiter)

        def other_process() -> None:
            done = subprocess.run(
                [sys.executable, "-c", _WRITER, postgres_dsn],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=True,
            )
            assert done.stdout.strip() == str(head + 2)

        assert wait_while(waiter, head, other_process, waiter) == head + 2


def test_each_append_notifies_its_schemas_channel_at_commit(postgres_dsn: str) -> None:
    """The payload is the new head; a store in another schema notifies another channel;
    a refused write notifies nothing."""
    other_dsn = fresh_schema(postgres_dsn)
    schema = other_dsn.rsplit("search_path=", 1)[1].strip("'")
    with (
        PostgresStore(postgres_dsn) as store,
        PostgresStore(other_dsn) as other,
        psycopg.connect(postgres_dsn, autocommit=True) as listening,
    ):
        listening.execute(f'LISTEN "{CHANNEL}"'.encode())
        listening.execute(f'LISTEN "{log_channel(schema)}"'.encode())
        assert log_channel(schema) == f"edqueue_log.{schema}"
        note(store, 2)
        note(other)
        with pytest.raises(StorageError) as refused:
            store.append([event("notified")], log_head=0)
        assert refused.value.code == "storage.conflict"
        note(store)
        heard = [(n.channel, n.payload) for n in listening.notifies(timeout=TIMEOUT, stop_after=3)]
        assert heard == [(CHANNEL, "2"), (f"edqueue_log.{schema}", "1"), (CHANNEL, "3")]
        assert list(listening.notifies(timeout=0.2)) == []


def test_a_long_schema_name_gets_a_channel_pg_notify_accepts() -> None:
    channel = log_channel("района_" * 10)
    assert channel.startswith("edqueue_log.")
    assert len(channel.encode()) <= 63
    assert log_channel("public") == CHANNEL == "edqueue_log"


def test_a_lost_notification_is_made_up_for_by_polling(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer whose notifications never reach the waiter (here: sent to another
    channel; in life, a connection dropped between commit and delivery, or a writer that
    is not a PostgresStore): the waiter reads the head every poll_interval."""
    with (
        PostgresStore(postgres_dsn, poll_interval=0.2) as waiter,
        PostgresStore(postgres_dsn) as silent,
    ):
        monkeypatch.setattr(silent, "_channel", "edqueue_log_nobody_listens")
        head = note(silent)
        assert wait_while(waiter, head, lambda: note(silent, 2), silent, delay=0.5) == head + 2


def listeners(dsn: str) -> list[int]:
    """The backends of the database's listening connections."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'edqueue-listener'"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def terminate(dsn: str, pids: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        for pid in pids:
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_dropped_listening_connection_is_opened_again_and_the_head_read(
    postgres_dsn: str,
) -> None:
    """The waiter's connection is terminated while it waits, and a record is committed
    while it has none: it reconnects, listens and reads the head, long before its next
    poll (60 s, past the late record)."""
    with (
        PostgresStore(postgres_dsn, poll_interval=60) as waiter,
        PostgresStore(postgres_dsn) as writer,
    ):
        head = note(writer)
        dropped: list[int] = []

        def drop_then_write() -> None:
            for _ in range(300):  # the waiter listens within moments; give up after 30 s
                dropped[:] = listeners(postgres_dsn)
                if dropped:
                    break
                time.sleep(0.1)
            terminate(postgres_dsn, dropped)
            note(writer, 2)

        assert wait_while(waiter, head, drop_then_write, writer) == head + 2
        assert len(dropped) == 1
        again = listeners(postgres_dsn)
        assert len(again) == 1 and again != dropped  # listening again, on a new connection
        assert wait_while(waiter, head + 2, lambda: note(writer), writer) == head + 3


def test_two_threads_waiting_on_one_store_both_see_the_new_head(postgres_dsn: str) -> None:
    with (
        PostgresStore(postgres_dsn, poll_interval=60) as waiter,
        PostgresStore(postgres_dsn) as writer,
    ):
        other: list[int] = []
        second = threading.Thread(target=lambda: other.append(waiter.wait_for_events(0, TIMEOUT)))
        second.start()
        assert wait_while(waiter, 0, lambda: note(writer), writer) == 1
        second.join()
        assert other == [1]


def test_a_closed_store_ends_a_wait_under_way_and_refuses_new_ones(postgres_dsn: str) -> None:
    waiter = PostgresStore(postgres_dsn, poll_interval=0.2)
    outcome: list[object] = []

    def wait() -> None:
        try:
            outcome.append(waiter.wait_for_events(0, TIMEOUT))
        except ValueError as error:
            outcome.append(error)

    waiting = threading.Thread(target=wait)
    waiting.start()
    for _ in range(300):
        if listeners(postgres_dsn):
            break
        time.sleep(0.1)
    waiter.close()
    waiting.join(TIMEOUT)
    assert not waiting.is_alive()
    assert [str(o) for o in outcome] == ["the PostgreSQL store is closed"]
    assert listeners(postgres_dsn) == []
    with pytest.raises(ValueError, match="closed"):
        waiter.wait_for_events(0, 0)


def test_a_wait_on_a_server_that_cannot_be_reached_is_a_port_error(tmp_path: Path) -> None:
    from edqueue.adapters.postgres import LogListener

    def connect() -> Any:
        return psycopg.connect(f"host={tmp_path} dbname=nowhere connect_timeout=2")

    listener = LogListener(connect, "public", ("1s", "1s"), lambda: 0, poll_interval=0.1)
    with pytest.raises(PortError) as raised:
        listener.wait(0, 0.3)
    assert raised.value.code == "port.failed"
    listener.close()
    with pytest.raises(ValueError, match="closed"):
        listener.wait(0, 0)


@pytest.mark.parametrize(
    "arguments",
    [{"poll_interval": 0}, {"poll_interval": float("nan")}, {"poll_interval": -1}],
)
def test_a_bad_poll_interval_is_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        PostgresStore("host=/nowhere", **arguments)
