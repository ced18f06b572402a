"""Each line of an applications file judged alone (:class:`_LineJudge`), then the whole
file's judgements together (:func:`_result`): what :func:`edqueue.interchange.read_applications`
and :func:`edqueue.interchange.rank_applications` keep and report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import attrs

from edqueue.errors import EdqueueError
from edqueue.interchange._output import _queue_lines, _queue_text
from edqueue.models import KAZAKHSTAN, Application, ApplicationStatus, Organization
from edqueue.models.applications import shared_queue_id
from edqueue.rules import OrderingPolicy, QueueId
from edqueue.rules.eligibility import live_application, violations
from edqueue.rules.ordering import instant_key
from edqueue.rules.queue import entry_function
from edqueue.schemas import _strict_json, read_application

NOT_FOR_EXPORTS = frozenset({"eligibility.referral_date_past"})
"""Eligibility rules that apply at submission only, not to an export (see the module)."""

_LIVE = frozenset({"active", "referred"})


@attrs.frozen
class LineError:
    """A line of the applications file that was not used, and every reason why.

    ``line`` is 1-based; ``number`` is the application number if the line has one;
    ``errors`` are ``(code, message)`` pairs, messages without personal data.
    """

    line: int
    number: str | None
    errors: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        """The line as the CLI writes it on stderr."""
        return {
            "number": self.number,
            "line": self.line,
            "errors": [{"code": code, "message": message} for code, message in self.errors],
        }


@attrs.frozen
class ReadResult:
    """The valid applications of a file (in file order), the broken lines, and counts."""

    applications: tuple[Application, ...]
    errors: tuple[LineError, ...]
    read: int

    @property
    def valid(self) -> int:
        """How many lines gave a valid application."""
        return len(self.applications)

    @property
    def invalid(self) -> int:
        """How many non-blank lines were not used."""
        return len(self.errors)


@attrs.frozen
class Ranking:
    """Every queue's order from an applications file (:func:`rank_applications`), the
    broken lines and counts: what ``edqueue rank`` writes, without the records.

    ``queues`` holds each queue that has members, with its numbers in order, sorted by
    organization id and group key, as :meth:`QueueBook.queues
    <edqueue.rules.QueueBook.queues>` gives them."""

    queues: tuple[tuple[QueueId, tuple[str, ...]], ...]
    errors: tuple[LineError, ...]
    read: int
    valid: int

    @property
    def invalid(self) -> int:
        """How many non-blank lines were not used."""
        return len(self.errors)

    def lines(self) -> Iterator[dict[str, Any]]:
        """The lines of :func:`rank_lines`, as dicts."""
        return _queue_lines(self.queues)

    def text(self) -> Iterator[str]:
        """The lines of :func:`rank_text`: what ``edqueue rank`` prints."""
        return _queue_text(self.queues)


def _message(error: EdqueueError) -> str:
    notes = [n for n in getattr(error, "__notes__", []) if isinstance(n, str)]
    return error.message + "".join(f" ({note})" for note in notes)


def _number_in(line: str | bytes) -> str | None:
    """The application number of a line that was not used, for its report: ``None`` if the
    line is not JSON, or gives a key twice in one object (which number would be a guess)."""
    try:
        data = _strict_json(line)
    except ValueError:  # jiter's error for objects or arrays nested too deep too
        return None
    number = data.get("number") if isinstance(data, dict) else None
    return number if isinstance(number, str) and number.isdigit() and len(number) <= 32 else None


_Live = tuple[str, int]
"""A live application's child (IIN in clear: it never leaves the reader's processes) and
submission instant (:func:`~edqueue.rules.ordering.instant_key`)."""

_Judgement = LineError | tuple[int, str, tuple[tuple[str, str], ...], _Live | None, Any]
"""What one line gives alone: a :class:`LineError`, or (line, number, the reasons it may
not enter, the child and instant if the application is live, what the reader keeps of it)."""


def _itself(application: Application) -> Application:
    return application


class _Entries:
    """What :func:`rank_applications` keeps of an application: ``None`` if it stands in no
    queue (it is not active), else its queue entry and its queues, each as its index in
    the organizations' queues (a few small integers to send back from a worker)."""

    def __init__(self, organizations: Sequence[Organization], ordering: OrderingPolicy) -> None:
        self.ordering = ordering
        self._entry: Callable[[Application], int] | None = None  # made once per process
        self.queue_ids = [shared_queue_id(o.id, g.key) for o in organizations for g in o.groups]
        self.index = {queue_id: i for i, queue_id in enumerate(self.queue_ids)}

    def __call__(self, application: Application) -> tuple[int, tuple[int | QueueId, ...]] | None:
        if application.status is not ApplicationStatus.ACTIVE:
            return None
        index = self.index
        # a queue of no organization (never in a valid line) goes as itself, for the error
        queues = tuple(index.get(q, q) for q in application.group_keys)
        entry = self._entry
        if entry is None:
            entry = self._entry = entry_function(self.ordering)
        return entry(application), queues

    def __getstate__(self) -> dict[str, object]:
        """Sent to a worker without the entry function (it may be a closure); the worker
        makes its own."""
        return {**self.__dict__, "_entry": None}

    def standing(
        self, kept: Iterable[tuple[int, tuple[int | QueueId, ...]] | None]
    ) -> Iterator[tuple[int, list[QueueId]]]:
        """The applications that stand in queues: their entries and queue ids."""
        queue_ids = self.queue_ids
        for entry in kept:
            if entry is not None:
                element, queues = entry
                yield element, [queue_ids[q] if isinstance(q, int) else q for q in queues]


