"""The one codec of queue events: any event class becomes a log record's fields, and back.

An event is stored under its class's ``KIND`` (:mod:`edqueue.rules.events`); its time and
reason are the record's ``at`` and ``reason``, a field named ``number`` (the application's
number) is the record's ``number``, and every other field, ``queues`` first and then in the
class's order, is written into the record's ``data`` by its type, generically:

- ``str`` and ``int``: themselves;
- ``datetime``: ISO 8601 text with its offset, and the zone's name in brackets (RFC 9557)
  when it has one: ``"2024-02-15T10:00:00+06:00[Asia/Almaty]"``;
- ``GroupKey``: ``"birth year|language|queue kind"`` (``"2020|ru|general"``);
- ``tuple[QueueId, ...]``: ``"organization|birth year|language|queue kind"`` joined by
  ``";"`` (``""`` for none);
- an ``IntEnum`` (``Tier``): its integer; a ``StrEnum`` (``BenefitStatus``): its value;
- ``X | None``: ``None``, or ``X`` as above;
- ``BenefitClaim`` (or ``| None``): four keys, whatever the field's name:
  ``benefit_category`` (an integer; ``None`` alone when there is no claim),
  ``benefit_status``, ``benefit_claimed_at`` and ``benefit_decided_at`` (times, or ``None``);
- ``Organization``: its JSON text as the organizations file writes it
  (:func:`edqueue.schemas.dump_organization`, keys sorted), read back with the same checks.

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.rules.events import StopListed
>>> event = StopListed(at=datetime(2024, 2, 5, 10, tzinfo=KAZAKHSTAN), number="12",
...                    until=datetime(2024, 2, 15, 10, tzinfo=KAZAKHSTAN), reason="desk")
>>> event_data(event)
{'queues': '', 'until': '2024-02-15T10:00:00+06:00[Asia/Almaty]'}
>>> read_event("stop_listed", event.at, "12", "desk", event_data(event)) == event
True

So adding an event type is declaring its class (its ``KIND`` and fields of these types);
the codec needs no change. A field of another type is refused (:class:`EventClassError`) the first
time its class is written or read. Field types are read from the class's annotations
(:func:`typing.get_type_hints`), so the names they use must be defined at the top level
of its module (not only inside a function).

The records written for the events edqueue defines are, key for key, those the journal
wrote before this codec (issue 7's format, :data:`edqueue.journal.JOURNAL_VERSION`), so
existing logs read the same and their hash chain (:mod:`edqueue.audit`) does not change.

Source: issue 16, "One codec": "one registry turns events into log records and back [...]
Adding an event type touches its class and the one place that applies it."
"""

from __future__ import annotations

import enum
import json
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import attrs

from edqueue.models import (
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    GroupKey,
    Organization,
    require_aware,
)
from edqueue.rules.events import QueueEvent, QueueId, event_type
from edqueue.schemas import dump_organization, parse_organizations

__all__ = [
    "Data",
    "EventClassError",
    "Value",
    "claim_data",
    "event_data",
    "read_claim",
    "read_event",
    "record_number",
]

Value = str | int | None
"""What a record's ``data`` holds: text, integers and ``None`` (the ``EventLog`` contract)."""

Data = dict[str, Value]


class EventClassError(TypeError):
    """An event class the codec cannot store: no kind of its own, or a field of a type
    it does not know. A mistake in the code, found the first time the class is written or
    read; never a damaged record."""


_JOURNAL_KEYS = frozenset({"journal", "actor"})
"""The keys the journal writes beside an event's own (:func:`edqueue.journal.to_record`);
no field of an event may be written under them."""

_COLUMNS = ("at", "reason", "number")
"""Fields that are the record's own columns, not ``data``."""


# --- writing and reading one event ----------------------------------------------------------


def event_data(event: QueueEvent) -> Data:
    """The record ``data`` of ``event``'s fields (all but ``at``, ``reason`` and
    ``number``), in the class's field order with ``queues`` first. O(size of the event).

    Raises :class:`EventClassError` for an event whose class is not the registered class
    of its kind (the base :class:`~edqueue.rules.events.QueueEvent`), or that has a field
    of a type the codec does not store.
    """
    cls = type(event)
    plan = _plan(cls)
    data: Data = {}
    for field in plan.fields:
        data.update(field.write(getattr(event, field.name)))
    return data


def record_number(event: QueueEvent) -> str | None:
    """The record's ``number``: the event's ``number`` field, or ``None`` when it has none
    (a freed place concerns no application). O(1)."""
    return getattr(event, "number", None) if _plan(type(event)).numbered else None


