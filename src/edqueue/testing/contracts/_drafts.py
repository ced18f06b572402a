"""The contract every ``DraftStore`` meets (see :mod:`edqueue.ports`): drafts saved,
replaced, copied and deleted, JSON only, and expiry and purge compared as instants.
"""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edqueue.errors import TimeError
from edqueue.models import KAZAKHSTAN
from edqueue.ports import DraftStore
from edqueue.testing.contracts._common import AT, close

_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


class DraftStoreContract(abc.ABC):
    """The tests every ``DraftStore`` passes.

    Subclass it in a ``Test...`` class and implement :meth:`make`; pytest runs every test
    against the store it makes (here edqueue's SQLite store; give yours):

    >>> from edqueue.adapters.sqlite import SqliteStore
    >>> class TestSqliteDrafts(DraftStoreContract):
    ...     def make(self, directory):
    ...         return SqliteStore(directory / "edqueue.sqlite3")
    """

    @abc.abstractmethod
    def make(self, directory: Path) -> DraftStore:
        """A new, empty draft store; its files, if any, go in ``directory`` (a new, empty
        directory). Called once per test; the suite calls the store's ``close()``, if it
        has one, when the test is done."""

    @pytest.fixture
    def drafts(self, tmp_path: Path) -> Iterator[DraftStore]:
        """The draft store of one test, made by :meth:`make` and closed after it."""
        drafts = self.make(tmp_path)
        yield drafts
        close(drafts)

    def test_the_store_implements_the_port(self, drafts: DraftStore) -> None:
        assert isinstance(drafts, DraftStore)

    def test_a_draft_is_saved_replaced_and_deleted(self, drafts: DraftStore) -> None:
        data = {"step": 2, "child": {"name": "Алихан", "born": "2020-06-23"}, "choices": ["a", "b"]}
        drafts.save("draft-1", data)
        assert drafts.load("draft-1") == data
        assert drafts.load("draft-2") is None
        drafts.save("draft-1", {"step": 3})
        assert drafts.load("draft-1") == {"step": 3}
        drafts.delete("draft-1")
        assert drafts.load("draft-1") is None
        drafts.delete("draft-1")  # deleting what is not stored is not an error

    def test_a_draft_does_not_share_state_with_the_caller(self, drafts: DraftStore) -> None:
        data: dict[str, Any] = {"step": 1, "choices": ["org-1"]}
        drafts.save("d", data)
        data["choices"].append("org-2")
        data["step"] = 9
        loaded: Any = drafts.load("d")
        assert loaded == {"step": 1, "choices": ["org-1"]}
        loaded["choices"].append("org-3")
        assert drafts.load("d") == {"step": 1, "choices": ["org-1"]}

    def test_a_draft_that_is_not_json_is_refused_and_nothing_changes(
        self, drafts: DraftStore
    ) -> None:
        drafts.save("d", {"step": 1})
        with pytest.raises(TypeError):
            drafts.save("d", {"step": 2, "at": AT})
        with pytest.raises(ValueError, match="JSON"):
            drafts.save("d", {"step": 2, "score": float("nan")})
        assert drafts.load("d") == {"step": 1}

    # --- expiry and purge -------------------------------------------------------------------

    def test_purge_deletes_expired_drafts_and_those_without_an_expiry(
        self, drafts: DraftStore
    ) -> None:
        drafts.save("expired", {"step": 1}, expires_at=AT - _MINUTE)
        drafts.save("expires-now", {"step": 2}, expires_at=AT)
        drafts.save("expires-later", {"step": 3}, expires_at=AT + timedelta(microseconds=1))
        drafts.save("no-expiry", {"step": 4})
        assert drafts.load("expired") == {"step": 1}  # load does not check the expiry
        assert drafts.purge(AT) == 3
        assert [drafts.load(d) for d in ("expired", "expires-now", "no-expiry")] == [None] * 3
        assert drafts.load("expires-later") == {"step": 3}
        assert drafts.purge(AT) == 0
        assert drafts.purge(AT + _SECOND) == 1
        assert drafts.load("expires-later") is None

    def test_purge_compares_instants_not_wall_clocks(self, drafts: DraftStore) -> None:
        # 23:30 on 29.02.2024 happened twice in Asia/Almaty: at UTC+6 (17:30 UTC), then,
        # after the clocks went back at midnight, at UTC+5 (18:30 UTC).
        first_2330 = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)
        second_2330 = datetime(2024, 2, 29, 23, 30, fold=1, tzinfo=KAZAKHSTAN)
        just_after_midnight = datetime(2024, 3, 1, 0, 30, tzinfo=KAZAKHSTAN)  # 19:30 UTC
        drafts.save("first", {"n": 1}, expires_at=first_2330)
        drafts.save("second", {"n": 2}, expires_at=second_2330)
        drafts.save("march", {"n": 3}, expires_at=just_after_midnight)
        now = datetime(2024, 2, 29, 23, 40, tzinfo=KAZAKHSTAN)  # the first 23:40: 17:40 UTC
        assert drafts.purge(now) == 1  # a wall clock would say 23:30 <= 23:40 for both
        assert drafts.load("first") is None
        assert drafts.load("second") == {"n": 2}
        # "2024-03-01T00:30+05:00" sorts after "2024-02-29T20:00+00:00" as text, yet is earlier.
        assert drafts.purge(datetime(2024, 2, 29, 20, 0, tzinfo=UTC)) == 2
        assert drafts.load("march") is None

    def test_saving_a_draft_again_replaces_its_expiry(self, drafts: DraftStore) -> None:
        drafts.save("d", {"step": 1}, expires_at=AT)
        drafts.save("d", {"step": 2}, expires_at=AT + timedelta(hours=1))
        assert drafts.purge(AT) == 0
        assert drafts.load("d") == {"step": 2}
        drafts.save("d", {"step": 3})  # no expiry now: gone at the next purge
        assert drafts.purge(AT - timedelta(days=1)) == 1
        assert drafts.load("d") is None

    def test_naive_times_are_refused_by_drafts_and_change_nothing(self, drafts: DraftStore) -> None:
        naive = datetime(2024, 2, 5, 10, 15)  # noqa: DTZ001 - the point of the test
        drafts.save("d", {"step": 1}, expires_at=AT)
        with pytest.raises(TimeError) as raised:
            drafts.save("d", {"step": 2}, expires_at=naive)
        assert raised.value.code == "time.naive"
        assert drafts.load("d") == {"step": 1}
        with pytest.raises(TimeError):
            drafts.purge(naive)
        assert drafts.load("d") == {"step": 1}  # nothing was deleted
        assert drafts.purge(AT) == 1
