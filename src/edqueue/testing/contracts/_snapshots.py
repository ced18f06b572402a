"""The contract every ``SnapshotStore`` meets (see :mod:`edqueue.ports`): one snapshot per
name, its bytes kept exactly, never replaced by one that covers less of the log, not even
by racing threads."""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edqueue.ports import SnapshotStore
from edqueue.testing.contracts._common import close


class SnapshotStoreContract(abc.ABC):
    """The tests every ``SnapshotStore`` passes.

    Subclass it in a ``Test...`` class and implement :meth:`make`; pytest runs every test
    against the store it makes (here edqueue's memory store; give yours):

    >>> from edqueue.adapters.memory_store import MemoryRepository
    >>> class TestMemorySnapshots(SnapshotStoreContract):
    ...     def make(self, directory):
    ...         return MemoryRepository()
    """

    @abc.abstractmethod
    def make(self, directory: Path) -> SnapshotStore:
        """A new store; its files, if any, go in ``directory`` (a new, empty directory).
        Called once per test; the suite calls the store's ``close()``, if it has one, when
        the test is done."""

    @pytest.fixture
    def snapshots(self, tmp_path: Path) -> Iterator[SnapshotStore]:
        """The store of one test, made by :meth:`make` and closed after it."""
        store = self.make(tmp_path)
        yield store
        close(store)

    def test_the_store_implements_the_port(self, snapshots: SnapshotStore) -> None:
        assert isinstance(snapshots, SnapshotStore)

    def test_a_snapshot_is_kept_exactly_under_its_name(self, snapshots: SnapshotStore) -> None:
        data = bytes(range(256)) * 4  # every byte value, zeros included
        assert snapshots.load_snapshot("г.Шахтинск") is None
        assert snapshots.save_snapshot("г.Шахтинск", 12, data)
        assert snapshots.load_snapshot("г.Шахтинск") == (12, data)
        assert snapshots.load_snapshot("г.Астана") is None

    def test_a_snapshot_that_covers_less_or_as_much_never_replaces_the_kept_one(
        self, snapshots: SnapshotStore
    ) -> None:
        assert snapshots.save_snapshot("x", 10, b"ten")
        assert not snapshots.save_snapshot("x", 9, b"nine")
        assert not snapshots.save_snapshot("x", 10, b"ten again")
        assert snapshots.load_snapshot("x") == (10, b"ten")
        assert snapshots.save_snapshot("x", 11, b"eleven")
        assert snapshots.load_snapshot("x") == (11, b"eleven")

    def test_racing_savers_leave_the_snapshot_that_covers_most(
        self, snapshots: SnapshotStore
    ) -> None:
        start = threading.Barrier(8)

        def save(sequence: int) -> None:
            start.wait()
            snapshots.save_snapshot("x", sequence, str(sequence).encode())

        threads = [threading.Thread(target=save, args=(s,)) for s in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert snapshots.load_snapshot("x") == (8, b"8")
