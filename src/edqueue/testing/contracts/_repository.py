"""The contract every ``ApplicationRepository`` + ``EventLog`` meets (see :mod:`edqueue.ports`):
adds and updates with versions, idempotency keys and their owners, the numbered and chained
log, lookups, concurrency, ``forget``, and a model test against plain dicts.
"""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

import abc
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import pytest
from hypothesis import given

from edqueue.audit import verify_audit_log
from edqueue.errors import StorageError, TimeError
from edqueue.models import KAZAKHSTAN, Application, ApplicationStatus, Iin
from edqueue.ports import ApplicationRepository, EventLog, EventRecord, StoredApplication
from edqueue.sample import neighbour_applications, seed_application
from edqueue.testing.contracts._common import AT, close, event, store_settings
from edqueue.testing.contracts._repository_model import _OPERATIONS, _Model, chained


@runtime_checkable
class Repository(ApplicationRepository, EventLog, Protocol):
    """What :class:`RepositoryContract` tests: both ports, and ``forget``."""

    def forget(self, number: str) -> bool:
        """Delete the application, its idempotency key (with its owner) and the ``data`` of
        its events, which keep their sequence, kind, time, number and reason; return whether
        the application was stored."""
        ...


def numbered(application: Application, number: str) -> Application:
    """The same application under another number."""
    return attrs.evolve(application, number=number)


