"""The ``edqueue`` command line: a thin layer over the service, the rules and the files.

Commands: ``demo`` (the seed's whole flow on the embedded sample), ``rank``, ``allocate``,
``position`` and ``explain`` (on an organizations file and an applications file in the
interchange format, :mod:`edqueue.schemas`), ``schema`` (the JSON Schema) and ``generate``
(a synthetic city). ``db upgrade`` applies a PostgreSQL store's schema steps.

Output is JSON Lines on stdout. A broken application line is one JSON line on stderr,
``{"number", "line", "errors": [{"code", "message"}]}``, the others are still used, and the
exit status is 1. Errors edqueue raises on purpose otherwise are one line,
``error [code]: message``, with no personal data and no traceback, and the exit status is
2. On a terminal, stderr shows a progress bar while a large file is read (``rich``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from edqueue import __version__
from edqueue.errors import EdqueueError, InputError
from edqueue.interchange import (
    LineError,
    Ranking,
    ReadResult,
    allocate_book,
    allocation_lines,
    build_book,
    queue_fields,
    rank_applications,
    read_applications,
)
from edqueue.models import KAZAKHSTAN, Organization
from edqueue.rules import QueueBook
from edqueue.schemas import json_schema, parse_organizations

__all__ = ["main"]

# --- reading the files ------------------------------------------------------------------------


def _path(value: str, option: str) -> Path:
    """The path of a file to read, given to ``option``: ``input.not_found`` if nothing is
    there, ``input.unreadable`` if something is but it is not a regular file (a directory,
    a pipe, a device) or cannot be examined. A file that cannot be opened is
    ``input.unreadable`` when it is read."""
    path = Path(value)
    name = path.name or str(path)  # the name only: a full path may hold a user's name
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL in it
        raise InputError(
            "input.not_found", f"no file {name!r} at the path given to {option}"
        ) from None
    except OSError:
        raise InputError(
            "input.unreadable",
            f"{name!r}, given to {option}, cannot be examined: check that you may read it "
            "and the folders above it",
        ) from None
    if stat.S_ISDIR(mode):
        raise InputError(
            "input.unreadable",
            f"{name!r}, given to {option}, is a directory: give the path of the file in it",
        )
    if not stat.S_ISREG(mode):
        raise InputError(
            "input.unreadable",
            f"{name!r}, given to {option}, is not a regular file (a pipe, a device or a "
            "socket): save the data to a file and give its path",
        )
    return path


def _as_of(value: str | None) -> datetime:
    if value is None:
        return datetime.now(KAZAKHSTAN)
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), KAZAKHSTAN)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            "input.argument", "--as-of is a date (2026-11-25) or a time with its offset"
        ) from None
    if moment.tzinfo is None:
        raise InputError(
            "input.argument",
            "--as-of needs a time zone offset, e.g. 2026-11-25T09:00+05:00 (Kazakhstan)",
        )
    return moment


def _organizations(path: Path) -> list[Organization]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise InputError(
            "input.unreadable", f"{path.name!r} cannot be read as UTF-8 text"
        ) from None
    return parse_organizations(text)


def _lines(path: Path, progress: bool) -> Iterator[bytes]:
    """The file's lines as bytes, streamed; with a progress bar on a terminal."""
    try:
        handle = path.open("rb")
    except OSError:
        raise InputError("input.unreadable", f"{path.name!r} cannot be read") from None
    with handle:
        if not progress:
            yield from handle
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        size = os.fstat(handle.fileno()).st_size
        columns = (
            TextColumn("reading applications"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("read", total=size)
            for line in handle:
                bar.advance(task, len(line))
                yield line


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the files are read and the queues built;
    afterwards freeze what was made and set the collector as it was.

    Reading a national file makes millions of small records (132,000 groups, about 20 per
    application) that hold no reference cycles and live until the command ends: the
    collector would scan them again and again while they are made, and once more after,
    to find nothing (a third of ``edqueue rank``'s time on 20,000 lines). Objects are still
    freed by their reference counts; :func:`main` unfreezes them for a caller that goes on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _inputs(args: argparse.Namespace) -> tuple[list[Organization], datetime, Iterator[bytes]]:
    """The organizations, the ``--as-of`` time and the lines of the applications file."""
    organizations = _organizations(_path(args.organizations, "--organizations"))
    as_of = _as_of(args.as_of)
    applications = _path(args.applications, "--applications")
    return organizations, as_of, _lines(applications, progress=sys.stderr.isatty())


def _read(args: argparse.Namespace) -> tuple[list[Organization], ReadResult, datetime]:
    organizations, as_of, lines = _inputs(args)
    result = read_applications(lines, organizations, as_of=as_of, jobs=args.jobs)
    _report(result.errors, result.read, result.valid)
    return organizations, result, as_of


def _report(errors: Sequence[LineError], read: int, valid: int) -> None:
    """Each broken line, then the counts, on stderr."""
    for error in errors:
        _emit(error.to_json(), sys.stderr)
    _emit({"summary": {"read": read, "valid": valid, "invalid": len(errors)}}, sys.stderr)


def _emit(record: dict[str, Any], stream: IO[str]) -> None:
    stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def _show(rows: list[dict[str, Any]]) -> None:
    """Rows as a table on a terminal (``rich``), as JSON Lines when piped."""
    if not sys.stdout.isatty():
        for row in rows:
            _emit(row, sys.stdout)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in rows[0] if rows else ():
        table.add_column(column)
    for row in rows:
        cells = ("\n".join(v) if isinstance(v, list) else str(v) for v in row.values())
        table.add_row(*cells)
    Console(file=sys.stdout).print(table)


def _book(args: argparse.Namespace) -> tuple[QueueBook, ReadResult, datetime]:
    with _collector_paused():
        organizations, result, as_of = _read(args)
        return build_book(result.applications, organizations), result, as_of


def _status(result: ReadResult | Ranking) -> int:
    """1 when some line of the applications file was not used, else 0."""
    return 1 if result.invalid else 0


# --- the commands ------------------------------------------------------------------------------


def _rank(args: argparse.Namespace) -> int:
    """The queues of the book the other commands build, from each valid line's queue entry
    alone (``rank_applications``): the records are not kept, nor sent back by workers."""
    with _collector_paused():
        organizations, as_of, lines = _inputs(args)
        ranking = rank_applications(lines, organizations, as_of=as_of, jobs=args.jobs)
    _report(ranking.errors, ranking.read, ranking.valid)
    write = sys.stdout.write
    for line in ranking.text():  # the text of `_emit` for each of its lines, made faster
        write(line + "\n")
    return _status(ranking)


def _allocate(args: argparse.Namespace) -> int:
    book, result, as_of = _book(args)
    round_ = allocate_book(book, as_of)
    for line in allocation_lines(round_, result.applications):
        _emit(line, sys.stdout)
    return _status(result)


def _position(args: argparse.Namespace) -> int:
    book, result, _ = _book(args)
    missing = False
    rows: list[dict[str, Any]] = []
    for number in args.numbers:
        if number not in book:
            _emit(
                {
                    "number": number,
                    "errors": [
                        {
                            "code": "queue.unknown_application",
                            "message": f"no valid application #{number} in the file",
                        }
                    ],
                },
                sys.stderr,
            )
            missing = True
            continue
        rows += [
            {
                "number": number,
                **queue_fields((at.organization_id, at.group)),
                "position": at.position,
                "length": at.length,
                "tier": int(at.tier),
            }
            for at in book.positions(number)
        ]
    _show(rows)
    return 1 if missing else _status(result)


def _explain(args: argparse.Namespace) -> int:
    book, result, _ = _book(args)
    number = args.number
    if number not in book:
        raise InputError("input.argument", f"no valid application #{number} in the file")
    _show(
        [
            {
                "number": number,
                **queue_fields((at.organization_id, at.group)),
                "position": at.position,
                "reasons": book.explain(number, at.organization_id).render(args.language),
            }
            for at in book.positions(number)
        ]
    )
    return _status(result)


def _schema(args: argparse.Namespace) -> int:
    schemas = json_schema()
    chosen = schemas if args.kind is None else schemas[args.kind.removesuffix("s")]
    print(json.dumps(chosen, ensure_ascii=False, indent=2))
    return 0


def _generate(args: argparse.Namespace) -> int:
    from edqueue.testing.city import write_city

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    organizations, applications = write_city(
        output,
        applications=args.applications,
        organizations=args.organizations,
        seed=args.seed,
        as_of=_as_of(args.as_of),
        localities=args.localities,
    )
    _emit({"organizations": str(organizations), "applications": str(applications)}, sys.stdout)
    return 0


def _purge(args: argparse.Namespace) -> int:
    from edqueue.adapters.sqlite import SqliteStore
    from edqueue.service import purge_expired

    with SqliteStore(_path(args.database, "--database")) as store:
        deleted = purge_expired(store, store, now=_as_of(args.as_of))
    _emit({"drafts_deleted": deleted}, sys.stdout)
    return 0


def _db(args: argparse.Namespace) -> int:
    """``db upgrade``: the pending schema steps of a PostgreSQL store, applied once."""
    try:
        from edqueue.adapters.postgres import upgrade
    except ImportError:
        raise InputError(
            "input.argument",
            "`edqueue db` needs psycopg 3 and psycopg_pool: pip install 'edqueue[postgres]'",
        ) from None
    try:
        version = upgrade(args.dsn)
    except ValueError:  # never repeat the string: it may hold a password
        raise InputError(
            "input.argument",
            "--dsn is not a connection string, e.g. postgresql://edqueue@db.example/edqueue",
        ) from None
    _emit({"schema_version": version}, sys.stdout)
    return 0


def _demo(_: argparse.Namespace) -> int:
    from edqueue.demo import run

    run(sys.stdout)
    return 0


# --- the parser ----------------------------------------------------------------------------------


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number >= 1, got {text!r}")
    return int(text)


def _files(command: argparse.ArgumentParser) -> None:
    command.add_argument("--organizations", required=True, help="organizations file (JSON)")
    command.add_argument("--applications", required=True, help="applications file (JSON Lines)")
    command.add_argument(
        "--as-of",
        help="judge ages, dates and the policy at this time (default: now), e.g. "
        "2026-11-25T09:00+05:00 or 2026-11-25",
    )
    command.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="processes that check the lines, this one included (default: 1; one where the "
        "platform cannot fork); the result is the same, sooner on a machine with the cores",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edqueue",
        description="Rules of Kazakhstan's unified electronic queue for preschool organizations.",
    )
    parser.add_argument("--version", action="version", version=f"edqueue {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("demo", help="the seed's whole flow on the embedded sample")

    rank = commands.add_parser("rank", help="every queue's order, as JSON Lines")
    _files(rank)

    allocate = commands.add_parser("allocate", help="allocate the free places in one round")
    _files(allocate)

    position = commands.add_parser("position", help="where applications stand")
    position.add_argument("numbers", nargs="+", metavar="NUMBER")
    _files(position)

    explain = commands.add_parser("explain", help="why an application stands where it does")
    explain.add_argument("number", metavar="NUMBER")
    explain.add_argument("--language", choices=("en", "ru"), default="en")
    _files(explain)

    schema = commands.add_parser("schema", help="the JSON Schema of the files")
    schema.add_argument("kind", nargs="?", choices=("organizations", "applications"))

    purge = commands.add_parser(
        "purge",
        help="delete expired drafts (and drafts from before drafts expired) and old counted "
        "attempts from an SQLite store",
    )
    purge.add_argument("--database", required=True, help="the SQLite store's file")
    purge.add_argument("--as-of", help="the time to purge at (default: now)")

    db = commands.add_parser("db", help="the schema of a PostgreSQL store")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", help="apply the pending schema steps (a new database gets every table)"
    )
    upgrade.add_argument(
        "--dsn",
        required=True,
        help="the database's connection string (libpq), e.g. postgresql://edqueue@db/edqueue; "
        "a password is better kept in PGPASSWORD or ~/.pgpass",
    )

    generate = commands.add_parser("generate", help="write a synthetic city (deterministic)")
    generate.add_argument("--applications", type=int, default=5000)
    generate.add_argument("--organizations", type=int, default=50)
    generate.add_argument("--seed", type=int, default=2024)
    generate.add_argument("--localities", type=int, default=1)
    generate.add_argument("--as-of", help="the day the city is drawn for (default: now)")
    generate.add_argument("--output", default=".", help="directory for the two files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Without ``argv`` (the ``edqueue`` program itself, which exits next), what was frozen
    while the files were read (:func:`_collector_paused`) stays frozen, so the interpreter's
    last collections on exit need not scan it again (1.1 s after 200,000 applications); a caller
    that gives ``argv`` and goes on gets it unfrozen."""
    args = _parser().parse_args(argv)
    command = globals()[f"_{args.command}"]  # looked up at call time, so tests may replace one
    frozen_before = gc.get_freeze_count()
    try:
        status: int = command(args)
    except EdqueueError as error:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`edqueue rank ... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        if argv is not None and not frozen_before:
            gc.unfreeze()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
