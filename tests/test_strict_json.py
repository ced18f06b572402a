"""Duplicate keys: JSON text in which an object gives a key twice is refused, at any depth.

``{"number": "1292583", ..., "number": "7"}`` meant application #7 to ``json.loads`` and to
pydantic (the last value wins) and #1292583 to a reader that keeps the first: such a line is
an ``application.type`` error naming the key (never a value), through every way a line
becomes a record (``parse_application``, ``read_applications``/``rank_applications`` with one
process or forked workers, ``edqueue rank``), and in the organizations file an
``organization.type`` error. Also: a directory where a file is expected is
``input.unreadable``, not ``input.not_found``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jiter
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import cli
from edqueue import schemas as schemas_module
from edqueue.errors import ApplicationError, EdqueueError, OrganizationError
from edqueue.interchange import _number_in, rank_applications, read_applications
from edqueue.models import KAZAKHSTAN, Application
from edqueue.schemas import dump_application, parse_application, parse_organizations
from edqueue.testing import applications
from tests.test_cli import AS_OF, ORGANIZATIONS, VALID

AS_OF_TIME = datetime.fromisoformat(AS_OF)
ORGANIZATION_OBJECTS = parse_organizations(json.dumps(ORGANIZATIONS, ensure_ascii=False))

# The personal data of VALID[0] (tests/test_cli.py), none of which may be in a message.
CLEAR = ("900315400017", "200623500011", "+77010000001", "77010000001", "Ахметов", "Айгуль")

FORK = "fork" in __import__("multiprocessing").get_all_start_methods()


def pairs(line: str) -> list[tuple[str, Any]]:
    """The top-level keys and values of a line, in order."""
    return list(json.loads(line).items())


def text(items: list[tuple[str, Any]]) -> str:
    """A JSON object written from (key, value) pairs, a key given twice if it is twice."""
    body = ", ".join(
        f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
        for k, v in items
    )
    return "{" + body + "}"


def with_number_seven(line: str) -> str:
    """``line`` with ``"number": "7"`` given again at its end."""
    return text([*pairs(line), ("number", "7")])


def nested(line: str, where: str) -> str:
    """``line`` with a key given twice inside one of its objects: the applicant's ``iin``,
    the child's ``name``, or the ``language`` of its first choice (inside the list)."""
    data = json.loads(line)
    items = pairs(line)
    if where == "applicant":
        inner = text([*data["applicant"].items(), ("iin", "900315400017")])
        return text(items).replace(json.dumps(data["applicant"], ensure_ascii=False), inner)
    if where == "child":
        inner = text([("name", "Иванов Иван"), *data["child"].items()])
        return text(items).replace(json.dumps(data["child"], ensure_ascii=False), inner)
    assert where == "choice"
    choice = data["choices"][0]
    inner = text([*choice.items(), ("language", "kk")])
    return text(items).replace(json.dumps(choice, ensure_ascii=False), inner, 1)


DUPLICATED: list[tuple[str, str, str]] = [
    ("number at the end", with_number_seven(VALID[0]), "number"),
    ("number first", text([("number", "7"), *pairs(VALID[0])]), "number"),
    ("the same value twice", text([*pairs(VALID[0]), ("queue", "general")]), "queue"),
    ("in the applicant", nested(VALID[0], "applicant"), "iin"),
    ("in the child", nested(VALID[0], "child"), "name"),
    ("in a choice in the list", nested(VALID[0], "choice"), "language"),
]


def refused(read: Callable[[], object], code: str = "application.type") -> EdqueueError:
    with pytest.raises(EdqueueError) as caught:
        read()
    assert caught.value.code == code, caught.value
    return caught.value


def assert_names_only_the_key(error: EdqueueError, key: str) -> None:
    """The message names the key and where it is, and nothing of the line else."""
    assert re.fullmatch(
        rf"the application: the key '{key}' is given twice in one object \(column \d+\)\. "
        "Give each key once: JSON readers differ on which of two values counts",
        error.message,
    ), error.message
    for clear in CLEAR:
        assert clear not in str(error)


