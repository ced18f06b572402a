"""What every schema shares: the models' configuration, and the note that names the JSON
field a domain error comes from (see :mod:`edqueue.schemas`)."""

from __future__ import annotations

from types import TracebackType
from typing import Literal

from pydantic import ConfigDict

from edqueue.errors import EdqueueError

_CONFIG = ConfigDict(extra="forbid", frozen=True)


_FIELD_NOTE = "field: "


class _field:  # noqa: N801 - used as a function: ``with _field("iin"): ...``
    """Name the JSON field a domain error comes from, in a note; its code and message stay.

    Nested uses build the path from the inside out: ``applicant`` around ``iin`` gives
    ``"field: applicant.iin"``. A class rather than a generator-based context manager: it
    wraps every field of every line of a national file, and costs a third as much.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        if isinstance(error, EdqueueError):
            notes: list[str] = getattr(error, "__notes__", [])
            for i, note in enumerate(notes):
                if note.startswith(_FIELD_NOTE):
                    inner = note.removeprefix(_FIELD_NOTE)
                    notes[i] = (
                        _FIELD_NOTE + self.name + ("" if inner.startswith("[") else ".") + inner
                    )
                    break
            else:
                error.add_note(_FIELD_NOTE + self.name)
        return False  # the error, if any, goes on
