"""Run the benchmarks of issue 8 and print the table; write it to benchmarks/results/.

    python -m benchmarks.run                      # everything (what `make bench` runs)
    python -m benchmarks.run --only build,position
    BENCH_SCALE=0.1 python -m benchmarks.run      # a tenth of the national instance

Rows: ``build``, ``position``, ``event``, ``allocate``, ``matching``, ``rank``, ``memory``,
``stores`` (the durable stores: benchmarks/stores.py, with its own knobs).
Environment knobs (defaults in brackets): ``BENCH_SCALE`` [1.0] scales applications
(1,000,000), organizations (10,000), free places (100,000) and, below 0.1, the matching
instance (10,000 / 1,000 groups); ``BENCH_RANK_LINES`` [``all``, or a number] lines given
to ``edqueue rank``; ``BENCH_REPEATS`` [3]; ``BENCH_EVENTS`` [2000] events of each kind;
``BENCH_POSITIONS`` [10000]; ``BENCH_MATCHING_TIMEOUT`` [120] seconds;
``BENCH_RANK_REPEATS`` [1]; ``BENCH_RANK_JOBS`` [2] (``edqueue rank --jobs``);
``BENCH_BUDGET`` [20] seconds after which no further repeat of a measurement starts;
``BENCH_CACHE`` [benchmarks/.cache].
"""

from __future__ import annotations

import argparse
import filecmp
import gc
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import attrs

from benchmarks import national as nat
from benchmarks.baseline_matching import matching_worker
from benchmarks.harness import (
    Row,
    best_of,
    fmt,
    per_call,
    text_table,
    timer_overhead,
    write_results,
)
from edqueue.models import Application, Organization, by_number
from edqueue.rules import QueueBook, QueueId
from edqueue.rules.allocation import AllocationProblem
from edqueue.rules.ordering import StandardOrdering, sort_function

ROWS = ("build", "position", "event", "allocate", "matching", "rank", "memory", "stores")
# The rows that need no national instance in memory first (stores takes it when it is made,
# and fails early when PostgreSQL is missing).
RUN_ORDER = ("stores", "matching", "rank", "build", "position", "allocate", "event", "memory")

ORDERING = StandardOrdering()
_ORDERING_KEY = sort_function(ORDERING)


def say(message: str) -> None:
    print(message, flush=True)


def us(seconds: float) -> float:
    return seconds * 1e6


def thousands(count: int) -> str:
    return f"{count:,}"


@dataclass
class National:
    """The national instance in memory, and what the rows share: the book and baseline
    A's sorted buckets, each built once (by the build row, else untimed when needed)."""

    settings: nat.Settings
    organizations: list[Organization]
    applications: list[Application]
    extra: list[Application]
    book: QueueBook | None = None
    plain: dict[QueueId, list[nat.Key]] | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, settings: nat.Settings) -> National:
        start = time.perf_counter()
        organizations = nat.organizations_for(settings.organizations)
        count = settings.applications
        stream = nat.application_stream(organizations, count + settings.events)
        applications = list(islice(stream, count))
        extra = list(stream)  # the same stream goes on: new applications for `submit`
        elapsed = time.perf_counter() - start
        say(f"  {thousands(count)} applications made in memory in {elapsed:.0f} s")
        return cls(settings, organizations, applications, extra)

    def get_book(self) -> QueueBook:
        if self.book is None:
            self.book = nat.build_book(self.organizations, self.applications)
        return self.book

    def get_plain(self) -> dict[QueueId, list[nat.Key]]:
        if self.plain is None:
            self.plain = nat.plain_rank(self.applications, ORDERING)
        return self.plain


# --- 1. build --------------------------------------------------------------------------------