def test_the_lines_are_valid_without_their_duplicates() -> None:
    for line in VALID:
        parse_application(line)
    for _, line, _ in DUPLICATED:
        assert json.loads(line)  # JSON that json.loads takes, the last value winning


@pytest.mark.parametrize(("case", "line", "key"), DUPLICATED, ids=[c for c, _, _ in DUPLICATED])
def test_parse_application_refuses_a_key_given_twice(case: str, line: str, key: str) -> None:
    for given_as in (line, line.encode()):
        error = refused(lambda given_as=given_as: parse_application(given_as))
        assert isinstance(error, ApplicationError)
        assert_names_only_the_key(error, key)


def test_the_message_does_not_show_a_key_that_is_not_a_plain_name() -> None:
    line = text([*pairs(VALID[0]), ("900315400017", 1), ("900315400017", 2)])
    error = refused(lambda: parse_application(line))
    assert "a key is given twice in one object" in error.message
    assert "900315400017" not in str(error)


def test_a_line_broken_in_other_ways_too_gets_a_sensible_error() -> None:
    data = pairs(VALID[0])
    # a key given twice and a required key missing: the key given twice is named
    line = text([*[(k, v) for k, v in data if k != "child"], ("number", "7")])
    assert_names_only_the_key(refused(lambda: parse_application(line)), "number")
    # the text cut short after the key given twice: the same
    assert_names_only_the_key(refused(lambda: parse_application(line[:-5])), "number")
    # not JSON before the key given twice: pydantic's "not valid JSON", as before
    broken = "{not json, " + with_number_seven(VALID[0])[1:]
    assert "not valid JSON" in refused(lambda: parse_application(broken)).message
    # nested too deep for the parser: not valid JSON, not a crash
    deep = '{"number": ' + "[" * 300 + "]" * 300 + "}"
    assert "not valid JSON" in refused(lambda: parse_application(deep)).message


def test_a_mapping_is_not_checked_again() -> None:
    """A dict cannot hold a key twice: it is read as before."""
    application = parse_application(json.loads(with_number_seven(VALID[0])))
    assert application.number == "7"  # json.loads kept the last value; the caller chose


