"""Lines judged in forked processes: :func:`_judged_in_parallel`, for ``jobs`` > 1 (see
:func:`edqueue.interchange.read_applications`)."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from edqueue.interchange._lines import _Judgement, _LineJudge


def _judged_in_parallel(
    numbered: Iterable[tuple[int, str | bytes]],
    judge: _LineJudge,
    workers: int,
    *,
    chunk: int,
    work: Callable[[Any, Any, _LineJudge], None],
) -> Iterator[_Judgement]:
    """``map(judge, numbered)``, with ``workers`` forked processes judging pieces of it too:
    pieces of ``chunk`` lines, each worker running ``work`` (:func:`_work`).

    This process hands a piece to the workers while fewer than two per worker wait, judges
    it itself otherwise, and takes the workers' judgements as they come; they are yielded
    in file order. A piece whose worker fails or dies is judged here, so the result is
    ``map``'s, and so is any error: the one of the first line in the file that cannot be
    judged."""
    context = multiprocessing.get_context("fork")
    tasks: Any = context.Queue()
    results: Any = context.Queue()
    processes = [
        context.Process(target=work, args=(tasks, results, judge), daemon=True)
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
        for piece, lines in enumerate(_pieces(numbered, chunk)):
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
    numbered: Iterable[tuple[int, str | bytes]], size: int
) -> Iterator[list[tuple[int, str | bytes]]]:
    iterator = iter(numbered)
    while piece := list(islice(iterator, size)):
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
