"""The ``SnapshotStore`` of :class:`~edqueue.adapters.sqlite.PostgresStore`: one snapshot of the
queues per name, in the ``snapshots`` table (migration 2)."""

from __future__ import annotations

from edqueue.adapters.postgres._connection import _Connection


class _Snapshots(_Connection):
    """``SnapshotStore`` (:mod:`edqueue.ports`): the bytes as bytea, with their sequence."""

    def save_snapshot(self, name: str, sequence: int, data: bytes) -> bool:
        """Keep ``data`` as snapshot ``name`` unless the kept one covers as much of the log
        or more; return whether it was kept. One transaction."""
        return bool(
            self._write(
                lambda c: (
                    c.execute(
                        "INSERT INTO snapshots (name, sequence, data) VALUES (%s, %s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence, "
                        "data = excluded.data WHERE excluded.sequence > snapshots.sequence",
                        (name, sequence, data),
                    ).rowcount
                )
            )
        )

    def load_snapshot(self, name: str) -> tuple[int, bytes] | None:
        """The snapshot kept as ``name``, with the sequence it covers, if any."""
        rows = self._read("SELECT sequence, data FROM snapshots WHERE name = %s", (name,))
        return None if not rows else (int(rows[0][0]), bytes(rows[0][1]))
