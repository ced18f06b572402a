"""The contract every ``NumberSequence`` meets (see :mod:`edqueue.ports`): application
numbers are digits without leading zeros, never given twice, not even to racing threads.
"""

# The checks are pytest's plain asserts (rewritten by pytest for readable failures).
# ruff: noqa: S101

from __future__ import annotations

import abc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edqueue.ports import NumberSequence
from edqueue.testing.contracts._common import close


def _is_a_number(text: str) -> bool:
    """Digits 0-9 only (``str.isdigit`` would take "²" or "٣"), no leading zero."""
    return text != "" and text.strip("0123456789") == "" and not text.startswith("0")


class NumberSequenceContract(abc.ABC):
    """The tests every ``NumberSequence`` passes (within one process: a sequence shared by
    several processes should also be tested with real processes).

    Subclass it in a ``Test...`` class and implement :meth:`make`; pytest runs every test
    against the sequence it makes (here edqueue's memory sequence; give yours):

    >>> from edqueue.adapters.memory import MemoryNumbers
    >>> class TestMemoryNumbers(NumberSequenceContract):
    ...     def make(self, directory):
    ...         return MemoryNumbers()
    """

    @abc.abstractmethod
    def make(self, directory: Path) -> NumberSequence:
        """A new number sequence; its files, if any, go in ``directory`` (a new, empty
        directory). Called once per test; the suite calls the sequence's ``close()``, if it
        has one, when the test is done."""

    @pytest.fixture
    def numbers(self, tmp_path: Path) -> Iterator[NumberSequence]:
        """The sequence of one test, made by :meth:`make` and closed after it."""
        numbers = self.make(tmp_path)
        yield numbers
        close(numbers)

    def test_the_sequence_implements_the_port(self, numbers: NumberSequence) -> None:
        assert isinstance(numbers, NumberSequence)

    def test_numbers_are_digits_without_leading_zeros_and_never_repeat(
        self, numbers: NumberSequence
    ) -> None:
        drawn = [numbers.next_number() for _ in range(200)]
        assert [n for n in drawn if not _is_a_number(n)] == []
        assert len(set(drawn)) == len(drawn)

    def test_racing_threads_never_get_the_same_number(self, numbers: NumberSequence) -> None:
        drawn: list[list[str]] = [[] for _ in range(8)]
        start = threading.Barrier(len(drawn))

        def draw(i: int) -> None:
            start.wait()
            drawn[i].extend(numbers.next_number() for _ in range(50))

        threads = [threading.Thread(target=draw, args=(i,)) for i in range(len(drawn))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = [n for numbers_of_one in drawn for n in numbers_of_one]
        assert len(everything) == 8 * 50
        assert len(set(everything)) == len(everything)
        assert [n for n in everything if not _is_a_number(n)] == []
