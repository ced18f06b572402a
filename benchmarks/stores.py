"""Row group ``stores`` (issue 17, item 7): the durable stores under several processes, and
loading and rebuilding a big queue, each figure beside a baseline measured in the same run.

- **8. Submissions** through :class:`~edqueue.service.ApplicationService`, the real flow
  (code, consents, family, child, organizations, benefit, submit; a submission refused with
  ``storage.conflict``, or a step with ``port.timeout``, is sent again, as a portal would),
  by 1, 2 and 4 processes at once
  on one store, each submitting its own families; the figure is the wall time per
  submission of all processes together (one over the submissions per second). PostgreSQL
  with k processes beside SQLite with one, and each store with k processes beside itself
  with one (how it scales).
- **9. A position read** (``ApplicationService.position``, the cabinet's «Проверка номера
  очереди»: it catches up with the log, then reads the book) of random stored applications
  by a process of its own, one every 2 ms, its median and 99th percentile while 4
  processes submit, beside the same read with no writer.
- **10. Loading** applications into an empty store with the stores' ``import_applications``
  (PostgreSQL: ``COPY``; SQLite: ``executemany``), one transaction with every submission
  record sealed into the log, beside a plain load of the same number of ``(number, JSON
  text)`` rows into a table without index (``COPY`` with psycopg; ``executemany``).
- **11. Restarting** over the loaded store: :func:`edqueue.journal.rebuild_desk` (what a
  service does at construction) beside ``QueueBook.build`` over the same applications
  already in memory. Every row of this kind is a function of :data:`RESTARTS`, called with
  each loaded store (:class:`Loaded`): a restart from a snapshot is one more.

The PostgreSQL server is a throwaway one, started as the tests start theirs
(``tests/postgres_server.py``: ``initdb`` and ``pg_ctl`` in a temporary directory, a Unix
socket, as the ``postgres`` user when run as root) but durable like the SQLite store
(``fsync``, ``synchronous_commit`` and ``full_page_writes`` on, where the tests turn them
off), and stopped at the end, also on failure. Every worker process is started fresh
(``spawn``): a fork would copy the national instance the other rows hold.

Knobs: ``BENCH_STORES_SUBMISSIONS`` [300 x ``BENCH_SCALE``, at least 50] submissions per
process; ``BENCH_STORES_LOAD`` [100,000 x ``BENCH_SCALE``, at least 2,000] applications
loaded (a tenth of the national million, to keep the group within 4 minutes on 2 cores;
set 1000000 for the whole); ``BENCH_STORES_READS`` [2,000] position reads with no writer.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import queue
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any, TypeVar

import attrs
from tests.postgres_server import PostgresServer, find_binaries, throwaway_server

from benchmarks import national as nat
from benchmarks.harness import Row, Timing, best_of, fmt
from edqueue import KAZAKHSTAN, Child, Choice, FullName, Language, LegalRepresentativeStatus
from edqueue.errors import PortError, StorageError
from edqueue.models import Application, Consent, Iin, Organization
from edqueue.models.identity import Sex
from edqueue.ports import AccessAnswer, FamilyMember, FamilyRecord
from edqueue.rules import QueueBook
from edqueue.service import ApplicationService
from edqueue.testing import iin_prefix
from edqueue.testing.world import MemoryPorts, memory_ports

NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
"""The day the families submit (the seed's: Shakhtinsk's organizations, its policy)."""
CHOICES = (
    Choice("shakhtinsk-saltanat", Language.RUSSIAN),
    Choice("shakhtinsk-karlygash", Language.KAZAKH),
)
DURABLE = ("fsync = on", "synchronous_commit = on", "full_page_writes = on")
"""The benchmark server's settings after the tests' (which turn these off): a commit is
on disk, as the SQLite store's ``synchronous=FULL`` makes it."""
PROCESSES = (1, 2, 4)
READ_EVERY = 0.002
"""Seconds from one position read to the next (500 a second, while a read takes less)."""
WRITERS = 4
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
TIMEOUT = 900.0
"""Seconds a group of worker processes may take before it is stopped and the row fails."""

