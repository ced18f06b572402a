"""read_applications(jobs=2): forked workers judge pieces of the file; the result is jobs=1's."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from edqueue import cli
from edqueue import interchange as ic
from edqueue.errors import InputError
from edqueue.models import KAZAKHSTAN
from edqueue.schemas import dump_application
from edqueue.testing.city import generate_applications, generate_organizations

AS_OF = datetime(2025, 8, 15, 9, 0, tzinfo=KAZAKHSTAN)

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="jobs > 1 forks; without fork the reader runs in one process (tested below)",
)


def city(count: int = 400) -> tuple[list, list[str]]:
    """A generated city's organizations and lines, with broken, blank, repeated lines."""
    organizations = generate_organizations(12, seed=7, as_of=AS_OF.date())
    lines = [
        json.dumps(dump_application(a), ensure_ascii=False)
        for a in generate_applications(count, organizations, seed=7, as_of=AS_OF)
    ]
    lines[3] = "{not json"
    lines[10] = ""
    lines[17] = lines[16]  # a number given twice
    lines[25] = lines[25].replace('"iin": "', '"iin": "1', 1)  # an IIN of 13 digits
    lines[40] = "\ufeff" + lines[40]  # a byte-order mark is only skipped on line 1
    return organizations, lines


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ic, "_CHUNK", 7)  # many pieces, so the workers and the reader share


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("jobs", [2, 3])
def test_more_processes_give_the_result_of_one(jobs: int) -> None:
    organizations, lines = city()
    alone = ic.read_applications(lines, organizations, as_of=AS_OF)
    shared = ic.read_applications(lines, organizations, as_of=AS_OF, jobs=jobs)
    assert shared == alone
    assert alone.invalid >= 4 and alone.valid > 300


def fail_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every worker's judging raises; the reader's does not."""
    reader, judge = os.getpid(), ic._LineJudge.__call__

    def in_the_reader_only(self: ic._LineJudge, numbered: tuple[int, str | bytes]) -> object:
        if os.getpid() != reader:
            raise RuntimeError("a worker's bug")
        return judge(self, numbered)

    monkeypatch.setattr(ic._LineJudge, "__call__", in_the_reader_only)


def kill_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every worker dies at once."""
    monkeypatch.setattr(ic, "_work", lambda *_: os._exit(3))


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("sabotage", [fail_in_workers, kill_workers])
def test_pieces_the_workers_do_not_judge_are_judged_by_the_reader(
    sabotage, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizations, lines = city(120)
    alone = ic.read_applications(lines, organizations, as_of=AS_OF)
    sabotage(monkeypatch)
    assert ic.read_applications(lines, organizations, as_of=AS_OF, jobs=2) == alone


@pytest.mark.usefixtures("small_pieces")
def test_an_error_no_process_can_get_past_is_raised_as_by_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organizations, lines = city(60)

    def broken(self: ic._LineJudge, numbered: tuple[int, str | bytes]) -> object:
        raise RuntimeError(f"bug on line {numbered[0]}")

    monkeypatch.setattr(ic._LineJudge, "__call__", broken)
    for jobs in (1, 2):
        with pytest.raises(RuntimeError, match=r"bug on line 1$"):
            ic.read_applications(lines, organizations, as_of=AS_OF, jobs=jobs)


@pytest.mark.parametrize("jobs", [0, -1, True, 1.5])
def test_jobs_is_a_whole_number_from_1(jobs: object) -> None:
    with pytest.raises(InputError) as caught:
        ic.read_applications([], [], as_of=AS_OF, jobs=jobs)  # type: ignore[arg-type]
    assert caught.value.code == "input.argument"


def test_the_cli_ranks_the_same_with_two_processes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    organizations, lines = city(600)
    (tmp_path / "o.json").write_text(
        json.dumps([dump_organization(o) for o in organizations], ensure_ascii=False),
        encoding="utf-8",
    )
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = ["--organizations", str(tmp_path / "o.json"), "--applications"]
    files += [str(tmp_path / "a.jsonl"), "--as-of", AS_OF.isoformat()]
    outputs = []
    for jobs in ("1", "2"):
        status = cli.main(["rank", *files, "--jobs", jobs])
        outputs.append((status, *capsys.readouterr()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1 and outputs[0][1].count("\n") > 500


def test_the_cli_refuses_jobs_below_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["rank", "--organizations", "o", "--applications", "a", "--jobs", "0"])
    assert caught.value.code == 2
    assert "a whole number >= 1" in capsys.readouterr().err


def dump_organization(organization: object) -> dict:
    from edqueue.schemas import dump_organization as dump

    return dump(organization)  # type: ignore[arg-type]


def a_second_application(lines: list[str]) -> str:
    """Another live application for the child of the file's first active one."""
    data = json.loads(next(line for line in lines if '"status": "active"' in line))
    data["number"] = "9" + data["number"]
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_ranking_without_the_records_gives_the_queues_of_the_book(jobs: int) -> None:
    organizations, lines = city()
    lines.append(a_second_application(lines))
    read = ic.read_applications(lines, organizations, as_of=AS_OF)
    book = ic.build_book(read.applications, organizations)
    ranking = ic.rank_applications(lines, organizations, as_of=AS_OF, jobs=jobs)
    assert list(ranking.text()) == list(ic.rank_text(book))
    assert list(ranking.lines()) == list(ic.rank_lines(book))
    assert (ranking.errors, ranking.read, ranking.valid) == (read.errors, read.read, read.valid)
    codes = {code for error in read.errors for code, _ in error.errors}
    assert {"queue.duplicate_number", "eligibility.second_active_application"} <= codes
    assert ranking.invalid == read.invalid == 5