def row_build(data: National) -> list[Row]:
    settings, apps, orgs = data.settings, data.applications, data.organizations
    repeats = settings.repeats
    n = thousands(len(apps))
    data.book = None
    way = "QueueBook.build" if hasattr(QueueBook, "build") else "QueueBook + submit each"
    edq, book = best_of(repeats, lambda: nat.build_book(orgs, apps))
    data.book = book
    say(f"  build: edqueue ({way}) best {fmt(edq.best, 's')} of {edq.runs}")
    data.plain = None
    plain, buckets = best_of(repeats, lambda: nat.plain_rank(apps, ORDERING))
    data.plain = buckets
    say(f"  build: plain Python best {fmt(plain.best, 's')}")
    numpy_full, _ = best_of(repeats, lambda: nat.numpy_rank(apps, ORDERING))
    say(f"  build: numpy (keys + lexsort) best {fmt(numpy_full.best, 's')}")
    keys = nat.array_keys(apps, ORDERING)
    numpy_sort, (order, starts) = best_of(repeats, lambda: nat.numpy_sort(keys))
    say(f"  build: numpy lexsort alone best {fmt(numpy_sort.best, 's')}")

    rng = random.Random("benchmarks.build")
    queue_ids = sorted(buckets, key=lambda q: (q[0], q[1].birth_year, q[1].language.code))
    sample = rng.sample(queue_ids, min(2_000, len(queue_ids)))
    by_numpy = nat.numpy_queues(keys, order, starts)
    same_book = all(book.queue(*q) == [str(k[2]) for k in buckets[q]] for q in sample)
    same_numpy = all(by_numpy[q] == [k[2] for k in buckets[q]] for q in sample)
    entries = sum(len(b) for b in buckets.values())
    del order, starts, by_numpy
    check = (
        f"same order as the plain baseline in {len(sample):,} sampled queues: "
        f"edqueue {'yes' if same_book else 'NO'}, numpy {'yes' if same_numpy else 'NO'}"
    )
    what = f"build every queue, {n} applications"
    common = {"way": way, "queues": len(buckets), "entries": entries}
    return [
        Row(
            "build",
            "1a. " + what + ", vs plain Python",
            "s",
            edq.best,
            plain.best,
            "plain sorted()",
            "faster",
            ">= 4x faster",
            plain.best / edq.best >= 4,
            notes=[
                f"{len(buckets):,} queues, {entries:,} queue entries; edqueue builds with "
                f"{way}; every baseline computes the same keys from the "
                "same Application objects (sort_function(StandardOrdering()), group_keys) inside "
                "its timing; " + check
            ],
            details={
                **common,
                "edqueue_runs": edq.runs,
                "baseline_runs": plain.runs,
            },
        ),
        Row(
            "build-numpy",
            "1b. " + what + ", vs numpy",
            "s",
            edq.best,
            numpy_full.best,
            "numpy keys + lexsort",
            "faster",
            "at most 2x slower",
            edq.best <= 2 * numpy_full.best,
            details={**common, "baseline_runs": numpy_full.runs},
        ),
        Row(
            "build-lexsort",
            "1c. " + what + ", vs lexsort alone (info)",
            "s",
            edq.best,
            numpy_sort.best,
            "lexsort, keys ready",
            "info",
            "-",
            None,
            details={**common, "baseline_runs": numpy_sort.runs},
        ),
    ]


# --- 2. position ----------------------------------------------------------------------------