def test_the_check_never_lets_through_what_it_could_not_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If jiter refused text pydantic reads (never seen: pydantic reads JSON with jiter
    too), the text is refused rather than taken unchecked."""

    def refuse(*_: object, **__: object) -> object:
        raise ValueError("some other reason at line 1 column 1")

    monkeypatch.setattr(schemas_module.jiter, "from_json", refuse)
    error = refused(lambda: parse_application(VALID[0]))
    assert (
        error.message == "the application: not valid JSON. Give the application as one JSON object"
    )


def test_the_check_keeps_no_value_in_jiters_cache() -> None:
    jiter.cache_clear()
    parse_application(VALID[0])
    refused(lambda: parse_application(with_number_seven(VALID[0])))
    assert jiter.cache_usage() == 0


def test_the_number_of_a_line_with_a_key_given_twice_is_not_guessed() -> None:
    assert _number_in(VALID[0]) == "1292583"
    for _, line, _ in DUPLICATED:
        assert _number_in(line) is None
        assert _number_in(line.encode()) is None


def file_lines() -> list[str]:
    return [
        VALID[0],
        with_number_seven(VALID[1]),
        VALID[2],
        nested(VALID[3], "choice"),
        text([("number", "7"), *pairs(VALID[3])]).replace('"1292620"', '"1292621"'),
    ]


@pytest.mark.parametrize(
    "jobs", [1, pytest.param(2, marks=pytest.mark.skipif(not FORK, reason="no fork"))]
)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_read_applications_reports_the_line_and_uses_the_others(jobs: int, as_bytes: bool) -> None:
    lines: list[Any] = file_lines()
    if as_bytes:
        lines = [line.encode() for line in lines]
    result = read_applications(lines, ORGANIZATION_OBJECTS, as_of=AS_OF_TIME, jobs=jobs)
    assert [a.number for a in result.applications] == ["1292583", "1292614"]
    assert (result.read, result.valid, result.invalid) == (5, 2, 3)
    assert [(e.line, e.number, [c for c, _ in e.errors]) for e in result.errors] == [
        (2, None, ["application.type"]),
        (4, None, ["application.type"]),
        (5, None, ["application.type"]),
    ]
    messages = [m for e in result.errors for _, m in e.errors]
    assert "the key 'number' is given twice" in messages[0]
    assert "the key 'language' is given twice" in messages[1]
    for clear in CLEAR:
        assert clear not in json.dumps([e.to_json() for e in result.errors], ensure_ascii=False)


@pytest.mark.parametrize(
    "jobs", [1, pytest.param(2, marks=pytest.mark.skipif(not FORK, reason="no fork"))]
)
def test_rank_applications_never_ranks_number_seven(jobs: int) -> None:
    lines = [line.encode() for line in file_lines()] * 300  # enough pieces for the workers
    ranking = rank_applications(lines, ORGANIZATION_OBJECTS, as_of=AS_OF_TIME, jobs=jobs)
    ranked = {number for _, numbers in ranking.queues for number in numbers}
    assert ranked == {"1292583", "1292614"}
    assert "7" not in ranked
    assert all(
        e.errors[0][0] in {"application.type", "queue.duplicate_number"} for e in ranking.errors
    )
    assert sum(e.errors[0][0] == "application.type" for e in ranking.errors) == 900


@pytest.fixture
def organizations_file(tmp_path: Path) -> Path:
    path = tmp_path / "organizations.json"
    path.write_text(json.dumps(ORGANIZATIONS, ensure_ascii=False), encoding="utf-8")
    return path


def rank(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(["rank", *argv, "--as-of", AS_OF])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_edqueue_rank_reports_the_line_and_exits_1(
    jobs: str, organizations_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applications_file = tmp_path / "applications.jsonl"
    applications_file.write_text("\n".join(file_lines()) + "\n", encoding="utf-8")
    status, out, err = rank(
        capsys,
        "--organizations",
        str(organizations_file),
        "--applications",
        str(applications_file),
        "--jobs",
        jobs,
    )
    assert status == 1
    numbers = {json.loads(line)["number"] for line in out.splitlines()}
    assert numbers == {"1292583", "1292614"}
    *errors, summary = [json.loads(line) for line in err.splitlines()]
    assert summary == {"summary": {"read": 5, "valid": 2, "invalid": 3}}
    assert [(e["line"], e["number"], e["errors"][0]["code"]) for e in errors] == [
        (2, None, "application.type"),
        (4, None, "application.type"),
        (5, None, "application.type"),
    ]
    assert "the key 'number' is given twice" in errors[0]["errors"][0]["message"]
    for clear in CLEAR:
        assert clear not in err


def organizations_with(key_twice: str) -> list[str]:
    """The organizations as a JSON array and as JSON Lines, with a key given twice: at the
    top of the first organization, or in its second group."""
    first, second = (json.dumps(o, ensure_ascii=False) for o in ORGANIZATIONS)
    if key_twice == "kind":
        first = first.replace('"kind": "state"', '"kind": "state", "kind": "private"', 1)
    else:
        assert key_twice == "free_places"
        group = json.dumps(ORGANIZATIONS[0]["groups"][1], ensure_ascii=False)
        first = first.replace(group, group[:-1] + ', "free_places": 25}')
    return [f"[{first}, {second}]", f"{first}\n{second}\n", f"\ufeff\n  [\n{first},\n{second}]"]


@pytest.mark.parametrize("key", ["kind", "free_places"])
def test_parse_organizations_refuses_a_key_given_twice(key: str) -> None:
    for given_as in organizations_with(key):
        error = refused(
            lambda given_as=given_as: parse_organizations(given_as), "organization.type"
        )
        assert isinstance(error, OrganizationError)
        assert f"the key {key!r} is given twice in one object" in error.message
    # where: the line of the JSON Lines, the line of the file for an array
    _, lines, array = organizations_with(key)
    assert refused(lambda: parse_organizations(lines), "organization.type").message.startswith(
        "line 1: the line: "
    )
    assert (
        "(line 3, column"
        in refused(lambda: parse_organizations(array), "organization.type").message
    )


def test_edqueue_rank_refuses_such_an_organizations_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    organizations_file = tmp_path / "organizations.json"
    organizations_file.write_text(organizations_with("kind")[0], encoding="utf-8")
    applications_file = tmp_path / "applications.jsonl"
    applications_file.write_text(VALID[0] + "\n", encoding="utf-8")
    status, out, err = rank(
        capsys, "--organizations", str(organizations_file), "--applications", str(applications_file)
    )
    assert (status, out) == (2, "")
    assert err.startswith("error [organization.type]: the array: the key 'kind' is given twice")


# --- a directory where a file is expected -----------------------------------------------------


def test_a_directory_is_unreadable_not_missing(
    organizations_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "city"
    folder.mkdir()
    for option, argv in (
        ("--organizations", ["--organizations", str(folder), "--applications", str(folder)]),
        (
            "--applications",
            ["--organizations", str(organizations_file), "--applications", str(folder)],
        ),
    ):
        status, out, err = rank(capsys, *argv)
        assert (status, out) == (2, "")
        assert err == (
            f"error [input.unreadable]: 'city', given to {option}, is a directory: give the "
            "path of the file in it\n"
        )


def test_a_missing_path_is_still_not_found(
    organizations_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for missing in (tmp_path / "nope.jsonl", organizations_file / "below-a-file.jsonl"):
        status, _, err = rank(
            capsys, "--organizations", str(organizations_file), "--applications", str(missing)
        )
        assert status == 2
        assert err.startswith("error [input.not_found]: no file ")
        assert err.endswith(" at the path given to --applications\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_unreadable(
    organizations_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    status, _, err = rank(
        capsys, "--organizations", str(organizations_file), "--applications", str(pipe)
    )
    assert status == 2
    assert err.startswith("error [input.unreadable]: 'pipe', given to --applications, is not a")


# --- the property --------------------------------------------------------------------------------


@given(
    application=applications(),
    data=st.data(),
)
def test_any_top_level_key_given_twice_is_refused(application: Application, data: Any) -> None:
    dumped = dump_application(application)
    line = json.dumps(dumped, ensure_ascii=False)
    assert parse_application(line) == application  # the line itself is accepted
    items = list(dumped.items())
    key = data.draw(st.sampled_from([k for k, _ in items]), label="key")
    value = data.draw(
        st.just(dumped[key]) | st.none() | st.integers() | st.text(max_size=5), label="value"
    )
    at = data.draw(st.integers(0, len(items)), label="at")
    twice = text([*items[:at], (key, value), *items[at:]])
    error = refused(lambda: parse_application(twice))
    assert f"the key {key!r} is given twice in one object" in error.message
    applicant, child = application.applicant, application.child
    for clear in (
        applicant.iin.reveal(),
        child.iin.reveal(),
        applicant.phone.reveal(),
        applicant.phone.reveal().removeprefix("+"),
        applicant.name.last,
        applicant.name.first,
        child.name.last,
        child.name.first,
    ):
        assert clear not in str(error)
    # the same through the reader of files: refused there too, and not ranked
    result = read_applications([twice], [], as_of=datetime(2024, 9, 2, tzinfo=KAZAKHSTAN))
    assert result.applications == ()
    assert [(e.number, e.errors[0][0]) for e in result.errors] == [(None, "application.type")]