def read_event(
    kind: str, at: datetime, number: str | None, reason: str, data: Mapping[str, Value]
) -> QueueEvent:
    """The event that :func:`event_data` (with :func:`record_number`) wrote. O(size).

    Raises ``KeyError``, ``TypeError`` or ``ValueError`` (or an
    :class:`~edqueue.errors.EdqueueError`) for what it cannot read: a kind no event class
    declares, a key missing, a value of the wrong type, a time without its offset; and
    :class:`EventClassError` when the class of ``kind`` is one the codec cannot store.
    """
    cls = event_type(kind)
    if cls is None:
        raise ValueError(f"no event class declares the kind {kind!r}")
    plan = _plan(cls)
    values: dict[str, Any] = {"at": require_aware(at, "the event time"), "reason": reason}
    if plan.numbered:
        if number is None:
            raise TypeError("number")
        values["number"] = number
    for field in plan.fields:
        values[field.name] = field.read(data)
    return cls(**values)


# --- what each class's fields become ----------------------------------------------------------


class _Field(NamedTuple):
    """How one field of an event class is written into ``data`` and read back."""

    name: str
    keys: tuple[str, ...]
    write: Callable[[Any], Data]
    read: Callable[[Mapping[str, Value]], Any]


class _Plan(NamedTuple):
    """How one event class is written: whether it has a ``number``, and its data fields.
    Holds no reference to the class (the cache is keyed weakly by it)."""

    numbered: bool
    fields: tuple[_Field, ...]


_PLANS: weakref.WeakKeyDictionary[type[QueueEvent], _Plan] = weakref.WeakKeyDictionary()


def _plan(cls: type[QueueEvent]) -> _Plan:
    """The plan of ``cls``, made on first use from its attrs fields and their types.
    O(1) once made."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _make_plan(cls)
        _PLANS[cls] = plan
    return plan


def _make_plan(cls: type[QueueEvent]) -> _Plan:
    kind = cls.__dict__.get("KIND")
    if kind is None or event_type(kind) is not cls:
        raise EventClassError(f"{cls.__qualname__} is not an event class of a declared kind")
    try:
        hints = typing.get_type_hints(cls)
    except NameError as unknown:
        raise EventClassError(
            f"{cls.__qualname__}: a field's type cannot be read ({unknown}); "
            "import the types it names at the top of its module"
        ) from None
    numbered, fields, written = False, [], set(_JOURNAL_KEYS)
    for attribute in attrs.fields(cls):
        name, hint = attribute.name, hints.get(attribute.name)
        if not attribute.init:
            raise EventClassError(f"{cls.__qualname__}.{name}: a stored field must be in __init__")
        if name == "number":
            if hint is not str:
                raise EventClassError(
                    f"{cls.__qualname__}.number must be a str (a record's number)"
                )
            numbered = True
            continue
        if name in _COLUMNS:
            continue
        field = _field(name, hint)
        if field is None:
            raise EventClassError(
                f"{cls.__qualname__}.{name}: the event codec cannot store {hint!r}; use "
                "str, int, datetime, GroupKey, tuple[QueueId, ...], an IntEnum or StrEnum, "
                "BenefitClaim, Organization, or one of these | None (edqueue.events_codec)"
            )
        if written & set(field.keys):
            raise EventClassError(
                f"{cls.__qualname__}.{name} would be written under a key taken by another "
                f"field or by the journal ({sorted(written & set(field.keys))})"
            )
        written |= set(field.keys)
        fields.append(field)
    return _Plan(numbered, tuple(fields))


def _field(name: str, hint: object) -> _Field | None:
    """How a field ``name`` of type ``hint`` is stored, or ``None`` if it cannot be."""
    optional, inner = _unwrap_optional(hint)
    if inner is BenefitClaim:
        return _Field(name, _CLAIM_KEYS, claim_data, _claim_reader(optional))
    scalar = _scalar(inner)
    if scalar is None:
        return None
    encode, decode = scalar
    if optional:
        return _Field(
            name,
            (name,),
            lambda value: {name: None if value is None else encode(value)},
            lambda data: None if data[name] is None else decode(data[name]),
        )
    return _Field(
        name, (name,), lambda value: {name: encode(value)}, lambda data: decode(data[name])
    )


def _unwrap_optional(hint: object) -> tuple[bool, object]:
    """``(True, X)`` for ``X | None``, ``(False, hint)`` otherwise."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if len(members) == 1 and len(typing.get_args(hint)) == 2:
            return True, members[0]
    return False, hint


_Scalar = tuple[Callable[[Any], Value], Callable[[Value], Any]]


