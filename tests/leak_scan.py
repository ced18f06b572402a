"""Leak scan: the session fails if edqueue logs or raises an IIN or a phone number in clear.

The privacy requirement: IIN, names, phones and addresses never appear in clear in repr,
str, logs, exceptions or the CLI's error lines. This plugin (registered in
``tests/conftest.py``) watches the whole test suite and records, for each test:

* every log record of a logger under ``edqueue``, at DEBUG level and up: the message with
  its arguments, each field given with ``extra=``, and the exception it carries;
* every :class:`~edqueue.errors.EdqueueError` created: when the test ends (the plugin keeps
  the error alive until then, so notes added later count), its ``str``, ``repr``, notes and
  the causes Python shows with it;
* every line the command line (:func:`edqueue.cli.main`) writes on stderr.

When a test ends, its texts are searched for personal data in clear
(:func:`find_personal_data`). When the session ends, each text that had some makes the
session fail; the summary names the test, where the text came from (the error's class and
code, the logger, the CLI) and the text with the data replaced by ``<IIN>`` or ``<PHONE>``,
so the report itself never shows the data.

A test that leaks on purpose (only the scanner's own tests should) is marked
``@pytest.mark.leak_expected``: the texts recorded while it runs are not judged.

Not covered: names and addresses (no pattern tells them from other words), exceptions other
than ``EdqueueError`` that the library lets escape (tracing every raise would slow the suite
down), and the output of commands run in a subprocess.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import phonenumbers
import pytest

import edqueue.cli
from edqueue.errors import EdqueueError
from edqueue.models.identity import Iin, PhoneNumber

__all__ = ["MARKER", "Found", "Leak", "LeakScan", "find_personal_data", "redact"]

MARKER = "leak_expected"
OUTSIDE = "<outside any test>"
_SHOWN_PER_TEST = 5
_SHOWN_CHARS = 240

# --- finding personal data in a text ------------------------------------------------------------

_IIN_RUN = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
# ten national digits, grouped any way: up to two of space, dot, dash, parenthesis between two
_PHONE_RUN = re.compile(
    r"(?<![0-9+])"
    r"(?:(?P<prefix>\+[ \t\u00a0]*7|8|7)[ \t\u00a0.\-(]{0,2})?"
    r"(?P<national>\(?[0-9](?:[ \t\u00a0.\-()]{0,2}[0-9]){9})"
    r"(?![0-9])"
)


@dataclass(frozen=True, slots=True)
class Found:
    """Personal data in clear at ``text[start:end]``: ``kind`` is ``"IIN"`` or ``"PHONE"``."""

    kind: str
    start: int
    end: int


def _is_iin(digits: str) -> bool:
    """Twelve digits with a century digit 1-6 and the right check digit (any birth date)."""
    return digits[6] in "123456" and Iin.check_digit(digits[:11]) == int(digits[11])


def _is_phone(national: str, prefixed: bool) -> bool:
    """A number of the +7 zone (Kazakhstan or Russia) per libphonenumber.

    Written with its country or trunk prefix (``+7``, ``7``, ``8``), any valid number counts;
    as ten bare digits, only a Kazakhstan mobile number does (ten digits are common else).
    """
    number = phonenumbers.parse("+7" + national)
    if not phonenumbers.is_valid_number(number):
        return False
    if prefixed:
        return True
    return (
        phonenumbers.region_code_for_number(number) == "KZ"
        and phonenumbers.number_type(number) in PhoneNumber.MOBILE_TYPES
    )


def find_personal_data(text: str) -> list[Found]:
    """Every valid IIN (12 digits on their own) and every phone number written in clear.

    Phones are found in the spellings people use: ``+77011234567``, ``+7 701 123 45 67``,
    ``8 (701) 123-45-67``, ``+7 7172 12 34 56``, ``87011234567``, ``77011234567``,
    ``7011234567``. Masked forms
    (``2006******11``, ``+7 701 *** ** 67``) and 12-digit numbers that are not IINs are not
    personal data.
    """
    found = [
        Found("IIN", match.start(), match.end())
        for match in _IIN_RUN.finditer(text)
        if _is_iin(match.group())
    ]
    for match in _PHONE_RUN.finditer(text):
        national = re.sub(r"[^0-9]", "", match.group("national"))
        if _is_phone(national, prefixed=match.group("prefix") is not None):
            found.append(Found("PHONE", match.start(), match.end()))
    return sorted(found, key=lambda f: (f.start, f.end))


def redact(text: str, found: Sequence[Found] | None = None) -> str:
    """``text`` with each piece of personal data replaced by ``<IIN>`` or ``<PHONE>``."""
    pieces: list[str] = []
    at = 0
    for item in find_personal_data(text) if found is None else found:
        if item.start < at:  # overlaps the previous one, already replaced
            continue
        pieces += [text[at : item.start], f"<{item.kind}>"]
        at = item.end
    return "".join([*pieces, text[at:]])


# --- what the library says, recorded --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leak:
    """A text with personal data in clear: the test, the source, the text redacted."""

    test: str
    source: str
    text: str


def _label(error: EdqueueError) -> str:
    return f"{type(error).__name__} [{getattr(error, 'code', '?')}]"


def _shown_cause(error: BaseException) -> BaseException | None:
    """The exception Python shows before ``error`` in a traceback, as ``traceback`` does."""
    if error.__cause__ is not None:
        return error.__cause__
    return None if error.__suppress_context__ else error.__context__


def _exception_texts(error: BaseException, source: str) -> Iterator[tuple[str, str]]:
    """The last lines of a traceback of ``error`` and of each cause shown with it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = "".join(traceback.format_exception_only(type(current), current))
        yield f"{source} {type(current).__name__}", text.rstrip("\n")
        current = _shown_cause(current)


