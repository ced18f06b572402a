"""The connection under :class:`~edqueue.adapters.sqlite.SqliteStore`: one lock, one
``BEGIN IMMEDIATE`` transaction per command, and SQLite's failures as port errors."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final, TypeVar

from edqueue.errors import PortError

_BUSY: Final = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

_T = TypeVar("_T")


def _port_error(error: sqlite3.Error) -> PortError:
    """The port error for a failure of SQLite; the message names only SQLite's error code."""
    code = getattr(error, "sqlite_errorcode", None)
    name = getattr(error, "sqlite_errorname", None) or type(error).__name__
    if isinstance(code, int) and code & 0xFF in _BUSY:
        return PortError(
            "port.timeout",
            f"the SQLite database stayed locked by another writer ({name}); nothing was "
            "written, retry the command",
        )
    return PortError(
        "port.failed", f"the SQLite database failed ({name}); nothing was written, retry later"
    )


class _Connection:
    """The lock and the connection of a store, and how every command reads and writes."""

    _lock: threading.RLock
    _connection: sqlite3.Connection | None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("the SQLite store is closed")
        return self._connection

    def _checkpoint(self) -> None:
        """Copy the log into the database and truncate it, so deleted data leaves the
        files; best effort (a reader holding the log defers it to the next checkpoint)."""
        with self._lock, suppress(sqlite3.Error):
            self._open().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]:
        """All rows of one query: one statement is one consistent snapshot."""
        with self._lock:
            try:
                return self._open().execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise _port_error(error) from error

    def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction: commit if it returns, roll
        back if anything raises (a refusal, a :class:`sqlite3.Error`, an interrupt)."""
        with self._lock:
            connection = self._open()
            try:
                with self._transaction(connection):
                    return work(connection)
            except sqlite3.Error as error:
                raise _port_error(error) from error

    @staticmethod
    @contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
        connection.execute("BEGIN IMMEDIATE")  # takes the write lock now, waiting up to timeout
        try:
            yield
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
