"""A throwaway PostgreSQL server for the tests, started when the first test asks for one.

The session fixture :func:`postgres_server` runs ``initdb`` and ``pg_ctl`` of the newest
PostgreSQL installed under ``/usr/lib/postgresql/*/bin`` (15 on the project's machines) in a
new temporary directory; the server listens only on a Unix socket in that directory (no TCP
port, so parallel sessions never collide), with ``fsync=off`` (a crash of a test server loses
nothing that matters). Run as root, every program runs as the ``postgres`` user, which
owns the directory. At the end of the session the server is stopped (``pg_ctl stop -m fast``)
and the directory removed.

Where the binaries are missing, every test that needs the server fails (never skips) with
what to install. Each test gets its own database (:func:`postgres_dsn`, dropped after the
test), so no test sees another's data; :func:`fresh_schema` gives a test one more empty
schema when it needs several stores (the contract suites' model tests make one per example).

Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "fresh_schema", "postgres_dsn", "postgres_server"]

INSTALL = (
    "the tests need a PostgreSQL server's programs (initdb, pg_ctl, postgres) under "
    "/usr/lib/postgresql/<version>/bin: install them with `apt-get install postgresql-15` "
    "(Debian or Ubuntu, as root; `apt-get update` first), then run the tests again"
)
_VERSIONED = re.compile(r"^[0-9]+$")
_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_counter = itertools.count(1)


def find_binaries(root: Path = Path("/usr/lib/postgresql")) -> Path | None:
    """The ``bin`` directory of the newest PostgreSQL under ``root`` with every program the
    fixture runs, or ``None``."""
    if not root.is_dir():
        return None
    versions = sorted(
        (int(entry.name), entry / "bin")
        for entry in root.iterdir()
        if _VERSIONED.match(entry.name)
        and all((entry / "bin" / program).is_file() for program in _PROGRAMS)
    )
    return versions[-1][1] if versions else None


class PostgresServer:
    """A running throwaway server: its directory, its socket and the DSNs to reach it.

    ``settings`` are more lines for ``postgresql.conf``, written after the fixture's own (a
    later line wins): the benchmarks (``benchmarks/stores.py``) turn ``fsync`` back on."""

    def __init__(self, binaries: Path, directory: Path, settings: Sequence[str] = ()) -> None:
        self.binaries = binaries
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.settings = tuple(settings)
        self._as_postgres = os.geteuid() == 0
        self.databases: list[str] = []

    def dsn(self, database: str = "postgres") -> str:
        """A connection string to ``database`` over the server's socket."""
        return f"host={self.directory} port=5432 user=postgres dbname={database}"

    def run(self, program: str, *arguments: str) -> None:
        """Run one of the server's programs (as ``postgres`` when this process is root);
        fail the test with the program's output if it fails."""
        command: Sequence[str] = [str(self.binaries / program), *arguments]
        if self._as_postgres:
            command = [
                shutil.which("runuser") or "/usr/sbin/runuser",
                "-u",
                "postgres",
                "--",
                *command,
            ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(
                f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}\n{log}",
                pytrace=False,
            )

    def start(self) -> None:
        """Create the cluster and start the server; wait until it accepts connections."""
        if self._as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        os.chmod(self.directory, 0o700)
        self.run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        settings = (
            "listen_addresses = ''",
            f"unix_socket_directories = '{self.directory}'",
            "port = 5432",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
            *self.settings,
        )
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# the test fixture (tests/postgres_server.py)\n")
            conf.write("".join(f"{line}\n" for line in settings))
        self.run("pg_ctl", "start", "--pgdata", str(self.data), "--log", str(self.log), "-w")

    def stop(self) -> None:
        """Stop the server (``-m fast``: connections are closed, nothing waits for them)."""
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "stop", "--pgdata", str(self.data), "-m", "fast", "-w")

    def crash(self) -> None:
        """Stop the server as a crash would (``pg_ctl stop -m immediate``: every process
        quits at once, no checkpoint; the next start replays the write-ahead log). Call
        :meth:`restart` afterwards (in a ``finally``): the session's other tests need it."""
        self.run("pg_ctl", "stop", "--pgdata", str(self.data), "-m", "immediate", "-w")

    def restart(self) -> None:
        """Start the stopped server again on the same data (after :meth:`crash`); wait
        until it accepts connections. Nothing to do if it runs."""
        if not self.running():
            self.run("pg_ctl", "start", "--pgdata", str(self.data), "--log", str(self.log), "-w")

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``)."""
        command: list[str] = [str(self.binaries / "pg_ctl"), "status", "--pgdata", str(self.data)]
        if self._as_postgres:
            command = [
                shutil.which("runuser") or "/usr/sbin/runuser",
                "-u",
                "postgres",
                "--",
                *command,
            ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return done.returncode == 0

    def execute(self, statement: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (``CREATE DATABASE`` needs that)."""
        import psycopg

        with psycopg.connect(self.dsn(database), autocommit=True) as connection:
            connection.execute(statement.encode())

    def new_database(self) -> str:
        """A new, empty database; its DSN."""
        name = f"test_{os.getpid()}_{next(_counter)}"
        self.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.dsn(name)

    def drop_databases(self) -> None:
        """Drop the databases made so far (closing any connection left to them), so a
        session's thousand tests do not fill the disk."""
        while self.databases:
            self.execute(f'DROP DATABASE IF EXISTS "{self.databases.pop()}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_server(
    binaries: Path, prefix: str, settings: Sequence[str] = ()
) -> Iterator[PostgresServer]:
    """A server started in a new temporary directory (named from ``prefix``), stopped and
    its directory removed at the end, also when the block fails: the tests' fixture and the
    benchmarks (``benchmarks/stores.py``) start theirs with it."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    server = PostgresServer(binaries, directory, settings=settings)
    try:
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's server, started at the first test that needs it and stopped at the end;
    fails (never skips) where PostgreSQL is not installed, saying what to install."""
    binaries = find_binaries()
    if binaries is None:
        pytest.fail(INSTALL, pytrace=False)
    with throwaway_server(binaries, "edqueue-pg-") as server:
        yield server


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """The DSN of a new, empty database of the session's server, for one test (dropped
    after it, with every other database the test made)."""
    yield postgres_server.new_database()
    postgres_server.drop_databases()


def fresh_schema(dsn: str) -> str:
    """A new, empty schema in the database of ``dsn``; the DSN whose connections use it
    (``search_path``), so a store opened on it makes its tables there."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"s{next(_counter)}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}".encode())
    return make_conninfo(dsn, options=f"-c search_path={name}")
