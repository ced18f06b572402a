"""The contract every ``AttemptCounter`` meets (see :mod:`edqueue.ports`): counting over
rolling windows, refusals that record nothing, release and forgetting, instants rather than
wall clocks, threads that never pass a limit together, and a model test against a list.
"""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

import abc
import tempfile
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue.errors import TimeError
from edqueue.models import KAZAKHSTAN, instant
from edqueue.ports import AttemptCounter, AttemptLimit, AttemptTally
from edqueue.testing.contracts._common import AT, close, store_settings

_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


def _codes(
    key: str = "phone-digest", limit: int = 3, window: timedelta = 10 * _MINUTE
) -> list[AttemptLimit]:
    """One limit: ``limit`` attempts under ``key`` per ``window``."""
    return [AttemptLimit(key, limit, window)]


# --- the model test's commands and the model: a plain list ----------------------------------

_START = datetime(2024, 2, 29, 22, 0, tzinfo=KAZAKHSTAN)  # two hours before the clocks went back
_KEYS = ("k1", "k2", "k3")
_LIMITS = st.builds(
    AttemptLimit,
    key=st.sampled_from(_KEYS),
    limit=st.integers(1, 3),
    window=st.integers(1, 40).map(lambda m: m * _MINUTE),
)
_TIMES = st.integers(0, 240).map(lambda m: instant(_START) + m * _MINUTE)
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("take"),
            st.sampled_from(["a", "b", "c", "d"]),
            _TIMES,
            st.sampled_from([KAZAKHSTAN, UTC]),
            st.lists(_LIMITS, max_size=3),
        ),
        st.tuples(st.just("release"), st.sampled_from(["a", "b", "c", "d"])),
        st.tuples(st.just("forget"), _TIMES),
    ),
    max_size=25,
)


