"""The connections under :class:`~edqueue.adapters.postgres.PostgresStore`: a pool, one
transaction per command, timeouts on every lock wait, and PostgreSQL's failures as port
errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

import psycopg
import psycopg_pool

from edqueue.errors import PortError

_T = TypeVar("_T")

Connection = psycopg.Connection[tuple[Any, ...]]
Pool = psycopg_pool.ConnectionPool[Connection]

# SQLSTATEs of a wait cut short: lock_timeout (55P03), statement_timeout or a cancel (57014).
_TIMED_OUT: Final = frozenset({"55P03", "57014"})
# SQLSTATE classes of a connection lost or a server going away: 08 (connection exception),
# 57P01-57P03 (admin or crash shutdown, cannot connect now).
_GONE: Final = frozenset({"57P01", "57P02", "57P03"})


def _milliseconds(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _port_error(error: psycopg.Error) -> PortError:
    """The port error for a failure of PostgreSQL or of the pool.

    The message names only the SQLSTATE (or the error's class): PostgreSQL's own message
    may quote a row (``Failing row contains (...)``), and a row holds personal data. The
    error is raised ``from None`` for the same reason.
    """
    if isinstance(error, psycopg_pool.PoolTimeout):
        return PortError(
            "port.timeout",
            "no connection to PostgreSQL came free in time (the server is down or "
            "unreachable, or every connection of the pool is busy); nothing was written, "
            "retry the command",
        )
    state = error.sqlstate or ""
    name = f"SQLSTATE {state}" if state else type(error).__name__
    if state in _TIMED_OUT:
        return PortError(
            "port.timeout",
            f"PostgreSQL waited too long for a lock or a statement ({name}); nothing was "
            "written, retry the command",
        )
    lost = not state and isinstance(error, psycopg.OperationalError)  # libpq's own failure
    if lost or state.startswith("08") or state in _GONE:
        return PortError(
            "port.failed",
            f"the connection to PostgreSQL failed ({name}); a write that was under way was "
            "rolled back unless its commit had reached the server: read again, then retry",
        )
    return PortError("port.failed", f"PostgreSQL failed ({name}); nothing was written, retry later")


def _one(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row a statement always returns (``count(*)``, ``RETURNING``, a row counted in
    the same transaction)."""
    if row is None:  # pragma: no cover - PostgreSQL broke its own promise
        raise RuntimeError("PostgreSQL returned no row where one is always returned")
    return row


class _Connection:
    """The pool of a store, and how every command reads and writes through it."""

    _pool: Pool | None
    _local_timeouts: tuple[str, str] | None
    """``(lock_timeout, statement_timeout)`` to set in every write transaction, when the
    pool is the host's (an own pool sets them once per connection)."""

    def _open(self) -> Pool:
        if self._pool is None:
            raise ValueError("the PostgreSQL store is closed")
        return self._pool

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """All rows of one query: one statement is one consistent snapshot."""
        pool = self._open()
        try:
            with pool.connection() as connection:
                return connection.execute(sql, parameters).fetchall()
        except psycopg.Error as error:
            raise _port_error(error) from None

    def _write(self, work: Callable[[Connection], _T]) -> _T:
        """Run ``work`` in one transaction: commit if it returns, roll back if anything
        raises (a refusal, a :class:`psycopg.Error`, an interrupt)."""
        pool = self._open()
        try:
            with pool.connection() as connection, connection.transaction():
                if self._local_timeouts is not None:
                    connection.execute(
                        "SELECT set_config('lock_timeout', %s, true), "
                        "set_config('statement_timeout', %s, true)",
                        self._local_timeouts,
                    )
                return work(connection)
        except psycopg.Error as error:
            raise _port_error(error) from None


def _session_settings(timeout: float, statement_timeout: float | None) -> tuple[str, str]:
    """``lock_timeout`` and ``statement_timeout`` as PostgreSQL reads them (0: none)."""
    statement = "0" if statement_timeout is None else _milliseconds(statement_timeout)
    return _milliseconds(timeout), statement


def _configurer(settings: tuple[str, str]) -> Callable[[Connection], None]:
    """The pool's ``configure``: the timeouts of every new connection, for its lifetime."""

    def configure(connection: Connection) -> None:
        connection.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('statement_timeout', %s, false)",
            settings,
        )

    return configure
