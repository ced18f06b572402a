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

import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from edqueue.errors import InputError
from edqueue.interchange._lines import (
    NOT_FOR_EXPORTS,
    LineError,
    Ranking,
    ReadResult,
    _Entries,
    _itself,
    _Judgement,
    _LineJudge,
    _numbered,
    _result,
)
from edqueue.interchange._lines import _number_in as _number_in  # for tests
from edqueue.interchange._output import (
    allocate_book,
    allocation_lines,
    build_book,
    queue_fields,
    rank_lines,
    rank_text,
)
from edqueue.interchange._parallel import _judged_in_parallel, _work
from edqueue.models import Application, Organization, require_aware
from edqueue.rules import KAZAKHSTAN_POLICY, OrderingPolicy, Policy, StandardOrdering
from edqueue.rules.queue import ranked_queues

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

_CHUNK = 256  # lines per piece of work: about 20 ms of checking
"""Looked up here at each read, as :func:`_work` is (tests make pieces smaller, or workers
that die)."""


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
    >>> import json
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
        judgements: Iterable[_Judgement] = _judged_in_parallel(
            numbered, judge, jobs - 1, chunk=_CHUNK, work=_work
        )
    else:
        judgements = map(judge, numbered)
    return _result(judgements)