class _Model:
    """The counter as a plain list of ``(key, token, instant in UTC)``."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str, datetime]] = []

    def take(self, token: str, at: datetime, limits: Sequence[AttemptLimit]) -> AttemptTally:
        moment = instant(at)
        inside = [
            sorted(t for k, _, t in self.attempts if k == limit.key and t > moment - limit.window)
            for limit in limits
        ]
        counts = tuple(len(found) for found in inside)
        for i, limit in enumerate(limits):
            if counts[i] >= limit.limit:
                return AttemptTally(counts, i, inside[i][counts[i] - limit.limit] + limit.window)
        for key in {limit.key for limit in limits}:
            self.attempts.append((key, token, moment))
        return AttemptTally(tuple(count + 1 for count in counts))

    def release(self, token: str) -> None:
        self.attempts = [a for a in self.attempts if a[1] != token]

    def forget(self, before: datetime) -> int:
        kept = [a for a in self.attempts if a[2] > instant(before)]
        gone = len(self.attempts) - len(kept)
        self.attempts = kept
        return gone


def _same_tally(found: AttemptTally, expected: AttemptTally) -> bool:
    """Equal counts and refusal, and ``until`` the same instant."""
    return (found.counts, found.refused) == (expected.counts, expected.refused) and (
        None if found.until is None else instant(found.until)
    ) == expected.until


def _run(model: _Model, counter: AttemptCounter, operation: tuple[Any, ...]) -> None:
    """Apply one command to the counter and to the model; they must agree."""
    if operation[0] == "take":
        _, token, moment, zone, limits = operation
        expected = model.take(token, moment, limits)
        found = counter.take(token, moment.astimezone(zone), limits)
        assert _same_tally(found, expected), (found, expected)
    elif operation[0] == "release":
        model.release(operation[1])
        counter.release(operation[1])
    else:
        assert counter.forget_attempts(operation[1]) == model.forget(operation[1])


class AttemptCounterContract(abc.ABC):
    """The tests every ``AttemptCounter`` passes (within one process: a store shared by
    several processes should also be tested with real processes, as edqueue's own tests do
    for SQLite).

    Subclass it in a ``Test...`` class and implement :meth:`make`; pytest runs every test
    against the counter it makes (here edqueue's memory counter; give yours):

    >>> from edqueue.adapters.memory_store import MemoryAttempts
    >>> class TestMemoryAttempts(AttemptCounterContract):
    ...     def make(self, directory):
    ...         return MemoryAttempts()
    """

    @abc.abstractmethod
    def make(self, directory: Path) -> AttemptCounter:
        """A new, empty attempt counter; its files, if any, go in ``directory`` (a new,
        empty directory). Called once per test and once per example of the model test; the
        suite calls the counter's ``close()``, if it has one, when the test is done."""

    @pytest.fixture
    def attempts(self, tmp_path: Path) -> Iterator[AttemptCounter]:
        """The counter of one test, made by :meth:`make` and closed after it."""
        attempts = self.make(tmp_path)
        yield attempts
        close(attempts)

    def test_the_counter_implements_the_port(self, attempts: AttemptCounter) -> None:
        assert isinstance(attempts, AttemptCounter)

    def test_take_counts_up_to_the_limit_then_refuses_until_a_place_frees(
        self, attempts: AttemptCounter
    ) -> None:
        assert attempts.take("t1", AT, _codes()) == AttemptTally((1,))
        assert attempts.take("t2", AT + _MINUTE, _codes()) == AttemptTally((2,))
        assert attempts.take("t3", AT + 2 * _MINUTE, _codes()) == AttemptTally((3,))
        refused = attempts.take("t4", AT + 3 * _MINUTE, _codes())
        assert refused == AttemptTally((3,), 0, AT + 10 * _MINUTE)  # the oldest, plus the window
        assert refused.until is not None
        assert refused.until.tzinfo is KAZAKHSTAN  # at's zone
        # A refused take records nothing: the same answer a minute later.
        assert attempts.take("t5", AT + 4 * _MINUTE, _codes()) == AttemptTally(
            (3,), 0, AT + 10 * _MINUTE
        )
        # The window is (at - window, ...]: at AT + 10 minutes the first attempt has left it.
        assert attempts.take("t6", AT + 10 * _MINUTE, _codes()) == AttemptTally((3,))
        assert attempts.take("t7", AT + 10 * _MINUTE, _codes()) == AttemptTally(
            (3,), 0, AT + 11 * _MINUTE
        )

    def test_the_window_rolls(self, attempts: AttemptCounter) -> None:
        # Three attempts per five minutes, one tried every minute: minutes 0-2 pass, 3-4 wait
        # for the attempt of minute 0 to leave, 5-7 pass, and so on.
        window = _codes(limit=3, window=5 * _MINUTE)
        found = [attempts.take(f"t{m}", AT + m * _MINUTE, window) for m in range(13)]
        assert [m for m, tally in enumerate(found) if tally.refused is None] == [
            0, 1, 2, 5, 6, 7, 10, 11, 12
        ]  # fmt: skip
        assert [(m, tally.until) for m, tally in enumerate(found) if tally.refused is not None] == [
            (3, AT + 5 * _MINUTE),
            (4, AT + 5 * _MINUTE),
            (8, AT + 10 * _MINUTE),
            (9, AT + 10 * _MINUTE),
        ]
        # Another window over the same attempts sees all nine.
        tally = attempts.take("y", AT + 13 * _MINUTE, _codes(limit=100, window=timedelta(hours=1)))
        assert tally == AttemptTally((10,))

    def test_until_is_the_oldest_attempt_that_must_leave(self, attempts: AttemptCounter) -> None:
        for i in range(5):  # five attempts, under a looser limit
            attempts.take(f"t{i}", AT + i * _MINUTE, _codes(limit=10))
        # Now the limit is 3: three attempts must leave the window before one more is allowed,
        # so the third oldest (count - limit + 1 = 3) decides.
        assert attempts.take("x", AT + 5 * _MINUTE, _codes(limit=3)) == AttemptTally(
            (5,), 0, AT + 2 * _MINUTE + 10 * _MINUTE
        )

    def test_attempts_later_than_at_are_counted(self, attempts: AttemptCounter) -> None:
        # Another process's clock runs an hour ahead: its attempt still counts.
        attempts.take("ahead", AT + timedelta(hours=1), _codes(limit=1))
        tally = attempts.take("behind", AT, _codes(limit=1))
        assert tally == AttemptTally((1,), 0, AT + timedelta(hours=1) + 10 * _MINUTE)

    def test_keys_are_independent_and_a_refused_take_records_under_no_key(
        self, attempts: AttemptCounter
    ) -> None:
        phone = AttemptLimit("phone-digest", 2, timedelta(hours=1))
        device = AttemptLimit("device-digest", 5, timedelta(hours=1))
        assert attempts.take("a", AT, [phone, device]) == AttemptTally((1, 1))
        assert attempts.take("b", AT, [phone, device]) == AttemptTally((2, 2))
        # The phone is full: refused, and the device's count does not grow either.
        assert attempts.take("c", AT, [device, phone]) == AttemptTally(
            (2, 2), 1, AT + timedelta(hours=1)
        )
        assert attempts.take("d", AT, [device]) == AttemptTally((3,))
        assert attempts.take("e", AT, [AttemptLimit("other-phone", 2, _MINUTE)]) == AttemptTally(
            (1,)
        )
        # The first full limit is the one named.
        assert attempts.take("f", AT, [AttemptLimit("device-digest", 3, _MINUTE), phone]) == (
            AttemptTally((3, 2), 0, AT + _MINUTE)
        )

    def test_a_key_under_two_windows_gets_one_attempt(self, attempts: AttemptCounter) -> None:
        short = AttemptLimit("phone-digest", 3, 10 * _MINUTE)
        long = AttemptLimit("phone-digest", 5, timedelta(days=1))
        assert attempts.take("a", AT, [short, long]) == AttemptTally((1, 1))
        assert attempts.take("b", AT + _MINUTE, [short, long]) == AttemptTally((2, 2))
        assert attempts.take("c", AT + 20 * _MINUTE, [short, long]) == AttemptTally((1, 3))
        attempts.release("a")
        assert attempts.take("d", AT + 21 * _MINUTE, [long]) == AttemptTally((3,))

    def test_release_forgets_the_attempts_of_one_token(self, attempts: AttemptCounter) -> None:
        both = [AttemptLimit("phone-digest", 2, _MINUTE), AttemptLimit("device-digest", 2, _MINUTE)]
        attempts.take("wrong-1", AT, both)
        attempts.take("right", AT, both)
        assert attempts.take("wrong-2", AT, both).refused == 0
        attempts.release("right")  # under both keys
        attempts.release("never-taken")  # not an error
        assert attempts.take("wrong-2", AT, both) == AttemptTally((2, 2))
        assert attempts.take("wrong-3", AT, both).refused == 0

    def test_forget_attempts_deletes_those_at_or_before_a_time(
        self, attempts: AttemptCounter
    ) -> None:
        window = _codes(limit=100, window=timedelta(days=1))
        for i in range(4):
            attempts.take(f"t{i}", AT + i * _MINUTE, window)
        attempts.take("other", AT, [AttemptLimit("other", 100, timedelta(days=1))])
        assert attempts.forget_attempts(AT + _MINUTE) == 3  # t0, t1 and "other"
        assert attempts.forget_attempts(AT + _MINUTE) == 0
        assert attempts.take("x", AT + 5 * _MINUTE, window) == AttemptTally((3,))
        assert attempts.take("y", AT, [AttemptLimit("other", 100, _MINUTE)]) == AttemptTally((1,))
        # The same instant in another zone: the attempts at AT + 2 minutes and later stay.
        assert attempts.forget_attempts((AT + 2 * _MINUTE - _SECOND).astimezone(UTC)) == 1  # "y"
        assert attempts.forget_attempts((AT + 2 * _MINUTE).astimezone(UTC)) == 1

    def test_naive_times_and_bad_limits_are_refused_and_record_nothing(
        self, attempts: AttemptCounter
    ) -> None:
        naive = datetime(2024, 2, 5, 10, 15)  # noqa: DTZ001 - the point of the test
        with pytest.raises(TimeError) as raised:
            attempts.take("t", naive, _codes(limit=1))
        assert raised.value.code == "time.naive"
        with pytest.raises(TimeError):
            attempts.forget_attempts(naive)
        for limit, window in ((0, _MINUTE), (1, timedelta(0)), (1, -_MINUTE)):
            with pytest.raises(ValueError, match="attempt"):  # no such limit can be made
                AttemptLimit("phone-digest", limit, window)
        assert attempts.take("t", AT, []) == AttemptTally(())
        assert attempts.take("t", AT, _codes(limit=1)) == AttemptTally((1,))  # nothing before
        assert attempts.take("u", AT, [AttemptLimit("other", 1, _MINUTE)]) == AttemptTally((1,))

    def test_until_is_an_instant_in_the_zone_of_at(self, attempts: AttemptCounter) -> None:
        before_the_change = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)  # UTC+6
        attempts.take("t", before_the_change, _codes(limit=1, window=timedelta(hours=1)))
        tally = attempts.take("u", before_the_change, _codes(limit=1, window=timedelta(hours=1)))
        assert tally.until is not None
        # An hour later in instants is 23:30 again on the wall clock (the hour was lived twice).
        assert instant(tally.until) == datetime(2024, 2, 29, 18, 30, tzinfo=UTC)
        assert (tally.until.hour, tally.until.minute, tally.until.fold) == (23, 30, 1)
        hourly = _codes(limit=1, window=timedelta(hours=1))
        in_utc = attempts.take("v", before_the_change.astimezone(UTC), hourly)
        assert in_utc.until is not None
        assert in_utc.until.tzinfo is UTC
        assert in_utc.until == datetime(2024, 2, 29, 18, 30, tzinfo=UTC)

    def test_threads_never_together_pass_a_limit(self, attempts: AttemptCounter) -> None:
        outcomes: list[AttemptTally] = []
        start = threading.Barrier(8)

        def take(i: int) -> None:
            start.wait()
            outcomes.append(attempts.take(f"t{i}", AT, _codes(limit=3)))

        threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(t.counts[0] for t in outcomes if t.refused is None) == [1, 2, 3]
        assert [t for t in outcomes if t.refused is not None] == [
            AttemptTally((3,), 0, AT + 10 * _MINUTE)
        ] * 5

    # --- the model ---------------------------------------------------------------------------

    def test_random_takes_and_releases_agree_with_a_list_model(self) -> None:
        # The @given function is made per call: hypothesis refuses one function run by
        # several classes (HealthCheck.differing_executors).
        @store_settings
        @given(_OPERATIONS)
        def run(operations: list[tuple[Any, ...]]) -> None:
            model = _Model()
            with tempfile.TemporaryDirectory() as directory:
                counter = self.make(Path(directory))
                try:
                    for operation in operations:
                        _run(model, counter, operation)
                    # At the end, every key holds what the model holds, seen through a
                    # wide window.
                    end = instant(_START) + timedelta(days=1)
                    for key in _KEYS:
                        wide = [AttemptLimit(key, 1000, timedelta(days=2))]
                        assert counter.take("end", end, wide) == model.take("end", end, wide)
                finally:
                    close(counter)

        run()
