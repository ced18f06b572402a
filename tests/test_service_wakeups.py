"""A worker learns of another process's writes when they commit (issue 17, item 2):
``ApplicationService.wait_for_changes`` waits on the store (PostgreSQL: LISTEN/NOTIFY;
SQLite: polling the log), then takes in what was written."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from edqueue.adapters.postgres import PostgresStore
from edqueue.adapters.sqlite import SqliteStore
from tests.test_many_processes import SALTANAT_2020_RU, service_over


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return lambda: SqliteStore(tmp_path / "queue.sqlite")
    dsn: str = request.getfixturevalue("postgres_dsn")
    return lambda: PostgresStore(dsn)


def test_a_waiting_worker_takes_in_what_another_one_wrote(opener: Any) -> None:
    with opener() as mine, opener() as theirs:
        _, _, waiting = service_over(mine)
        _, _, writing = service_over(theirs)
        free = waiting.book.free_places(*SALTANAT_2020_RU)
        ready, taken = threading.Event(), []

        def wait() -> None:
            ready.set()
            taken.append(waiting.wait_for_changes(timeout=60))

        thread = threading.Thread(target=wait)
        thread.start()
        ready.wait()
        writing.free_place(*SALTANAT_2020_RU, count=1)
        thread.join(timeout=90)
        assert not thread.is_alive()
        assert taken == [1]  # the freed place's record, taken in before any other call
        assert waiting._core.projection.held.book.free_places(*SALTANAT_2020_RU) == free + 1


def test_a_wait_with_nothing_new_returns_nothing_after_its_timeout(opener: Any) -> None:
    with opener() as store:
        _, _, service = service_over(store)
        assert service.wait_for_changes(timeout=0.2) == 0
