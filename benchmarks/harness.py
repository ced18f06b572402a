"""Timing, the rows of the table and how they are written: plain Python, ``time.perf_counter``.

A bulk figure is the best (minimum) of ``repeats`` runs, the usual estimate of what the code
costs without the machine's noise (``timeit`` does the same); the median and every run are
kept in the JSON. A per-call figure is the median over many calls, each timed alone.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

Better = Literal["faster", "smaller", "absolute", "info"]


@dataclass(frozen=True)
class Timing:
    """The runs of one timed piece of work, in seconds."""

    runs: tuple[float, ...]

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def best_of(repeats: int, work: Callable[[], T], budget: float | None = None) -> tuple[Timing, T]:
    """Run ``work`` up to ``repeats`` times; return the timings and the last result.

    With a ``budget`` (seconds; default ``BENCH_BUDGET``, 20), no further run starts once
    the runs so far took that long: a 40-second build runs once, a 10-second one twice.
    The garbage collector stays on (as in a host), but each run starts after a full
    collection, and the previous run's result is dropped before the next one starts.
    """
    if budget is None:
        budget = float(os.environ.get("BENCH_BUDGET") or 20)
    runs: list[float] = []
    result: T | None = None
    for _ in range(max(1, repeats)):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = work()
        runs.append(time.perf_counter() - start)
        if sum(runs) >= budget:
            break
    assert result is not None  # noqa: S101 - repeats >= 1
    return Timing(tuple(runs)), result


def per_call(function: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """``function(item)`` for each item, each call timed alone, in seconds."""
    gc.collect()
    clock = time.perf_counter
    times: list[float] = []
    for item in items:
        start = clock()
        function(item)
        times.append(clock() - start)
    return times


def timer_overhead() -> float:
    """The median cost of two ``perf_counter`` calls around nothing, in seconds."""
    return statistics.median(per_call(lambda _: None, range(10_000)))


@dataclass
class Row:
    """One line of the table.

    ``better`` says how the figures compare: ``faster`` (times; the ratio is baseline ÷
    edqueue, so 4.0 means edqueue is 4 times faster), ``smaller`` (sizes), ``absolute``
    (the goal is on edqueue's own figure, the ratio is shown for information) or ``info``
    (no goal).
    """

    key: str
    what: str
    unit: str
    edqueue: float | None
    baseline: float | None
    baseline_name: str
    better: Better
    goal: str
    passed: bool | None
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.edqueue is None or self.baseline is None or self.edqueue == 0:
            return None
        return self.baseline / self.edqueue

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "-"
        return "PASS" if self.passed else "MISS"


def fmt(value: float | None, unit: str) -> str:
    """A figure in its unit, with about three significant digits."""
    if value is None:
        return "-"
    if unit == "s":
        if value < 0.001:
            return f"{value * 1e6:.1f} µs"
        if value < 1:
            return f"{value * 1e3:.1f} ms"
        return f"{value:.2f} s"
    if unit == "µs":
        return f"{value:.2f} µs"
    if unit == "B/app":
        return f"{value:,.0f} B/app"
    return f"{value:.3g} {unit}"


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    word = "smaller" if row.unit == "B/app" else "faster"
    if ratio >= 1:
        return f"{ratio:,.2f}x {word}"
    return f"{1 / ratio:,.2f}x {'larger' if row.unit == 'B/app' else 'slower'}"


HEADER = ("what", "edqueue", "baseline (same run)", "ratio", "goal", "result")


def cells(row: Row) -> tuple[str, ...]:
    baseline = fmt(row.baseline, row.unit)
    if row.baseline is not None:
        baseline += f" ({row.baseline_name})"
    elif row.baseline_name:
        baseline = row.baseline_name
    return (row.what, fmt(row.edqueue, row.unit), baseline, fmt_ratio(row), row.goal, row.verdict)


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal: aligned columns, then each row's notes."""
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    out = []
    for index, line in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"[{r.key}] {note}" for r in rows for note in r.notes]
    if notes:
        out += ["", *notes]
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(escape(c) for c in cells(r)) + " |" for r in rows),
    ]
    notes = [f"- **{r.key}**: {escape(note)}" for r in rows for note in r.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "src"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out + ("+modified src" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def write_results(
    directory: Path,
    rows: Sequence[Row],
    *,
    root: Path,
    settings: dict[str, Any],
    wall: float,
    notes: Sequence[str] = (),
) -> tuple[Path, Path]:
    """``latest.md`` and ``latest.json`` in ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    commit = git_commit(root)
    command = " ".join(["python -m benchmarks.run", *sys.argv[1:]])
    knobs = ", ".join(f"{k}={v}" for k, v in settings.items())
    header = (
        f"Run of {when} on commit {commit}: {info['cpu']}, {info['cores']} cores, "
        f"{info['implementation']} {info['python']}; `{command}` ({knobs}); "
        f"harness wall time {wall:.0f} s."
    )
    markdown = directory / "latest.md"
    extra = "".join(f"- {note}\n" for note in notes)
    body = header + "\n\n" + markdown_table(rows) + "\n" + ("\n" + extra if extra else "")
    markdown.write_text(body, encoding="utf-8")
    data = {
        "when": when,
        "commit": commit,
        "machine": info,
        "command": command,
        "settings": settings,
        "wall_seconds": wall,
        "notes": list(notes),
        "rows": [
            {
                **asdict(r),
                "ratio": r.ratio,
                "result": r.verdict,
            }
            for r in rows
        ],
    }
    path = directory / "latest.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return markdown, path