def _error_texts(error: EdqueueError) -> Iterator[tuple[str, str]]:
    label = _label(error)
    yield f"{label} str", str(error)
    yield f"{label} repr", repr(error)
    for note in getattr(error, "__notes__", ()):
        yield f"{label} note", str(note)
    cause = _shown_cause(error)
    if cause is not None:
        yield from _exception_texts(cause, f"{label} caused by")


_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class _LogRecorder(logging.Handler):
    def __init__(self, scan: LeakScan) -> None:
        super().__init__(logging.DEBUG)
        self._scan = scan

    def emit(self, record: logging.LogRecord) -> None:
        try:
            source = f"log {record.name} {record.levelname}"
            self._scan.record(source, record.getMessage())
            for key, value in vars(record).items():
                if key not in _RECORD_FIELDS:
                    self._scan.record(f"{source} extra {key}", repr(value))
            if record.exc_info and record.exc_info[1] is not None:
                for where, text in _exception_texts(record.exc_info[1], f"{source} exc_info"):
                    self._scan.record(where, text)
        except Exception:  # noqa: BLE001 - a handler reports its own failures, as logging's do
            self.handleError(record)


class _Tee:
    """A text stream that keeps a copy of what is written and passes it on."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.written: list[str] = []

    def write(self, text: str) -> int:
        self.written.append(text)
        return self.stream.write(text)

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


_MISSING = object()


class LeakScan:
    """The plugin object: records texts per test, scans them, reports at the end."""

    def __init__(self) -> None:
        self.test = OUTSIDE
        self.judged = True
        self.leaks: list[Leak] = []
        self.scanned = 0
        self.not_judged = 0
        self._pending: dict[tuple[str, str], None] = {}  # ordered, without repeats
        self._errors: list[EdqueueError] = []
        self._undo: list[Callable[[], None]] = []

    # recording

    def record(self, source: str, text: str) -> None:
        """Keep ``text`` to scan when the current test ends."""
        if text:
            self._pending.setdefault((source, text))

    def on_error(self, error: EdqueueError) -> None:
        """An error was made: keep it, to read when the test ends (its notes come later)."""
        self._errors.append(error)

    def flush(self) -> None:
        """Scan what the current test (or the time outside tests) recorded, then forget it."""
        errors, self._errors = self._errors, []
        for error in errors:
            for source, text in _error_texts(error):
                self.record(source, text)
        pending, self._pending = self._pending, {}
        if not self.judged:
            self.not_judged += len(pending)
            return
        self.scanned += len(pending)
        for source, text in pending:
            found = find_personal_data(text)
            if found:
                self.leaks.append(Leak(self.test, source, redact(text, found)))

    # installing the watches

    def _patch(self, owner: Any, name: str, new: Any) -> None:
        old = vars(owner).get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name)

        def undo() -> None:
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)

        setattr(owner, name, new)
        self._undo.append(undo)

    def install(self) -> None:
        """Watch errors, the ``edqueue`` loggers and the CLI's stderr."""
        scan = self
        make = EdqueueError.__init__

        @functools.wraps(make)
        def __init__(error: EdqueueError, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            make(error, *args, **kwargs)
            scan.on_error(error)

        run = edqueue.cli.main

        @functools.wraps(run)
        def main(argv: Sequence[str] | None = None) -> int:
            stream = sys.stderr
            tee = _Tee(stream)
            sys.stderr = tee
            try:
                return run(argv)
            finally:
                if sys.stderr is tee:
                    sys.stderr = stream
                for line in "".join(tee.written).splitlines():
                    scan.record("cli stderr", line)

        self._patch(EdqueueError, "__init__", __init__)
        self._patch(edqueue.cli, "main", main)

        logger = logging.getLogger("edqueue")
        handler = _LogRecorder(self)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)

        def unhook() -> None:
            logger.removeHandler(handler)
            logger.setLevel(level)

        self._undo.append(unhook)

    def uninstall(self) -> None:
        """Undo :meth:`install`, last change first."""
        while self._undo:
            self._undo.pop()()

    # pytest hooks

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.flush()  # what happened before this test, e.g. while collecting
        self.test = item.nodeid
        self.judged = item.get_closest_marker(MARKER) is None
        try:
            return (yield)
        finally:
            self.flush()
            self.test, self.judged = OUTSIDE, True

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.flush()
        if self.leaks and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        not_judged = (
            f"; {self.not_judged} texts of tests marked {MARKER} not judged"
            if self.not_judged
            else ""
        )
        if not self.leaks:
            write(
                f"leak scan: no IIN or phone number in clear in {self.scanned} texts "
                f"(errors, notes, log records, CLI stderr lines){not_judged}"
            )
            return
        terminalreporter.write_sep("=", "personal data in clear (leak scan)", red=True)
        by_test: dict[str, list[Leak]] = {}
        for leak in self.leaks:
            by_test.setdefault(leak.test, []).append(leak)
        for test, leaks in by_test.items():
            write(test)
            for leak in leaks[:_SHOWN_PER_TEST]:
                text = leak.text if len(leak.text) <= _SHOWN_CHARS else leak.text[:_SHOWN_CHARS]
                write(f"  {leak.source}: {text!r}")
            if len(leaks) > _SHOWN_PER_TEST:
                write(f"  ... and {len(leaks) - _SHOWN_PER_TEST} more")
        write(
            f"leak scan: {len(self.leaks)} texts with personal data in clear, from "
            f"{len(by_test)} test(s), in {self.scanned} texts scanned{not_judged}; "
            "the session fails",
            red=True,
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: this test puts personal data in clear into an error, a log record or "
        "the CLI's stderr on purpose; the leak scan does not judge its texts",
    )
    scan = LeakScan()
    scan.install()
    config.pluginmanager.register(scan, "leak-scan")


def pytest_unconfigure(config: pytest.Config) -> None:
    scan = config.pluginmanager.get_plugin("leak-scan")
    if isinstance(scan, LeakScan):
        scan.uninstall()
        config.pluginmanager.unregister(scan)
