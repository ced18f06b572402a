"""Reading and writing JSON text: one strict parse of each schema, duplicate keys refused,
every failure of shape an :class:`~edqueue.errors.EdqueueError` that names fields, never
values (see :mod:`edqueue.schemas`)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import jiter
import pydantic
from pydantic import TypeAdapter

from edqueue.errors import ApplicationError, EdqueueError, OrganizationError
from edqueue.models import Application, Organization
from edqueue.schemas._applications import _NAME_TAGS, ApplicationSchema, _Made
from edqueue.schemas._organizations import OrganizationSchema

_T = TypeVar("_T")


_SAFE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}", re.ASCII)
_MAX_PROBLEMS = 8
_ADVICE = "edqueue.schemas.json_schema() describes every field"


def _path(loc: tuple[int | str, ...]) -> str:
    """``("choices", 0, "language")`` as ``choices[0].language``; keys that are not
    identifiers (they may be personal data) as ``<key>``."""
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif previous == "name" and part in _NAME_TAGS:
            continue
        else:
            text += ("." if text else "") + (part if _SAFE_KEY.fullmatch(part) else "<key>")
        previous = part
    return text


def _problem(error: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "missing":
        return "required; add it"
    if kind == "extra_forbidden":
        return "not a field of this format; remove it or correct its spelling"
    if kind == "timezone_aware":
        return "no UTC offset; write the time like 2026-11-20T10:15:00+05:00"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be a JSON object"
    if kind == "json_invalid":
        return "not valid JSON: " + str(msg).removeprefix("Invalid JSON: ")
    if kind == "string_unicode":
        return "not valid UTF-8 text"
    return f"{msg}".rstrip(".")


def _shape_message(
    error: pydantic.ValidationError, what: str, where: str = "", shape: str = "one JSON object"
) -> str:
    """A message built from each error's location and kind only, never from the input."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    parts = []
    for problem in problems[:_MAX_PROBLEMS]:
        path = _path(tuple(problem["loc"]))
        parts.append(f"{path or what}: {_problem(problem)}")
    if len(problems) > _MAX_PROBLEMS:
        parts.append(f"and {len(problems) - _MAX_PROBLEMS} more")
    if all(not problem["loc"] for problem in problems):
        advice = f"Give {what} as {shape}"
    else:
        advice = f"Correct the fields named ({_ADVICE})"
    return f"{where}{'; '.join(parts)}. {advice}"


