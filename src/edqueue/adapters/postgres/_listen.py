"""Wake-ups for :class:`~edqueue.adapters.postgres.PostgresStore`: LISTEN/NOTIFY as the wake-up,
the log's head as the truth, polling as the fallback.

Every transaction of the store that appends to the log runs ``SELECT pg_notify(channel,
head)`` after moving the head and before it commits, so PostgreSQL delivers the
notification at commit, in commit order, to every connection listening on the channel, and
never for a write that was rolled back. The payload is the new head's sequence as text.

The channel is :func:`log_channel` of the schema the store's tables are in
(``current_schema()`` when the store opened): :data:`CHANNEL`, ``edqueue_log``, in the
schema ``public``; ``edqueue_log.<schema>`` in another one, so that stores in two schemas of
one database do not wake each other. A host may ``LISTEN`` on it too (quoted:
``LISTEN "edqueue_log.tenant"``).

:class:`LogListener` waits for the log to move past a sequence the caller has read. A
notification is only a hint: the listener reads the head itself after each one, and a
notification can be lost (a connection dropped between the commit and its delivery, a
writer that is not a ``PostgresStore``), so the listener also reads the head every
``poll_interval`` seconds, and after its connection drops it reconnects, listens again and
reads the head before it waits again.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import Final

import psycopg
from psycopg import sql

from edqueue.adapters.postgres._connection import Connection, _one, _port_error

__all__ = ["CHANNEL", "LogListener", "log_channel"]

CHANNEL: Final = "edqueue_log"
"""The notification channel of a store whose tables are in the schema ``public``."""

_LONGEST: Final = 63  # bytes in a PostgreSQL identifier (NAMEDATALEN - 1)
_FIRST_RETRY: Final = 0.05  # seconds before the first reconnection; doubled after each failure
_LAST_RETRY: Final = 2.0  # the longest pause between reconnections


def log_channel(schema: str) -> str:
    """The channel the stores in ``schema`` notify on: ``edqueue_log`` in ``public``,
    ``edqueue_log.<schema>`` elsewhere (``edqueue_log.`` and the first 40 hex digits of
    the name's SHA-256 when that would pass PostgreSQL's 63 bytes, which ``pg_notify``
    refuses)."""
    if schema == "public":
        return CHANNEL
    channel = f"{CHANNEL}.{schema}"
    if len(channel.encode()) > _LONGEST:
        channel = f"{CHANNEL}.{hashlib.sha256(schema.encode()).hexdigest()[:40]}"
    return channel


def _closed() -> ValueError:
    return ValueError("the PostgreSQL store is closed")


class LogListener:
    """Waits, on a connection of its own, for the log in ``schema`` to move past a sequence.

    ``connect`` opens a new autocommit connection (not one of a pool: a pool would lend it
    to commands, and ``LISTEN`` belongs to its session); ``settings`` are its
    ``(lock_timeout, statement_timeout)``. ``read_head`` reads the head through the
    store's pool, for a thread that finds the listener busy (below).
    ``poll_interval`` (seconds) is the fallback when a notification is lost: the head is
    read at least that often while waiting.

    One thread waits at a time (a worker loop's); another thread that calls :meth:`wait`
    meanwhile takes its turn, and if its timeout passes first it gets the head read
    through ``read_head``. :meth:`close` ends the listening; a wait under way ends at its
    next look at the head (within ``poll_interval``) with ``ValueError``.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        schema: str,
        settings: tuple[str, str],
        read_head: Callable[[], int],
        *,
        poll_interval: float = 5.0,
    ) -> None:
        if not (poll_interval > 0 and math.isfinite(poll_interval)):
            raise ValueError("poll_interval must be positive seconds, e.g. 5")
        self.poll_interval = poll_interval
        self.channel = log_channel(schema)
        self._connect = connect
        self._settings = settings
        self._read_head = read_head
        self._head_sql = sql.SQL("SELECT sequence FROM {}.event_log_head WHERE only_row").format(
            sql.Identifier(schema)
        )
        self._turn = threading.Lock()  # held by the waiting thread, with the connection
        self._connection: Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "listening" if self._connection else "idle"
        return f"LogListener({self.channel!r}, {state})"

    def wait(self, after: int, timeout: float) -> int:
        """The sequence of the log's last record, as soon as it is greater than ``after``;
        the head as it stands (``after`` or less when nothing came) once ``timeout``
        seconds pass without one.

        The head is read after ``LISTEN`` is in place, so a record committed between the
        caller's read and the ``LISTEN`` is not missed; then again at each notification,
        every ``poll_interval`` seconds, and after a dropped connection has been opened
        again (pauses of 0.05 s doubling up to 2 s between attempts). Raises
        ``PortError`` (``port.failed`` or ``port.timeout``) if the server could not be
        read once before ``timeout`` passed, ``ValueError`` once the listener is closed.
        A wait lasts at most ``timeout`` plus one connection attempt or statement.
        """
        if isinstance(after, bool) or not isinstance(after, int):
            raise TypeError("after must be an int: the sequence of the last record read")
        if not (timeout >= 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be non-negative seconds")
        deadline = time.monotonic() + timeout
        if self._closed:
            raise _closed()
        if not self._turn.acquire(timeout=timeout):
            return self._read_head()  # another thread waited all this time: look once
        try:
            return self._wait(after, deadline)
        finally:
            if self._closed:
                self._drop()
            self._turn.release()

    def _wait(self, after: int, deadline: float) -> int:
        """:meth:`wait`, with the turn held."""
        retry = _FIRST_RETRY
        while True:
            if self._closed:
                raise _closed()
            try:
                connection = self._listening()
                head = int(_one(connection.execute(self._head_sql).fetchone())[0])
                remaining = deadline - time.monotonic()
                if head > after or remaining <= 0:
                    return head
                retry = _FIRST_RETRY
                # any notification wakes us: the head, read next, says whether it is ours
                for _ in connection.notifies(
                    timeout=min(remaining, self.poll_interval), stop_after=1
                ):
                    pass
            except psycopg.Error as error:
                self._drop()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _port_error(error) from None
                time.sleep(min(retry, remaining))
                retry = min(2 * retry, _LAST_RETRY)

    def _listening(self) -> Connection:
        """The listening connection, opened and listening first if there is none."""
        if self._connection is None:
            connection = self._connect()
            try:
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, false), "
                    "set_config('statement_timeout', %s, false)",
                    self._settings,
                )
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _drop(self) -> None:
        """Close the listening connection, if any (a dropped one is only closed)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Stop listening and close the connection (idempotent). A wait under way closes
        it itself when it next looks at the head; later waits raise ``ValueError``."""
        self._closed = True
        if self._turn.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._turn.release()
