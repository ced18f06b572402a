"""The ``DraftStore`` of :class:`~edqueue.adapters.postgres.PostgresStore`: drafts as JSON
with their expiry, and the purge of those past it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from edqueue.adapters.postgres._connection import _Connection
from edqueue.adapters.postgres._rows import _text
from edqueue.adapters.sqlite._rows import _DECODING_ERRORS, _json, _microseconds
from edqueue.errors import StorageError


class _Drafts(_Connection):
    """``DraftStore`` (:mod:`edqueue.ports`) in the ``drafts`` table."""

    def load(self, draft_id: str) -> Mapping[str, object] | None:
        """The draft with this id, if any. O(log drafts + size)."""
        rows = self._read("SELECT body FROM drafts WHERE id = %s", (_text(draft_id),))
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
        except _DECODING_ERRORS:
            data = None
        if not isinstance(data, dict):
            raise StorageError(
                "storage.corrupt", "a stored draft could not be read; start the application again"
            )
        return data

    def save(
        self, draft_id: str, data: Mapping[str, object], *, expires_at: datetime | None = None
    ) -> None:
        """Create or replace a draft and its expiry. O(log drafts + size). Raises
        ``TypeError`` or ``ValueError`` for data that is not JSON-ready and
        :class:`~edqueue.errors.TimeError` for a naive ``expires_at``, before anything is
        written."""
        body = _json(dict(data))
        expiry = None if expires_at is None else _microseconds(expires_at, "the expiry")
        self._write(
            lambda c: c.execute(
                "INSERT INTO drafts (id, body, expires_at_us) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                "expires_at_us = excluded.expires_at_us",
                (_text(draft_id), body, expiry),
            )
        )

    def delete(self, draft_id: str) -> None:
        """Forget a draft; a draft that is not stored is ignored. O(log drafts)."""
        self._write(lambda c: c.execute("DELETE FROM drafts WHERE id = %s", (_text(draft_id),)))

    def purge(self, now: datetime) -> int:
        """Delete, in one transaction, every draft that expired at or before ``now``
        (compared as instants) and every draft saved without an expiry; return how many.
        O(drafts). Raises :class:`~edqueue.errors.TimeError` for a naive ``now``, deleting
        nothing.

        The rows are gone for every reader at commit; PostgreSQL reclaims their space at
        the next vacuum (see :meth:`~edqueue.adapters.postgres.PostgresStore.forget`).
        """
        moment = _microseconds(now, "the time of the purge")
        return self._write(
            lambda c: (
                c.execute(
                    "DELETE FROM drafts WHERE expires_at_us IS NULL OR expires_at_us <= %s",
                    (moment,),
                ).rowcount
            )
        )
