"""An atheris (libFuzzer) target: any bytes to every reader of outside data.

Each input goes to :func:`~edqueue.schemas.parse_application` (as bytes and as text),
:func:`~edqueue.schemas.parse_organizations`, :class:`~edqueue.models.Iin` and
:class:`~edqueue.models.PhoneNumber` (text, decoded with ``errors="replace"``), and to
:func:`~edqueue.interchange.read_applications` (its lines, as the CLI gives them), whose
valid applications are then ranked as ``edqueue rank`` does. An
:class:`~edqueue.errors.EdqueueError` is a right answer; any other exception is a crash, and
an input that takes longer than ``-timeout`` seconds (10 unless given) a hang: libFuzzer
stops and writes the input into ``fuzz/artifacts/``. Inputs are up to ``-max_len`` bytes
(8192 unless given).

    .venv/bin/python fuzz/fuzz_parse.py -max_total_time=60

With no corpus directory given, new inputs go to ``fuzz/corpus/`` and the run starts from
them and from ``fuzz/seeds/`` (the seed's line, the issue's line, organizations, an IIN, a
phone number), with the dictionary ``fuzz/edqueue.dict`` (JSON syntax, the format's keys
and values). Any libFuzzer flag may be given (``-help=1`` lists them). See fuzz/README.md.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["edqueue", "phonenumbers"]):
    from edqueue.errors import EdqueueError
    from edqueue.interchange import build_book, rank_lines, read_applications
    from edqueue.models import KAZAKHSTAN, Iin, PhoneNumber
    from edqueue.sample import shakhtinsk_organizations
    from edqueue.schemas import parse_application, parse_organizations

HERE = Path(__file__).resolve().parent
ORGANIZATIONS = shakhtinsk_organizations()
AS_OF = datetime(2024, 9, 2, 9, 0, tzinfo=KAZAKHSTAN)


def _read_and_rank(data: bytes) -> None:
    result = read_applications(data.splitlines(keepends=True), ORGANIZATIONS, as_of=AS_OF)
    for _ in rank_lines(build_book(result.applications, ORGANIZATIONS)):
        pass


def test_one_input(data: bytes) -> None:
    """Feed ``data`` to each reader; let anything but an EdqueueError escape."""
    text = data.decode("utf-8", errors="replace")
    for attempt in (
        lambda: parse_application(data),
        lambda: parse_application(text),
        lambda: parse_organizations(text),
        lambda: Iin(text),
        lambda: PhoneNumber(text),
        lambda: _read_and_rank(data),
    ):
        with contextlib.suppress(EdqueueError):
            attempt()


def _arguments(argv: list[str]) -> list[str]:
    """libFuzzer's arguments, with this directory's corpus, seeds, dictionary, artifacts,
    a 10-second timeout and inputs of up to 8 KB unless the command line gives its own."""
    flags = [a for a in argv[1:] if a.startswith("-")]
    given = {flag.split("=", 1)[0] for flag in flags}
    defaults = {
        "-dict": str(HERE / "edqueue.dict"),
        "-timeout": "10",
        "-max_len": "8192",  # longer than any seed, long enough for a slow pattern to show
        "-artifact_prefix": f"{HERE / 'artifacts'}/",
    }
    arguments = [argv[0], *argv[1:]]
    arguments += [f"{flag}={value}" for flag, value in defaults.items() if flag not in given]
    if "-artifact_prefix" not in given:
        (HERE / "artifacts").mkdir(exist_ok=True)
    if len(flags) == len(argv) - 1:  # no corpus directory given
        (HERE / "corpus").mkdir(exist_ok=True)
        arguments += [str(HERE / "corpus"), str(HERE / "seeds")]
    return arguments


def main() -> None:
    atheris.Setup(_arguments(sys.argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
