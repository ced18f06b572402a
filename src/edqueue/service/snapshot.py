"""Snapshots of the queues: a desk's state (:mod:`edqueue.rules._state`) with the log position
it covers, as bytes a store keeps (:class:`~edqueue.ports.SnapshotStore`).

A service that starts over a national store would replay a million records one by one;
with a snapshot it reads the snapshot, builds the queues at once over the repository's
applications and replays only the records after the snapshot's position (issue 17: "the
service restarts on a million applications in at most 30 s"). The format is JSON, columns
rather than objects (a million applications are a few lists), compressed with ``zlib``:
no ``pickle``, so bytes from a database never run code. The bytes hold no personal data:
of each application, its number, choices, benefit claim and status only.

A snapshot is an optimisation, never the truth: one that cannot be read (another format,
damaged bytes, an application the repository no longer holds) is ignored and the service
replays the whole log, as it does without one.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any, Final

import attrs

from edqueue.errors import StorageError
from edqueue.events_codec import (
    _CLAIM_KEYS,
    _read_group,
    _read_organization,
    _read_queues,
    _read_time,
    _write_group,
    _write_organization,
    _write_queues,
    _write_time,
    claim_data,
    read_claim,
)
from edqueue.models import (
    ApplicationStatus,
    BenefitClaim,
    Choice,
    Language,
    Referral,
    ReferralStatus,
)
from edqueue.rules._state import DeskState, QueueState
from edqueue.rules.events import QueueId

__all__ = ["FORMAT", "Snapshot", "decode", "encode"]

FORMAT: Final = 1
"""The snapshot format this version writes and reads; a snapshot of another is ignored."""


@attrs.frozen
class Snapshot:
    """A desk's state, the sequence of the last log record it covers and that record's
    digest in the hash chain (:mod:`edqueue.audit`; empty when it covers no record)."""

    sequence: int
    digest: str
    state: DeskState


def _queue(queue_id: QueueId) -> str:
    return _write_queues((queue_id,))


def _choices(choices: tuple[Choice, ...]) -> str:
    return ";".join(f"{c.organization_id}|{c.language.code}" for c in choices)


def encode(snapshot: Snapshot) -> bytes:
    """The snapshot as compressed JSON. O(N + Q + r)."""
    state = snapshot.state
    numbers: list[str] = []
    statuses: list[str] = []
    choices: list[str] = []
    claims: dict[str, list[Any]] = {}
    written: dict[tuple[Choice, ...], str] = {}
    for number, held in state.applications.items():
        numbers.append(number)
        statuses.append(held.status.value)
        text = written.get(held.choices)
        if text is None:
            text = written[held.choices] = _choices(held.choices)
        choices.append(text)
        if held.benefit is not None:
            data = claim_data(held.benefit)
            claims[number] = [data[k] for k in _CLAIM_KEYS]
    document = {
        "format": FORMAT,
        "sequence": snapshot.sequence,
        "digest": snapshot.digest,
        "organizations": [_write_organization(o) for o in state.organizations],
        "places": [[_queue(q), c, f] for q, (c, f) in state.places.items()],
        "declared": sorted(state.declared),
        "numbers": numbers,
        "statuses": statuses,
        "choices": choices,
        "claims": claims,
        "referrals": [_referral(r) for r in state.referrals],
        "outside": {_queue(q): sorted(n) for q, n in state.outside.items()},
        "issued": state.issued,
        "stop_until": {n: _write_time(t) for n, t in state.stop_until.items()},
        "confirm_by": {r: _write_time(t) for r, t in state.confirm_by.items()},
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return zlib.compress(text.encode("utf-8"), 1)


def decode(data: bytes) -> Snapshot:
    """The snapshot :func:`encode` wrote. Raises ``storage.corrupt`` for bytes that are not
    one, or one of another :data:`FORMAT` (the caller replays the log instead). O(N + Q + r)."""
    try:
        document = json.loads(zlib.decompress(data).decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("another format")
        return Snapshot(int(document["sequence"]), str(document["digest"]), _state(document))
    except (KeyError, TypeError, ValueError, zlib.error) as error:
        raise StorageError(
            "storage.corrupt",
            f"the snapshot of the queues cannot be read ({type(error).__name__}); the "
            "service replays the whole log instead, and the next snapshot replaces it",
        ) from None


def _state(document: Mapping[str, Any]) -> DeskState:
    statuses = {s.value: s for s in ApplicationStatus}
    made: dict[str, tuple[Choice, ...]] = {}
    claims: Mapping[str, list[Any]] = document["claims"]
    applications: dict[str, QueueState] = {}
    for number, status, text in zip(
        document["numbers"], document["statuses"], document["choices"], strict=True
    ):
        chosen = made.get(text)
        if chosen is None:
            chosen = made[text] = _read_choices(text)
        claim = claims.get(number)
        benefit = None if claim is None else _claim(claim)
        applications[number] = QueueState(chosen, benefit, statuses[status])
    return DeskState(
        organizations=tuple(_read_organization(t) for t in document["organizations"]),
        places={_read_queues(q)[0]: (int(c), int(f)) for q, c, f in document["places"]},
        declared=frozenset(document["declared"]),
        applications=applications,
        referrals=tuple(_read_referral(r) for r in document["referrals"]),
        outside={_read_queues(q)[0]: frozenset(n) for q, n in document["outside"].items()},
        issued=int(document["issued"]),
        stop_until={n: _read_time(t) for n, t in document["stop_until"].items()},
        confirm_by={r: _read_time(t) for r, t in document["confirm_by"].items()},
    )


def _read_choices(text: str) -> tuple[Choice, ...]:
    result = []
    for part in text.split(";"):
        organization_id, _, language = part.rpartition("|")
        result.append(Choice(organization_id, Language(language)))
    return tuple(result)


def _claim(values: list[Any]) -> BenefitClaim:
    claim = read_claim(dict(zip(_CLAIM_KEYS, values, strict=True)))
    if claim is None:
        raise ValueError("a claim without a category")
    return claim


def _referral(referral: Referral) -> list[Any]:
    return [
        referral.id,
        referral.application_number,
        referral.organization_id,
        _write_group(referral.group),
        _write_time(referral.issued_at),
        _write_time(referral.deadline),
        referral.status.value,
        None if referral.closed_at is None else _write_time(referral.closed_at),
        referral.reason,
    ]


def _read_referral(values: list[Any]) -> Referral:
    identifier, number, organization_id, group, issued, deadline, status, closed, reason = values
    return Referral(
        id=identifier,
        application_number=number,
        organization_id=organization_id,
        group=_read_group(group),
        issued_at=_read_time(issued),
        deadline=_read_time(deadline),
        status=ReferralStatus(status),
        closed_at=None if closed is None else _read_time(closed),
        reason=reason,
    )