class RepositoryContract(abc.ABC):
    """The tests every ``ApplicationRepository`` + ``EventLog`` passes, as one object (the
    ``store`` the service takes), with ``forget``.

    Subclass it in a ``Test...`` class and implement :meth:`make`; pytest runs every test
    against the store it makes (here edqueue's memory store; give yours):

    >>> from edqueue.adapters.memory_store import MemoryRepository
    >>> class TestMemoryRepository(RepositoryContract):
    ...     def make(self, directory):
    ...         return MemoryRepository()
    """

    @abc.abstractmethod
    def make(self, directory: Path) -> Repository:
        """A new, empty store; its files, if any, go in ``directory`` (a new, empty
        directory). Called once per test and once per example of the model test; the
        suite calls the store's ``close()``, if it has one, when the test is done."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Repository]:
        """The store of one test, made by :meth:`make` and closed after it."""
        store = self.make(tmp_path)
        yield store
        close(store)

    def test_the_store_implements_both_ports(self, store: Repository) -> None:
        assert isinstance(store, ApplicationRepository)
        assert isinstance(store, EventLog)
        assert isinstance(store, Repository)

    # --- add and get -------------------------------------------------------------------

    def test_add_then_get(self, store: Repository) -> None:
        application = seed_application()
        stored = store.add(application)
        assert stored == StoredApplication(application, 1)
        assert store.get("1292583") == stored
        assert store.get("1292584") is None

    def test_a_stored_number_is_refused_and_nothing_changes(self, store: Repository) -> None:
        first = seed_application()
        store.add(first, [event("application_submitted", first.number)])
        other = numbered(neighbour_applications()[0], first.number)
        with pytest.raises(StorageError) as raised:
            store.add(other, [event("application_submitted", first.number)])
        assert raised.value.code == "storage.duplicate"
        assert store.get(first.number) == StoredApplication(first, 1)
        assert len(store.events()) == 1

    def test_idempotency_key_finds_the_application_and_is_not_reused(
        self, store: Repository
    ) -> None:
        first, second = seed_application(), neighbour_applications()[0]
        stored = store.add(first, idempotency_key="submit-1")
        assert store.by_idempotency_key("submit-1") == stored
        assert store.by_idempotency_key("submit-2") is None
        with pytest.raises(StorageError) as raised:
            store.add(second, [event("application_submitted")], idempotency_key="submit-1")
        assert raised.value.code == "storage.duplicate"
        assert store.get(second.number) is None
        assert store.events() == []
        assert store.by_idempotency_key("submit-1") == stored

    # --- idempotency owners -------------------------------------------------------------

    def test_the_owner_is_stored_with_the_key(self, store: Repository) -> None:
        first, second, third = seed_application(), *neighbour_applications()[:2]
        store.add(first, idempotency_key="submit-1", idempotency_owner="draft-digest-1")
        store.add(second, idempotency_key="submit-2")  # a key without an owner
        store.add(third, idempotency_owner="draft-digest-3")  # an owner without a key
        assert store.idempotency_owner("submit-1") == "draft-digest-1"
        assert store.idempotency_owner("submit-2") is None
        assert store.idempotency_owner("submit-3") is None  # an unknown key
        assert store.idempotency_owner("draft-digest-3") is None
        assert store.idempotency_owner("") is None

    def test_a_refused_add_keeps_the_first_owner(self, store: Repository) -> None:
        first, second = seed_application(), neighbour_applications()[0]
        store.add(first, idempotency_key="submit-1", idempotency_owner="draft-digest-1")
        with pytest.raises(StorageError) as raised:
            store.add(second, idempotency_key="submit-1", idempotency_owner="draft-digest-2")
        assert raised.value.code == "storage.duplicate"
        assert store.idempotency_owner("submit-1") == "draft-digest-1"

    def test_idempotency_keys_are_compared_exactly(self, store: Repository) -> None:
        first, second, third = seed_application(), *neighbour_applications()[:2]
        store.add(first, idempotency_key="submit-1", idempotency_owner="owner-a")
        for spaced in (" submit-1", "submit-1 ", " submit-1 ", "\tsubmit-1", "SUBMIT-1"):
            assert store.idempotency_owner(spaced) is None
            assert store.by_idempotency_key(spaced) is None
        # A key that differs only by surrounding spaces is another key: it is not a duplicate.
        second_stored = store.add(second, idempotency_key=" submit-1 ", idempotency_owner="b")
        third_stored = store.add(third, idempotency_key="submit-1\n", idempotency_owner="c")
        assert store.idempotency_owner(" submit-1 ") == "b"
        assert store.idempotency_owner("submit-1\n") == "c"
        assert store.idempotency_owner("submit-1") == "owner-a"
        assert store.by_idempotency_key(" submit-1 ") == second_stored
        assert store.by_idempotency_key("submit-1\n") == third_stored

    def test_forget_forgets_the_key_and_its_owner(self, store: Repository) -> None:
        first, second, other = seed_application(), *neighbour_applications()[:2]
        store.add(first, idempotency_key="submit-1", idempotency_owner="owner-a")
        store.add(other, idempotency_key="submit-9", idempotency_owner="owner-z")
        assert store.forget(first.number) is True
        assert store.idempotency_owner("submit-1") is None
        assert store.by_idempotency_key("submit-1") is None
        assert store.idempotency_owner("submit-9") == "owner-z"  # other keys stay
        # The key is free again, and a later use stores its own owner (or none).
        store.add(second, idempotency_key="submit-1")
        assert store.idempotency_owner("submit-1") is None
        assert store.forget(second.number) is True
        store.add(first, idempotency_key="submit-1", idempotency_owner="owner-b")
        assert store.idempotency_owner("submit-1") == "owner-b"

    # --- update --------------------------------------------------------------------------

    def test_update_with_the_stored_version_makes_the_next_version(self, store: Repository) -> None:
        application = seed_application()
        store.add(application)
        referred = application.with_status(ApplicationStatus.REFERRED)
        assert store.update(referred, 1) == StoredApplication(referred, 2)
        assert store.get(application.number) == StoredApplication(referred, 2)
        withdrawn = referred.with_status(ApplicationStatus.WITHDRAWN)
        assert store.update(withdrawn, 2).version == 3
        assert store.get(application.number) == StoredApplication(withdrawn, 3)

    def test_update_with_a_stale_version_is_a_conflict_and_changes_nothing(
        self, store: Repository
    ) -> None:
        application = seed_application()
        store.add(application)
        referred = application.with_status(ApplicationStatus.REFERRED)
        store.update(referred, 1, [event("referral_issued", application.number)])
        withdrawn = application.with_status(ApplicationStatus.WITHDRAWN)
        with pytest.raises(StorageError) as raised:
            store.update(withdrawn, 1, [event("application_withdrawn", application.number)])
        assert raised.value.code == "storage.conflict"
        assert raised.value.message == "application #1292583 changed since version 1; read it again"
        assert store.get(application.number) == StoredApplication(referred, 2)
        assert [e.kind for e in store.events()] == ["referral_issued"]
        with pytest.raises(StorageError) as ahead:
            store.update(withdrawn, 3)
        assert ahead.value.code == "storage.conflict"

    def test_update_of_an_unknown_number_is_refused(self, store: Repository) -> None:
        with pytest.raises(StorageError) as raised:
            store.update(seed_application(), 1, [event("referral_issued", "1292583")])
        assert raised.value.code == "storage.unknown"
        assert store.get("1292583") is None
        assert store.events() == []

    def test_only_one_of_concurrent_updates_from_one_version_wins(self, store: Repository) -> None:
        application = seed_application()
        store.add(application)
        referred = application.with_status(ApplicationStatus.REFERRED)
        outcomes: list[str] = []
        start = threading.Barrier(8)

        def attempt() -> None:
            start.wait()
            try:
                store.update(referred, 1, [event("referral_issued", application.number)])
            except StorageError as error:
                outcomes.append(error.code)
            else:
                outcomes.append("won")

        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["storage.conflict"] * 7 + ["won"]
        assert store.get(application.number) == StoredApplication(referred, 2)
        assert len(store.events()) == 1

    # --- events --------------------------------------------------------------------------

    def test_events_are_numbered_in_the_order_they_are_written(self, store: Repository) -> None:
        application = seed_application()
        data: dict[str, str | int | None] = {"organization": "shakhtinsk-saltanat", "position": 3}
        store.add(
            application,
            [
                event("application_submitted", application.number),
                EventRecord("position_changed", AT, application.number, "submitted", data),
            ],
        )
        data["position"] = 99  # the caller's dict is not the stored one
        store.update(
            application.with_status(ApplicationStatus.REFERRED),
            1,
            [event("referral_issued", application.number)],
        )
        events = store.events()
        assert [(e.sequence, e.kind) for e in events] == [
            (1, "application_submitted"),
            (2, "position_changed"),
            (3, "referral_issued"),
        ]
        assert events[1].data == {"organization": "shakhtinsk-saltanat", "position": 3}
        assert events[1].reason == "submitted"
        assert events[1].number == application.number

    def test_a_write_with_a_naive_event_time_writes_nothing(self, store: Repository) -> None:
        application = seed_application()
        naive = EventRecord("notified", datetime(2024, 2, 5, 10, 15), None, "naive")  # noqa: DTZ001
        with pytest.raises(TimeError):
            store.add(application, [event("application_submitted"), naive])
        assert store.get(application.number) is None
        store.add(application)
        with pytest.raises(TimeError):
            store.update(application.with_status(ApplicationStatus.REFERRED), 1, [naive])
        assert store.get(application.number) == StoredApplication(application, 1)
        with pytest.raises(TimeError):
            store.append([event("notified"), naive])
        assert store.events() == []

    def test_events_after_a_sequence(self, store: Repository) -> None:
        store.append([event("a"), event("b"), event("c")])
        assert [e.kind for e in store.events()] == ["a", "b", "c"]
        assert [e.kind for e in store.events(after=0)] == ["a", "b", "c"]
        assert [(e.sequence, e.kind) for e in store.events(after=2)] == [(3, "c")]
        assert store.events(after=3) == []
        assert store.events(after=10) == []

    def test_append_continues_the_numbering_and_returns_the_records(
        self, store: Repository
    ) -> None:
        application = seed_application()
        store.add(application, [event("application_submitted", application.number)])
        written = store.append([event("notified", application.number, channel="sms")])
        assert written == chained(
            store.events()[:1], [event("notified", application.number, channel="sms")]
        )
        assert written[0].sequence == 2
        assert store.events(after=1) == written
        assert verify_audit_log(store.events()).ok
        assert store.append([]) == []
        assert len(store.events()) == 2

    def test_event_times_keep_their_instant_offset_and_zone(self, store: Repository) -> None:
        times = [
            datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN),  # the hour that happened twice
            datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN, fold=1),
            datetime(2023, 7, 1, 8, 0, 0, 123456, tzinfo=UTC),
            datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=6))),
        ]
        store.append([EventRecord("tick", at, None, "time") for at in times])
        stored = [e.at for e in store.events()]
        assert stored == times
        assert [at.utcoffset() for at in stored] == [at.utcoffset() for at in times]
        assert [at.astimezone(UTC) for at in stored] == [at.astimezone(UTC) for at in times]
        assert [at.tzinfo for at in stored[:2]] == [KAZAKHSTAN, KAZAKHSTAN]

    # --- lookups -------------------------------------------------------------------------

    def test_for_child_finds_every_application_of_the_child(self, store: Repository) -> None:
        seed = seed_application()
        again = attrs.evolve(numbered(seed, "1292700"), status=ApplicationStatus.WITHDRAWN)
        other = neighbour_applications()[0]
        for application in (again, other, seed):
            store.add(application)
        found = store.for_child(Iin(seed.child.iin.reveal()))  # an equal IIN, not the same object
        assert found == [StoredApplication(seed, 1), StoredApplication(again, 1)]
        assert store.for_child(other.child.iin) == [StoredApplication(other, 1)]
        assert store.for_child(Iin("200128600017")) == []

    def test_for_child_follows_an_update_that_changes_the_child(self, store: Repository) -> None:
        seed, other = seed_application(), neighbour_applications()[0]
        store.add(seed)
        corrected = attrs.evolve(seed, child=other.child)
        store.update(corrected, 1)
        assert store.for_child(seed.child.iin) == []
        assert store.for_child(other.child.iin) == [StoredApplication(corrected, 2)]

    def test_all_is_in_numeric_order_of_number(self, store: Repository) -> None:
        seed = seed_application()
        for number in ("10", "1292583", "9", "100", "11"):
            store.add(numbered(seed, number))
        assert [s.application.number for s in store.all()] == ["9", "10", "11", "100", "1292583"]

    def test_an_empty_store(self, store: Repository) -> None:
        assert list(store.all()) == []
        assert store.events() == []
        assert store.for_child(seed_application().child.iin) == []
        assert store.by_idempotency_key("any") is None

    # --- concurrency and minimisation ---------------------------------------------------

    def test_concurrent_writers_lose_nothing(self, store: Repository) -> None:
        seed = seed_application()

        def writer(offset: int) -> None:
            for i in range(10):
                number = str(1000 + offset * 100 + i)
                store.add(numbered(seed, number), [event("application_submitted", number)])

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(list(store.all())) == 40
        events = store.events()
        assert [e.sequence for e in events] == list(range(1, 41))
        assert sorted(e.number or "" for e in events) == sorted(
            s.application.number for s in store.all()
        )

    def test_a_write_on_a_stale_log_head_is_a_conflict_and_writes_nothing(
        self, store: Repository
    ) -> None:
        """``log_head``: a writer that saw the log end at N writes only if it still ends at
        N (issue 17: a decision made on a stale view is refused, never applied)."""
        seed, other = seed_application(), neighbour_applications()[0]
        assert store.add(seed, [event("application_submitted", seed.number)], log_head=0)
        stale = 0
        for write in (
            lambda head: store.add(
                other, [event("application_submitted", other.number)], log_head=head
            ),
            lambda head: store.update(
                seed.with_status(ApplicationStatus.REFERRED),
                1,
                [event("referral_issued", seed.number)],
                log_head=head,
            ),
            lambda head: store.append([event("place_freed")], log_head=head),
        ):
            before = (list(store.all()), store.events())
            with pytest.raises(StorageError) as raised:
                write(stale)
            assert raised.value.code == "storage.conflict"
            assert (list(store.all()), store.events()) == before
            head = store.events()[-1].sequence
            write(head)  # the head the writer now sees: written
            assert store.events()[-1].sequence == head + 1
        assert [s.application.number for s in store.all()] == [seed.number, other.number]
        assert store.get(seed.number) == StoredApplication(
            seed.with_status(ApplicationStatus.REFERRED), 2
        )
        assert verify_audit_log(store.events()).ok

    def test_of_writers_that_saw_the_same_head_exactly_one_writes(self, store: Repository) -> None:
        """Eight threads append on the same head at once: one wins, seven conflict, and the
        log is gap-free."""
        store.append([event("place_freed")])
        outcomes: list[str] = []
        start = threading.Barrier(8)

        def attempt() -> None:
            start.wait()
            try:
                store.append([event("referral_issued", "1292583")], log_head=1)
            except StorageError as error:
                outcomes.append(error.code)
            else:
                outcomes.append("won")

        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["storage.conflict"] * 7 + ["won"]
        assert [e.sequence for e in store.events()] == [1, 2]
        with pytest.raises(StorageError) as raised:  # nothing to write, but the head moved
            store.append([], log_head=1)
        assert raised.value.code == "storage.conflict"
        assert store.append([], log_head=2) == []

    def test_forget_deletes_the_application_and_the_data_of_its_events(
        self, store: Repository
    ) -> None:
        seed, other = seed_application(), neighbour_applications()[0]
        store.add(
            seed, [event("application_submitted", seed.number, position=3)], idempotency_key="k"
        )
        store.add(other, [event("application_submitted", other.number, position=1)])
        assert store.forget(seed.number) is True
        assert store.get(seed.number) is None
        assert store.by_idempotency_key("k") is None
        assert store.for_child(seed.child.iin) == []
        assert [s.application for s in store.all()] == [other]
        events = store.events()
        assert [(e.sequence, e.number, e.kind, e.data) for e in events] == [
            (1, seed.number, "application_submitted", {}),
            (2, other.number, "application_submitted", {"position": 1}),
        ]
        assert store.forget(seed.number) is False

    # --- the model -----------------------------------------------------------------------

    def test_random_commands_agree_with_a_dict_model(self) -> None:
        # The @given function is made per call: hypothesis refuses one function run by
        # several classes (HealthCheck.differing_executors).
        @store_settings
        @given(_OPERATIONS)
        def run(operations: list[tuple[Any, ...]]) -> None:
            model = _Model()
            with tempfile.TemporaryDirectory() as directory:
                store = self.make(Path(directory))
                try:
                    for operation in operations:
                        model.run(store, operation)
                    model.check(store)
                finally:
                    close(store)

        run()
