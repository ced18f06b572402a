"""Faults: a writer killed mid-command, writers in two processes, and ports that fail.

The issue's three promises, each tested here:

- the SQLite adapter survives a process killed in the middle of a command: every committed
  application is there, intact, and none is half-written (a subprocess killed at
  pseudo-random points, :mod:`tests.faults.kill_writer`);
- concurrent writers in two processes draw unique numbers and share idempotency keys
  without a duplicate (what ``tests/test_stores.py`` does not already cover);
- a port that raises or times out (identity, consents, registers, documents, the store)
  leaves the application unchanged and says what failed; the command can then be retried;
  notifications that fail are retried from the event log, not lost.

And issue 17's, on one database shared by real processes (the last section): 8 families
and 2 desks at once; 52 workers killed with SIGKILL while every connection is terminated;
a server stopped as by a crash and restarted; a lock wait that ends in ``port.timeout``.
Each leaves a store whose invariants hold (:func:`_check_the_store`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import attrs
import psycopg
import pytest

from edqueue import KAZAKHSTAN, Choice, Consent, EdqueueError, GroupKey, Language
from edqueue.adapters.memory import MemoryNumbers
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.postgres import PostgresStore
from edqueue.adapters.sqlite import SqliteStore
from edqueue.audit import verify_audit_log
from edqueue.errors import PortError, StorageError
from edqueue.journal import from_record, rebuild_book
from edqueue.models import Application, ApplicationStatus
from edqueue.ports import AccessAnswer, EventRecord, StoredApplication
from edqueue.rules import QueueBook
from edqueue.rules.events import PlaceFreed, ReferralClosed, ReferralIssued
from edqueue.sample import seed_application
from edqueue.service import ApplicationService
from edqueue.testing.contracts import event
from edqueue.testing.world import MemoryPorts, seed_ports
from tests import test_journal as journal
from tests import test_many_processes as many
from tests.faults import kill_writer
from tests.postgres_server import PostgresServer

# --- a writer killed in the middle of a command --------------------------------------------

_WRITER = Path(kill_writer.__file__)
_ROUNDS = 8
_KILL_SEED = 20240205
_PROBE_FIRST = 9_000_001  # numbers of the parent's own writes, outside the writer's plan

ORGANIZATIONS = "organization_changed"
"""The locality's organization records a service logs when it starts (left out here)."""


def _kill_delays() -> list[float]:
    """How long after ``ready`` each round's writer is killed: 5 ms to 400 ms, spread evenly
    on a log scale with pseudo-random jitter (the same every run), in shuffled order."""
    rng = random.Random(_KILL_SEED)
    delays = [0.005 * 80 ** ((r + rng.random()) / _ROUNDS) for r in range(_ROUNDS)]
    rng.shuffle(delays)
    return delays


class _Plan:
    """The writer's plan regenerated here: operation ``k`` and what it writes."""

    def __init__(self) -> None:
        self._applications = kill_writer.applications()
        self._made: list[Application] = []
        self._operations = kill_writer.operations()
        self._steps: list[tuple[int, int]] = []

    def step(self, k: int) -> tuple[int, int]:
        """Operation ``k`` of the plan: ``(index, version)``."""
        while len(self._steps) <= k:
            self._steps.append(next(self._operations))
        return self._steps[k]

    def application(self, index: int) -> Application:
        while len(self._made) <= index:
            self._made.append(next(self._applications))
        return self._made[index]

    def index(self, number: str) -> int:
        index = int(number) - kill_writer.FIRST_NUMBER
        assert self.application(index).number == number
        return index

    def line(self, k: int) -> tuple[str, int]:
        """What the writer prints once operation ``k`` has returned."""
        index, version = self.step(k)
        return self.application(index).number, version

    def events(self, index: int, version: int) -> list[tuple[object, ...]]:
        """The events every write up to ``version`` leaves, without their sequence."""
        number = self.application(index).number
        return [
            (e.kind, e.at, e.reason, dict(e.data))
            for v in range(1, version + 1)
            for e in kill_writer.events_of(index, number, v)
        ]