def row_position(data: National) -> list[Row]:
    book, buckets = data.get_book(), data.get_plain()
    rng = random.Random("benchmarks.position")
    sample = rng.sample(data.applications, min(data.settings.positions, len(data.applications)))
    numbers = [a.number for a in sample]
    lists: dict[QueueId, list[str]] = {}
    targets: list[tuple[list[str], str]] = []
    for application in sample:
        first = application.group_keys[0]
        if first not in lists:
            lists[first] = [str(k[2]) for k in buckets[first]]
        targets.append((lists[first], application.number))
    # one application's position in one queue (its first choice), as list.index finds it
    firsts = [(a.number, a.choices[0].organization_id) for a in sample]
    position = book.position
    edq = per_call(lambda t: position(t[0], t[1]), firsts)
    base = per_call(lambda t: t[0].index(t[1]), targets)
    every = per_call(book.positions, numbers)  # every chosen queue at once (information)
    agree = all(
        book.position(n, organization).position == lst.index(n) + 1
        for (n, organization), (lst, _) in zip(firsts[:1_000], targets, strict=False)
    )
    median, baseline = statistics.median(edq), statistics.median(base)
    lengths = [len(lst) for lst, _ in targets]
    return [
        Row(
            "position",
            f"2. position(number, organization) at {thousands(len(data.applications))}, "
            f"median of {len(numbers):,} calls",
            "µs",
            us(median),
            us(baseline),
            "list.index",
            "absolute",
            "median <= 10 µs",
            us(median) <= 10,
            notes=[
                f"positions agree with the sorted lists: {'yes' if agree else 'NO'}; "
                f"first-choice queues hold {statistics.mean(lengths):.1f} applications on "
                f"average (longest {max(lengths)}); p90 {us(_quantile(edq, 0.9)):.2f} µs; "
                f"timer overhead {us(timer_overhead()):.2f} µs per call, not subtracted; "
                f"positions(number), every chosen queue at once: median "
                f"{us(statistics.median(every)):.2f} µs"
            ],
            details={
                "p90_us": us(_quantile(edq, 0.9)),
                "calls": len(edq),
                "positions_median_us": us(statistics.median(every)),
            },
        )
    ]


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 3. events ------------------------------------------------------------------------------


def _key(application: Application) -> nat.Key:
    tier, (moment, number) = _ORDERING_KEY(application)
    return int(tier), moment, number


def _rebuild(
    buckets: dict[QueueId, list[nat.Key]],
    application: Application,
    old: nat.Key | None,
    new: nat.Key | None,
) -> None:
    """The baseline of an event: re-sort the buckets of the application's choices."""
    for queue_id in application.group_keys:
        keys = [k for k in buckets.get(queue_id, ()) if k != old]
        if new is not None:
            keys.append(new)
        buckets[queue_id] = sorted(keys)


def row_event(data: National) -> list[Row]:
    settings = data.settings
    book = data.get_book()
    buckets = {q: list(keys) for q, keys in data.get_plain().items()}
    at = nat.AS_OF
    rng = random.Random("benchmarks.event")
    pending = [
        a
        for a in data.applications
        if a.benefit is not None and a.benefit.status.value == "pending"
    ]
    verify = rng.sample(pending, min(settings.events, len(pending)))
    chosen = {a.number for a in verify}
    others = [
        a for a in rng.sample(data.applications, 3 * settings.events) if a.number not in chosen
    ]
    withdraw = others[: settings.events]
    submit = data.extra[: settings.events]

    def baseline_submit(application: Application) -> None:
        _rebuild(buckets, application, None, _key(application))

    def baseline_withdraw(application: Application) -> None:
        _rebuild(buckets, application, _key(application), None)

    def baseline_verify(application: Application) -> None:
        assert application.benefit is not None  # noqa: S101 - chosen as pending above
        verified = attrs.evolve(application, benefit=application.benefit.verify(at))
        _rebuild(buckets, application, _key(application), _key(verified))

    kinds: list[tuple[str, list[Application], Callable[[Application], Any], Callable[..., Any]]] = [
        ("submit", submit, book.submit, baseline_submit),
        ("withdraw", withdraw, lambda a: book.withdraw(a.number, at), baseline_withdraw),
        ("verify_benefit", verify, lambda a: book.verify_benefit(a.number, at), baseline_verify),
    ]
    rows: list[Row] = []
    for name, events, edq_call, base_call in kinds:
        edq = per_call(edq_call, events)
        base = per_call(base_call, events)
        touched = [q for a in events[:200] for q in a.group_keys]
        same = all(book.queue(*q) == [str(k[2]) for k in buckets[q]] for q in touched)
        median = statistics.median(edq)
        rows.append(
            Row(
                f"event-{name}",
                f"3{'abc'[len(rows)]}. {name} at {thousands(len(data.applications))}, "
                f"median of {len(events):,}",
                "µs",
                us(median),
                us(statistics.median(base)),
                "re-sort its queues",
                "absolute",
                "median <= 30 µs",
                us(median) <= 30,
                notes=[
                    f"queues after the events equal the re-sorted buckets: "
                    f"{'yes' if same else 'NO'}; p90 {us(_quantile(edq, 0.9)):.2f} µs"
                ],
                details={"p90_us": us(_quantile(edq, 0.9)), "events": len(events)},
            )
        )
    data.notes.append("the book was changed by the event row")
    return rows