def _scalar(hint: object) -> _Scalar | None:
    """The writer and reader of one value of type ``hint``, if the codec stores it."""
    if hint is str:
        return _same, _as_text
    if hint is int:
        return _same, _as_int
    if hint is datetime:
        return _write_time, lambda value: _read_time(_as_text(value))
    if hint is GroupKey:
        return _write_group, lambda value: _read_group(_as_text(value))
    if hint == tuple[QueueId, ...]:
        return _write_queues, lambda value: _read_queues(_as_text(value))
    if hint is Organization:
        return _write_organization, lambda value: _read_organization(_as_text(value))
    if isinstance(hint, type) and issubclass(hint, enum.IntEnum):
        int_enum = hint
        return int, lambda value: int_enum(_as_int(value))
    if isinstance(hint, type) and issubclass(hint, enum.StrEnum):
        str_enum = hint
        return _enum_value, lambda value: str_enum(_as_text(value))
    return None


# --- the value formats ----------------------------------------------------------------------


def _write_time(moment: datetime) -> str:
    """ISO 8601 with the offset, and the zone's name in brackets when it has one. O(1)."""
    zone = moment.tzinfo
    text = require_aware(moment, "the event time").isoformat()
    return f"{text}[{zone.key}]" if isinstance(zone, ZoneInfo) else text


def _read_time(text: str) -> datetime:
    """The time ``_write_time`` wrote, in its zone when it names one. O(1)."""
    iso, _, zone = text.partition("[")
    moment = require_aware(datetime.fromisoformat(iso), "the event time")
    if zone:
        moment = moment.astimezone(ZoneInfo(zone.removesuffix("]")))
    return moment


def _write_organization(organization: Organization) -> str:
    """The organization's JSON text, keys sorted. O(groups)."""
    data = dump_organization(organization)
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _read_organization(text: str) -> Organization:
    """The organization ``_write_organization`` wrote, checked as a file's. O(groups)."""
    (organization,) = parse_organizations(text)
    return organization


def _write_queues(queue_ids: Iterable[QueueId]) -> str:
    """Queues as ``"organization|birth year|language|queue kind"`` joined by ``";"``. O(q)."""
    return ";".join(f"{org}|{_write_group(key)}" for org, key in queue_ids)


def _read_queues(text: str) -> tuple[QueueId, ...]:
    """The queues ``_write_queues`` wrote. O(q)."""
    if not text:
        return ()
    result = []
    for part in text.split(";"):
        organization_id, _, group = part.partition("|")
        result.append((organization_id, _read_group(group)))
    return tuple(result)


_CLAIM_KEYS = ("benefit_category", "benefit_status", "benefit_claimed_at", "benefit_decided_at")


def claim_data(claim: BenefitClaim | None) -> Data:
    """A benefit claim's keys: its category, status and times (``benefit_category`` alone,
    ``None``, when there is no claim). O(1)."""
    if claim is None:
        return {"benefit_category": None}
    return {
        "benefit_category": int(claim.category),
        "benefit_status": claim.status.value,
        "benefit_claimed_at": None if claim.claimed_at is None else _write_time(claim.claimed_at),
        "benefit_decided_at": None if claim.decided_at is None else _write_time(claim.decided_at),
    }


def read_claim(data: Mapping[str, Value]) -> BenefitClaim | None:
    """The claim :func:`claim_data` wrote into ``data``. O(1)."""
    category = data["benefit_category"]
    if category is None:
        return None
    claimed, decided = data["benefit_claimed_at"], data["benefit_decided_at"]
    return BenefitClaim(
        BenefitCategory(_as_int(category)),
        BenefitStatus(_as_text(data["benefit_status"])),
        None if claimed is None else _read_time(_as_text(claimed)),
        None if decided is None else _read_time(_as_text(decided)),
    )


def _claim_reader(optional: bool) -> Callable[[Mapping[str, Value]], BenefitClaim | None]:
    if optional:
        return read_claim

    def required(data: Mapping[str, Value]) -> BenefitClaim:
        claim = read_claim(data)
        if claim is None:
            raise TypeError("benefit_category")
        return claim

    return required


def _write_group(key: GroupKey) -> str:
    return f"{key.birth_year}|{key.language.code}|{key.queue_kind.value}"


def _read_group(text: str) -> GroupKey:
    year, language, kind = text.split("|")
    return GroupKey(int(year), language, kind)


def _same(value: Value) -> Value:
    return value


def _enum_value(member: enum.Enum) -> Value:
    value: Value = member.value
    return value


def _as_text(value: Value) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _as_int(value: Value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value
