"""The audit log's hash chain: any edited, removed, inserted or moved entry shows."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import attrs
from hypothesis import given
from hypothesis import strategies as st

from edqueue.adapters.memory_store import MemoryRepository
from edqueue.adapters.sqlite import _SCHEMA, SqliteStore
from edqueue.audit import GENESIS, seal, verify_audit_log
from edqueue.models import KAZAKHSTAN
from edqueue.ports import EventRecord
from edqueue.sample import seed_application

T0 = datetime(2024, 2, 5, 10, 15, tzinfo=KAZAKHSTAN)

records = st.builds(
    EventRecord,
    kind=st.sampled_from(["application_submitted", "benefit_changed", "access_denied"]),
    at=st.integers(0, 10**6).map(lambda s: T0 + timedelta(seconds=s)),
    number=st.one_of(st.none(), st.integers(1, 10**7).map(str)),
    reason=st.text(max_size=20),
    data=st.dictionaries(st.sampled_from(["queues", "event", "n"]), st.text(max_size=10)),
)


def chain(events: list[EventRecord]) -> list[EventRecord]:
    previous, sealed = GENESIS, []
    for sequence, event in enumerate(events, start=1):
        record = seal(previous, attrs.evolve(event, sequence=sequence))
        previous = record.digest
        sealed.append(record)
    return sealed


@given(st.lists(records, min_size=1, max_size=12))
def test_an_untouched_log_verifies(events: list[EventRecord]) -> None:
    verdict = verify_audit_log(chain(events))
    assert verdict.ok
    assert verdict.checked == len(events)


@given(st.lists(records, min_size=1, max_size=12), st.data())
def test_an_edited_entry_breaks_the_chain_from_there(
    events: list[EventRecord], data: st.DataObject
) -> None:
    log = chain(events)
    index = data.draw(st.integers(0, len(log) - 1))
    field = data.draw(st.sampled_from(["kind", "reason", "number", "at", "data"]))
    original = log[index]
    changed = {
        "kind": original.kind + "!",
        "reason": original.reason + "!",
        "number": "999" if original.number != "999" else "998",
        "at": original.at + timedelta(microseconds=1),
        "data": {**original.data, "forged": "yes"},
    }[field]
    log[index] = attrs.evolve(original, **{field: changed})
    verdict = verify_audit_log(log)
    assert not verdict.ok
    assert verdict.problems[0][0] == original.sequence


@given(st.lists(records, min_size=2, max_size=12), st.data())
def test_a_removed_or_moved_entry_shows(events: list[EventRecord], data: st.DataObject) -> None:
    log = chain(events)
    index = data.draw(st.integers(0, len(log) - 2))
    removed = log[:index] + log[index + 1 :]
    assert not verify_audit_log(removed).ok
    swapped = list(log)
    swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
    assert not verify_audit_log(swapped).ok
    truncated_head = log[1:]
    assert not verify_audit_log(truncated_head).ok  # the first entry is missing
    # a later part verifies from the digest of the entry before it
    assert verify_audit_log(log[index + 1 :], previous=log[index].digest).ok


@given(st.lists(records, min_size=1, max_size=8), st.data())
def test_a_forged_entry_resealed_by_someone_without_the_rest_shows(
    events: list[EventRecord], data: st.DataObject
) -> None:
    log = chain(events)
    index = data.draw(st.integers(0, len(log) - 1))
    previous = log[index - 1].digest if index else GENESIS
    forged = seal(previous, attrs.evolve(log[index], reason="rewritten"))
    log[index] = forged
    if index + 1 < len(log):  # the next entry no longer follows
        assert not verify_audit_log(log).ok
    else:  # resealing the last entry is only caught against a published digest
        assert verify_audit_log(log).ok
        assert forged.digest != chain(events)[-1].digest


def test_both_stores_seal_the_log_and_forgetting_leaves_it_verifiable(tmp_path: Path) -> None:
    application = seed_application()
    submitted = EventRecord(
        "application_submitted",
        T0,
        application.number,
        "submitted",
        {"queues": "shakhtinsk-saltanat 2020 ГР русский"},
    )
    for store in (MemoryRepository(), SqliteStore(tmp_path / "audit.sqlite3")):
        store.add(application, [submitted])
        store.append([EventRecord("notification_sent", T0, application.number, "sent")])
        assert verify_audit_log(store.events()).ok
        store.forget(application.number)
        verdict = verify_audit_log(store.events())
        assert verdict.ok
        assert verdict.erased == (1,)


def test_a_row_edited_in_the_database_shows(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite3"
    with SqliteStore(path) as store:
        store.append([EventRecord("a", T0, None, "first"), EventRecord("b", T0, None, "second")])
    connection = sqlite3.connect(path)
    connection.execute("UPDATE events SET reason = 'changed' WHERE sequence = 1")
    connection.commit()
    connection.close()
    with SqliteStore(path) as store:
        verdict = verify_audit_log(store.events())
    assert [sequence for sequence, _ in verdict.problems] == [1]


def test_a_log_written_before_the_chain_is_sealed_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    for statement in _SCHEMA:
        if "CREATE TABLE events" in statement:  # the first version had no digests
            statement = statement.replace(",\n        data_digest TEXT NOT NULL DEFAULT ''", "")
            statement = statement.replace(",\n        digest TEXT NOT NULL DEFAULT ''", "")
        connection.execute(statement)
    connection.execute(
        "INSERT INTO events (number, kind, at, at_us, zone, reason, data) "
        "VALUES (NULL, 'a', ?, 0, 'Asia/Almaty', 'old', '{}')",
        (T0.isoformat(),),
    )
    connection.execute("PRAGMA user_version = 1")
    connection.commit()
    connection.close()
    with SqliteStore(path) as store:
        store.append([EventRecord("b", T0, None, "new")])
        events = store.events()
    assert [e.kind for e in events] == ["a", "b"]
    assert verify_audit_log(events).ok
