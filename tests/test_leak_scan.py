"""The leak scan finds personal data in clear, ignores masked forms, and fails a session."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import edqueue.cli
from edqueue import EdqueueError, Iin, PhoneNumber
from edqueue.testing import iins, mobile_numbers, phone_spellings
from tests.leak_scan import find_personal_data, redact

pytest_plugins = ["pytester"]

IIN = "200623500011"  # valid: the demo child's
PHONE = "+77010000001"  # valid Kazakhstan mobile


def kinds(text: str) -> list[str]:
    return [found.kind for found in find_personal_data(text)]


# --- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        IIN,
        f"IIN {IIN} is taken",
        f"iin={IIN};",
        f"ИИН:{IIN}.",
        f"child {IIN}\nnext line",
        f'{{"iin": "{IIN}"}}',
    ],
)
def test_a_valid_iin_in_clear_is_found(text: str) -> None:
    assert kinds(text) == ["IIN"]
    assert IIN not in redact(text)
    assert "<IIN>" in redact(text)


@given(iins(), st.sampled_from(["{}", "IIN {} ", "#{}#", "'{}'"]))
def test_every_valid_iin_is_found(iin: Iin, context: str) -> None:
    text = context.format(iin.reveal())
    assert kinds(text) == ["IIN"]
    assert iin.reveal() not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "200623500012",  # wrong check digit
        "200623700011",  # 7th digit 7: no century
        "20062350001",  # 11 digits
        "2006235000111",  # 13 digits: not an IIN on its own
        "1" + IIN,
        "2006******11",  # masked
        "Iin('2006******11')",
        "123456789012",  # not an IIN: check digit 9 expected
        "application #1292583 on 2026-11-25",
    ],
)
def test_what_is_not_an_iin_in_clear_is_not_found(text: str) -> None:
    assert kinds(text) == []
    assert redact(text) == text


@given(mobile_numbers().flatmap(lambda n: st.tuples(st.just(n), phone_spellings(n))))
def test_every_spelling_of_a_mobile_number_is_found(spelled: tuple[PhoneNumber, str]) -> None:
    number, spelling = spelled
    text = f"code sent to {spelling}, try again"
    assert kinds(text) == ["PHONE"]
    shown = redact(text)
    assert "<PHONE>" in shown
    assert number.reveal()[-7:] not in re.sub(r"\D", "", shown)  # no subscriber digits


@pytest.mark.parametrize(
    "text",
    [
        "+7 916 123 45 67",  # Russia: still a phone number
        "+7 7172 12 34 56",  # an Astana landline
        "8 (7172) 12-34-56",
        "+7 (701) 000 0001",
        "8 (916) 123-45-67",
        "tel.+77010000001",
        "7 701 000 00 01",
    ],
)
def test_prefixed_numbers_of_the_7_zone_are_found(text: str) -> None:
    assert kinds(text) == ["PHONE"]


@pytest.mark.parametrize(
    "text",
    [
        "+7 701 *** ** 01",  # masked
        "PhoneNumber('+7 701 *** ** 67')",
        "write it as +7 7XX XXX XX XX or 8 7XX XXX XX XX",
        "9161234567",  # ten bare digits: only a Kazakhstan mobile counts
        "1234567890",
        "+7 000 000 00 00",  # no such number
        "application #1292583, line 12, 2026-11-25T09:00+05:00",
        "77010000001234",  # a longer number
    ],
)
def test_what_is_not_a_phone_in_clear_is_not_found(text: str) -> None:
    assert kinds(text) == []


def test_redact_replaces_each_piece_and_keeps_the_rest() -> None:
    text = f"IIN {IIN}, phone 8 (701) 000-00-01; again {IIN}"
    assert redact(text) == "IIN <IIN>, phone <PHONE>; again <IIN>"


# --- the plugin in a session of its own ------------------------------------------------------

# The inner tests build the data at run time, so no clear value is in their source.
LEAKING_SUITE = f"""
import logging
import sys

import pytest

from edqueue import cli
from edqueue.errors import FlowError, IinError, PhoneError

IIN = "{IIN[:6]}" + "{IIN[6:]}"
PHONE = "{PHONE[:5]}" + "{PHONE[5:]}"


def test_error_message():
    with pytest.raises(IinError):
        raise IinError("iin.checksum", f"IIN {{IIN}} has a typo")


