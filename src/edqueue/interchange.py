"""Exports in the interchange format: read them, report every broken line, rank, allocate.

A host's export is an organizations file (:func:`edqueue.schemas.parse_organizations`) and a
JSON Lines file of submitted applications (:func:`edqueue.schemas.parse_application`).
:func:`read_applications` streams the lines once and keeps each valid application; a broken
line is never dropped silently: it becomes a :class:`LineError` with every reason (the
JSON's shape, a key given twice in one object included; a record's invariant; each
eligibility rule judged at ``as_of``; a number given twice; a second live application for
one child). The CLI's ``rank``, ``allocate``, ``position`` and ``explain`` are thin layers
over this module.

An export holds submitted applications, so two submission-time rules are not applied to
it: the consents and the legal representative's status were checked at submission (the
format's defaults), and a desired referral date that has passed since is simply due, not
an error (``eligibility.referral_date_past`` applies only at submission).
"""

from __future__ import annotations

import json
import multiprocessing
import queue
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import attrs

from edqueue.errors import EdqueueError, InputError
from edqueue.models import (
    KAZAKHSTAN,
    Application,
    ApplicationStatus,
    Organization,
    by_number,
    require_aware,
)
from edqueue.models.applications import shared_queue_id
from edqueue.rules import (
    KAZAKHSTAN_POLICY,
    AllocationRound,
    OrderingPolicy,
    Policy,
    QueueBook,
    QueueId,
    ReferralDesk,
    StandardOrdering,
)
from edqueue.rules.eligibility import live_application, violations
from edqueue.rules.ordering import instant_key
from edqueue.rules.queue import queue_entry, ranked_queues
from edqueue.schemas import _strict_json, read_application

__all__ = [
    "NOT_FOR_EXPORTS",
    "LineError",
    "Ranking",
    "ReadResult",
    "allocate_book",
    "allocation_lines",
    "build_book",
    "queue_fields",
    "rank_applications",
    "rank_lines",
    "rank_text",
    "read_applications",
]

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


def read_applications(
    lines: Iterable[str | bytes],
    organizations: Sequence[Organization],
    *,
    as_of: datetime,
    policy: Policy = KAZAKHSTAN_POLICY,
    jobs: int = 1,
) -> ReadResult:
    """Read the lines of an applications file once; keep the valid, report the broken.

    Blank lines are skipped. O(L) for L lines, plus O(k log k) for k applications of one
    child. Raises only for a naive ``as_of`` (``time.naive``) or a day before the policy.

    ``jobs`` > 1 checks lines in ``jobs - 1`` more processes besides this one (forked, where
    the platform can fork; else, and for ``jobs`` = 1, all in this one): the same result,
    since every line is judged alone and the judgements are then taken in file order.
    """
    kept, errors, read = _judged(lines, organizations, as_of, policy, jobs, _itself)
    return ReadResult(tuple(kept), errors, read)


def rank_applications(
    lines: Iterable[str | bytes],
    organizations: Sequence[Organization],
    *,
    as_of: datetime,
    policy: Policy = KAZAKHSTAN_POLICY,
    ordering: OrderingPolicy | None = None,
    jobs: int = 1,
) -> Ranking:
    """Every queue's order from the lines of an applications file: the queues of
    ``QueueBook.build`` over :func:`read_applications`' valid applications, and its errors
    and counts, without keeping the records (what ``edqueue rank`` does).

    Every line is judged exactly as :func:`read_applications` judges it; of each valid
    application only its queue entry (``edqueue.rules.queue.queue_entry``) and its
    queues are kept, so with ``jobs`` > 1 a worker sends back a few integers a line instead
    of the records. Raises as :func:`read_applications`, and as ``QueueBook`` for
    ``organizations`` that name an organization twice (``queue.invalid_operation``).

    >>> from datetime import datetime
    >>> from edqueue.models import KAZAKHSTAN
    >>> from edqueue.sample import seed_application, shakhtinsk_organizations
    >>> from edqueue.schemas import dump_application
    >>> line = json.dumps(dump_application(seed_application()))
    >>> ranking = rank_applications([line], shakhtinsk_organizations(),
    ...                             as_of=datetime(2024, 6, 23, 9, tzinfo=KAZAKHSTAN))
    >>> [(queue_id[0], numbers) for queue_id, numbers in ranking.queues]
    [('shakhtinsk-karlygash', ('1292583',)), ('shakhtinsk-saltanat', ('1292583',))]
    """
    order = ordering if ordering is not None else StandardOrdering()
    entries = _Entries(organizations, order)
    kept, errors, read = _judged(lines, organizations, as_of, policy, jobs, entries)
    queues = ranked_queues(organizations, entries.standing(kept), order)
    return Ranking(tuple((q, tuple(numbers)) for q, numbers in queues), errors, read, len(kept))