def _json_text(data: Mapping[str, Any], what: str, error: Callable[[str], EdqueueError]) -> str:
    try:
        return json.dumps(dict(data), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        raise error(
            f"{what} must hold only JSON values (objects, arrays, strings, numbers, true, "
            "false, null), as json.loads returns them"
        ) from None


def _application_error(message: str) -> EdqueueError:
    return ApplicationError("application.type", message)


def _organization_error(message: str) -> EdqueueError:
    return OrganizationError("organization.type", message)


_ONCE = "Give each key once: JSON readers differ on which of two values counts"
_DUPLICATE_KEY = re.compile(r'Detected duplicate key "(.*)" at line (\d+) column (\d+)', re.DOTALL)


class _DuplicateKeyError(ValueError):
    """JSON text in which one object gives a key twice: the first such key in the text, and
    where jiter met it (line and column of the text, 1-based)."""

    def __init__(self, key: str, line: int, column: int) -> None:
        super().__init__(key, line, column)
        self.key, self.line, self.column = key, line, column

    def describe(self) -> str:
        """The problem, naming the key only if it is a plain name (never a value)."""
        named = f"the key {self.key!r}" if _SAFE_KEY.fullmatch(self.key) else "a key"
        at = f"column {self.column}"
        if self.line > 1:
            at = f"line {self.line}, {at}"
        return f"{named} is given twice in one object ({at})"


def _strict_json(text: str | bytes) -> Any:
    """The value of JSON text, refusing any object, at any depth, that gives a key twice.

    Raises :class:`_DuplicateKeyError` for the first key given twice in the text, and
    ``ValueError`` for text that is not JSON (or UTF-8). The one check of duplicate keys:
    every reading of JSON text calls it once, on the whole text, before pydantic's parse
    (which, like ``json.loads``, keeps the last value). About 3 µs for a 700-byte line.
    jiter caches no string (``cache_mode="none"``), so no value read stays in its cache.
    """
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return jiter.from_json(data, catch_duplicate_keys=True, cache_mode="none")
    except ValueError as error:
        found = _DUPLICATE_KEY.fullmatch(str(error))
        if found is None:
            raise
        key, line, column = found.groups()
        raise _DuplicateKeyError(key, int(line), int(column)) from None


def _read_json(
    validate: Callable[[str | bytes], _T],
    text: str | bytes,
    what: str,
    error: Callable[[str], EdqueueError],
    where: str = "",
    shape: str = "one JSON object",
    *,
    keys_unique: bool = False,
) -> _T:
    """``validate(text)`` (pydantic's strict parse of one schema), after :func:`_strict_json`
    (skipped when ``keys_unique``: text edqueue wrote itself from a mapping). Every failure of
    shape is ``error(message)``, its message naming fields and keys, never values: a key given
    twice first; else whatever pydantic finds (bad JSON, a missing field, ...)."""
    not_json = False
    if not keys_unique:
        try:
            _strict_json(text)
        except _DuplicateKeyError as duplicate:
            message = f"{where}{what}: {duplicate.describe()}. {_ONCE}"
            raise error(message) from None
        except ValueError:
            not_json = True  # pydantic's parse, next, says where and why
    try:
        value = validate(text)
    except pydantic.ValidationError as problem:
        raise error(_shape_message(problem, what, where, shape)) from None
    if not_json:  # never seen (pydantic reads JSON with jiter too), but never let it through
        raise error(f"{where}{what}: not valid JSON. Give {what} as {shape}")
    return value


_APPLICATION_JSON = functools.partial(ApplicationSchema.model_validate_json, strict=True)
_ORGANIZATION_JSON = functools.partial(OrganizationSchema.model_validate_json, strict=True)


def parse_application(line: str | bytes | Mapping[str, Any]) -> Application:
    """Read one application: a JSON Lines line (text or UTF-8 bytes), or its decoded object.

    Raises :class:`~edqueue.errors.ApplicationError` (``application.type``) for a wrong shape
    (a key given twice in one object of the text included) and the domain's own error for a
    broken rule (see the module's docstring).
    """
    mapping = isinstance(line, Mapping)
    if isinstance(line, Mapping):
        line = _json_text(line, "the application", _application_error)
    elif not isinstance(line, str | bytes):
        raise _application_error(
            f"an application is a JSON text or object, not {type(line).__name__}"
        )
    schema = _read_json(
        _APPLICATION_JSON, line, "the application", _application_error, keys_unique=mapping
    )
    return schema.to_domain()


def read_application(line: str | bytes, made: _Made) -> Application:
    """:func:`parse_application` for one line of a file read as a whole: the same record, or
    the same error. ``made`` is a dict the reader keeps while it reads that file (and drops
    with it): an applicant's phone number or a name met again (a family's second child, a
    common name) is then one shared record instead of being checked again. It holds only
    records made from that file's lines and lives no longer than the read, so it keeps no
    register of personal data (no cache of edqueue's own holds a phone number or a name)."""
    schema = _read_json(_APPLICATION_JSON, line, "the application", _application_error)
    return schema._to_domain(made)


def load_application(data: Mapping[str, Any]) -> Application:
    """Read an application stored by :func:`dump_application`, every field included.

    The SQLite adapter's reader; the same checks and errors as :func:`parse_application`.
    """
    return parse_application(data)


def dump_application(application: Application) -> dict[str, Any]:
    """The JSON form of ``application`` with every field (``json.dumps`` takes it as is).

    Personal data is in clear: the result is for files and stores, never for logs.
    """
    data: dict[str, Any] = ApplicationSchema.from_domain(application).model_dump(mode="json")
    return data


def dump_organization(organization: Organization) -> dict[str, Any]:
    """The JSON form of ``organization`` with every field (``json.dumps`` takes it as is)."""
    data: dict[str, Any] = OrganizationSchema.from_domain(organization).model_dump(mode="json")
    return data


_ORGANIZATION_LIST = TypeAdapter(list[OrganizationSchema])
_ORGANIZATION_ARRAY = functools.partial(_ORGANIZATION_LIST.validate_json, strict=True)


def parse_organizations(text: str) -> list[Organization]:
    """Read organizations from a JSON array of objects, or JSON Lines (one object a line).

    Raises :class:`~edqueue.errors.OrganizationError` (``organization.type``) for a wrong
    shape (a key given twice in one object included), ``organization.id`` for an id used
    twice, and the domain's own error for a broken rule, with notes naming the item and the
    field. Blank text gives no organizations.
    """
    if not isinstance(text, str):
        raise _organization_error(f"organizations are JSON text, not {type(text).__name__}")
    body = text.lstrip("\ufeff \t\r\n")
    read: list[tuple[str, OrganizationSchema]] = []
    if body.startswith("["):
        # what was stripped before the array, as spaces: the lines and columns are the file's
        body = re.sub(r"[^\n]", " ", text[: len(text) - len(body)]) + body
        items = _read_json(
            _ORGANIZATION_ARRAY,
            body,
            "the array",
            _organization_error,
            "",
            "a JSON array of objects",
        )
        read = [(f"item [{i}] of the array", item) for i, item in enumerate(items)]
    else:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip(" \t\r\ufeff"):
                continue
            where = f"line {number}: "
            item = _read_json(
                _ORGANIZATION_JSON, line.lstrip("\ufeff"), "the line", _organization_error, where
            )
            read.append((f"line {number}", item))
    organizations: list[Organization] = []
    seen: dict[str, str] = {}
    for place, item in read:
        try:
            organization = item.to_domain()
        except EdqueueError as error:
            error.add_note(f"in {place} (organization id {item.id!r})")
            raise
        if organization.id in seen:
            raise OrganizationError(
                "organization.id",
                f"the id {organization.id!r} is used in {seen[organization.id]} and in "
                f"{place}; give each organization its own id",
            )
        seen[organization.id] = place
        organizations.append(organization)
    return organizations


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of both formats, under ``"organization"`` (one item of
    the array, or one line) and ``"application"`` (one line)."""
    dialect = "https://json-schema.org/draft/2020-12/schema"
    return {
        "organization": {"$schema": dialect, **OrganizationSchema.model_json_schema()},
        "application": {"$schema": dialect, **ApplicationSchema.model_json_schema()},
    }
