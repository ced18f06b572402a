"""The stores' bulk import (issue 17, item 7): ``import_applications`` writes exactly what one
``add`` per application, with its submission record, writes; on SQLite and PostgreSQL.

Each test compares two fresh stores: one filled by the import, one by ``add`` in turn with
the record of the event :meth:`QueueBook.submit` makes. Every read must agree, the events
to their sequences and digests, so the audit chain verifies and the queues rebuilt from
either store are the same.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edqueue import KAZAKHSTAN, QueueError, StorageError, TimeError
from edqueue.adapters.postgres import PostgresStore
from edqueue.adapters.sqlite import SqliteStore
from edqueue.audit import verify_audit_log
from edqueue.journal import rebuild_book, to_record
from edqueue.models import Application, ApplicationStatus
from edqueue.ports import EventRecord
from edqueue.rules import QueueBook
from edqueue.rules.events import ApplicationSubmitted
from edqueue.testing import applications as application_records
from edqueue.testing.city import generate_applications, generate_organizations
from tests.postgres_server import fresh_schema

AS_OF = datetime(2025, 8, 15, 9, 0, tzinfo=KAZAKHSTAN)
ORGANIZATIONS = generate_organizations(12, seed=17, as_of=AS_OF.date())
CITY = list(generate_applications(120, ORGANIZATIONS, seed=17, as_of=AS_OF))
"""A small synthetic city: every application finds its queues."""

Opener = Callable[[], Any]
"""Opens a new, empty store of the kind under test (closed by the test's ExitStack)."""


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def stores(kind: str, dsn: str | None) -> Iterator[Opener]:
    """A function that opens new, empty stores of ``kind`` (each in its own file, or its
    own schema of the test's database); every store it opened is closed at the end."""
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        count = 0

        def open_store() -> Any:
            nonlocal count
            count += 1
            if kind == "sqlite":
                store: Any = SqliteStore(directory / f"store-{count}.sqlite3")
            else:
                assert dsn is not None
                store = PostgresStore(fresh_schema(dsn))
            return stack.enter_context(store)

        yield open_store


@pytest.fixture
def opener(kind: str, request: pytest.FixtureRequest) -> Iterator[Opener]:
    dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else None
    with stores(kind, dsn) as open_store:
        yield open_store


def bulk(store: Any, applications: Sequence[Application], **options: Any) -> int:
    """The store's own ``import_applications`` (the public method over ``_bulk``)."""
    count: int = store.import_applications(applications, **options)
    return count


def add_each(
    store: Any,
    applications: Sequence[Application],
    *,
    actor: str = "import",
    at: datetime | None = None,
    events: Callable[[Application], list[Any]] | None = None,
) -> None:
    """What the import stands for: one ``add`` per application with its submission record
    (the event ``events`` gives, by default the one ``QueueBook.submit`` would make)."""
    for application in applications:
        made = (
            events(application)
            if events is not None
            else [
                ApplicationSubmitted(
                    at=application.submitted_at,
                    queues=application.group_keys,
                    number=application.number,
                    reason="submitted",
                )
            ]
        )
        if at is not None:
            made = [attrs.evolve(e, at=at) for e in made]
        store.add(application, [to_record(e, actor=actor, application=application) for e in made])


def contents(store: Any) -> tuple[list[Any], list[Any], list[EventRecord]]:
    """Everything a reader sees: all(), get() of each number, the log."""
    stored = list(store.all())
    return stored, [store.get(s.application.number) for s in stored], store.events()


def note(text: str) -> EventRecord:
    return EventRecord(kind="test_note", at=AS_OF, number=None, reason=text)


# --- the same contents as one add each ------------------------------------------------------


def test_an_import_writes_what_one_add_each_writes(opener: Opener) -> None:
    imported, added = opener(), opener()
    book = QueueBook(ORGANIZATIONS)
    add_each(added, CITY, events=book.submit)  # the events the service's queues make
    assert bulk(imported, CITY) == len(CITY)
    assert contents(imported) == contents(added)
    events = imported.events()
    assert [e.sequence for e in events] == list(range(1, len(CITY) + 1))
    assert verify_audit_log(events).ok
    for application in CITY[:10]:
        [mine] = imported.for_child(application.child.iin)
        assert mine.application == application and mine.version == 1
        assert imported.by_idempotency_key(f"form-{application.number}") is None
    rebuilt = rebuild_book(imported, ORGANIZATIONS)
    expected = QueueBook.build(ORGANIZATIONS, CITY)
    queues = list(rebuilt.queues())
    assert queues == list(expected.queues()) == list(rebuild_book(added, ORGANIZATIONS).queues())
    assert all(rebuilt.positions(a.number) == book.positions(a.number) for a in CITY)


def test_an_import_after_other_records_continues_the_chain(opener: Opener) -> None:
    """Into a store that already holds applications and other records: numbered after its
    head and sealed after its last digest, as the next add would be."""
    imported, added = opener(), opener()
    first, rest = CITY[:30], CITY[30:]
    for store in (imported, added):
        add_each(store, first)
        store.append([note("a record of no application")])
    add_each(added, rest, actor="region", at=AS_OF)
    assert bulk(imported, rest, actor="region", at=AS_OF) == len(rest)
    assert contents(imported) == contents(added)
    events = imported.events()
    assert len(events) == len(CITY) + 1 and verify_audit_log(events).ok
    assert {e.data["actor"] for e in events[31:]} == {"region"}
    assert {e.at for e in events[31:]} == {AS_OF}
    # the head moved: the next write is numbered after the import, and the chain holds
    [after] = imported.append([note("after the import")])
    assert after.sequence == len(CITY) + 2
    assert verify_audit_log(imported.events()).ok


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batch=st.lists(application_records(numbers=st.integers(1, 10**6)), max_size=6).filter(
        lambda apps: len({a.number for a in apps}) == len(apps)
    ),
    split=st.integers(0, 6),
    actor=st.sampled_from(["import", "региональная база", "desk\\0"]),
)
def test_any_import_equals_one_add_each(
    kind: str,
    request: pytest.FixtureRequest,
    batch: list[Application],
    split: int,
    actor: str,
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else None
    with stores(kind, dsn) as open_store:
        imported, added = open_store(), open_store()
        before, rest = batch[:split], batch[split:]
        add_each(imported, before, actor=actor)
        add_each(added, batch, actor=actor)
        assert bulk(imported, rest, actor=actor) == len(rest)
        assert contents(imported) == contents(added)
        assert verify_audit_log(imported.events()).ok


# --- refusals: nothing written ----------------------------------------------------------------


def test_a_number_already_stored_is_refused_and_nothing_is_written(opener: Opener) -> None:
    store = opener()
    add_each(store, CITY[:5])
    before = contents(store)
    with pytest.raises(StorageError) as raised:
        bulk(store, [*CITY[5:40], CITY[3], *CITY[40:60]])
    assert raised.value.code == "storage.duplicate"
    assert f"#{CITY[3].number}" in raised.value.message
    assert contents(store) == before
    assert bulk(store, CITY[5:60]) == 55  # the same without the stored one goes in


def test_a_number_given_twice_is_refused_and_nothing_is_written(opener: Opener) -> None:
    store = opener()
    with pytest.raises(StorageError) as raised:
        bulk(store, [*CITY[:20], CITY[7], *CITY[20:30]])
    assert raised.value.code == "storage.duplicate"
    assert f"#{CITY[7].number} is given twice" in raised.value.message
    assert contents(store) == ([], [], [])


def test_a_naive_time_is_refused_and_nothing_is_written(opener: Opener) -> None:
    store = opener()
    with pytest.raises(TimeError):
        bulk(store, CITY[:10], at=datetime(2025, 8, 15, 9, 0))  # noqa: DTZ001 - on purpose
    assert contents(store) == ([], [], [])
    assert bulk(store, []) == 0
    assert contents(store) == ([], [], [])


# --- other writers ------------------------------------------------------------------------------


def test_other_writers_wait_for_the_import_and_the_log_stays_one_chain(opener: Opener) -> None:
    """Appends from another store object (its own connection) during an import: each
    lands before or after the import's records, never between them, and the chain holds."""
    store = opener()
    if isinstance(store, SqliteStore):  # the same file, another connection
        other: Any = SqliteStore(store._path, timeout=30)
    else:  # the same schema, another pool
        other = PostgresStore(str(store._pool.conninfo), timeout=30)
    done = threading.Event()
    written: list[int] = []

    def append_meanwhile() -> None:
        while not done.is_set() or len(written) < 5:
            [record] = other.append([note("meanwhile")])
            written.append(record.sequence)

    with other:
        thread = threading.Thread(target=append_meanwhile)
        thread.start()
        try:
            bulk(store, CITY)
        finally:
            done.set()
            thread.join(timeout=60)
    events = store.events()
    assert verify_audit_log(events).ok
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    positions = [e.sequence for e in events if e.kind == "application_submitted"]
    assert positions == list(range(positions[0], positions[0] + len(CITY)))  # one block
    assert [e.number for e in events if e.kind == "application_submitted"] == [
        a.number for a in CITY
    ]


def test_the_records_carry_the_submission_state_the_journal_rewinds_to(opener: Opener) -> None:
    """A withdrawn application imported as such stands outside the queues after a rebuild,
    as one added with its record does."""
    withdrawn = [a.replace(status=ApplicationStatus.WITHDRAWN) for a in CITY[:3]]
    imported = opener()
    bulk(imported, withdrawn + CITY[3:10], at=AS_OF + timedelta(days=1))
    rebuilt = rebuild_book(imported, ORGANIZATIONS)
    expected = QueueBook.build(ORGANIZATIONS, withdrawn + CITY[3:10])
    assert list(expected.queues()) == list(rebuilt.queues())
    for application in withdrawn:
        assert rebuilt.application(application.number).status is ApplicationStatus.WITHDRAWN
        with pytest.raises(QueueError):
            rebuilt.positions(application.number)
