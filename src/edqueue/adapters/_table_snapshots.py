"""The ``SnapshotStore`` of the SQL stores (:class:`~edqueue.adapters.sqlite.SqliteStore`,
:class:`~edqueue.adapters.postgres.PostgresStore`): one snapshot of the queues per name in
their ``snapshots`` table (SQLite schema version 4, PostgreSQL migration 2), written once for
both dialects: they differ only in the parameter mark."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")


class _SqlStore(Protocol):
    """What the methods below need of the store they are mixed into."""

    _MARK: str  # the dialect's parameter mark: "?" (sqlite3), "%s" (psycopg)

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[Any]: ...

    def _write(self, work: Callable[[Any], _T]) -> _T: ...


_SAVE = (
    "INSERT INTO snapshots (name, sequence, data) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence, "
    "data = excluded.data WHERE excluded.sequence > snapshots.sequence"
)
_LOAD = "SELECT sequence, data FROM snapshots WHERE name = ?"


class TableSnapshots:
    """``SnapshotStore`` (:mod:`edqueue.ports`): the bytes as a BLOB (``bytea``), with the
    sequence they cover; a snapshot that covers less never replaces the kept one, in the
    same statement as the write (no race between two savers)."""

    def save_snapshot(self: _SqlStore, name: str, sequence: int, data: bytes) -> bool:
        """Keep ``data`` as snapshot ``name`` unless the kept one covers as much of the log
        or more; return whether it was kept. One transaction."""
        statement = _SAVE.replace("?", self._MARK)
        written = self._write(lambda c: c.execute(statement, (name, sequence, data)).rowcount)
        return bool(written)

    def load_snapshot(self: _SqlStore, name: str) -> tuple[int, bytes] | None:
        """The snapshot kept as ``name``, with the sequence it covers, if any."""
        rows = self._read(_LOAD.replace("?", self._MARK), (name,))
        return None if not rows else (int(rows[0][0]), bytes(rows[0][1]))
