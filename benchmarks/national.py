"""The national instance and the baselines every figure is compared with.

The instance is what ``edqueue generate`` writes for a fixed seed and day: 1,000,000
applications and 10,000 organizations in 20 localities (``BENCH_SCALE`` scales all three
counts). The in-memory rows take the same records straight from
:func:`edqueue.testing.city.generate_applications` (the generator behind ``edqueue generate``),
so that a minute of JSON parsing is not paid before every run; ``check_same_records`` shows
that the two agree.

The baselines are plain Python (and numpy for one) over the same keys edqueue orders by:
``(tier, instant_key(time), number_value)`` from
:func:`edqueue.rules.ordering.sort_function` of the standard ordering, for each queue id of
``Application.group_keys``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from edqueue.models import Application, Organization, by_number
from edqueue.rules import QueueBook, QueueId
from edqueue.rules.allocation import (
    Allocation,
    AllocationProblem,
    allocate,
)
from edqueue.rules.allocation import serial_dictatorship as edqueue_serial_dictatorship
from edqueue.rules.ordering import OrderingPolicy, StandardOrdering, sort_function
from edqueue.rules.policy import KAZAKHSTAN_POLICY, policy_date
from edqueue.rules.referrals import referral_hold

ROOT = Path(__file__).resolve().parents[1]

SEED = 2024
AS_OF_TEXT = "2025-08-15T09:00:00+05:00"
"""The day the city is drawn for and ranked at: before the summer round of 2025."""
AS_OF = datetime.fromisoformat(AS_OF_TEXT)
LOCALITIES = 20  # 17 regions and 3 cities of republican significance

Key = tuple[int, int, int]
"""A queue member's sort key: (tier, microseconds since 1970 UTC, application number)."""


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value.replace("_", ""))


@dataclass(frozen=True)
class Settings:
    """What the environment asks for (every knob has a default for ``make bench``)."""

    scale: float
    applications: int
    organizations: int
    places: int
    matching_applications: int
    matching_groups: int
    rank_lines: int
    repeats: int
    events: int
    positions: int
    matching_timeout: float
    cache: Path

    @classmethod
    def from_env(cls) -> Settings:
        scale = _env_float("BENCH_SCALE", 1.0)
        applications = max(1_000, round(1_000_000 * scale))
        rank = os.environ.get("BENCH_RANK_LINES", "")
        rank_lines = applications if rank in {"", "all"} else _env_int("BENCH_RANK_LINES", 0)
        return cls(
            scale=scale,
            applications=applications,
            organizations=max(20, round(10_000 * scale)),
            places=max(100, round(100_000 * scale)),
            matching_applications=max(500, round(10_000 * min(1.0, scale * 10))),
            matching_groups=max(50, round(1_000 * min(1.0, scale * 10))),
            rank_lines=min(rank_lines, applications),
            repeats=_env_int("BENCH_REPEATS", 3),
            events=_env_int("BENCH_EVENTS", 2_000),
            positions=_env_int("BENCH_POSITIONS", 10_000),
            matching_timeout=_env_float("BENCH_MATCHING_TIMEOUT", 120.0),
            cache=Path(os.environ.get("BENCH_CACHE", ROOT / "benchmarks" / ".cache")),
        )

    def public(self) -> dict[str, Any]:
        return {
            "BENCH_SCALE": self.scale,
            "applications": self.applications,
            "organizations": self.organizations,
            "BENCH_RANK_LINES": self.rank_lines,
            "BENCH_REPEATS": self.repeats,
        }


# --- the instance ------------------------------------------------------------------------------


def edqueue_command() -> list[str]:
    """The ``edqueue`` script beside this interpreter, else ``python -m edqueue.cli``."""
    script = Path(sys.executable).parent / "edqueue"
    return [str(script)] if script.exists() else [sys.executable, "-m", "edqueue.cli"]


@dataclass
class CityFiles:
    """The organizations and applications files of the national instance."""

    organizations: Path
    applications: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    seconds: float | None = None  # how long `edqueue generate` took, None when cached

    def wait(self) -> CityFiles:
        """Wait for ``edqueue generate`` to finish, if it runs; raise if it failed."""
        if self.process is not None:
            status = self.process.wait()
            if status != 0:
                raise RuntimeError(f"edqueue generate exited {status}")
            self.seconds = _clock() - self.started
            self.process = None
            (self.applications.parent / ".complete").write_text(f"{self.seconds:.1f}\n")
        return self


