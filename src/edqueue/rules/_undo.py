"""Putting a book and its desk back as they stood before a command that failed.

A service decides a command on its live book, then writes the command's events to the store.
When the command raises halfway (bad input found late) or the write is refused (another
process wrote first: ``storage.conflict``; the store is down), the book must stand again as
the log does, and rebuilding it from the log takes seconds on a national store. So a command
runs inside :meth:`~edqueue.rules.queue.QueueBook.atomic`: the book notes the first value of
every entry the command changes (an application, a group's places, a referral, an entry of
the stop list, ...) and, if the block raises, puts each one back. The cost is one note per
entry changed, O(c log n) for an application moved back in its queues.

The queues themselves are not noted: an application's place in them follows from its
record, so putting its record back moves it back (:meth:`QueueIndex.move`). A queue that a
failed command opened stays in the index, empty and without places, where no reading sees it.
"""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping, MutableSet
from typing import TYPE_CHECKING, Any, Final

import attrs

from edqueue.models import Application, ApplicationStatus

if TYPE_CHECKING:  # pragma: no cover - types only
    from edqueue.rules._index import QueueIndex
    from edqueue.rules._places import Places
    from edqueue.rules.events import QueueId

__all__ = ["Undo", "roll_back"]

_MISSING: Final = object()


class Undo:
    """The first value of each entry a command changed, in the order first changed."""

    __slots__ = ("applications", "attributes", "entries", "outside", "places")

    def __init__(self) -> None:
        self.applications: dict[str, Application | None] = {}
        self.places: dict[QueueId, tuple[int, int] | None] = {}
        self.entries: dict[tuple[int, Hashable], tuple[Any, Hashable, object]] = {}
        self.attributes: dict[tuple[int, str], tuple[object, str, object]] = {}
        self.outside: list[tuple[set[str], str]] = []

    def application(self, applications: MutableMapping[str, Application], number: str) -> None:
        """Before ``applications[number]`` changes (or is added)."""
        if number not in self.applications:
            self.applications[number] = applications.get(number)

    def place(self, places: MutableMapping[QueueId, Places], queue_id: QueueId) -> None:
        """Before a group's places change (or the group is added)."""
        if queue_id not in self.places:
            current = places.get(queue_id)
            self.places[queue_id] = None if current is None else (current.capacity, current.free)

    def entry(self, container: MutableMapping[Any, Any] | MutableSet[Any], key: Hashable) -> None:
        """Before ``container[key]`` changes, or ``key`` enters or leaves a set."""
        slot = (id(container), key)
        if slot not in self.entries:
            if isinstance(container, MutableSet):
                previous: object = key in container
            else:
                previous = container.get(key, _MISSING)
            self.entries[slot] = (container, key, previous)

    def attribute(self, owner: object, name: str) -> None:
        """Before ``owner.name`` changes."""
        slot = (id(owner), name)
        if slot not in self.attributes:
            self.attributes[slot] = (owner, name, getattr(owner, name))

    def stood_outside(self, numbers: set[str], number: str) -> None:
        """Before ``number`` joins a queue's set of applications that stood outside it."""
        if number not in numbers:
            self.outside.append((numbers, number))


def roll_back(
    undo: Undo,
    applications: MutableMapping[str, Application],
    places: MutableMapping[QueueId, Places],
    index: QueueIndex,
    make_places: type[Places],
) -> None:
    """Put back every entry ``undo`` noted: the plain entries and attributes, the places, the
    applications (each moved back in its queues), and the sets of those who stood outside."""
    for container, key, previous in reversed(undo.entries.values()):
        if isinstance(container, MutableSet):
            if previous:
                container.add(key)
            else:
                container.discard(key)
        elif previous is _MISSING:
            container.pop(key, None)
        else:
            container[key] = previous
    for owner, name, value in reversed(undo.attributes.values()):
        setattr(owner, name, value)
    for queue_id, counts in undo.places.items():
        if counts is None:
            places.pop(queue_id, None)
        elif queue_id in places:
            places[queue_id].capacity, places[queue_id].free = counts
        else:
            places[queue_id] = make_places(*counts)
    moves: list[tuple[Application, Application]] = []
    added: list[str] = []
    for number, previous_record in undo.applications.items():
        current = applications.get(number)
        if previous_record is None:
            if current is not None:
                # out of the queues first (a withdrawn record stands in none), then forgotten
                gone = attrs.evolve(current, status=ApplicationStatus.WITHDRAWN)
                applications[number] = gone
                moves.append((current, gone))
                added.append(number)
            continue
        applications[number] = previous_record
        if current is not None and current is not previous_record:
            moves.append((current, previous_record))
    for current, previous_record in moves:
        index.move(current, previous_record)
    for number in added:
        del applications[number]
    for numbers, number in reversed(undo.outside):
        numbers.discard(number)
