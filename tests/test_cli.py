"""The command line: `edqueue demo` prints the seed's application; errors are one line."""

import subprocess
import sys

import pytest

from edqueue import cli
from edqueue.errors import IinError


def test_demo_prints_the_seed_application_masked(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Заявление #1292583" in out
    assert "2020 ГР русский" in out
    assert "2020 ГР казахский" in out
    assert 'КГКП ясли-сад "Салтанат"' in out
    assert "Карлыгаш" in out
    assert "Отсутствует" in out
    assert "Сразу, при появлении места" in out
    assert "UTC+0600" in out
    assert out.count("Позиция 1 из 1") == 2  # 05.02.2024 is before Kazakhstan moved to UTC+5
    assert "200623500011" not in out
    assert "+77010000001" not in out
    # the batch round: Saltanat's 2 places go to the benefit holder and the seed
    assert "Направление R-1: #1292583 в shakhtinsk-saltanat" in out
    assert "Направление R-2: #1292601 в shakhtinsk-saltanat" in out
    assert "все места (2) получили заявления выше в очереди" in out
    assert "Ожидает желаемой даты направления 01.09.2024" in out
    assert "#1292614: Оценка, не обещание" in out
    for clear in ("200314600018", "920505300017", "+77010000002"):
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