def city_files(settings: Settings) -> CityFiles:
    """The files, made by ``edqueue generate`` if missing: started in the background, so
    that the in-memory instance is made meanwhile on the other core; :meth:`CityFiles.wait`
    before timing anything.

    The file holds the first ``rank_lines`` applications of the national instance, all that
    row 6 reads: the whole national file by default; with ``BENCH_RANK_LINES=n`` its first
    n lines, since the generator is prefix-stable ("the first n applications of a long run
    are those of a run of n")."""
    lines = settings.rank_lines
    directory = settings.cache / f"national-{settings.organizations}-{lines}"
    files = CityFiles(directory / "organizations.json", directory / "applications.jsonl")
    if (directory / ".complete").exists():
        return files
    command = [
        *edqueue_command(),
        "generate",
        f"--applications={lines}",
        f"--organizations={settings.organizations}",
        f"--seed={SEED}",
        f"--localities={LOCALITIES}",
        f"--as-of={AS_OF_TEXT}",
        f"--output={directory}",
    ]
    print(f"  generating {directory.name} with `edqueue generate` ...", flush=True)
    files.started = _clock()
    files.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    return files


def _clock() -> float:
    import time

    return time.perf_counter()


def organizations_for(count: int) -> list[Organization]:
    from edqueue.testing.city import generate_organizations

    return generate_organizations(
        count, seed=SEED, as_of=policy_date(AS_OF), localities=min(LOCALITIES, count)
    )


def application_stream(
    organizations: Sequence[Organization], count: int, *, seed: int = SEED
) -> Iterator[Application]:
    from edqueue.testing.city import generate_applications

    return generate_applications(count, organizations, seed=seed, as_of=AS_OF)


def check_same_records(applications: Sequence[Application], path: Path, lines: int = 1_000) -> bool:
    """Whether the first ``lines`` records equal the file's first lines, as dumped."""
    from edqueue.schemas import dump_application

    with path.open(encoding="utf-8") as handle:
        for application, line in zip(applications, islice(handle, lines), strict=False):
            if json.loads(line) != json.loads(
                json.dumps(dump_application(application), ensure_ascii=False)
            ):
                return False
    return True


# --- building queues: edqueue and the baselines ------------------------------------------------


def build_book(
    organizations: Sequence[Organization],
    applications: Sequence[Application],
    ordering: OrderingPolicy | None = None,
) -> QueueBook:
    """edqueue's way: ``QueueBook.build`` where it exists, else one ``submit`` each."""
    build = getattr(QueueBook, "build", None)
    if build is not None:
        book: QueueBook = build(organizations, applications, ordering=ordering)
        return book
    book = QueueBook(organizations, ordering=ordering)
    submit = book.submit
    for application in applications:
        submit(application)
    return book


def plain_keys(
    applications: Iterable[Application], ordering: OrderingPolicy
) -> dict[QueueId, list[Key]]:
    """Baseline A's first half: each queue's bucket of key tuples, unsorted."""
    buckets: defaultdict[QueueId, list[Key]] = defaultdict(list)
    tier_and_key = sort_function(ordering)
    for application in applications:
        tier, (moment, number) = tier_and_key(application)
        key = (int(tier), moment, number)
        for queue_id in application.group_keys:
            buckets[queue_id].append(key)
    return buckets


def plain_rank(
    applications: Iterable[Application], ordering: OrderingPolicy
) -> dict[QueueId, list[Key]]:
    """Baseline A: a dict of buckets keyed by queue id, then ``sorted()`` per bucket."""
    return {q: sorted(keys) for q, keys in plain_keys(applications, ordering).items()}


@dataclass
class ArrayKeys:
    """The keys of every (application, queue) pair as int64 columns, for numpy."""

    queue_ids: list[QueueId]
    queue: Any
    tier: Any
    moment: Any
    number: Any


def array_keys(applications: Iterable[Application], ordering: OrderingPolicy) -> ArrayKeys:
    """Baseline B's first half: the same keys, computed the same way, as int64 arrays."""
    import numpy as np

    index: dict[QueueId, int] = {}
    queue, tier, moment, number = array("q"), array("q"), array("q"), array("q")
    tier_and_key = sort_function(ordering)
    for application in applications:
        t, (m, n) = tier_and_key(application)
        for queue_id in application.group_keys:
            i = index.get(queue_id)
            if i is None:
                i = index[queue_id] = len(index)
            queue.append(i)
            tier.append(t)
            moment.append(m)
            number.append(n)
    columns = (np.frombuffer(c, dtype=np.int64) for c in (queue, tier, moment, number))
    return ArrayKeys(list(index), *columns)


def numpy_sort(keys: ArrayKeys) -> tuple[Any, Any]:
    """Baseline B's second half: one ``lexsort`` by (queue, tier, time, number), and where
    each queue starts in it. Returns (order, starts)."""
    import numpy as np

    order = np.lexsort((keys.number, keys.moment, keys.tier, keys.queue))
    queues = keys.queue[order]
    starts = np.flatnonzero(np.diff(queues)) + 1
    return order, starts