# --- 4. allocation at national scale ----------------------------------------------------------


def row_allocate(data: National) -> list[Row]:
    settings = data.settings
    book = data.get_book()
    start = time.perf_counter()
    places = nat.spread_places(book.queue_ids(), settings.places)
    round_ = nat.round_from_book(book, places, nat.AS_OF)
    gathered = time.perf_counter() - start
    start = time.perf_counter()
    problem = AllocationProblem(choices=round_.choices, queues=round_.queues, places=places)
    checked = time.perf_counter() - start
    say(
        f"  allocate: round read from the book in {gathered:.1f} s, "
        f"problem checked in {checked:.1f} s"
    )
    order, common = nat.round_order(book)
    edq, allocation = best_of(settings.repeats, lambda: nat.allocate_round(problem, order, common))
    general, by_da = best_of(settings.repeats, lambda: nat.deferred_acceptance(problem, order))
    given = by_order = None
    if common:  # what the round cost when the desk passed its order instead of listing
        given, by_order = best_of(
            settings.repeats, lambda: nat.serial_dictatorship_in(problem, order)
        )
    order = nat.common_order(book, round_.choices)
    presorted = [(number, round_.choices[number]) for number in order]
    base, assignment = best_of(settings.repeats, lambda: nat.serial_dictatorship(presorted, places))
    same = set(allocation.assignment.items()) == set(assignment.items())
    say(f"  allocate: edqueue best {fmt(edq.best, 's')}, serial dictatorship {fmt(base.best, 's')}")
    ordered = (
        ""
        if given is None
        else (
            "; with the order given instead of the choices listed in it, "
            "serial_dictatorship(problem, order) gives "
            f"{'the same' if by_order.assignment == allocation.assignment else 'OTHER'} "
            f"referrals in {fmt(given.best, 's')} ({given.best / base.best:.2f}x the baseline: "
            "it looks each of the order's numbers up in the problem)"
        )
    )
    return [
        Row(
            "allocate",
            f"4. allocate, {thousands(len(data.applications))} applications, "
            f"{thousands(settings.places)} places",
            "s",
            edq.best,
            base.best,
            "serial dictatorship",
            "faster",
            "at most 2x slower",
            edq.best <= 2 * base.best and same,
            notes=[
                f"same referrals: {'yes' if same else 'NO'} ({len(assignment):,} placed); "
                f"{len(round_.choices):,} applications may take a place now (the others wait "
                "for their desired date or age: referral_hold); places spread uniformly over "
                f"{len(places):,} groups; "
                "timed on an AllocationProblem built beforehand, as ReferralDesk.allocate "
                "computes the round: "
                + (
                    "the choices listed in book.common_order() (every queue follows it under "
                    "the standard ordering), serial_dictatorship(problem) takes them in turn"
                    if common
                    else "allocate() with book.priority_order() as proposing order"
                )
                + f" (reading the round from the book took {gathered:.1f} s, "
                f"AllocationProblem's checks {checked:.1f} s); deferred acceptance, the path "
                f"for any ordering, gives "
                f"{'the same' if by_da.assignment == allocation.assignment else 'OTHER'} "
                f"referrals in {fmt(general.best, 's')} "
                f"({general.best / base.best:.2f}x the baseline)" + ordered
            ],
            details={
                "edqueue_runs": edq.runs,
                "baseline_runs": base.runs,
                "deferred_acceptance_s": general.best,
                "serial_dictatorship_given_order_s": given.best if given else None,
                "round_from_book_s": gathered,
                "problem_checks_s": checked,
                "placed": len(assignment),
            },
        )
    ]


# --- 5. allocation vs matching -----------------------------------------------------------------