_T = TypeVar("_T")

Place = tuple[str, str]
"""Where a store is: ("sqlite", a file's path) or ("postgres", a connection string)."""


def say(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class StoreSettings:
    """The sizes of the group, from ``BENCH_SCALE`` and the group's own knobs."""

    per_process: int
    load: int
    reads: int

    @classmethod
    def from_env(cls, settings: nat.Settings) -> StoreSettings:
        def knob(name: str, default: int) -> int:
            value = os.environ.get(name, "")
            return default if value == "" else int(value.replace("_", ""))

        return cls(
            per_process=knob("BENCH_STORES_SUBMISSIONS", max(50, round(300 * settings.scale))),
            load=knob("BENCH_STORES_LOAD", max(2_000, round(100_000 * settings.scale))),
            reads=knob("BENCH_STORES_READS", 2_000),
        )


# --- the server ----------------------------------------------------------------------------------


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server, durable (:data:`DURABLE`), stopped and removed at the
    end even when a row fails."""
    binaries = find_binaries()
    if binaries is None:
        raise RuntimeError(
            "the stores rows need a PostgreSQL server's programs (initdb, pg_ctl, postgres) "
            "under /usr/lib/postgresql/<version>/bin: `apt-get install postgresql-15` "
            "(Debian or Ubuntu, as root), or leave the rows out: --only without stores"
        )
    with throwaway_server(binaries, "edqueue-bench-pg-", settings=DURABLE) as server:
        yield server


def open_store(place: Place) -> Any:
    """A new store object (its own connections) at ``place``, as each process opens it."""
    kind, address = place
    if kind == "sqlite":
        from edqueue.adapters.sqlite import SqliteStore

        return SqliteStore(Path(address))
    from edqueue.adapters.postgres import PostgresStore

    return PostgresStore(address)


# --- families and the flow, in each process ------------------------------------------------------


@attrs.frozen
class Family:
    """An invented family: an applicant with a phone in the БМГ and the ED24 app, one child."""

    phone: str
    applicant: Iin
    child: Iin


def _iin(born: date, sex: Sex, serial: int) -> Iin:
    prefix = iin_prefix(born, sex)
    for n in itertools.count(serial):
        first = f"{prefix}{n % 10_000:04d}"
        digit = Iin.check_digit(first)
        if digit is not None:
            return Iin(f"{first}{digit}")
    raise AssertionError("unreachable")


def city(first: int, count: int) -> tuple[MemoryPorts, list[Family]]:
    """Memory ports that know the families ``first`` to ``first + count - 1``: every number
    gives another applicant and child (children born over 900 days of 2020-2022, so the
    seed's organizations have their groups; distinct IINs for up to 900,000 families)."""
    ports = memory_ports(now=NOW)
    ports.consents.auto_answer = AccessAnswer.GRANTED
    families = []
    for k in range(first, first + count):
        phone = f"+7701{k + 1_000_001:07d}"
        applicant = _iin(
            date(1985, 1, 1) + timedelta(days=k % 3_000), Sex.FEMALE, 10 * (k // 3_000)
        )
        born = date(2020, 1, 1) + timedelta(days=k % 900)
        child = _iin(born, Sex.MALE, 10 * (k // 900))
        ports.identity.register_number(phone, applicant)
        ports.identity.install_app(phone)
        member = FamilyMember(
            Child(iin=child, name=FullName("Бала", "Тест"), birth_date=born),
            LegalRepresentativeStatus.CONFIRMED,
        )
        ports.family.add(FamilyRecord(applicant, FullName("Ата-ана", "Тест"), (member,)))
        families.append(Family(phone, applicant, child))
    return ports, families


def service_over(store: Any, ports: MemoryPorts) -> ApplicationService:
    """The service a host runs: the store holds the applications, the log, the drafts, the
    attempts and the numbers; the registers are in memory."""
    return ports.service(store, store, numbers=store)


@dataclass
class Retries:
    """The requests a process sent again, as a portal would: a submission refused with
    ``storage.conflict`` (other processes kept writing before it could), and any step
    refused with ``port.timeout`` (the store stayed locked past its timeout; nothing was
    written)."""

    conflicts: int = 0
    timeouts: int = 0

    def call(self, step: Callable[[], _T]) -> _T:
        for _ in range(10):
            try:
                return step()
            except StorageError as error:
                if error.code != "storage.conflict":
                    raise
                self.conflicts += 1
            except PortError as error:
                if error.code != "port.timeout":
                    raise
                self.timeouts += 1
        raise RuntimeError("a request was refused 10 times in a row")


def submit(
    service: ApplicationService, ports: MemoryPorts, family: Family, retries: Retries
) -> str:
    """The seed's steps for one family (code, consents, family, child, organizations, no
    benefit, submission); its number."""
    ports.clock.advance(seconds=1)
    again = retries.call
    draft = again(lambda: service.start(family.phone))
    code = ports.identity.last_code(family.phone) or ""
    again(lambda: service.confirm_code(draft.id, code))
    again(lambda: service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT]))
    again(lambda: service.request_family_access(draft.id, family.applicant))
    again(lambda: service.choose_child(draft.id, family.child))
    again(lambda: service.choose_organizations(draft.id, list(CHOICES)))
    again(lambda: service.claim_benefit(draft.id, None))
    return again(lambda: service.submit(draft.id, f"form-{family.phone}")).number


def _submitter(place: Place, first: int, count: int, start: Barrier, results: Any) -> None:
    """A worker: builds its service, waits for the others, submits ``count`` families."""
    try:
        with open_store(place) as store:
            ports, families = city(first, count)
            service = service_over(store, ports)
            start.wait(timeout=TIMEOUT)
            began = time.perf_counter()
            retries = Retries()
            for family in families:
                submit(service, ports, family, retries)
            ended = time.perf_counter()
        results.put(("submitted", began, ended, count, retries.conflicts, retries.timeouts))
    except BaseException:
        results.put(("failed", traceback.format_exc()))
        raise


def _reader(place: Place, reads: int, start: Barrier, writing: Event | None, results: Any) -> None:
    """A worker: reads the positions of random stored applications, one every
    :data:`READ_EVERY` seconds (families asking, not a loop that would take a core from the
    writers), each call timed alone: ``reads`` of them, or with ``writing`` as long as it
    is set (while the writers write)."""
    try:
        with open_store(place) as store:
            numbers = [s.application.number for s in store.all()]
            ports = memory_ports(now=NOW)
            service = service_over(store, ports)
            rng = random.Random("benchmarks.stores.reader")
            position, clock = service.position, time.perf_counter
            times: list[float] = []
            start.wait(timeout=TIMEOUT)
            due = clock()
            while len(times) < reads if writing is None else writing.is_set():
                due += READ_EVERY
                number = rng.choice(numbers)
                began = clock()
                position(number)
                ended = clock()
                times.append(ended - began)
                if due > ended:
                    time.sleep(due - ended)
        results.put(("read", times))
    except BaseException:
        results.put(("failed", traceback.format_exc()))
        raise


@dataclass
class Outcome:
    """What a group of workers reported."""

    elapsed: float  # from the first submission of any process to the last one's end
    submitted: int
    conflicts: int
    timeouts: int
    reads: list[float]


def run_workers(place: Place, writers: int, per_process: int, first: int, reads: int) -> Outcome:
    """``writers`` submitting processes (families from ``first`` on) and, with ``reads``, one
    reading process, started together once every one has built its service."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(writers + (1 if reads else 0))
    writing = context.Event()
    workers = [
        context.Process(
            target=_submitter, args=(place, first + i * per_process, per_process, start, results)
        )
        for i in range(writers)
    ]
    if reads:
        reader_writing = writing if writers else None
        workers.append(
            context.Process(target=_reader, args=(place, reads, start, reader_writing, results))
        )
    writing.set()
    for worker in workers:
        worker.start()
    try:
        reports = []
        deadline = time.monotonic() + TIMEOUT
        submitted = 0
        while len(reports) < len(workers):
            try:
                report = results.get(timeout=5)
            except queue.Empty:
                _check_alive(workers, deadline)
                continue
            if report[0] == "failed":
                raise RuntimeError(f"a worker of the stores rows failed:\n{report[1]}")
            reports.append(report)
            if report[0] == "submitted":
                submitted += 1
                if submitted == writers:
                    writing.clear()  # the reader stops after its current read
        for worker in workers:
            worker.join(timeout=60)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
    done = [r for r in reports if r[0] == "submitted"]
    read = [t for r in reports if r[0] == "read" for t in r[1]]
    elapsed = max(r[2] for r in done) - min(r[1] for r in done) if done else 0.0
    return Outcome(
        elapsed,
        sum(r[3] for r in done),
        sum(r[4] for r in done),
        sum(r[5] for r in done),
        read,
    )


def _check_alive(workers: Sequence[BaseProcess], deadline: float) -> None:
    """Raise if a worker ended without a report (killed, out of memory) or time is up."""
    dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
    if dead:
        raise RuntimeError(f"a worker of the stores rows ended with exit code {dead[0]}")
    if time.monotonic() > deadline:
        raise RuntimeError(f"the stores rows' workers took more than {TIMEOUT:.0f} s")


def _prepare(place: Place) -> None:
    """Open the store and a service once, so the workers start from a store whose schema
    and organizations are written (they would otherwise race to write them)."""
    with open_store(place) as store:
        service_over(store, memory_ports(now=NOW))


# --- 8. submissions, 9. position reads ---------------------------------------------------------


def _new_place(kind: str, server: PostgresServer, directory: Path, name: str) -> Place:
    if kind == "sqlite":
        return ("sqlite", str(directory / f"{name}.sqlite3"))
    return ("postgres", server.new_database())


def submission_rows(
    server: PostgresServer, directory: Path, sizes: StoreSettings
) -> tuple[list[Row], dict[str, Place]]:
    """Rows 8a-g; also the stores the 4-process runs filled, for the reads of row 9."""
    per = sizes.per_process
    per_submission: dict[tuple[str, int], float] = {}
    notes: list[str] = []
    filled: dict[str, Place] = {}
    for kind in ("sqlite", "postgres"):
        for k in PROCESSES:
            place = _new_place(kind, server, directory, f"submit-{k}")
            _prepare(place)
            outcome = run_workers(place, k, per, 0, 0)
            per_submission[kind, k] = outcome.elapsed / outcome.submitted
            rate = outcome.submitted / outcome.elapsed
            again = f"{outcome.conflicts}/{outcome.timeouts} sent again"
            say(
                f"  stores: {NAMES[kind]}, {k} process(es): {outcome.submitted:,} submissions "
                f"in {outcome.elapsed:.1f} s, {rate:,.0f}/s, {again}"
            )
            notes.append(
                f"{NAMES[kind]} x{k} {rate:,.0f}/s ({outcome.submitted:,} in "
                f"{outcome.elapsed:.1f} s, {again})"
            )
            filled[kind] = place
    what = "8{}. ApplicationService.submit, {} x {} submissions: time per submission"
    rows: list[Row] = []
    letters = iter("abcdefg")

    def row(kind: str, k: int, base: tuple[str, int], label: str) -> Row:
        processes = f"{k} process{'es' if k > 1 else ''}"
        return Row(
            f"stores-submit-{kind}-{k}" + ("" if base == ("sqlite", 1) else "-scaling"),
            what.format(next(letters), f"{NAMES[kind]}, {processes}", per),
            "s",
            per_submission[kind, k],
            per_submission[base],
            label,
            "info",
            "-",
            None,
            details={"per_process": per, "processes": k, "store": kind},
        )

    for k in PROCESSES:
        rows.append(row("postgres", k, ("sqlite", 1), "SQLite, 1 process"))
    for kind in ("postgres", "sqlite"):
        for k in PROCESSES[1:]:
            rows.append(row(kind, k, (kind, 1), f"{NAMES[kind]}, 1 process"))
    rows[0].notes.append(
        "submissions per second, all processes together: "
        + ", ".join(notes)
        + " (sent again, as a portal would: submissions after storage.conflict / steps "
        "after port.timeout); each process submits its own families through the whole "
        "flow (8 requests, each read and written through the store: drafts, attempts, "
        "numbers, the application and its record), started together once every process "
        "has built its service; the PostgreSQL server is durable (fsync, synchronous_commit "
        "on), as SQLite's synchronous=FULL; the worker processes share the machine's cores "
        "with the server"
    )
    return rows, filled


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def position_rows(filled: dict[str, Place], sizes: StoreSettings) -> list[Row]:
    """Rows 9a-d: on the stores the 4-process submissions filled."""
    rows: list[Row] = []
    letters = iter("abcd")
    first = WRITERS * sizes.per_process  # new families for the writers
    for kind in ("postgres", "sqlite"):
        place = filled[kind]
        alone = run_workers(place, 0, 0, 0, sizes.reads).reads
        # half as many submissions as in row 8: the writers only need to write while the
        # reads are sampled (500 a second: thousands of reads)
        busy = run_workers(place, WRITERS, max(50, sizes.per_process // 2), first, sizes.reads)
        stored = WRITERS * sizes.per_process
        say(
            f"  stores: {NAMES[kind]} position reads: median {fmt(statistics.median(alone), 's')} "
            f"alone, {fmt(statistics.median(busy.reads), 's')} with {WRITERS} writers "
            f"({len(busy.reads):,} reads)"
        )
        for name, q in (("median", 0.5), ("99th percentile", 0.99)):
            with_writers, without = _percentile(busy.reads, q), _percentile(alone, q)
            rows.append(
                Row(
                    f"stores-position-{kind}-{'p50' if q == 0.5 else 'p99'}",
                    f"9{next(letters)}. position read on {NAMES[kind]} while {WRITERS} "
                    f"processes submit, {name}",
                    "s",
                    with_writers,
                    without,
                    "no writer",
                    "info",
                    "-",
                    None,
                    details={"reads": len(busy.reads), "reads_alone": len(alone)},
                )
            )
        rows[-2].notes.append(
            f"ApplicationService.position(number) of random applications of the "
            f"{stored:,} the 4-process run stored, in a process of its own, one every "
            f"{READ_EVERY * 1e3:.0f} ms: "
            f"{len(alone):,} reads with no writer, then {len(busy.reads):,} while "
            f"{WRITERS} processes submitted {busy.submitted:,} more "
            f"({busy.submitted / busy.elapsed:,.0f}/s, {busy.conflicts}/{busy.timeouts} sent "
            "again); each read catches up with the log "
            "(one query; with writers, their new records applied) and reads the book"
        )
    return rows


# --- 10. loading, 11. restarting -----------------------------------------------------------------


@dataclass
class Loaded:
    """A store row 10 filled, and what it holds: what a restart row measures over it."""

    kind: str
    open: Callable[[], Any]
    """Opens the store (a new object, its own connections); the caller closes it."""
    organizations: list[Organization]
    applications: list[Application]
    build: Timing
    """``QueueBook.build`` over ``applications`` in memory, measured once for all rows."""
    book: QueueBook
    """The book ``QueueBook.build`` made: what every restart must give."""
    repeats: int


def _restart_row(
    loaded: Loaded,
    key: str,
    what: str,
    timing: Timing,
    book: QueueBook,
    how: str,
    details: dict[str, Any],
) -> Row:
    """A row 11 beside ``QueueBook.build`` in memory: ``book`` is what the start gave (it
    must hold the same queues), ``how`` what the start does, for the notes."""
    same = list(book.queues()) == list(loaded.book.queues())
    say(f"  stores: {what} over {NAMES[loaded.kind]}: {fmt(timing.best, 's')}")
    return Row(
        f"stores-{key}-{loaded.kind}",
        f"{what} over {NAMES[loaded.kind]}, {len(loaded.applications):,} applications",
        "s",
        timing.best,
        loaded.build.best,
        "QueueBook.build in memory",
        "info",
        "-",
        None,
        notes=[
            f"the same queues as QueueBook.build: {'yes' if same else 'NO'}; {how}; best of "
            f"{len(timing.runs)}"
        ],
        details={"runs": timing.runs, "baseline_runs": loaded.build.runs, "same": same} | details,
    )


def rebuild_row(loaded: Loaded) -> Row:
    """Row 11: ``rebuild_desk`` over the loaded store, beside ``QueueBook.build`` in memory."""
    from edqueue.journal import rebuild_desk

    with loaded.open() as store:
        timing, desk = best_of(
            loaded.repeats, lambda: rebuild_desk(store, loaded.organizations), budget=15
        )
    return _restart_row(
        loaded,
        "rebuild",
        "rebuild_desk",
        timing,
        desk.book,
        "reads every application (decoding its JSON) and every record, rewinds each "
        "application to its submission and replays the log, as a service does when it starts",
        {},
    )


def snapshot_row(loaded: Loaded) -> Row:
    """Row 11: a service's queues started from a snapshot of them (the projection a worker
    builds when it starts), beside ``QueueBook.build`` in memory. The snapshot is saved once
    first (its time is in the notes)."""
    from edqueue.service import LocalityConfig
    from edqueue.service.projection import Projection

    config = LocalityConfig(
        organizations=loaded.organizations,
        authority="bench",
        locality="bench",
        snapshot_after=None,
    )
    with loaded.open() as store:
        first = Projection(store, config, lambda: NOW)
        started = time.perf_counter()
        covered = first.save_snapshot()
        saving = time.perf_counter() - started
        del first
        timing, projection = best_of(
            loaded.repeats, lambda: Projection(store, config, lambda: NOW), budget=15
        )
    used = projection.started_from == covered
    return _restart_row(
        loaded,
        "snapshot",
        "a start from a snapshot",
        timing,
        projection.held.book,
        f"started from the snapshot: {'yes' if used else 'NO'}; reads the snapshot and every "
        "application (decoding its JSON with its checks), builds the queues at once and "
        f"replays nothing; saving the snapshot took {saving:.2f} s",
        {"used": used, "save_seconds": saving},
    )


RESTARTS: list[Callable[[Loaded], Row]] = [rebuild_row, snapshot_row]
"""The rows measured over each store row 10 loaded, in order: the whole log replayed, and a
start from a snapshot of the queues."""


def _bodies(applications: Sequence[Application]) -> list[tuple[str, str]]:
    """The plain baselines' rows: each application's number and its JSON text."""
    from edqueue.schemas import dump_application

    return [
        (a.number, json.dumps(dump_application(a), ensure_ascii=False, sort_keys=True))
        for a in applications
    ]


def _plain_sqlite(path: Path, rows: Sequence[tuple[str, str]]) -> float:
    """The SQLite baseline: ``executemany`` of the rows into a table without index, in one
    transaction, with the store's journal settings (WAL, ``synchronous=FULL``)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE plain (number TEXT, body TEXT)")
        began = time.perf_counter()
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO plain VALUES (?, ?)", rows)
        connection.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        connection.close()


def _plain_postgres(dsn: str, rows: Sequence[tuple[str, str]]) -> float:
    """The PostgreSQL baseline: one ``COPY`` of the rows into a table without index, in one
    transaction, with psycopg."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE plain (number text, body text)")
        began = time.perf_counter()
        with (
            connection.transaction(),
            connection.cursor() as cursor,
            cursor.copy("COPY plain (number, body) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return time.perf_counter() - began


def load_rows(
    server: PostgresServer,
    directory: Path,
    organizations: list[Organization],
    applications: list[Application],
    repeats: int,
) -> tuple[list[Row], list[Loaded]]:
    """Rows 10a-b; the loaded stores for the restart rows."""
    from edqueue.adapters.postgres import PostgresStore
    from edqueue.adapters.postgres._bulk import import_applications as postgres_import
    from edqueue.adapters.sqlite import SqliteStore
    from edqueue.adapters.sqlite._bulk import import_applications as sqlite_import

    n = len(applications)
    start = time.perf_counter()
    rows_ = _bodies(applications)
    encoding = time.perf_counter() - start
    size = sum(len(b) for _, b in rows_) / n
    build, book = best_of(repeats, lambda: QueueBook.build(organizations, applications))
    path = directory / "loaded.sqlite3"
    dsn = server.new_database()
    loaders: list[tuple[str, Callable[[], Any], Callable[..., int], Callable[[], float]]] = [
        (
            "postgres",
            lambda: PostgresStore(dsn, statement_timeout=None),
            postgres_import,
            lambda: _plain_postgres(server.new_database(), rows_),
        ),
        (
            "sqlite",
            lambda: SqliteStore(path),
            sqlite_import,
            lambda: _plain_sqlite(directory / "plain.sqlite3", rows_),
        ),
    ]
    rows: list[Row] = []
    loaded: list[Loaded] = []
    for letter, (kind, opener, load, plain) in zip("ab", loaders, strict=True):
        with opener() as store:
            began = time.perf_counter()
            count = load(store, applications)
            elapsed = time.perf_counter() - began
            events = len(store.events(n - 1)) if count else 0
        baseline = plain()
        say(
            f"  stores: import_applications into {NAMES[kind]}: {fmt(elapsed, 's')}; "
            f"plain load {fmt(baseline, 's')}"
        )
        how = "COPY" if kind == "postgres" else "executemany"
        rows.append(
            Row(
                f"stores-load-{kind}",
                f"10{letter}. import_applications into {NAMES[kind]} ({how}), {n:,} applications",
                "s",
                elapsed,
                baseline,
                f"plain {how} of (number, JSON)",
                "info",
                "-",
                None,
                notes=[
                    f"{count:,} applications and their {n:,} submission records in one "
                    f"transaction (the last record read back: {'yes' if events == 1 else 'NO'}); "
                    "the import makes each row as add() does (the schemas' JSON, the journal "
                    "record, its seal in the hash chain) and writes the indexed tables; the "
                    f"baseline writes the {n:,} rows of number and JSON text "
                    f"({size:,.0f} characters on average), made beforehand in "
                    f"{encoding:.1f} s, into a table without index; one run each (an "
                    "import needs an empty store)"
                ],
                details={"applications": n, "encoding_s": encoding},
            )
        )
        loaded.append(
            Loaded(kind, opener, organizations, applications, build, book, repeats=repeats)
        )
    return rows, loaded


# --- the group ----------------------------------------------------------------------------------


def row_stores(settings: nat.Settings, data: Any = None) -> list[Row]:
    """Every row of the group. ``data`` is the national instance when the run made one
    (its organizations and its first applications are loaded); else they are made here."""
    sizes = StoreSettings.from_env(settings)
    say(
        f"  stores: {sizes.per_process} submissions per process, {sizes.load:,} applications "
        f"loaded, {sizes.reads:,} reads"
    )
    directory = Path(tempfile.mkdtemp(prefix="edqueue-bench-stores-"))
    try:
        with postgres_server() as server:
            rows, filled = submission_rows(server, directory, sizes)
            rows += position_rows(filled, sizes)
            server.drop_databases()
            if data is not None and len(data.applications) >= sizes.load:
                organizations = data.organizations
                applications = data.applications[: sizes.load]
            else:
                organizations = nat.organizations_for(settings.organizations)
                applications = list(nat.application_stream(organizations, sizes.load))
            load, loaded = load_rows(
                server, directory, organizations, applications, settings.repeats
            )
            rows += load
            restarts = [restart(store) for restart in RESTARTS for store in loaded]
            for letter, row in zip("abcdefghijklmnop", restarts, strict=False):
                row.what = f"11{letter}. {row.what}"
            rows += restarts
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return rows
