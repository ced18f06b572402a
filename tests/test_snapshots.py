"""Snapshots of the queues (issue 17, item 3): a service starts from the newest snapshot and
the records after it, stands exactly as one that replayed the whole log, and ignores a
snapshot it cannot trust; a refused command puts the desk back instead of rebuilding it."""

from __future__ import annotations

import logging
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edqueue import EdqueueError, StorageError
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.postgres import PostgresStore
from edqueue.adapters.sqlite import SqliteStore
from edqueue.journal import rebuild_desk
from edqueue.ports import SnapshotStore
from edqueue.rules import ReferralDesk
from edqueue.rules._state import capture
from edqueue.sample import shakhtinsk_organizations
from edqueue.service import ApplicationService
from edqueue.service.projection import Projection
from edqueue.service.snapshot import Snapshot, decode, encode
from tests.test_journal import CHOICES, NOW, city_ports, submit
from tests.test_many_processes import SALTANAT_2020_RU, Interleaved

ORGANIZATIONS = shakhtinsk_organizations()


def standing(desk: ReferralDesk) -> object:
    """What a reader sees of a desk: its whole state and every queue in order."""
    book = desk.book
    return capture(desk), {q: book.queue(*q) for q in book.queue_ids()}


def answer(service: ApplicationService, number: str) -> object:
    """What the cabinet answers about ``number``: its positions, or the refusal's code."""
    try:
        return service.position(number)
    except EdqueueError as error:
        return error.code


def busy_city(store: Any, families: int = 8, **options: Any) -> tuple[Any, Any, ApplicationService]:
    """A service over ``store`` in which ``families`` applied (two more are known to the
    ports), places freed, referrals were issued, one declined and one used: every kind of
    state a snapshot keeps."""
    ports, made = city_ports(families + 2)
    service = restarted(ports, store, **options)
    for k, family in enumerate(made[:families]):
        submit(service, ports, family, CHOICES[k % len(CHOICES)], benefit=8 if k == 3 else None)
    service.free_place(*SALTANAT_2020_RU, count=1)
    referrals = service.book.open_referrals()
    assert referrals
    ports.clock.advance(timedelta(hours=1))
    service.decline_referral(referrals[0].id)
    for referral in service.book.open_referrals()[:1]:
        service.use_referral(referral.id)
    return ports, made, service