def numpy_rank(applications: Iterable[Application], ordering: OrderingPolicy) -> tuple[Any, Any]:
    """Baseline B from the applications: ``array_keys`` then ``numpy_sort``."""
    return numpy_sort(array_keys(applications, ordering))


def numpy_queues(keys: ArrayKeys, order: Any, starts: Any) -> dict[QueueId, list[int]]:
    """Baseline B's result as each queue's application numbers in order (for checks)."""
    numbers = keys.number[order]
    queues = keys.queue[order]
    bounds = [0, *starts.tolist(), len(order)]
    return {
        keys.queue_ids[int(queues[a])]: numbers[a:b].tolist() for a, b in pairwise(bounds) if b > a
    }


# --- allocation ---------------------------------------------------------------------------------


def spread_places(
    queue_ids: Sequence[QueueId], places: int, seed: int = SEED
) -> dict[QueueId, int]:
    """``places`` free places over the groups, each to a uniformly drawn group."""
    rng = random.Random(f"benchmarks.places:{seed}")
    spread = dict.fromkeys(queue_ids, 0)
    for queue_id in rng.choices(queue_ids, k=places):
        spread[queue_id] += 1
    return spread


@dataclass
class Round:
    """One batch round, built from a book as ``ReferralDesk.allocate`` builds it."""

    choices: dict[str, tuple[QueueId, ...]]
    queues: dict[QueueId, list[str]]
    places: dict[QueueId, int]


def round_from_book(book: QueueBook, places: Mapping[QueueId, int], at: datetime) -> Round:
    """Every queue in order, and the choices of every application that may take a place
    at ``at`` (:func:`~edqueue.rules.referrals.referral_hold` says which may not), listed
    as ``ReferralDesk.allocate`` lists them: in ``book.common_order()`` if the book has
    one, else by number."""
    values = KAZAKHSTAN_POLICY.at(at)
    queues = {q: book.queue(*q) for q in book.queue_ids()}
    common = book.common_order()
    numbers = (
        by_number({number for order in queues.values() for number in order})
        if common is None
        else common
    )
    choices: dict[str, tuple[QueueId, ...]] = {}
    for number in numbers:
        application = book.application(number)
        if referral_hold(application, at, values) is None:
            choices[number] = application.group_keys
    return Round(choices, queues, dict(places))


def round_order(book: QueueBook) -> tuple[list[str], bool]:
    """The order ``ReferralDesk.allocate`` fills a round in, and whether every queue follows
    it: ``book.common_order()`` (then the round is a serial dictatorship in it), else
    ``book.priority_order()`` as deferred acceptance's proposing order."""
    common = book.common_order()
    if common is not None:
        return common, True
    return book.priority_order(), False


def allocate_round(problem: AllocationProblem, order: list[str], common: bool) -> Allocation:
    """The allocation as ``ReferralDesk.allocate`` computes it: under a common order the
    problem lists its choices in that order (:func:`round_from_book`), and the serial
    dictatorship takes them in turn; else deferred acceptance proposing in ``order``."""
    if common:
        return edqueue_serial_dictatorship(problem)
    return allocate(problem, proposing_order=order)


def serial_dictatorship_in(problem: AllocationProblem, order: list[str]) -> Allocation:
    """The serial dictatorship given ``order`` (each number looked up in the problem): the
    way the desk computed a round before it listed the choices in the common order."""
    return edqueue_serial_dictatorship(problem, order)


def deferred_acceptance(problem: AllocationProblem, order: list[str]) -> Allocation:
    """The general path (any ordering): ``allocate`` with ``order`` as proposing order."""
    return allocate(problem, proposing_order=order)


def common_order(book: QueueBook, numbers: Iterable[str]) -> list[str]:
    """The participants in the order every queue shares: (tier, time, number)."""
    tier_and_key = sort_function(StandardOrdering())

    def key(number: str) -> tuple[int, int, int]:
        tier, (moment, value) = tier_and_key(book.application(number))
        return int(tier), moment, value

    return sorted(numbers, key=key)


def serial_dictatorship(
    order: Sequence[tuple[str, tuple[QueueId, ...]]], places: Mapping[QueueId, int]
) -> dict[str, QueueId]:
    """The baseline: each participant in turn takes its best choice with a free place."""
    free = dict(places)
    assignment: dict[str, QueueId] = {}
    for number, chosen in order:
        for queue_id in chosen:
            if free.get(queue_id, 0) > 0:
                free[queue_id] -= 1
                assignment[number] = queue_id
                break
    return assignment
