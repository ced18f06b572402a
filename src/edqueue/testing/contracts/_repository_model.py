"""The model test of :class:`~edqueue.testing.contracts.RepositoryContract`: random adds,
updates and appends run against a store and against plain dicts and a list, which must
agree; and :func:`chained`, the log as a store must write it.
"""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import strategies as st

from edqueue.audit import GENESIS, seal
from edqueue.errors import StorageError
from edqueue.models import Application, number_order
from edqueue.ports import EventRecord, StoredApplication
from edqueue.testing.strategies import applications, kazakhstan_datetimes

if TYPE_CHECKING:
    from edqueue.testing.contracts._repository import Repository

# --- the hypothesis model: a plain dict ----------------------------------------------------

_NUMBERS = st.integers(1, 6)  # few numbers, so that adds collide and updates find their target
_KEY_NAMES = ("key-a", "key-b", " key-a")  # the last differs from the first by a space
_KEYS = st.none() | st.sampled_from(_KEY_NAMES)
_OWNERS = st.none() | st.sampled_from(["owner-1", "owner-2"])
_DATA_VALUES = st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
_EVENTS = st.builds(
    EventRecord,
    kind=st.sampled_from(["application_submitted", "position_changed", "notified"]),
    at=kazakhstan_datetimes(),
    number=st.none() | _NUMBERS.map(str),
    reason=st.text(max_size=12),
    data=st.dictionaries(st.text(min_size=1, max_size=6), _DATA_VALUES, max_size=3),
)
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            applications(numbers=_NUMBERS),
            _KEYS,
            _OWNERS,
            st.lists(_EVENTS, max_size=2),
        ),
        st.tuples(
            st.just("update"),
            applications(numbers=_NUMBERS),
            st.sampled_from([0, 0, 0, -1, 1]),  # offset from the stored version
            st.lists(_EVENTS, max_size=2),
        ),
        st.tuples(st.just("append"), st.lists(_EVENTS, max_size=2)),
    ),
    max_size=12,
)


def chained(log: Sequence[EventRecord], events: Sequence[EventRecord]) -> list[EventRecord]:
    """``events`` numbered after ``log`` and sealed into its hash chain."""
    previous = log[-1].digest if log else GENESIS
    result = []
    for i, e in enumerate(events, len(log) + 1):
        record = seal(previous, attrs.evolve(e, sequence=i))
        previous = record.digest
        result.append(record)
    return result


class _Model:
    """What a repository must hold after a sequence of commands: plain dicts and a list."""

    def __init__(self) -> None:
        self.applications: dict[str, StoredApplication] = {}
        self.keys: dict[str, str] = {}
        self.owners: dict[str, str] = {}
        self.log: list[EventRecord] = []

    def numbered(self, events: Sequence[EventRecord]) -> list[EventRecord]:
        """The events as the log must write them: numbered on, sealed into the chain."""
        return chained(self.log, events)

    def run(self, store: Repository, operation: tuple[Any, ...]) -> None:
        """Apply one operation to the store and to the model; they must agree."""
        if operation[0] == "append":
            written = self.numbered(operation[1])
            assert store.append(operation[1]) == written
            self.log.extend(written)
        elif operation[0] == "add":
            self.add(store, *operation[1:])
        else:
            self.update(store, *operation[1:])

    def add(
        self,
        store: Repository,
        application: Application,
        key: str | None,
        owner: str | None,
        events: list[EventRecord],
    ) -> None:
        number = application.number
        if number in self.applications or (key is not None and key in self.keys):
            with pytest.raises(StorageError) as raised:
                store.add(application, events, idempotency_key=key, idempotency_owner=owner)
            assert raised.value.code == "storage.duplicate"
            return
        expected = StoredApplication(application, 1)
        added = store.add(application, events, idempotency_key=key, idempotency_owner=owner)
        assert added == expected
        self.applications[number] = expected
        if key is not None:
            self.keys[key] = number
            if owner is not None:
                self.owners[key] = owner
        self.log.extend(self.numbered(events))

    def update(
        self,
        store: Repository,
        application: Application,
        offset: int,
        events: list[EventRecord],
    ) -> None:
        number = application.number
        current = self.applications.get(number)
        version = (1 if current is None else current.version) + offset
        if current is None or version != current.version:
            with pytest.raises(StorageError) as raised:
                store.update(application, version, events)
            assert raised.value.code == (
                "storage.unknown" if current is None else "storage.conflict"
            )
            return
        expected = StoredApplication(application, version + 1)
        assert store.update(application, version, events) == expected
        self.applications[number] = expected
        self.log.extend(self.numbered(events))

    def check(self, store: Repository) -> None:
        """The store holds exactly what the model holds."""
        ordered = sorted(
            self.applications.values(), key=lambda s: number_order(s.application.number)
        )
        assert list(store.all()) == ordered
        for number in map(str, range(1, 7)):
            assert store.get(number) == self.applications.get(number)
        for key in (*_KEY_NAMES, "key-c"):
            keyed = self.keys.get(key)
            assert store.by_idempotency_key(key) == (
                None if keyed is None else self.applications[keyed]
            )
            assert store.idempotency_owner(key) == self.owners.get(key)
        for stored in ordered:
            child = stored.application.child.iin
            assert store.for_child(child) == [
                s for s in ordered if s.application.child.iin == child
            ]
        assert store.events() == self.log