def restarted(ports: Any, store: Any, **options: Any) -> ApplicationService:
    """A service over ``store`` (its drafts and numbers too when it keeps them)."""
    if isinstance(store, SqliteStore | PostgresStore):
        return ports.service(store, store, numbers=store, **options)  # type: ignore[no-any-return]
    return ports.service(store, MemoryDrafts(), **options)  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_a_restart_from_a_snapshot_stands_as_a_replay_of_the_whole_log(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store: Any
    if kind == "memory":
        store = MemoryRepository()
    elif kind == "sqlite":
        store = SqliteStore(tmp_path / "q.sqlite")
    else:
        store = PostgresStore(request.getfixturevalue("postgres_dsn"), migrate=True)
    assert isinstance(store, SnapshotStore)
    ports, made, service = busy_city(store)
    covered = service.save_snapshot()
    assert covered == len(store.events())
    # more records after the snapshot: a family applies, a place frees, time passes
    for family in made[8:]:
        submit(service, ports, family, CHOICES[0])
    service.free_place(*SALTANAT_2020_RU, count=1)
    service.advance(NOW + timedelta(days=20))
    again = restarted(ports, store)
    assert again.started_from == covered
    whole = rebuild_desk(store, ORGANIZATIONS)
    assert standing(again.desk) == standing(whole) == standing(service.desk)
    for family in made[:8]:
        for number in [s.application.number for s in store.for_child(family.child)]:
            assert answer(again, number) == answer(service, number)


def test_a_snapshot_holds_no_personal_data(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "q.sqlite") as store:
        _, made, service = busy_city(store)
        service.save_snapshot()
        kept = store.load_snapshot("г.Шахтинск")
        assert kept is not None
        text = zlib.decompress(kept[1]).decode("utf-8")
        for family in made:
            assert family.child.reveal() not in text
            assert family.applicant.reveal() not in text
            assert family.phone.removeprefix("+") not in text.replace(" ", "")
        assert "Иванов" not in text


def test_the_encoding_keeps_the_whole_state(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "q.sqlite") as store:
        _, _, service = busy_city(store)
        state = capture(service.desk)
        assert decode(encode(Snapshot(7, "d" * 64, state))) == Snapshot(7, "d" * 64, state)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a snapshot",
        lambda data: zlib.compress(b'{"format": 99}'),
        lambda data: data[: len(data) // 2],
    ],
)
def test_a_damaged_snapshot_is_ignored_and_the_log_replayed(
    damage: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with SqliteStore(tmp_path / "q.sqlite") as store:
        ports, _, service = busy_city(store)
        live = standing(service.desk)
        sequence = len(store.events()) + 0
        store._write(  # the bytes damaged where they are kept
            lambda c: c.execute(
                "INSERT INTO snapshots (name, sequence, data) VALUES (?, ?, ?)",
                ("г.Шахтинск", sequence, damage(encode(Snapshot(0, "", capture(service.desk))))),
            )
        )
        with caplog.at_level(logging.WARNING, logger="edqueue"):
            again = restarted(ports, store, snapshot_after=None)
        assert again.started_from == 0
        assert standing(again.desk) == live
        assert "snapshot of the queues is not used (storage.corrupt)" in caplog.text
        with pytest.raises(StorageError, match="cannot be read") as caught:
            decode(damage(encode(Snapshot(0, "", capture(service.desk)))))
        assert caught.value.code == "storage.corrupt"


def test_a_snapshot_of_another_log_is_ignored(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "one.sqlite") as one, SqliteStore(tmp_path / "two.sqlite") as two:
        ports, _, first = busy_city(one)
        first.save_snapshot()
        _, _, second = busy_city(two, families=9)
        kept = one.load_snapshot("г.Шахтинск")
        assert kept is not None
        # the first store's snapshot copied next to a longer log it did not cover
        assert len(two.events()) > kept[0]
        assert two.events()[kept[0] - 1].digest != one.events()[kept[0] - 1].digest
        two.save_snapshot("г.Шахтинск", kept[0], kept[1])
        again = restarted(ports, two, snapshot_after=None)
        assert again.started_from == 0
        assert standing(again.desk) == standing(second.desk)


def test_a_start_that_replayed_many_records_saves_a_snapshot(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "q.sqlite") as store:
        ports, _, _ = busy_city(store, snapshot_after=None)
        assert store.load_snapshot("г.Шахтинск") is None
        first = restarted(ports, store, snapshot_after=5)
        assert first.started_from == 0
        kept = store.load_snapshot("г.Шахтинск")
        assert kept is not None
        assert kept[0] == len(store.events())
        assert restarted(ports, store, snapshot_after=5).started_from == kept[0]


# --- a refused command never triggers a rebuild ------------------------------------------------


def count_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    starts: list[int] = []
    original = Projection._start

    def counted(self: Projection) -> ReferralDesk:
        starts.append(1)
        return original(self)

    monkeypatch.setattr(Projection, "_start", counted)
    return starts


def test_a_command_refused_for_bad_input_puts_the_desk_back_without_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStore(tmp_path / "q.sqlite") as store:
        _, _, service = busy_city(store)
        before = standing(service.desk)
        starts = count_starts(monkeypatch)
        with pytest.raises(EdqueueError):
            service.use_referral("R-404")
        with pytest.raises(EdqueueError):
            service.free_place(*SALTANAT_2020_RU, count=10_000)
        assert standing(service.desk) == before
        service.free_place(*SALTANAT_2020_RU, count=1)
        assert starts == []
        assert standing(service.desk) == standing(rebuild_desk(store, ORGANIZATIONS))


def test_a_decision_on_a_stale_view_is_decided_again_without_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "q.sqlite"
    with Interleaved(path) as mine, SqliteStore(path) as theirs:
        ports, _, service = busy_city(mine)
        other = restarted(ports, theirs)
        starts = count_starts(monkeypatch)
        mine.before = lambda: other.free_place(*SALTANAT_2020_RU, count=1)
        service.free_place(*SALTANAT_2020_RU, count=1)
        assert starts == []
        assert standing(service.desk) == standing(rebuild_desk(mine, ORGANIZATIONS))
        assert standing(other.desk) == standing(service.desk)
