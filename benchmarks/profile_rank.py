"""Where the time of ``edqueue rank`` goes: pyinstrument over the command, in-process.

    python -m benchmarks.profile_rank                 # 50,000 lines of the national file
    python -m benchmarks.profile_rank --lines 200000 --depth 12

Uses the national file of ``python -m benchmarks.run`` (``benchmarks/.cache``), generating
it with ``edqueue generate`` when it is missing (``BENCH_SCALE`` and ``BENCH_RANK_LINES``
apply: ``--lines`` reads at most that many), and runs
``edqueue.cli.main(["rank", ...])`` with its output thrown away. Prints the top of
pyinstrument's call tree, and writes the whole tree as HTML beside the cache.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from itertools import islice

from benchmarks import national as nat


def main(argv: Sequence[str] | None = None) -> int:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=50_000, help="lines of the file to rank")
    parser.add_argument("--depth", type=int, default=40, help="lines of the tree to print")
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval, s")
    args = parser.parse_args(argv)

    settings = nat.Settings.from_env()
    files = nat.city_files(settings).wait()
    organizations, applications = files.organizations, files.applications
    lines = min(args.lines, settings.rank_lines)
    path = applications.with_name(f"first-{lines}.jsonl")
    if not path.exists():
        with applications.open("rb") as source, path.open("wb") as out:
            out.writelines(islice(source, lines))

    from edqueue.cli import main as cli

    command = [
        "rank",
        f"--organizations={organizations}",
        f"--applications={path}",
        f"--as-of={nat.AS_OF_TEXT}",
    ]
    profiler = Profiler(interval=args.interval)
    sink = io.StringIO()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        profiler.start()
        with contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(sink):
            status = cli(command)
        profiler.stop()
    if status != 0:
        print(sink.getvalue()[-2000:], file=sys.stderr)
        return status
    text = profiler.output_text(unicode=True, color=False, short_mode=False)
    report = settings.cache / f"profile-rank-{lines}.html"
    report.write_text(profiler.output_html(), encoding="utf-8")
    print(f"edqueue rank on {lines:,} lines ({path.name})")
    print("\n".join(text.splitlines()[: args.depth]))
    print(f"\nthe whole tree: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