def _run_and_kill(path: Path, delay: float) -> list[tuple[str, int]]:
    """Start the writer, kill it ``delay`` seconds after it is ready, and return the
    ``(number, version)`` of every line it printed in full."""
    process = subprocess.Popen(
        [sys.executable, str(_WRITER), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    watchdog = threading.Timer(60, process.kill)  # a writer that hangs fails the test
    watchdog.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if first == "ready\n":
            time.sleep(delay)
        process.kill()  # SIGKILL on POSIX: no handler, no cleanup, no rollback
        out, err = process.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if process.poll() is None:  # pragma: no cover - only if communicate timed out
            process.kill()
            process.wait()
    assert first == "ready\n", f"the writer did not start: {err}"
    assert err == "", f"the writer failed before it was killed: {err}"
    assert process.returncode != 0, "the writer stopped by itself: it should run until killed"
    *lines, _unfinished = out.split("\n")  # a line cut by the kill is not a report
    reported = []
    for line in lines:
        word, number, version = line.split(" ")
        assert word == "committed", line
        reported.append((number, int(version)))
    return reported


def _check_after_kill(
    path: Path, plan: _Plan, done_before: int, reported: list[tuple[str, int]]
) -> int:
    """Check the file a killed writer left; return how many operations of the plan it holds.

    Every write is all-or-nothing, so the file holds exactly a prefix of the plan: what
    the writer reported, and at most one operation more (committed, then killed before it
    could print). Each application in it decodes to what the plan wrote at its version,
    with every event of every write up to that version, and no event of anything else.
    """
    with SqliteStore(path) as store:  # opens the file a killed process left (a hot WAL)
        stored = {s.application.number: s for s in store.all()}  # decodes every row
        events = store.events()
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    versions = {n: s.version for n, s in stored.items() if int(n) < _PROBE_FIRST}
    done = 0
    while True:
        number, version = plan.line(done)
        if versions.get(number, 0) < version:
            break
        done += 1
    # each version stands for the writes of versions 1..v: all of them lie in the prefix
    assert sum(versions.values()) == done, "an operation is stored without those before it"
    assert reported == [plan.line(k) for k in range(done_before, done_before + len(reported))]
    assert done_before + len(reported) <= done <= done_before + len(reported) + 1
    for number, version in versions.items():
        index = plan.index(number)
        expected = kill_writer.at_version(plan.application(index), version)
        assert stored[number] == StoredApplication(expected, version)
    written: dict[str | None, list[tuple[object, ...]]] = defaultdict(list)
    for record in events:
        if record.number is None or int(record.number) < _PROBE_FIRST:
            written[record.number].append(
                (record.kind, record.at, record.reason, dict(record.data))
            )
    expected_events: dict[str | None, list[tuple[object, ...]]] = {
        number: plan.events(plan.index(number), version) for number, version in versions.items()
    }
    half_written = sorted(
        str(n)
        for n in written.keys() | expected_events.keys()
        if written[n] != expected_events.get(n)
    )
    assert half_written == [], "applications whose events are not what their writes wrote"
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert verify_audit_log(events).problems == ()  # the hash chain is whole
    return done


def _write_probe(store: SqliteStore, plan: _Plan, round_: int) -> None:
    """The store takes new writes after a kill: add and update an application of its own."""
    probe = attrs.evolve(plan.application(0), number=str(_PROBE_FIRST + round_))
    at = datetime(2024, 9, 3, 9, 0, tzinfo=KAZAKHSTAN)
    submitted = EventRecord(kind="probe", at=at, number=probe.number, reason="after a kill")
    store.add(probe, [submitted], idempotency_key=f"probe-{round_}")
    referred = probe.with_status(ApplicationStatus.REFERRED)
    store.update(referred, 1, [submitted])
    assert store.get(probe.number) == StoredApplication(referred, 2)


def test_a_writer_killed_mid_command_leaves_every_commit_whole(tmp_path: Path) -> None:
    """The issue: «the SQLite adapter survives a process killed in the middle of a command».

    Eight rounds on one file: a writer process adds applications (1-3 events each) and
    updates them with their expected version, and is killed (SIGKILL) 5-400 ms after it is
    ready, inside or between transactions. After each kill a fresh store opens the file:
    every write the writer reported is there (with at least that version), every
    application decodes to exactly what was written, none is stored without all of its
    events (nor events without it), the events' hash chain verifies, ``PRAGMA
    integrity_check`` is ok, and the store takes new writes, both a fresh one and one that
    stayed open through the kill.

    To see this test fail, break the adapter in the writer only (see
    :mod:`tests.faults.kill_writer`): ``EDQUEUE_FAULTS_BREAK=split`` commits each row before
    its events, ``EDQUEUE_FAULTS_BREAK=autocommit`` runs commands without a transaction;
    some kill then lands between the row and its events.
    """
    path = tmp_path / "edqueue.sqlite3"
    plan = _Plan()
    done = 0
    with SqliteStore(path) as survivor:  # another process's store, open through every kill
        for round_, delay in enumerate(_kill_delays()):
            reported = _run_and_kill(path, delay)
            done = _check_after_kill(path, plan, done, reported)
            with SqliteStore(path) as fresh:
                _write_probe(fresh, plan, round_)
            survivor.save(f"probe-{round_}", {"round": round_})
            assert survivor.load(f"probe-{round_}") == {"round": round_}
            if reported:
                number, version = reported[-1]
                found = survivor.get(number)
                assert found is not None
                assert found.version >= version
    assert done > 0  # the writer did make progress between the kills


# --- writers in two processes ----------------------------------------------------------------
#
# tests/test_stores.py covers two processes updating one application (no lost update), and
# several stores in one process racing on an update or drawing numbers. Missing: two
# processes that draw numbers and add applications at once, with the same idempotency keys
# (two web workers receiving the same retried submission).

_KEYS = 40


def _add_with_shared_keys(path: str, worker: int, start: Any, results: Any) -> None:
    """One process: for each of ``_KEYS`` keys, draw a number and add an application with
    that key; report ``(key, number, outcome)`` for each."""
    base = seed_application()
    outcomes: list[tuple[str, str, str]] = []
    with SqliteStore(path, timeout=30) as store:
        start.wait()
        for k in range(_KEYS):
            key = f"submission-{k}"
            number = store.next_number()
            application = attrs.evolve(base, number=number)
            try:
                store.add(
                    application,
                    [event("application_submitted", number, worker=worker)],
                    idempotency_key=key,
                )
            except StorageError as error:
                outcomes.append((key, number, error.code))
            else:
                outcomes.append((key, number, "added"))
    results.put(outcomes)


def test_two_processes_adding_at_once_never_duplicate_a_number_or_a_key(tmp_path: Path) -> None:
    path = tmp_path / "edqueue.sqlite3"
    SqliteStore(path).close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=_add_with_shared_keys, args=(str(path), worker, start, results))
        for worker in (1, 2)
    ]
    for process in processes:
        process.start()
    outcomes = [row for _ in processes for row in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    results.close()
    numbers = [number for _, number, _ in outcomes]
    assert sorted(map(int, numbers)) == list(range(1292583, 1292583 + 2 * _KEYS))
    added = {key: number for key, number, outcome in outcomes if outcome == "added"}
    winners = sorted(key for key, _, outcome in outcomes if outcome == "added")
    assert winners == sorted(f"submission-{k}" for k in range(_KEYS))  # each key won once ...
    assert sorted(o for _, _, o in outcomes if o != "added") == ["storage.duplicate"] * _KEYS
    with SqliteStore(path) as store:
        for key, number in added.items():  # ... and finds its winner
            found = store.by_idempotency_key(key)
            assert found is not None
            assert found.application.number == number
        assert sorted(s.application.number for s in store.all()) == sorted(added.values())
        assert sorted(str(e.number) for e in store.events()) == sorted(added.values())


# --- ports that fail -------------------------------------------------------------------------

SEED = seed_application()
PHONE = SEED.applicant.phone
APPLICANT = SEED.applicant.iin.reveal()
CHILD = SEED.child.iin.reveal()
NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
CHOICES = [
    Choice("shakhtinsk-saltanat", Language.RUSSIAN),
    Choice("shakhtinsk-karlygash", Language.KAZAKH),
]


@attrs.define
class World:
    ports: MemoryPorts
    repository: MemoryRepository | SqliteStore
    drafts: MemoryDrafts | SqliteStore
    service: ApplicationService


def make_service(
    ports: MemoryPorts,
    repository: MemoryRepository | SqliteStore,
    drafts: MemoryDrafts | SqliteStore,
    numbers: SqliteStore | MemoryNumbers | None = None,
) -> ApplicationService:
    return ports.service(repository, drafts, numbers=numbers)  # type: ignore[arg-type]


def memory_world() -> World:
    """The seed's world in memory; the SMS from 1414 is answered by the test."""
    ports = seed_ports(NOW)
    ports.consents.auto_answer = None
    repository, drafts = MemoryRepository(), MemoryDrafts()
    return World(ports, repository, drafts, make_service(ports, repository, drafts))


@pytest.fixture
def world() -> World:
    return memory_world()


def error(call: Callable[..., object], *args: object, **kwargs: object) -> EdqueueError:
    with pytest.raises(EdqueueError) as caught:
        call(*args, **kwargs)
    return caught.value


def started(world: World) -> str:
    """Step 0 begun: a code pushed to the app."""
    return world.service.start(PHONE).id


def identified(world: World) -> str:
    """Step 0 done: the code confirmed, both consents given."""
    draft_id = started(world)
    code = world.ports.identity.last_code(PHONE)
    assert code is not None
    world.service.confirm_code(draft_id, code)
    world.service.give_consents(draft_id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    return draft_id


def asked(world: World) -> str:
    """Step 1 begun: access to the family data asked for and granted by SMS."""
    draft_id = identified(world)
    request = world.service.request_family_access(draft_id, APPLICANT).access_request
    assert request is not None
    world.ports.consents.answer(request, AccessAnswer.GRANTED)
    return draft_id


def with_child(world: World) -> str:
    """Step 1 done: the seed's child chosen; a register confirms its category 8."""
    draft_id = asked(world)
    world.service.choose_child(draft_id, CHILD)
    world.ports.benefits.confirm(SEED.child.iin, SEED.applicant.iin, 8)
    return draft_id


def ready(world: World) -> str:
    """Steps 2 and 3 done: two organizations, no benefit."""
    draft_id = with_child(world)
    world.service.choose_organizations(draft_id, CHOICES)
    world.service.claim_benefit(draft_id, None)
    return draft_id


def snapshot(world: World, draft_id: str | None) -> tuple[object, ...]:
    """Everything a step could change: its draft, the stores, and what went out."""
    return (
        None if draft_id is None else world.drafts.load(draft_id),  # None once submitted
        repr(world.drafts),  # for the memory store: how many drafts there are
        list(world.repository.all()),
        world.repository.events(),
        list(world.ports.identity.pushed),
        list(world.ports.consents.requests),
        world.ports.documents.get("doc-1"),  # ids are doc-1, doc-2, ...: is there any?
        list(world.ports.notifier.outbox),
    )


@attrs.frozen
class Step:
    """A step of the flow that calls a port: how to get there, how to call it, which port,
    what the error names, and whether a successful call changes anything."""

    name: str
    port: str
    prepare: Callable[[World], str | None]
    call: Callable[[World, Any], object]
    names: str
    changes: bool = True

    def __str__(self) -> str:
        return f"{self.name}-{self.port}"


def _nothing(world: World) -> None:
    return None


_IDENTITY, _SMS, _FAMILY = "ED24 identity service", "SMS gateway 1414", "family register"
STEPS = [
    Step("start", "identity", _nothing, lambda w, d: w.service.start(PHONE), _IDENTITY),
    Step("send_code", "identity", started, lambda w, d: w.service.send_code(d), _IDENTITY),
    Step(  # the number must be the applicant's in the БМГ
        "request_family_access",
        "identity",
        identified,
        lambda w, d: w.service.request_family_access(d, APPLICANT),
        _IDENTITY,
    ),
    Step(
        "request_family_access",
        "consents",
        identified,
        lambda w, d: w.service.request_family_access(d, APPLICANT),
        _SMS,
    ),
    Step("family", "consents", asked, lambda w, d: w.service.family(d), _SMS, changes=False),
    Step("family", "family", asked, lambda w, d: w.service.family(d), _FAMILY, changes=False),
    Step("choose_child", "consents", asked, lambda w, d: w.service.choose_child(d, CHILD), _SMS),
    Step("choose_child", "family", asked, lambda w, d: w.service.choose_child(d, CHILD), _FAMILY),
    Step(
        "choose_organizations",
        "family",
        with_child,
        lambda w, d: w.service.choose_organizations(d, CHOICES),
        _FAMILY,
    ),
    Step(
        "claim_benefit",
        "benefits",
        with_child,
        lambda w, d: w.service.claim_benefit(d, 8),
        "benefit registers",
    ),
    Step(
        "claim_benefit",
        "documents",
        with_child,
        lambda w, d: w.service.claim_benefit(d, 1, b"%PDF-1.4 certificate"),
        "document store",
    ),
    Step("review", "family", ready, lambda w, d: w.service.review(d), _FAMILY, changes=False),
    Step("submit", "consents", ready, lambda w, d: w.service.submit(d, "key"), _SMS),
    Step("submit", "family", ready, lambda w, d: w.service.submit(d, "key"), _FAMILY),
]


@pytest.mark.parametrize(("knob", "code"), [("fail", "port.failed"), ("timeout", "port.timeout")])
@pytest.mark.parametrize("step", STEPS, ids=str)
def test_a_failing_port_leaves_the_application_unchanged_and_says_what_failed(
    world: World, step: Step, knob: str, code: str
) -> None:
    draft_id = step.prepare(world)
    before = snapshot(world, draft_id)
    port = getattr(world.ports, step.port)
    setattr(port, knob, True)
    raised = error(step.call, world, draft_id)
    assert isinstance(raised, PortError)
    assert raised.code == code
    assert step.names in raised.message
    assert snapshot(world, draft_id) == before
    setattr(port, knob, False)
    step.call(world, draft_id)  # the port is back: the same call now succeeds
    assert (snapshot(world, draft_id) != before) is step.changes


@pytest.mark.parametrize("numbers", ["sqlite", "memory"])
def test_a_locked_store_times_out_at_submission_and_writes_nothing(
    tmp_path: Path, numbers: str
) -> None:
    """The store is locked by another process's write past ``timeout``: ``port.timeout``,
    nothing written, and the same submission goes through once the lock is released.
    With numbers from the store, drawing the number times out; with numbers from memory,
    the number is drawn (and lost: numbers leave gaps, never repeat) and ``add`` times out."""
    path = tmp_path / "edqueue.sqlite3"
    ports = seed_ports(NOW)
    with SqliteStore(path, timeout=0.2) as store:
        sequence = store if numbers == "sqlite" else ports.numbers
        world = World(ports, store, store, make_service(ports, store, store, sequence))
        draft_id = ready(world)
        before = snapshot(world, draft_id)
        with closing(sqlite3.connect(path, isolation_level=None)) as blocker:
            blocker.execute("BEGIN EXCLUSIVE")
            raised = error(world.service.submit, draft_id, "key")
            assert raised.code == "port.timeout"
            assert "locked" in raised.message
            assert snapshot(world, draft_id) == before  # readers are not blocked (WAL)
            blocker.execute("ROLLBACK")
        submission = world.service.submit(draft_id, "key")
        assert not submission.repeated
        assert [s.application.number for s in store.all()] == [submission.number]
        assert [e.kind for e in store.events() if e.kind != ORGANIZATIONS] == [
            "application_submitted"
        ]
        assert store.load(draft_id) is None  # the submitted draft is deleted
        assert len(ports.notifier.outbox) == 1
        assert world.service.position(submission.number)[0].position == 1


def test_failed_notifications_are_retried_from_the_event_log(world: World) -> None:
    """The issue: «notifications that fail are retried from the event log, not lost».

    ``retry_notifications()`` sends every ``notification_failed`` not yet followed by a
    ``notification_sent`` whose ``data["retry_of"]`` is the failure's sequence; it returns
    how many it sent. A retry that fails again logs nothing and waits for the next call.
    """
    draft_id = ready(world)
    world.ports.notifier.timeout = True
    number = world.service.submit(draft_id, "key").number
    assert world.repository.get(number) is not None  # the notifier is not in the transaction
    failed = world.repository.events()[-1]
    assert (failed.kind, failed.number, failed.reason) == (
        "notification_failed",
        number,
        "port.timeout",
    )
    assert failed.data["event"] == "application_submitted"

    assert world.service.retry_notifications() == 0  # still down: nothing sent, nothing logged
    assert world.ports.notifier.outbox == []
    assert world.repository.events()[-1] == failed

    world.ports.notifier.timeout = False
    assert world.service.retry_notifications() == 1
    phone, message = world.ports.notifier.outbox[0]
    assert phone == PHONE
    ideal = memory_world()  # the message a notifier that never failed sends
    ideal.service.submit(ready(ideal), "key")
    assert message == ideal.ports.notifier.outbox[0][1]
    sent = world.repository.events()[-1]
    assert (sent.kind, sent.number) == ("notification_sent", number)
    assert sent.data["retry_of"] == failed.sequence

    assert world.service.retry_notifications() == 0  # marked done: never sent twice
    restarted = make_service(world.ports, world.repository, world.drafts)
    assert restarted.retry_notifications() == 0  # nor by another process reading the log
    assert len(world.ports.notifier.outbox) == 1


# --- many processes on one database: load, kills, a crash, a held lock (issue 17) ------------
#
# Workers are real processes forked from a server process that has imported edqueue and these
# tests once (multiprocessing's forkserver), so a new worker starts in milliseconds and holds
# nothing of the parent's (no connection, no thread). The helpers of
# tests/test_many_processes.py (stores, services, the family and desk processes) and of
# tests/test_journal.py (a family's submission) do the work.

_LOAD_SEED = 20240617
_KILLS_PER_SLOT = 26  # two slots at once: 52 kills
_FAMILIES_PER_WORKER = 12
_FIRST_WORKER_FAMILY = 40  # families 0-39 are the load test's and the parent's own
_GROUP_PLACES = {
    (organization.id, group.key): group.free_places
    for organization in many.ORGANIZATIONS
    for group in organization.groups
}


def _workers() -> Any:
    """The forkserver context, its server preloading edqueue and this module."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _check_the_store(place: many.Place, acknowledged: Collection[str]) -> list[EventRecord]:
    """The invariants of a store many processes wrote to, whatever happened to them: every
    acknowledged submission stored once, every stored application with exactly one
    submission record and no submission record without its application (nothing
    half-written), the log gap-free with its hash chain whole, no referral id twice, no
    application with two open referrals and no group with more open referrals than places
    at any point of the log, the strict rebuild passing, and the queues rebuilt from the
    log equal to those built from the stored applications. Returns the log.

    The rows are first brought to the log's state with ``reconcile``: a worker killed
    between a decision and the rows it settles after it leaves them behind (a settle that
    comes late never writes a state the log has moved past:
    :func:`test_a_late_settle_never_writes_a_state_the_log_has_moved_past`)."""
    with many.open_store(place) as store:
        _, _, service = many.service_over(store)
        assert service.reconcile() == 0
        events = store.events()
        stored = [s.application for s in store.all()]
        from_log = rebuild_book(store, many.ORGANIZATIONS)  # strict: raises on a bad record
    numbers = [a.number for a in stored]
    assert len(numbers) == len(set(numbers))
    assert set(acknowledged) <= set(numbers), "an acknowledged submission is not stored"
    submitted = Counter(e.number for e in events if e.kind == "application_submitted")
    assert set(submitted.values()) <= {1}
    assert set(submitted) == set(numbers), "an application without its record, or the reverse"
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert verify_audit_log(events).problems == ()
    free = dict(_GROUP_PLACES)
    holders: dict[str, tuple[str, tuple[str, GroupKey]]] = {}  # number -> referral, group
    issued: set[str] = set()
    for record in events:
        if record.kind not in {"referral_issued", "referral_closed", "place_freed"}:
            continue
        change = from_record(record)
        if isinstance(change, ReferralIssued):
            group = (change.organization_id, change.group)
            assert change.referral_id not in issued, f"referral id twice at {record.sequence}"
            assert change.number not in holders, f"two open referrals at {record.sequence}"
            assert free[group] > 0, f"a place referred twice at {record.sequence}"
            issued.add(change.referral_id)
            holders[change.number] = (change.referral_id, group)
            free[group] -= 1
        elif isinstance(change, ReferralClosed):
            referral_id, group = holders.pop(change.number)
            assert referral_id == change.referral_id
            if change.outcome != "used":
                free[group] += 1  # declined, expired, cancelled: the place is free again
        elif isinstance(change, PlaceFreed):
            free[(change.organization_id, change.group)] += change.count
    from_rows = QueueBook.build(many.ORGANIZATIONS, stored)
    assert list(from_log.queues()) == list(from_rows.queues())
    return events


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
def test_eight_families_and_two_desks_at_once_keep_every_invariant(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """8 processes submitting (3 families each) and 2 processes running desk rounds on the
    same two free places, all at once, on one store."""
    place: many.Place = (
        ("sqlite", str(tmp_path / "queue.sqlite3"))
        if kind == "sqlite"
        else ("postgres", request.getfixturevalue("postgres_dsn"))
    )
    with many.open_store(place) as store:
        ports, families, service = many.service_over(store, 4)
        for family in families:
            journal.submit(service, ports, family, journal.CHOICES[0])
    with _workers().Pool(10) as pool:
        desks = [pool.apply_async(many._desk, (place, 12)) for _ in range(2)]
        submitters = [pool.apply_async(many._submitter, (place, 4 + 3 * k, 3)) for k in range(8)]
        outcomes = [o for d in desks for o in d.get(timeout=120)]
        numbers = [n for s in submitters for n in s.get(timeout=120)]
    assert len(numbers) == len(set(numbers)) == 24  # every family got its own number
    assert set(outcomes) <= {"ok", "storage.conflict", "referral.invalid_transition"}
    assert outcomes.count("ok") >= len(outcomes) // 2
    events = _check_the_store(place, numbers)
    assert any(e.kind == "referral_issued" for e in events)


class _LateToSettle(SqliteStore):
    """A store whose next settling write (an ``update`` without events: the service
    bringing another application's row to its book after a command) first lets another
    process decide (``before``)."""

    before: Any = None

    def update(self, *args: Any, **kwargs: Any) -> Any:
        settling = len(args) < 3 and not kwargs.get("events")
        if settling and self.before is not None:
            before, self.before = self.before, None
            before()
        return super().update(*args, **kwargs)


def test_a_late_settle_never_writes_a_state_the_log_has_moved_past(tmp_path: Path) -> None:
    """Desk A refers both free places (to #1 with the records, then settles #2's row);
    before A writes #2's row, desk B declines #2's referral. B leaves #2's row alone (it
    still says ``active``, as the log now does) and logs the decline; then A's late write
    makes the row ``referred``, which the log contradicts."""
    path = tmp_path / "queue.sqlite3"
    with SqliteStore(path) as other_store, _LateToSettle(path) as late_store:
        ports, families, late = many.service_over(late_store)
        first, second = (journal.submit(late, ports, f, journal.CHOICES[0]) for f in families[:2])
        _, _, other = many.service_over(other_store)

        def decline_the_second() -> None:
            referral = other.book.open_referral(second)
            assert referral is not None
            other.decline_referral(referral.id)

        late_store.before = decline_the_second
        issued = late.offer_all()
        assert [e.number for e in issued if isinstance(e, ReferralIssued)] == [first, second]
        assert late_store.before is None  # B did decide in between
        from_log = rebuild_book(other_store, many.ORGANIZATIONS)
        assert from_log.application(second).status is ApplicationStatus.ACTIVE
        stored = other_store.get(second)
        assert stored is not None
        assert stored.application.status is ApplicationStatus.ACTIVE  # fails: "referred"


def _worker(place: many.Place, slot: int, report: str, ready: Any, stop: Any) -> None:
    """One worker of a host, until it is killed or ``stop`` is set: submissions of its own
    families (``_FAMILIES_PER_WORKER`` from the slot's first) and desk decisions, in a
    pseudo-random order. Each command's outcome is one line of ``report``, written whole
    once the command has returned: ``submitted <number>``, ``decided`` or
    ``refused <code>``. A failure that is not an :class:`EdqueueError` ends the process
    (the parent sees its exit code)."""
    rng = random.Random(slot)
    first = _FIRST_WORKER_FAMILY + _FAMILIES_PER_WORKER * slot
    with open(report, "a", encoding="utf-8", buffering=1) as out:
        store, (ports, families, service) = _started(place, first + _FAMILIES_PER_WORKER, out)
        waiting = iter(families[first:])
        ready.set()
        while not stop.is_set():
            ports.clock.advance(seconds=1)
            try:
                family = next(waiting, None) if rng.random() < 0.6 else None
                if family is not None:
                    number = journal.submit(service, ports, family, journal.CHOICES[0])
                    out.write(f"submitted {number}\n")
                    continue
                service.offer_all()
                open_ = service.book.open_referrals()
                if open_ and rng.random() < 0.5:
                    service.decline_referral(rng.choice(open_).id)
                out.write("decided\n")
            except EdqueueError as error:
                out.write(f"refused {error.code}\n")
        store.close()


def _started(place: many.Place, families: int, out: TextIO) -> tuple[Any, tuple[Any, ...]]:
    """A worker's store and ``service_over`` it, opened again after each error (a host
    restarts a worker that failed to start: its connection may be terminated meanwhile)."""
    while True:
        store = None
        try:
            store = many.open_store(place)
            return store, many.service_over(store, families)
        except EdqueueError as error:
            out.write(f"refused {error.code}\n")
            if store is not None:
                store.close()


def _reported(report: Path) -> list[str]:
    """The whole lines of a worker's report (a line cut by a kill is not one)."""
    if not report.exists():
        return []
    *lines, _unfinished = report.read_text(encoding="utf-8").split("\n")
    return lines


def _acknowledged(reports: Iterable[Path]) -> list[str]:
    return [
        line.split()[1]
        for report in reports
        for line in _reported(report)
        if line.startswith("submitted ")
    ]


_WATCHER = "fault-test-watcher"
"""The application name of the test's own connections that watch the workers."""


def _terminate_every_connection(dsn: str) -> int:
    """``pg_terminate_backend`` of every other connection to the database but the test's
    watchers; how many."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name IS DISTINCT FROM %s",
            (_WATCHER,),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def _in_a_transaction(watching: psycopg.Connection[Any], name: str) -> bool:
    """Whether a connection named ``name`` has a transaction open now."""
    row = watching.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
        "AND xact_start IS NOT NULL",
        (name,),
    ).fetchone()
    return bool(row and row[0])


_KILLED_IN_A_TRANSACTION = "unexpected EOF on client connection with an open transaction"
"""What the server logs when a client dies with a transaction open."""


def test_workers_killed_at_random_points_and_dropped_connections_leave_nothing_half_written(
    postgres_server: PostgresServer, postgres_dsn: str, tmp_path: Path
) -> None:
    """52 workers killed with SIGKILL, two at a time, at pseudo-random points: one in five
    while it starts, one in four as soon as the parent sees a transaction of it open
    (``pg_stat_activity``), the others 0-400 ms after it is ready; meanwhile every other
    connection to the database is terminated (``pg_terminate_backend``) every 1-2 s. The
    server's log shows that kills did land inside transactions. Afterwards a store opened
    before all this works at its next call, the invariants of :func:`_check_the_store`
    hold, a new worker's commands work, and ``reconcile`` brings the applications a kill
    left behind their log up to it."""
    place: many.Place = ("postgres", postgres_dsn)
    with many.open_store(place) as store:
        ports, families, service = many.service_over(store, 4)
        for family in families:
            journal.submit(service, ports, family, journal.CHOICES[0])
    logged = len(postgres_server.log.read_text(errors="replace"))
    context = _workers()
    rng = random.Random(_LOAD_SEED)
    modes = ["starting"] * 2 + ["in a transaction"] * 3 + ["any time"] * 5
    plans = [
        [(rng.choice(modes), rng.uniform(0, 0.4)) for _ in range(_KILLS_PER_SLOT)] for _ in range(2)
    ]
    stop = context.Event()  # never set: these workers run until killed
    # multiprocessing polls every child when it starts one: two threads that start and join
    # processes at once may both read a child's exit status, and one then sees 255
    processes = threading.Lock()
    exits: list[int | None] = []
    started = itertools.count()
    running = threading.Event()
    running.set()
    terminated: list[int] = []

    def slot_loop(plan: list[tuple[str, float]]) -> None:
        with psycopg.connect(postgres_dsn, autocommit=True, application_name=_WATCHER) as watching:
            for mode, delay in plan:
                slot = next(started)
                name = f"worker-{slot}"
                dsn = psycopg.conninfo.make_conninfo(postgres_dsn, application_name=name)
                ready = context.Event()
                report = str(tmp_path / f"{slot}.log")
                process = context.Process(
                    target=_worker, args=(("postgres", dsn), slot, report, ready, stop), daemon=True
                )
                with processes:
                    process.start()
                try:
                    if mode == "starting":
                        time.sleep(delay / 2)
                    elif ready.wait(60) and mode == "in a transaction":
                        for _ in range(2000):
                            if _in_a_transaction(watching, name):
                                break
                    else:
                        time.sleep(delay)
                finally:
                    with processes:
                        process.kill()  # SIGKILL: no handler, no cleanup, no client rollback
                        process.join(60)
                exits.append(process.exitcode)

    def terminator() -> None:
        pause = random.Random(_LOAD_SEED + 1)
        while running.is_set():
            time.sleep(pause.uniform(1.0, 2.0))
            terminated.append(_terminate_every_connection(postgres_dsn))

    with many.open_store(place) as survivor:
        slots = [threading.Thread(target=slot_loop, args=(plan,)) for plan in plans]
        dropping = threading.Thread(target=terminator)
        for thread in [*slots, dropping]:
            thread.start()
        for thread in slots:
            thread.join(300)
        running.clear()
        dropping.join(60)
        assert not any(t.is_alive() for t in [*slots, dropping])
        assert survivor.events()  # its connections were terminated: the next call works
    assert exits == [-signal.SIGKILL] * 2 * _KILLS_PER_SLOT  # none died of anything else
    assert len(terminated) >= 3 and sum(terminated) > 0
    server_log = postgres_server.log.read_text(errors="replace")[logged:]
    assert _KILLED_IN_A_TRANSACTION in server_log  # some kills did cut a transaction short
    reports = sorted(tmp_path.glob("*.log"))
    acknowledged = _acknowledged(reports)
    lines = [line for report in reports for line in _reported(report)]
    assert acknowledged and "decided" in lines  # the workers did work between the kills
    assert {line for line in lines if line.startswith("refused ")} <= {
        "refused storage.conflict",
        "refused referral.invalid_transition",
        "refused port.failed",
        "refused port.timeout",
    }
    # the next worker's commands work, and the stored applications catch up with the log
    newcomer = _FIRST_WORKER_FAMILY + _FAMILIES_PER_WORKER * (2 * _KILLS_PER_SLOT)
    with many.open_store(place) as store:
        ports, families, service = many.service_over(store, newcomer + 1)
        number = journal.submit(service, ports, families[newcomer], journal.CHOICES[0])
        service.offer_all()
    _check_the_store(place, [*acknowledged, number])


def _wait_for_lines(reports: Sequence[Path], least: Sequence[int], *kinds: str) -> list[int]:
    """Wait (60 s at most) until each report holds at least its ``least`` lines of the
    ``kinds`` (``submitted``, ``decided``); their counts (``pytest.fail``: a worker stopped
    working)."""
    for _ in range(600):
        counts = [sum(line.split()[0] in kinds for line in _reported(report)) for report in reports]
        if all(c >= n for c, n in zip(counts, least, strict=True)):
            return counts
        time.sleep(0.1)
    pytest.fail(f"the workers stopped working: {counts} lines of {kinds}", pytrace=False)


def test_every_command_acknowledged_before_a_crash_is_there_after_the_restart(
    postgres_server: PostgresServer, postgres_dsn: str, tmp_path: Path
) -> None:
    """Two workers submit and decide while the server is stopped with ``pg_ctl stop -m
    immediate`` (as a crash would stop it) and started again. Every submission a worker
    saw acknowledged is stored after the restart; the workers' stores (their pools) and
    the parent's work again without being reopened; a wait for new records begun while
    the server is down returns once the server is back and a worker writes; the
    invariants of :func:`_check_the_store` hold.

    The session's server runs with ``synchronous_commit = off`` for speed (a commit is
    acknowledged before its WAL is written, and a crash may lose it); this test's database
    turns it back on, as a production server has it: the promise rests on that setting."""
    database = postgres_dsn.rsplit("dbname=", 1)[1]
    postgres_server.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = on')
    place: many.Place = ("postgres", postgres_dsn)
    context = _workers()
    stop = context.Event()
    reports = [tmp_path / f"{slot}.log" for slot in range(2)]
    readies = [context.Event() for _ in reports]  # kept: a child opens them by name
    workers = [
        context.Process(
            target=_worker, args=(place, slot, str(report), readies[slot], stop), daemon=True
        )
        for slot, report in enumerate(reports)
    ]
    waited: list[object] = []
    with PostgresStore(postgres_dsn, poll_interval=60) as parent:
        for worker in workers:
            worker.start()
        try:
            _wait_for_lines(reports, [2, 2], "submitted")
            seen = parent.events()[-1].sequence
            try:
                postgres_server.crash()
                before = _wait_for_lines(reports, [0, 0], "submitted", "decided")

                def wait() -> None:
                    try:
                        waited.append(parent.wait_for_events(seen, 60))
                    except (EdqueueError, ValueError) as error:  # reported below
                        waited.append(error)

                waiting = threading.Thread(target=wait)
                waiting.start()  # while the server is down
                time.sleep(1.5)
            finally:
                postgres_server.restart()
            assert parent.events()[-1].sequence >= seen  # the parent's pool works again
            # and the workers' pools: each acknowledges two more commands
            _wait_for_lines(reports, [n + 2 for n in before], "submitted", "decided")
            waiting.join(60)
        finally:
            stop.set()
            for worker in workers:
                worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(waited) == 1 and isinstance(waited[0], int) and waited[0] > seen
    _check_the_store(place, _acknowledged(reports))


def _decide_with_a_short_lock_timeout(place: many.Place) -> list[str]:
    """In a process of its own: a desk decision and a submission over a store whose lock
    waits last 0.3 s; their error codes."""
    with PostgresStore(place[1], timeout=0.3) as store:
        ports, families, service = many.service_over(store, 5)
        codes = []
        for command in (
            service.offer_all,
            lambda: journal.submit(service, ports, families[4], journal.CHOICES[0]),
        ):
            try:
                command()
                codes.append("done")
            except EdqueueError as error:
                codes.append(error.code)
        return codes


def test_a_command_waiting_on_a_held_log_head_is_a_port_timeout_not_a_hang(
    postgres_dsn: str,
) -> None:
    """Another connection holds the log's head row (``SELECT ... FOR UPDATE``): a desk
    decision and a submission through the service, in another process, each end in
    ``port.timeout`` after the lock timeout, write nothing, and go through once the lock
    is released. (``tests/test_postgres.py`` checks the same of the store's own writes.)"""
    place: many.Place = ("postgres", postgres_dsn)
    with many.open_store(place) as store:
        ports, families, service = many.service_over(store, 4)
        journal.submit(service, ports, families[0], journal.CHOICES[0])
        before = store.events()
    with _workers().Pool(1) as pool, psycopg.connect(postgres_dsn) as holder:
        holder.execute("SELECT * FROM event_log_head FOR UPDATE")  # held until rollback
        codes = pool.apply_async(_decide_with_a_short_lock_timeout, (place,)).get(timeout=60)
        assert codes == ["port.timeout", "port.timeout"]
        with many.open_store(place) as store:
            assert store.events() == before  # nothing written
        holder.rollback()
        assert pool.apply_async(_decide_with_a_short_lock_timeout, (place,)).get(timeout=60) == [
            "done",
            "done",
        ]
    _check_the_store(place, [])