def _judged(
    lines: Iterable[str | bytes],
    organizations: Sequence[Organization],
    as_of: datetime,
    policy: Policy,
    jobs: int,
    keep: Callable[[Application], Any],
) -> tuple[list[Any], tuple[LineError, ...], int]:
    """What ``keep`` gives of each valid application in file order, the errors in line
    order, and how many lines were read."""
    require_aware(as_of, "the --as-of time")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InputError("input.argument", f"jobs is a whole number >= 1, got {jobs!r}")
    judge = _LineJudge(
        {organization.id: organization for organization in organizations},
        policy.at(as_of),
        as_of,
        keep,
    )
    numbered = _numbered(lines)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        judgements: Iterable[_Judgement] = _judged_in_parallel(numbered, judge, jobs - 1)
    else:
        judgements = map(judge, numbered)
    return _result(judgements)


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
        self.queue_ids = [shared_queue_id(o.id, g.key) for o in organizations for g in o.groups]
        self.index = {queue_id: i for i, queue_id in enumerate(self.queue_ids)}

    def __call__(self, application: Application) -> tuple[int, tuple[int | QueueId, ...]] | None:
        if application.status is not ApplicationStatus.ACTIVE:
            return None
        index = self.index
        # a queue of no organization (never in a valid line) goes as itself, for the error
        queues = tuple(index.get(q, q) for q in application.group_keys)
        return queue_entry(application, self.ordering), queues

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


_CHUNK = 256  # lines per piece of work: about 20 ms of checking


