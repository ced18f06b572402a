"""The real clock: the machine's time in Kazakhstan, and its monotonic clock.

:class:`SystemClock` implements :class:`~edqueue.ports.MonotonicClock`, so the service
measures lifetimes (codes, sessions) across a wall clock that steps back
(:mod:`edqueue.timekeeping`). Time zones come from the IANA database (``Asia/Almaty``,
:data:`~edqueue.models.KAZAKHSTAN`), never a fixed offset.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from edqueue.models import KAZAKHSTAN

__all__ = ["SystemClock"]


class SystemClock:
    """The machine's clock, read in Kazakhstan's time zone; :meth:`monotonic` is
    :func:`time.monotonic`. O(1).

    >>> clock = SystemClock()
    >>> clock.now().tzinfo is not None, clock.monotonic() <= clock.monotonic()
    (True, True)
    """

    def now(self) -> datetime:
        """The current instant, in Asia/Almaty."""
        return datetime.now(UTC).astimezone(KAZAKHSTAN)

    def monotonic(self) -> float:
        """Seconds on the machine's monotonic clock."""
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"
