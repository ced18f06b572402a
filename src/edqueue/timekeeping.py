"""Instants that never go backwards, over a host's clock that may step back.

A wall clock steps back: NTP corrects it, an operator sets it, a virtual machine resumes.
DOMAIN.md ("Who attacks a queue") counts on it: a clock stepped back an hour between two
submissions ranked the later one ahead, and a code sent at 12:05 was still accepted after
the clock was set to 11:50 (issue 22). :class:`SteadyTime` reads the host's
:class:`~edqueue.ports.Clock` and gives the service instants that never go backwards:

- never earlier than an instant it has already given (so submissions are ordered as they
  happened);
- when the clock reads earlier than the latest instant seen, time goes on from that
  instant by the real time elapsed, measured on the clock's ``monotonic()`` when it has one
  (:class:`~edqueue.ports.MonotonicClock`: :class:`~edqueue.adapters.system.SystemClock`
  and :class:`~edqueue.adapters.memory.ManualClock` have), so a lifetime (a code's 2
  minutes, a session's 30) measured in these instants is never extended by the step. A
  clock without ``monotonic()`` stands still until the wall clock catches up, which keeps
  the order but may lengthen a lifetime by the step: give the clock ``monotonic()``.

The guarantee holds within one process; a process started after the step trusts its clock.
Each step back that is seen is counted (:attr:`SteadyTime.steps_back`).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from edqueue.models.instants import instant, later, require_aware
from edqueue.ports import Clock, MonotonicClock

__all__ = ["SteadyTime"]


_TOLERANCE = timedelta(seconds=1)
"""A wall clock that moves less than this off its monotonic clock between two readings is
taken as running normally (NTP slews it by at most 0.5 ms a second)."""


class SteadyTime:
    """Instants from ``clock`` that never go backwards (see the module). Thread-safe; O(1).

    With a monotonic clock, the instant is the wall clock plus an ``offset`` (zero while
    the clock runs normally): a step back of the wall clock against the monotonic one adds
    the step to the offset, a later jump forward takes it back (so once the clock is put
    right, the instants are the clock's again). A naive clock is refused at construction
    (:class:`~edqueue.errors.TimeError`, ``time.naive``), not at the first command.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._monotonic = clock.monotonic if isinstance(clock, MonotonicClock) else None
        self._lock = threading.Lock()
        self._wall = self._read()  # the last wall reading
        self._tick = self._ticks()  # the monotonic reading then
        self._offset = timedelta(0)
        self._last = self._wall  # the latest instant given
        self.steps_back = 0
        """How many times the clock was seen stepping back."""

    def _read(self) -> datetime:
        return require_aware(self._clock.now(), "the clock's time")

    def _ticks(self) -> float:
        return 0.0 if self._monotonic is None else self._monotonic()

    def now(self) -> datetime:
        """The current instant: the clock's, unless it stepped back (see the module)."""
        wall = self._read()
        tick = self._ticks()
        with self._lock:
            if self._monotonic is None:
                if instant(wall) < instant(self._last):
                    self.steps_back += 1
            else:
                # instants, not wall times: across 2024-03-01 (UTC+6 to UTC+5) two readings
                # in Asia/Almaty subtract as wall times an hour short
                elapsed = instant(wall) - instant(self._wall)
                drift = elapsed - timedelta(seconds=tick - self._tick)
                if drift < -_TOLERANCE:
                    self.steps_back += 1
                    self._offset -= drift
                elif drift > _TOLERANCE and self._offset:
                    self._offset = max(self._offset - drift, timedelta(0))
                self._wall, self._tick = wall, tick
            steady = later(wall, self._offset) if self._offset else wall
            if instant(steady) < instant(self._last):
                steady = self._last
            self._last = steady
            return steady

    def __repr__(self) -> str:
        return f"SteadyTime(last={self._last.isoformat()!r}, steps_back={self.steps_back})"