class _LineJudge:
    """Judges one numbered line alone: its shape, its records, each eligibility rule."""

    def __init__(
        self,
        by_id: dict[str, Organization],
        values: Any,
        as_of: datetime,
        keep: Callable[[Application], Any],
    ) -> None:
        self.by_id, self.values, self.keep = by_id, values, keep
        self.on = as_of.astimezone(KAZAKHSTAN).date()  # as check_eligibility takes the day
        self.made: dict[Any, Any] = {}  # records shared within this file (read_application)

    def __call__(self, numbered: tuple[int, str | bytes]) -> _Judgement:
        index, line = numbered
        try:
            application = read_application(line, self.made)
        except EdqueueError as error:
            return LineError(index, _number_in(line), ((error.code, _message(error)),))
        found = tuple(
            (v.code, v.message)
            for v in violations(application, self.by_id, self.values, self.on)
            if v.code not in NOT_FOR_EXPORTS
        )
        live = None
        if application.status.value in _LIVE:
            live = (application.child.iin.reveal(), instant_key(application.submitted_at))
        return index, application.number, found, live, self.keep(application)


def _numbered(lines: Iterable[str | bytes]) -> Iterator[tuple[int, str | bytes]]:
    """The non-blank lines with their 1-based numbers, a byte-order mark removed."""
    for index, line in enumerate(lines, start=1):
        if index == 1:  # a byte-order mark some editors write (UTF-8 "with signature")
            line = _without_bom(line)
        if line.strip():
            yield index, line


_Kept = dict[str, tuple[int, _Live | None, Any]]
"""The valid lines so far, by number: (line, child and instant if live, what is kept)."""


def _result(
    judgements: Iterable[_Judgement],
) -> tuple[list[Any], tuple[LineError, ...], int]:
    """The lines' judgements, in file order, with what only the whole file shows: a number
    given twice, a second live application for one child. Gives what is kept of each
    valid line in file order, the errors in line order, and how many lines were read."""
    kept: _Kept = {}
    errors: list[LineError] = []
    read = 0
    for judgement in judgements:
        read += 1
        if isinstance(judgement, LineError):
            errors.append(judgement)
            continue
        index, number, found, live, payload = judgement
        if number in kept:
            found += (
                (
                    "queue.duplicate_number",
                    f"application #{number} is also on line {kept[number][0]}; each number "
                    "appears once",
                ),
            )
        if found:
            errors.append(LineError(index, number, found))
            continue
        kept[number] = (index, live, payload)
    errors += _second_applications(kept)
    valid = [payload for _, _, payload in kept.values()]
    return valid, tuple(sorted(errors, key=lambda e: e.line)), read


def _without_bom(line: str | bytes) -> str | bytes:
    if isinstance(line, bytes):
        return line.removeprefix(b"\xef\xbb\xbf")
    return line.removeprefix("\ufeff")


def _second_applications(kept: _Kept) -> list[LineError]:
    """A child has one live application: :func:`~edqueue.rules.eligibility.live_application`
    (the earliest submitted, then the smaller number) stays, the others go."""
    by_child: dict[str, list[tuple[int, str]]] = {}
    for number, (_, live, _) in kept.items():
        if live is not None:
            child, moment = live
            by_child.setdefault(child, []).append((moment, number))
    errors: list[LineError] = []
    for group in by_child.values():
        if len(group) < 2:
            continue
        first = live_application(group)
        for _, number in group:
            if number == first:
                continue
            line = kept.pop(number)[0]
            errors.append(
                LineError(
                    line,
                    number,
                    (
                        (
                            "eligibility.second_active_application",
                            f"the child already has live application #{first}; one live "
                            "application per child",
                        ),
                    ),
                )
            )
    return errors
