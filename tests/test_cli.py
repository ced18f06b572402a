"""The command line on files written by hand from the interchange format's description."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edqueue import cli
from edqueue.errors import IinError

AS_OF = "2024-09-02T09:00:00+05:00"

ORGANIZATIONS = [
    {
        "id": "shakhtinsk-saltanat",
        "name": 'КГКП ясли-сад "Салтанат"',
        "kind": "state",
        "locality": "г. Шахтинск",
        "address": "город Шахтинск, улица Имени 40-летия Победы, здание 50/2",
        "location": [49.7116, 72.5925],
        "groups": [
            {
                "birth_year": 2020,
                "language": "ru",
                "queue": "general",
                "places": 25,
                "free_places": 2,
            },
            {
                "birth_year": 2020,
                "language": "kk",
                "queue": "general",
                "places": 25,
                "free_places": 0,
            },
        ],
    },
    {
        "id": "shakhtinsk-karlygash",
        "name": 'КГКП "Ясли-сад "Карлыгаш"',
        "kind": "state",
        "locality": "г. Шахтинск",
        "address": "город Шахтинск, улица Ленинградская, здание 69 А",
        "location": [49.7068, 72.6003],
        "groups": [
            {
                "birth_year": 2020,
                "language": "kk",
                "queue": "general",
                "places": 25,
                "free_places": 0,
            },
        ],
    },
]

SALTANAT_RU = {"organization": "shakhtinsk-saltanat", "language": "ru"}
KARLYGASH_KK = {"organization": "shakhtinsk-karlygash", "language": "kk"}


def application(
    number: str,
    submitted_at: str,
    applicant_iin: str,
    child_iin: str,
    born: str,
    choices: list[dict[str, str]],
    *,
    referral: dict[str, str] | None = None,
    benefit: dict[str, object] | None = None,
) -> str:
    return json.dumps(
        {
            "number": number,
            "submitted_at": submitted_at,
            "applicant": {
                "iin": applicant_iin,
                "name": "Ахметова Айгуль Серикқызы",
                "phone": "+77010000001",
            },
            "child": {"iin": child_iin, "name": "Ахметов Алихан Ержанұлы", "birth_date": born},
            "queue": "general",
            "choices": choices,
            "referral": referral or {"when": "immediately"},
            "benefit": benefit,
        },
        ensure_ascii=False,
    )


VALID = [
    application(
        "1292583",
        "2024-02-05T10:15:00+06:00",
        "900315400017",
        "200623500011",
        "2020-06-23",
        [SALTANAT_RU, KARLYGASH_KK],
    ),
    application(
        "1292601",
        "2024-02-06T11:00:00+06:00",
        "920505300017",
        "200314600018",
        "2020-03-14",
        [SALTANAT_RU],
        benefit={"category": 8, "status": "verified"},
    ),
    application(
        "1292614",
        "2024-02-07T09:30:00+06:00",
        "881120400013",
        "200902500018",
        "2020-09-02",
        [SALTANAT_RU],
    ),
    application(
        "1292620",
        "2024-02-08T16:45:00+06:00",
        "950707400017",
        "200128600017",
        "2020-01-28",
        [KARLYGASH_KK, SALTANAT_RU],
        referral={"when": "from", "date": "2024-12-01"},
    ),
]

BROKEN = [
    # a bad IIN check digit
    application(
        "1292630",
        "2024-02-09T10:00:00+06:00",
        "900315400017",
        "200623500012",
        "2020-06-23",
        [SALTANAT_RU],
    ),
    # an unknown organization
    application(
        "1292631",
        "2024-02-09T10:00:00+06:00",
        "900315400017",
        "200623500011",
        "2020-06-23",
        [{"organization": "shakhtinsk-nowhere", "language": "ru"}],
    ),
    # six choices
    application(
        "1292632",
        "2024-02-09T10:00:00+06:00",
        "900315400017",
        "200623500011",
        "2020-06-23",
        [{"organization": f"kg-{i}", "language": "ru"} for i in range(6)],
    ),
    # a time without its zone
    application(
        "1292633",
        "2024-02-09T10:00:00",
        "900315400017",
        "200623500011",
        "2020-06-23",
        [SALTANAT_RU],
    ),
    "{not json",
]


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    organizations = tmp_path / "organizations.json"
    organizations.write_text(json.dumps(ORGANIZATIONS, ensure_ascii=False), encoding="utf-8")
    applications = tmp_path / "applications.jsonl"
    lines = [
        VALID[0],
        BROKEN[0],
        VALID[1],
        BROKEN[1],
        "",
        VALID[2],
        BROKEN[2],
        VALID[3],
        BROKEN[3],
        BROKEN[4],
    ]
    applications.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [
        "--organizations",
        str(organizations),
        "--applications",
        str(applications),
        "--as-of",
        AS_OF,
    ]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], list[dict]]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    err = [json.loads(line) for line in captured.err.splitlines()]
    return status, out, err


def test_rank_orders_every_queue_and_reports_every_broken_line(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "rank", *files)
    assert status == 1
    assert [(o["organization"], o["language"], o["position"], o["number"]) for o in out] == [
        ("shakhtinsk-karlygash", "kk", 1, "1292583"),
        ("shakhtinsk-karlygash", "kk", 2, "1292620"),
        ("shakhtinsk-saltanat", "ru", 1, "1292601"),  # a verified first-priority benefit
        ("shakhtinsk-saltanat", "ru", 2, "1292583"),
        ("shakhtinsk-saltanat", "ru", 3, "1292614"),
        ("shakhtinsk-saltanat", "ru", 4, "1292620"),
    ]
    assert all((o["birth_year"], o["queue"]) == (2020, "general") for o in out)
    *errors, summary = err
    assert summary == {"summary": {"read": 9, "valid": 4, "invalid": 5}}
    assert [(e["line"], e["number"], e["errors"][0]["code"]) for e in errors] == [
        (2, "1292630", "iin.checksum"),
        (4, "1292631", "eligibility.unknown_organization"),
        (7, "1292632", "application.too_many_organizations"),
        (9, "1292633", "application.type"),
        (10, None, "application.type"),
    ]
    stderr = json.dumps(err, ensure_ascii=False)
    for clear in ("900315400017", "200623500011", "+77010000001", "Ахметова"):
        assert clear not in stderr


def test_allocate_gives_the_free_places_and_says_why_not(
    files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "allocate", *files)
    assert status == 1
    by_number = {o["number"]: o for o in out}
    assert by_number["1292601"] == {
        "number": "1292601",
        "organization": "shakhtinsk-saltanat",
        "birth_year": 2020,
        "language": "ru",
        "queue": "general",
        "choice": 1,
    }
    assert by_number["1292583"]["organization"] == "shakhtinsk-saltanat"
    assert by_number["1292614"]["organization"] is None
    assert "all 2 place(s) went to applications ranked higher" in by_number["1292614"]["reason"]
    assert by_number["1292620"] == {
        "number": "1292620",
        "organization": None,
        "reason": "Waits for the desired referral date 01.12.2024",
    }


def test_position_and_explain(files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "position", "1292583", *files)
    assert status == 1  # the file has broken lines
    assert [(o["organization"], o["position"], o["length"]) for o in out] == [
        ("shakhtinsk-saltanat", 2, 4),
        ("shakhtinsk-karlygash", 1, 2),
    ]
    _, out, _ = run(capsys, "explain", "1292583", "--language", "ru", *files)
    assert out[0]["reasons"][0] == "Позиция 2 из 4"
    status, _, err = run(capsys, "position", "999", *files)
    assert status == 1
    [unknown] = [e for e in err if e.get("number") == "999"]
    assert unknown["errors"][0]["code"] == "queue.unknown_application"


def test_a_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    organizations = tmp_path / "o.json"
    organizations.write_text(json.dumps(ORGANIZATIONS, ensure_ascii=False), encoding="utf-8")
    applications = tmp_path / "a.jsonl"
    applications.write_text("\n".join(VALID), encoding="utf-8")
    status, out, err = run(
        capsys,
        "rank",
        "--organizations",
        str(organizations),
        "--applications",
        str(applications),
        "--as-of",
        AS_OF,
    )
    assert (status, len(out)) == (0, 6)
    assert err == [{"summary": {"read": 4, "valid": 4, "invalid": 0}}]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--as-of", "2024-09-02T09:00:00"], "input.argument"),
        (["--as-of", "yesterday"], "input.argument"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    files: list[str], argv: list[str], code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["rank", *files[:4], *argv]) == 2
    assert capsys.readouterr().err.startswith(f"error [{code}]: ")


def test_a_missing_file_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rank", "--organizations", "nope.json", "--applications", "x"]) == 2
    assert capsys.readouterr().err.startswith("error [input.not_found]: ")


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema", "applications"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "number" in schema["properties"]
    assert cli.main(["schema"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"organization", "application"}


def test_demo_walks_the_whole_flow_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for step in ("Шаг 0.", "Шаг 1.", "Шаг 2.", "Шаг 3.", "Шаг 4.", "Шаг 5."):
        assert step in out
    assert "Заявлению присвоен номер: #1292583" in out
    assert "| ЗАЯВЛЕНИЕ" in out
    assert "Очереди: 2020 ГР русский" in out
    assert "Позиция 1 из 1" in out
    assert "Направление R-1: #1292601" in out  # the benefit holder first
    assert "стоп-лист до" in out
    assert "#1292583 зачислен" in out
    assert "все места" in out or "направление, место 1 из 1" in out
    assert "Оценка, не обещание" in out
    for clear in ("900315400017", "200623500011", "+77010000001", "Ахметова", "Алихан"):
        assert clear not in out


def test_errors_are_one_line_with_the_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_: object) -> int:
        raise IinError("iin.checksum", "the IIN's check digit does not match")

    monkeypatch.setattr(cli, "_demo", broken)
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == "error [iin.checksum]: the IIN's check digit does not match\n"


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edqueue.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("edqueue ")


def test_generate_writes_a_city_that_ranks_and_allocates_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "generate",
        "--applications",
        "400",
        "--organizations",
        "8",
        "--seed",
        "7",
        "--as-of",
        AS_OF,
        "--output",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    written = json.loads(capsys.readouterr().out)
    files = [
        "--organizations",
        written["organizations"],
        "--applications",
        written["applications"],
        "--as-of",
        AS_OF,
    ]
    status, out, err = run(capsys, "rank", *files)
    assert status == 0
    assert err == [{"summary": {"read": 400, "valid": 400, "invalid": 0}}]
    assert len({o["number"] for o in out}) == 400  # every application stands somewhere
    status, out, _ = run(capsys, "allocate", *files)
    assert status == 0
    referred = [o for o in out if o["organization"] is not None]
    assert referred  # the city has free places, and someone gets each
    assert all(o["reason"] for o in out if o["organization"] is None)


def test_on_a_terminal_position_is_a_table(
    files: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert cli.main(["position", "1292583", *files]) == 1
    out = capsys.readouterr().out
    assert "1292583" in out
    assert "┃" in out  # a table's border, not JSON
    assert not out.lstrip().startswith("{")


def test_the_progress_bar_reads_every_line(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(f'{{"n": {i}}}\n'.encode() for i in range(1000)))
    assert list(cli._lines(path, progress=True)) == list(cli._lines(path, progress=False))
    assert len(list(cli._lines(path, progress=True))) == 1000


def test_a_closed_pipe_ends_the_output_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away, like `edqueue demo | head -1`
    with os.fdopen(write_end, "w", buffering=1, encoding="utf-8") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert cli.main(["demo"]) == 0  # no BrokenPipeError escapes


def test_a_byte_order_mark_at_the_start_of_the_file_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    organizations = tmp_path / "o.json"
    organizations.write_text(json.dumps(ORGANIZATIONS, ensure_ascii=False), encoding="utf-8")
    applications = tmp_path / "a.jsonl"
    applications.write_text("\n".join(VALID), encoding="utf-8-sig")  # starts with a BOM
    status, out, err = run(
        capsys,
        "rank",
        "--organizations",
        str(organizations),
        "--applications",
        str(applications),
        "--as-of",
        AS_OF,
    )
    assert status == 0
    assert err == [{"summary": {"read": 4, "valid": 4, "invalid": 0}}]
    assert len(out) == 6


def test_purge_deletes_the_expired_drafts_of_an_sqlite_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta

    from edqueue import KAZAKHSTAN
    from edqueue.adapters.sqlite import SqliteStore

    path = tmp_path / "q.sqlite3"
    now = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
    with SqliteStore(path) as store:
        store.save("old", {"step": 1}, expires_at=now - timedelta(minutes=1))
        store.save("fresh", {"step": 1}, expires_at=now + timedelta(hours=1))
        store.save("before-expiry", {"step": 1})  # written by an edqueue before drafts expired
    status, out, _ = run(capsys, "purge", "--database", str(path), "--as-of", now.isoformat())
    assert (status, out) == (0, [{"drafts_deleted": 2}])
    with SqliteStore(path) as store:
        assert [store.load(d) is None for d in ("old", "fresh", "before-expiry")] == [
            True,
            False,
            True,
        ]
    status = cli.main(["purge", "--database", str(tmp_path / "missing.sqlite3")])
    assert status == 2
    assert "input.not_found" in capsys.readouterr().err