def _label(queue_id: QueueId) -> str:
    organization_id, key = queue_id
    return f"{organization_id}/{key.birth_year}/{key.language.code}/{key.queue_kind.value}"


def run_matching(
    residents: dict[str, list[str]],
    hospitals: dict[str, list[str]],
    capacities: dict[str, int],
    timeout: float,
) -> tuple[float, set[tuple[str, str]]] | None:
    """matching's HospitalResident in another process; ``None`` if it ran out of time."""
    # A fresh interpreter: a fork would share (and its collector walk) the national heap.
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=matching_worker, args=(send, residents, hospitals, capacities))
    worker.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return None
        elapsed, pairs = receive.recv()
        return elapsed, set(pairs)
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()


def row_matching(settings: nat.Settings) -> list[Row]:
    count, target = settings.matching_applications, settings.matching_groups
    candidates = nat.organizations_for(max(20, target // 5))
    organizations: list[Organization] = []
    groups = 0
    for organization in candidates:
        if groups >= target:
            break
        organizations.append(organization)
        groups += len(organization.groups)
    applications = list(nat.application_stream(organizations, count))
    book = nat.build_book(organizations, applications)
    places = nat.spread_places(book.queue_ids(), count // 10, seed=nat.SEED + 1)
    round_ = nat.round_from_book(book, places, nat.AS_OF)
    open_queues = {q for q, p in places.items() if p > 0}
    residents = {
        number: [_label(q) for q in chosen if q in open_queues]
        for number, chosen in round_.choices.items()
    }
    residents = {number: prefs for number, prefs in residents.items() if prefs}
    hospitals = {
        _label(q): [n for n in round_.queues[q] if n in residents] for q in sorted(open_queues)
    }
    hospitals = {h: prefs for h, prefs in hospitals.items() if prefs}
    capacities = {_label(q): places[q] for q in open_queues if _label(q) in hospitals}

    # the choices by number, as a host holds them: ours() lists them in the book's common
    # order itself, inside the timing, as ReferralDesk.allocate does
    held = {number: round_.choices[number] for number in by_number(round_.choices)}

    def ours() -> Any:
        order, common = nat.round_order(book)
        choices = {n: held[n] for n in order if n in held} if common else held
        problem = AllocationProblem(choices=choices, queues=round_.queues, places=places)
        return nat.allocate_round(problem, order, common)

    edq, allocation = best_of(max(5, settings.repeats), ours)
    problem = AllocationProblem(choices=round_.choices, queues=round_.queues, places=places)
    order, common = nat.round_order(book)
    alone, _ = best_of(max(5, settings.repeats), lambda: nat.allocate_round(problem, order, common))
    say(f"  matching: edqueue best {fmt(edq.best, 's')}; running matching's HospitalResident ...")
    outcome = run_matching(residents, hospitals, capacities, settings.matching_timeout)
    what = f"5. allocate, {count:,} applications / {groups:,} groups"
    ours_pairs = {(n, _label(q)) for n, q in allocation.assignment.items()}
    if outcome is None:  # matching ran out of time: its figure is a lower bound
        baseline, same = settings.matching_timeout, True
        label = "matching HR, stopped: a lower bound"
        notes = ["matching did not finish in time: its figure and the ratio are lower bounds"]
        details: dict[str, Any] = {}
    else:
        baseline, theirs = outcome
        label, same = "matching HR", theirs == ours_pairs
        notes = [
            f"same matching: {'yes' if same else 'NO'} ({len(theirs):,} pairs, "
            f"{sum(places.values()):,} places); both timed "
            "from the same dicts, including building the problem (AllocationProblem / "
            "create_from_dictionaries; edqueue's book.common_order() and listing the "
            "choices in it too); matching ran "
            "once, edqueue best of "
            f"{len(edq.runs)} (allocate() alone: {fmt(alone.best, 's')})"
        ]
        details = {"edqueue_runs": edq.runs, "allocate_s": alone.best, "matching_s": baseline}
    return [
        Row(
            "matching",
            what,
            "s",
            edq.best,
            baseline,
            label,
            "faster",
            ">= 1000x faster",
            baseline / edq.best >= 1000 and same,
            notes=notes,
            details=details,
        )
    ]


# --- 6. edqueue rank end to end -----------------------------------------------------------------


def _timed_run(command: list[str], output: Path) -> float:
    start = time.perf_counter()
    with output.open("wb") as out:
        done = subprocess.run(
            command, cwd=nat.ROOT, stdout=out, stderr=subprocess.PIPE, check=False
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-2000:]}"
        )
    return elapsed


def _env_jobs() -> int:
    """``BENCH_RANK_JOBS``, else 2: the machine's two cores, as the goal reads."""
    value = os.environ.get("BENCH_RANK_JOBS", "")
    return 2 if value == "" else max(1, int(value))


def row_rank(settings: nat.Settings, files: nat.CityFiles) -> list[Row]:
    organizations, applications = files.organizations, files.applications
    lines = settings.rank_lines
    path = applications
    repeats = int(os.environ.get("BENCH_RANK_REPEATS", "1"))
    out_edq = settings.cache / "rank-edqueue.jsonl"
    out_base = settings.cache / "rank-baseline.jsonl"
    jobs = _env_jobs()
    edq_command = [
        *nat.edqueue_command(),
        "rank",
        f"--organizations={organizations}",
        f"--applications={path}",
        f"--as-of={nat.AS_OF_TEXT}",
        f"--jobs={jobs}",
    ]
    base_command = [sys.executable, "-m", "benchmarks.baseline_rank", str(organizations), str(path)]
    say(f"  rank: `edqueue rank --jobs={jobs}` on {lines:,} lines ...")
    edq = [_timed_run(edq_command, out_edq) for _ in range(max(1, repeats))]
    base = [_timed_run(base_command, out_base) for _ in range(max(1, repeats))]
    same = filecmp.cmp(out_edq, out_base, shallow=False)
    alone = _timed_run([*edq_command[:-1], "--jobs=1"], out_edq) if jobs > 1 else min(edq)
    same = same and filecmp.cmp(out_edq, out_base, shallow=False)
    say(
        f"  rank: edqueue {fmt(min(edq), 's')} (one process {fmt(alone, 's')}), "
        f"baseline {fmt(min(base), 's')}"
    )
    label = f"first {lines:,} lines" if lines < settings.applications else f"{lines:,} lines"
    return [
        Row(
            "rank",
            f"6. edqueue rank --jobs={jobs}, {label}",
            "s",
            min(edq),
            min(base),
            "json.loads + sorted()",
            "faster",
            "at most 3x slower",
            min(edq) <= 3 * min(base),
            notes=[
                f"same output, byte for byte: {'yes' if same else 'NO'} (with --jobs={jobs} "
                f"and with --jobs=1); both are processes (interpreter start, reading, writing "
                f"the JSON Lines to a file included); with --jobs=1, one process: "
                f"{fmt(alone, 's')} ({alone / min(base):.2f}x the baseline); set "
                "BENCH_RANK_LINES=n for the first n lines only, BENCH_RANK_JOBS for --jobs"
            ],
            details={
                "edqueue_runs": edq,
                "baseline_runs": base,
                "lines": lines,
                "jobs": jobs,
                "one_process_s": alone,
            },
        )
    ]


# --- 7. memory ----------------------------------------------------------------------------------


def _traced(work: Callable[[], Any]) -> tuple[int, int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current, peak, result


def row_memory(data: National) -> list[Row]:
    apps, orgs = data.applications, data.organizations
    n = len(apps)
    data.book = None  # the book of the other rows goes; this one is measured alone
    for application in apps:  # kept by each record, so counted with the records (7b)
        application.group_keys  # noqa: B018 - worked out on first use
    gc.collect()
    book_bytes, book_peak, book = _traced(lambda: nat.build_book(orgs, apps))
    del book
    data.plain = None
    gc.collect()
    plain_bytes, _, plain = _traced(lambda: nat.plain_rank(apps, ORDERING))
    del plain
    # The records themselves: a sample of the same stream, after the generator's caches of
    # phone numbers (65,536) and names are full, as they are for most of a national file.
    warm = min(65_536, n // 2)
    sample = min(20_000, n - warm)
    stream = nat.application_stream(orgs, warm + sample)
    for _ in islice(stream, warm):
        pass
    record_bytes, _, records = _traced(lambda: [a for a in stream if a.group_keys])
    per_record = record_bytes / len(records)
    del records
    per_app = book_bytes / n
    say(f"  memory: book {per_app:,.0f} B/app, records {per_record:,.0f} B/app")
    return [
        Row(
            "memory",
            f"7a. QueueBook memory at {thousands(n)}",
            "B/app",
            per_app,
            plain_bytes / n,
            "key-tuple buckets",
            "absolute",
            "<= 500 B/app",
            per_app <= 500,
            notes=[
                "tracemalloc around building the book from Application objects already in "
                f"memory; peak while building {book_peak / n:,.0f} B/app; no pydantic object is "
                f"kept (the records are attrs classes); 7b adds the records (with the "
                f"group_keys each keeps), measured on {sample:,} applications of the same "
                f"stream after the generator's first {warm:,} (its phone and name caches full)"
            ],
            details={"book_bytes": book_bytes, "peak_bytes": book_peak, "plain_bytes": plain_bytes},
        ),
        Row(
            "memory-total",
            "7b. the same with the records (info)",
            "B/app",
            per_app + per_record,
            None,
            f"records {per_record:,.0f} B/app",
            "info",
            "-",
            None,
            details={"record_bytes_per_app": per_record},
        ),
    ]


# --- main ----------------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default=",".join(ROWS), help=f"comma-separated rows of {', '.join(ROWS)}"
    )
    parser.add_argument(
        "--results", default=str(nat.ROOT / "benchmarks" / "results"), help="where to write"
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}; choose from {', '.join(ROWS)}")
    settings = nat.Settings.from_env()
    settings.cache.mkdir(parents=True, exist_ok=True)
    say(f"edqueue benchmarks: {settings.public()}")
    start = time.perf_counter()
    notes = [f"load average at the start: {_load()}"]
    files = nat.city_files(settings) if "rank" in chosen else None
    data = National.load(settings) if set(chosen) & set(ROW_FUNCTIONS) else None
    if files is not None:
        files.wait()
        if files.seconds is not None:
            lines = thousands(settings.rank_lines)
            notes.append(f"`edqueue generate` wrote the {lines}-line file in {files.seconds:.0f} s")
            say("  " + notes[-1])
        if data is not None:
            same = nat.check_same_records(data.applications, files.applications)
            notes.append(
                "the records made in memory equal the file's first 1,000 lines: "
                + ("yes" if same else "NO")
            )
    results: dict[str, list[Row]] = {}
    for name in RUN_ORDER:
        if name not in chosen:
            continue
        say(f"[{name}]")
        if name == "matching":
            results[name] = row_matching(settings)
        elif name == "rank":
            assert files is not None  # noqa: S101 - made above when rank is chosen
            results[name] = row_rank(settings, files)
        elif name == "stores":
            from benchmarks.stores import row_stores  # starts PostgreSQL: only when chosen

            results[name] = row_stores(settings, data)
        else:
            assert data is not None  # noqa: S101 - loaded above for these rows
            results[name] = ROW_FUNCTIONS[name](data)
    notes.append(f"load average at the end: {_load()}")
    rows = [row for name in ROWS for row in results.get(name, [])]
    wall = time.perf_counter() - start
    print()
    print(text_table(rows))
    print("\n".join(["", *notes]))
    markdown, path = write_results(
        Path(args.results), rows, root=nat.ROOT, settings=settings.public(), wall=wall, notes=notes
    )
    print(f"\nwall time {wall:.0f} s; written to {markdown} and {path}")
    return 0


ROW_FUNCTIONS: dict[str, Callable[[National], list[Row]]] = {
    "build": row_build,
    "position": row_position,
    "event": row_event,
    "allocate": row_allocate,
    "memory": row_memory,
}

if __name__ == "__main__":
    sys.exit(main())
