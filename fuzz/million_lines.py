"""The CLI given a large applications file with broken lines loses no valid line.

Writes an organizations file and an applications file of ``--lines`` lines (default
1,000,000): valid applications from :func:`edqueue.testing.city.generate_applications`,
interleaved with broken lines at a fixed share (``--broken-share``, default 0.1) and a few
blank lines, all drawn from one seeded :class:`random.Random` (the same arguments give the
same bytes). Each broken line is broken in a way that is sure to fail, and the code it must
be reported with is known (:data:`KINDS`). Then runs ``edqueue rank`` on the two files (in
a subprocess, or in this process with ``--in-process``) and checks that

- the numbers ranked on stdout are exactly the numbers of the valid lines, each once per
  chosen organization;
- every broken line, and nothing else, is reported on stderr with its line number and its
  expected code, and the summary counts read, valid and invalid lines right;
- the exit status is 1 (some lines are broken).

Prints the counts and the time of each step; exits 1 on any failure (with the first
differences: line numbers, application numbers and codes, never personal data)::

    .venv/bin/python fuzz/million_lines.py                  # 1,000,000 lines, ~8 minutes
    .venv/bin/python fuzz/million_lines.py --lines 20000    # a quick run

``tests/test_fuzz.py`` runs the same check on 2,000 lines in ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from edqueue import cli
from edqueue.models import KAZAKHSTAN, Application
from edqueue.schemas import dump_application, dump_organization
from edqueue.testing.city import generate_applications, generate_organizations

AS_OF = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)
"""The day the city is drawn for and the ``--as-of`` of ``edqueue rank``."""

REQUIRED = ("number", "submitted_at", "applicant", "child", "queue", "choices", "referral")
BLANKS = (b"", b"   ", b"\t", b" \t ")
BAD_UTF8 = (b"\xff", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80")  # the last: a UTF-8 surrogate
FIRST_COPY_NUMBER = 900_000_000  # numbers of second applications; generated ones are 1000001...

# A broken line: made from a fresh application's JSON object and its line (without the end
# of line), or from an earlier valid one (duplicate, second application); the code it must
# be reported with.
Breaker = Callable[["_Writer", dict[str, Any], bytes], bytes]


def _truncated(w: _Writer, _: dict[str, Any], line: bytes) -> bytes:
    return line[: w.rng.randint(1, len(line) - 2)]  # starts with "{", never closes it


def _invalid_utf8(w: _Writer, _: dict[str, Any], line: bytes) -> bytes:
    at = w.rng.randint(1, len(line) - 1)
    return line[:at] + w.rng.choice(BAD_UTF8) + line[at:]


def _structural(w: _Writer, _: dict[str, Any], line: bytes) -> bytes:
    # '{', '}' and '"' are JSON's own; a ':' is a key's, or a time's (which then fails)
    places = [i for i, byte in enumerate(line) if byte in b'{}":']
    at = w.rng.choice(places)
    return line[:at] + b"#" + line[at + 1 :]


def _missing_key(w: _Writer, data: dict[str, Any], _: bytes) -> bytes:
    del data[w.rng.choice(REQUIRED)]
    return _encode(data)


def _wrong_type(w: _Writer, data: dict[str, Any], _: bytes) -> bytes:
    key, value = w.rng.choice((("queue", 7), ("choices", "ru"), ("child", []), ("number", 1)))
    data[key] = value
    return _encode(data)


def _bad_iin(_: _Writer, data: dict[str, Any], __: bytes) -> bytes:
    iin = data["child"]["iin"]
    data["child"]["iin"] = iin[:-1] + str((int(iin[-1]) + 1) % 10)  # one check digit fits
    return _encode(data)


def _unknown_organization(_: _Writer, data: dict[str, Any], __: bytes) -> bytes:
    data["choices"][-1]["organization"] = "org-unknown"
    return _encode(data)


def _garbage(w: _Writer, _: dict[str, Any], __: bytes) -> bytes:
    noise = w.rng.randbytes(w.rng.randint(1, 200)).replace(b"\n", b" ")
    return b"#" + noise


def _nested(w: _Writer, _: dict[str, Any], __: bytes) -> bytes:
    depth = w.rng.randint(1_000, 20_000)  # deeper than json.loads can go
    return b"[" * depth + b"]" * depth


def _duplicate(w: _Writer, _: dict[str, Any], __: bytes) -> bytes:
    _, line = w.rng.choice(w.recent)
    return line


def _second_application(w: _Writer, _: dict[str, Any], __: bytes) -> bytes:
    earlier, _line = w.rng.choice(w.recent)
    data = json.loads(json.dumps(earlier))
    w.copies += 1
    data["number"] = str(FIRST_COPY_NUMBER + w.copies)
    submitted = datetime.fromisoformat(data["submitted_at"]) + timedelta(seconds=1)
    data["submitted_at"] = submitted.isoformat()
    return _encode(data)


KINDS: dict[str, tuple[Breaker, str]] = {
    "truncated": (_truncated, "application.type"),
    "invalid_utf8": (_invalid_utf8, "application.type"),
    "structural": (_structural, "application.type"),
    "missing_key": (_missing_key, "application.type"),
    "wrong_type": (_wrong_type, "application.type"),
    "bad_iin": (_bad_iin, "iin.checksum"),
    "unknown_organization": (_unknown_organization, "eligibility.unknown_organization"),
    "garbage": (_garbage, "application.type"),
    "nested": (_nested, "application.type"),
    "duplicate": (_duplicate, "queue.duplicate_number"),
    "second_application": (_second_application, "eligibility.second_active_application"),
}
"""Each kind of broken line: how it is made, and the code it must be reported with."""
_FROM_EARLIER = frozenset({"duplicate", "second_application"})


def _encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


@dataclass
class Written:
    """What was written: the valid numbers (with their number of choices), the broken lines
    (line number -> kind), and counts."""

    lines: int = 0
    valid: dict[str, int] = field(default_factory=dict)
    broken: dict[int, str] = field(default_factory=dict)
    blank: int = 0

    @property
    def non_blank(self) -> int:
        return self.lines - self.blank


@dataclass
class _Writer:
    rng: random.Random
    recent: deque[tuple[dict[str, Any], bytes]] = field(default_factory=lambda: deque(maxlen=500))
    copies: int = 0


def write_files(
    directory: Path,
    *,
    lines: int,
    seed: int = 2024,
    organizations: int = 50,
    broken_share: float = 0.1,
    blank_share: float = 0.01,
) -> tuple[Path, Path, Written]:
    """Write ``organizations.json`` and ``applications.jsonl`` into ``directory``."""
    made = generate_organizations(organizations, seed=seed, as_of=AS_OF.date())
    organizations_path = directory / "organizations.json"
    with organizations_path.open("w", encoding="utf-8") as out:
        json.dump([dump_organization(o) for o in made], out, ensure_ascii=False)
    stream = generate_applications(lines, made, seed=seed, as_of=AS_OF)
    writer = _Writer(random.Random(seed))  # noqa: S311 - test data, not secrets
    kinds = sorted(KINDS)
    written = Written()
    applications_path = directory / "applications.jsonl"
    with applications_path.open("wb") as out:
        for number in range(1, lines + 1):
            if number > 1:  # the end of the previous line; the last line has none
                out.write(b"\r\n" if writer.rng.random() < 0.05 else b"\n")
            written.lines = number
            draw = writer.rng.random()
            if draw < blank_share:
                out.write(writer.rng.choice(BLANKS))
                written.blank += 1
                continue
            if draw < blank_share + broken_share:
                kind = writer.rng.choice(kinds)
                if kind in _FROM_EARLIER and not writer.recent:
                    kind = "garbage"
                data, line = _fresh(stream) if kind not in _FROM_EARLIER else ({}, b"")
                out.write(KINDS[kind][0](writer, data, line))
                written.broken[number] = kind
                continue
            application = next(stream)
            data = dump_application(application)
            line = _encode(data)
            out.write(line)
            written.valid[application.number] = len(application.choices)
            writer.recent.append((data, line))
    return organizations_path, applications_path, written


def _fresh(stream: Any) -> tuple[dict[str, Any], bytes]:
    application: Application = next(stream)
    data = dump_application(application)
    return data, _encode(data)


def run_rank(
    organizations: Path, applications: Path, out: Path, err: Path, *, in_process: bool
) -> int:
    """``edqueue rank`` on the files, stdout into ``out`` and stderr into ``err``."""
    args = ["rank", "--organizations", str(organizations), "--applications", str(applications)]
    args += ["--as-of", AS_OF.isoformat()]
    with out.open("w", encoding="utf-8") as stdout, err.open("w", encoding="utf-8") as stderr:
        if not in_process:
            command = [sys.executable, "-m", "edqueue.cli", *args]
            return subprocess.run(command, stdout=stdout, stderr=stderr, check=False).returncode  # noqa: S603
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            return cli.main(args)


def check(written: Written, status: int, out: Path, err: Path) -> list[str]:
    """Every way the CLI's output differs from what was written (empty if none)."""
    problems: list[str] = []
    ranked: Counter[str] = Counter()
    with out.open(encoding="utf-8") as lines:
        for line in lines:
            ranked[json.loads(line)["number"]] += 1
    lost = sorted(set(written.valid) - set(ranked))
    extra = sorted(set(ranked) - set(written.valid))
    miscounted = sorted(n for n in ranked if n in written.valid and ranked[n] != written.valid[n])
    for what, numbers in (("lost", lost), ("ranked but not valid", extra)):
        if numbers:
            problems.append(f"{len(numbers)} numbers {what}, e.g. {numbers[:10]}")
    if miscounted:
        problems.append(f"{len(miscounted)} numbers not once per choice, e.g. {miscounted[:10]}")

    reported: dict[int, list[str]] = {}
    summary: dict[str, int] | None = None
    twice: list[int] = []
    with err.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if "summary" in record:
                summary = record["summary"]
                continue
            if record["line"] in reported:
                twice.append(record["line"])
            reported[record["line"]] = [e["code"] for e in record["errors"]]
    if twice:
        problems.append(f"{len(twice)} lines reported twice, e.g. {twice[:10]}")
    unreported = sorted(set(written.broken) - set(reported))
    wrongly = sorted(set(reported) - set(written.broken))
    if unreported:
        problems.append(f"{len(unreported)} broken lines not reported, e.g. {unreported[:10]}")
    if wrongly:
        problems.append(f"{len(wrongly)} lines reported but not broken, e.g. {wrongly[:10]}")
    wrong_codes = [
        f"line {number} ({kind}): expected {KINDS[kind][1]}, got {reported[number]}"
        for number, kind in sorted(written.broken.items())
        if number in reported and KINDS[kind][1] not in reported[number]
    ]
    if wrong_codes:
        problems.append(
            f"{len(wrong_codes)} lines reported with other codes, e.g. {wrong_codes[0]}"
        )
    counts = {
        "read": written.non_blank,
        "valid": len(written.valid),
        "invalid": len(written.broken),
    }
    if summary != counts:
        problems.append(f"summary {summary}, expected {counts}")
    expected_status = 1 if written.broken else 0
    if status != expected_status:
        problems.append(f"exit status {status}, expected {expected_status}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--organizations", type=int, default=50)
    parser.add_argument("--broken-share", type=float, default=0.1)
    parser.add_argument("--in-process", action="store_true", help="run cli.main, not a process")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edqueue-lines-") as temporary:
        directory = args.keep or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        organizations, applications, written = write_files(
            directory,
            lines=args.lines,
            seed=args.seed,
            organizations=args.organizations,
            broken_share=args.broken_share,
        )
        wrote = time.perf_counter()
        kinds = Counter(written.broken.values())
        print(
            f"wrote {written.lines:,} lines ({applications.stat().st_size / 1e6:,.0f} MB) in "
            f"{wrote - started:.1f} s: {len(written.valid):,} valid, {len(written.broken):,} "
            f"broken, {written.blank:,} blank",
            flush=True,
        )
        print("broken: " + ", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())), flush=True)
        out, err = directory / "rank.jsonl", directory / "rank.stderr.jsonl"
        status = run_rank(organizations, applications, out, err, in_process=args.in_process)
        ran = time.perf_counter()
        print(f"edqueue rank: exit status {status} in {ran - wrote:.1f} s", flush=True)
        problems = check(written, status, out, err)
        print(f"checked in {time.perf_counter() - ran:.1f} s", flush=True)
    for problem in problems:
        print("FAIL: " + problem)
    if not problems:
        print(
            f"OK: all {len(written.valid):,} valid applications ranked, all "
            f"{len(written.broken):,} broken lines reported with their line numbers"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
