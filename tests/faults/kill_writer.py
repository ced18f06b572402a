"""A writer to be killed: applications and their events written to a SQLite file until
the parent (``tests/test_faults.py``) sends SIGKILL.

Run as ``python kill_writer.py DATABASE``. The writer opens a
:class:`~edqueue.adapters.sqlite.SqliteStore`, resumes the fixed plan of :func:`operations`
where the file says it stopped, prints ``ready``, then runs the plan for ever, printing
``committed <number> <version>`` (and flushing) only after each call has returned. The
plan, the applications (:func:`edqueue.testing.city.generate_applications`, deterministic) and
the events of every write are defined here, so the parent can say exactly what a complete
write leaves in the file.

``EDQUEUE_FAULTS_BREAK`` breaks the adapter on purpose, in this process only, to show that
the kill test catches a store that is not all-or-nothing (nothing in ``src/`` changes):
``split`` commits each command's application row, then writes its events in a second
transaction; ``autocommit`` runs commands with no transaction, each statement committing
on its own. The kill test must then fail (see its docstring).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from edqueue.adapters import sqlite as sqlite_adapter
from edqueue.adapters.sqlite import SqliteStore
from edqueue.models import KAZAKHSTAN, Application, ApplicationStatus
from edqueue.ports import EventRecord
from edqueue.testing.city import generate_applications, generate_organizations

AS_OF = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
AT = datetime(2024, 9, 2, 10, 15, tzinfo=KAZAKHSTAN)
FIRST_NUMBER = 1_000_001
BREAK = "EDQUEUE_FAULTS_BREAK"
STATUSES = (ApplicationStatus.REFERRED, ApplicationStatus.WITHDRAWN)
"""Version 1 is the generated application (active); each update moves it on by one."""
LAST_VERSION = 1 + len(STATUSES)


def applications() -> Iterator[Application]:
    """The applications of the plan, in order: a small generated city, as many as asked."""
    organizations = generate_organizations(6, seed=11, as_of=AS_OF.date())
    return generate_applications(
        10**9, organizations, seed=11, as_of=AS_OF, first_number=FIRST_NUMBER
    )


def operations() -> Iterator[tuple[int, int]]:
    """The plan: ``(index, version)`` pairs. Adding application ``i`` (version 1) is
    followed by the updates of ``i - 1`` to version 2 and of ``i - 2`` to version 3, so
    adds and updates alternate."""
    for index in itertools.count():
        yield index, 1
        for back, version in enumerate(range(2, LAST_VERSION + 1), start=1):
            if index >= back:
                yield index - back, version


def at_version(application: Application, version: int) -> Application:
    """What the plan stores for an application at ``version``."""
    for status in STATUSES[: version - 1]:
        application = application.with_status(status)
    return application


def events_of(index: int, number: str, version: int) -> list[EventRecord]:
    """The events written with the write of ``version``: 1 to 3 of them."""
    count = 1 + (index + version) % 3
    return [
        EventRecord(
            kind="application_submitted" if version == 1 and part == 0 else "kill_test",
            at=AT,
            number=number,
            reason=f"version {version}",
            data={"version": version, "part": part, "of": count},
        )
        for part in range(count)
    ]


def _split_transactions() -> None:
    """The broken adapter: commit what the command wrote so far before its events."""
    original = sqlite_adapter._insert_events

    def split(
        connection: sqlite3.Connection,
        events: Sequence[EventRecord],
        rows: Sequence[sqlite_adapter._EventRow],
    ) -> list[EventRecord]:
        connection.execute("COMMIT")
        connection.execute("BEGIN IMMEDIATE")
        return original(connection, events, rows)

    sqlite_adapter._insert_events = split


@contextmanager
def _no_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """The broken adapter: every statement commits on its own (``isolation_level=None``)."""
    yield


def main(path: str) -> None:
    broken = os.environ.get(BREAK)
    if broken == "split":
        _split_transactions()
    elif broken == "autocommit":
        SqliteStore._transaction = staticmethod(_no_transaction)  # type: ignore[method-assign]
    elif broken:
        raise SystemExit(f"{BREAK} is split or autocommit, not {broken!r}")
    source = applications()
    made: list[Application] = []
    with SqliteStore(path, timeout=30) as store:
        versions = {s.application.number: s.version for s in store.all()}
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        for index, version in operations():
            while len(made) <= index:
                made.append(next(source))
            application = made[index]
            if versions.get(application.number, 0) >= version:
                continue  # written before an earlier kill
            records = events_of(index, application.number, version)
            if version == 1:
                store.add(application, records)
            else:
                store.update(at_version(application, version), version - 1, records)
            sys.stdout.write(f"committed {application.number} {version}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