def _judged_in_parallel(
    numbered: Iterable[tuple[int, str | bytes]], judge: _LineJudge, workers: int
) -> Iterator[_Judgement]:
    """``map(judge, numbered)``, with ``workers`` forked processes judging pieces of it too.

    This process hands a piece to the workers while fewer than two per worker wait, judges
    it itself otherwise, and takes the workers' judgements as they come; they are yielded
    in file order. A piece whose worker fails or dies is judged here, so the result is
    ``map``'s, and so is any error: the one of the first line in the file that cannot be
    judged."""
    context = multiprocessing.get_context("fork")
    tasks: Any = context.Queue()
    results: Any = context.Queue()
    processes = [
        context.Process(target=_work, args=(tasks, results, judge), daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    done: dict[int, list[_Judgement] | Exception] = {}
    given: dict[int, list[tuple[int, str | bytes]]] = {}  # to the workers, not yet back

    def take(block: bool) -> None:
        try:
            piece, judged = results.get(block, 1.0)
        except queue.Empty:
            if block and not any(p.is_alive() for p in processes):
                for lost in list(given):  # every worker is gone: judge their pieces here
                    done[lost] = _judged_here(judge, given.pop(lost))
            return
        lines = given.pop(piece)
        done[piece] = _judged_here(judge, lines) if judged is None else judged

    try:
        for piece, lines in enumerate(_pieces(numbered)):
            while not results.empty():
                take(block=False)
            if len(given) < 2 * workers:
                given[piece] = lines
                tasks.put((piece, lines))
            else:
                done[piece] = _judged_here(judge, lines)
        while given:
            take(block=True)
    finally:
        for _ in processes:
            tasks.put(None)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    for piece in sorted(done):
        judged = done.pop(piece)
        if isinstance(judged, BaseException):
            raise judged  # the first line in file order that no process could judge
        yield from judged


def _judged_here(
    judge: _LineJudge, lines: list[tuple[int, str | bytes]]
) -> list[_Judgement] | Exception:
    """The piece's judgements, or the error of its first line that cannot be judged (raised
    when the piece's turn comes, so that the error is the one of the first such line in the
    file, as with one process)."""
    try:
        return [judge(n) for n in lines]
    except Exception as error:  # noqa: BLE001 - raised in file order by the caller
        return error


def _pieces(
    numbered: Iterable[tuple[int, str | bytes]],
) -> Iterator[list[tuple[int, str | bytes]]]:
    iterator = iter(numbered)
    while piece := list(islice(iterator, _CHUNK)):
        yield piece


def _work(tasks: Any, results: Any, judge: _LineJudge) -> None:
    """A worker: judge each piece it is given until it is given ``None``; a piece it cannot
    judge goes back as ``None``, to be judged by the reader (who then meets the error)."""
    while (task := tasks.get()) is not None:
        piece, lines = task
        try:
            judged: list[_Judgement] | None = [judge(n) for n in lines]
        except Exception:  # noqa: BLE001 - the reader judges the piece again and reports it
            judged = None
        results.put((piece, judged))


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


def build_book(
    applications: Iterable[Application],
    organizations: Iterable[Organization],
    *,
    ordering: OrderingPolicy | None = None,
) -> QueueBook:
    """A :class:`~edqueue.rules.QueueBook` of the valid applications
    (:meth:`~edqueue.rules.QueueBook.build`). O(N c + Q n log n)."""
    return QueueBook.build(organizations, applications, ordering=ordering)


def queue_fields(queue_id: QueueId) -> dict[str, Any]:
    """The JSON fields that name a queue: organization, birth year, language, queue."""
    organization_id, key = queue_id
    return {
        "organization": organization_id,
        "birth_year": key.birth_year,
        "language": key.language.code,
        "queue": key.queue_kind.value,
    }


def rank_lines(book: QueueBook) -> Iterator[dict[str, Any]]:
    """Every application in every queue it stands in, sorted by organization id, birth
    year, language, queue and position: the lines of ``edqueue rank``. O(Q log Q)."""
    return _queue_lines(book.queues())


def _queue_lines(queues: Iterable[tuple[QueueId, Sequence[str]]]) -> Iterator[dict[str, Any]]:
    for queue_id, numbers in queues:
        fields = queue_fields(queue_id)
        for position, number in enumerate(numbers, start=1):
            yield {**fields, "position": position, "number": number}


_json_string = json.encoder.encode_basestring  # a str as json.dumps(..., ensure_ascii=False)


def rank_text(book: QueueBook) -> Iterator[str]:
    """The lines of :func:`rank_lines` as JSON text, each exactly as
    ``json.dumps(line, ensure_ascii=False)`` writes it (what the CLI prints). O(Q log Q).

    Each queue's fields are written once, not once per line: the 380,000 lines of 200,000
    applications of the national file take 0.3 s besides reading the queues, instead of
    1.5 s as a dict and ``json.dumps`` each."""
    return _queue_text(book.queues())


def _queue_text(queues: Iterable[tuple[QueueId, Sequence[str]]]) -> Iterator[str]:
    for (organization_id, key), numbers in queues:
        head = (
            f'{{"organization": {_json_string(organization_id)}, "birth_year": '
            f'{int(key.birth_year)}, "language": {_json_string(key.language.code)}, "queue": '
            f'{_json_string(key.queue_kind.value)}, "position": '
        )
        for position, number in enumerate(numbers, start=1):
            yield f'{head}{position}, "number": {_json_string(number)}}}'


def allocation_lines(
    round_: AllocationRound, applications: Iterable[Application]
) -> Iterator[dict[str, Any]]:
    """One line per application of the round, in numeric order: its referral, or why it
    got none (the reasons in English, one sentence each, joined by "; ")."""
    assignment = round_.allocation.assignment
    choices = round_.allocation.problem.choices
    for number in by_number(a.number for a in applications):
        queue_id = assignment.get(number)
        if queue_id is not None:
            yield {
                "number": number,
                **queue_fields(queue_id),
                "choice": choices[number].index(queue_id) + 1,
            }
        elif number in choices or number in round_.waiting:
            reasons = "; ".join(reason.render("en") for reason in round_.explain(number))
            yield {"number": number, "organization": None, "reason": reasons}


def allocate_book(
    book: QueueBook, as_of: datetime, policy: Policy = KAZAKHSTAN_POLICY
) -> AllocationRound:
    """Allocate the book's free places as one round at ``as_of``."""
    return ReferralDesk(book, policy=policy).allocate(as_of)