def test_note():
    error = PhoneError("phone.format", "not a phone number")
    error.add_note("given: " + PHONE)


def test_note_rewritten_in_place():
    try:
        error = FlowError("flow.step", "no such step")
        error.add_note("field: x")
        raise error
    except FlowError as error:
        error.__notes__[0] = "field: " + IIN
        assert error.__notes__


def test_log_record():
    logging.getLogger("edqueue.service").debug("code sent to %s", PHONE[:2] + " " + PHONE[2:])


def test_log_extra():
    logging.getLogger("edqueue").info("applicant found", extra={{"who": IIN}})


def test_cli_stderr(monkeypatch):
    def broken(_):
        sys.stderr.write("no applicant " + IIN + "\\n")
        return 2

    monkeypatch.setattr(cli, "_demo", broken)
    assert cli.main(["demo"]) == 2


@pytest.mark.leak_expected
def test_allowed():
    IinError("iin.checksum", "allowed " + IIN)


def test_clean():
    IinError("iin.checksum", "the IIN's check digit does not match")
"""

CLEAN_SUITE = """
import logging

import pytest

from edqueue import Iin, PhoneNumber, cli
from edqueue.errors import IinError, PhoneError


def test_masked_everywhere(capsys):
    iin = Iin("2006" + "23500011")
    phone = PhoneNumber("+7701" + "0000001")
    logging.getLogger("edqueue").warning("child %r, phone %s", iin, phone)
    with pytest.raises(PhoneError):
        PhoneNumber("+7701" + "00")
    with pytest.raises(IinError):
        Iin("2006" + "23500012")
    assert cli.main(["rank", "--organizations", "nope.json", "--applications", "x"]) == 2
    assert capsys.readouterr().err.startswith("error [input.not_found]")
"""


def run_inner(pytester: pytest.Pytester, suite: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=suite)
    return pytester.runpytest("-p", "tests.leak_scan", "-p", "no:cacheprovider", "--strict-markers")


@pytest.mark.leak_expected  # the inner suite leaks, and it runs in this process
def test_a_session_with_leaks_fails_and_names_them_redacted(pytester: pytest.Pytester) -> None:
    main, init = edqueue.cli.main, vars(EdqueueError)["__init__"]
    result = run_inner(pytester, LEAKING_SUITE)

    result.assert_outcomes(passed=8)  # every test passes; the scan fails the session
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = result.stdout.str()
    assert "personal data in clear (leak scan)" in report
    for test, source, shown in [
        ("test_error_message", "IinError [iin.checksum] str", "IIN <IIN> has a typo"),
        ("test_error_message", "IinError [iin.checksum] repr", "IIN <IIN> has a typo"),
        ("test_note", "PhoneError [phone.format] note", "given: <PHONE>"),
        ("test_note_rewritten_in_place", "FlowError [flow.step] note", "field: <IIN>"),
        ("test_log_record", "log edqueue.service DEBUG", "code sent to <PHONE>"),
        ("test_log_extra", "log edqueue INFO extra who", "'<IIN>'"),
        ("test_cli_stderr", "cli stderr", "no applicant <IIN>"),
    ]:
        block = report.split(f"test_inner.py::{test}\n", 1)[1]
        assert re.search(rf"^  {re.escape(source)}: .*{re.escape(shown)}", block, re.M), test
    assert "test_inner.py::test_allowed" not in report
    assert "test_inner.py::test_clean" not in report
    assert "leak scan: 7 texts with personal data in clear, from 6 test(s)" in report
    assert "texts of tests marked leak_expected not judged" in report
    for clear in (IIN, PHONE, PHONE[2:], "+7 7010000001"):
        assert clear not in report
        assert clear not in result.stderr.str()
    # the inner session put back what it wrapped
    assert edqueue.cli.main is main
    assert vars(EdqueueError)["__init__"] is init


def test_a_session_without_leaks_passes(pytester: pytest.Pytester) -> None:
    result = run_inner(pytester, CLEAN_SUITE)

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["leak scan: no IIN or phone number in clear in * texts *"])
    scanned = re.search(r"in clear in (\d+) texts", result.stdout.str())
    assert scanned is not None
    assert int(scanned.group(1)) >= 6  # two errors' str and repr, a log record, a CLI line
    assert "personal data in clear (leak scan)" not in result.stdout.str()
