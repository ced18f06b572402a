"""The limits on confirmation codes: how many may be sent, how many guesses are checked.

Seed, step 0: a 4-digit code goes to the ED24 app and is typed in with a countdown. Four
digits are 10,000 values: with a new code on demand and three guesses per code, a guesser
signed in to a victim's number got in 20 times out of 20 (issue 22, about 2,500 codes a
trial). So every code sent and every guess is counted over rolling windows, per phone
number and per client device, in the store that all processes share
(:class:`~edqueue.ports.AttemptCounter`), and past a limit the number (or device) is locked
until the window frees a place. The limits are dated policy parameters
(:class:`~edqueue.rules.PolicyValues`: ``code_sends_per_phone``, ``code_failures_per_phone``,
...), each with its reason.

A guesser's chance is then bounded: at most ``code_failures_per_phone`` guesses are
checked per number in any ``code_failure_window`` (10 a day by default), each right with
a chance of 1 in 10,000, the right code included once the number is locked.

The counted keys are digests: the store never holds a phone number or a device id in clear.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Final

import attrs

from edqueue.models import PhoneNumber
from edqueue.rules.calendar import WorkingCalendar
from edqueue.rules.policy import Duration, DurationUnit, PolicyValues

__all__ = [
    "CODE_DIGITS",
    "Limit",
    "binding_expires_at",
    "code_expires_at",
    "code_guess_limits",
    "code_send_limits",
    "minutes",
    "number_change_allowed_from",
    "session_expires_at",
]

CODE_DIGITS: Final = 4
"""The confirmation code's length. Source: the seed, step 0 (the code typed in the ED24
flow has four digits)."""


@attrs.frozen
class Limit:
    """At most ``limit`` attempts counted under ``key`` in any ``window``; ``scope`` says
    what is counted (``"phone"``, ``"device"`` or ``"code"``), for the error message."""

    key: str
    limit: int
    window: timedelta
    scope: str


def minutes(duration: Duration) -> timedelta:
    """A duration counted in minutes, as a :class:`~datetime.timedelta`.

    >>> minutes(Duration(2, DurationUnit.MINUTES))
    datetime.timedelta(seconds=120)
    """
    if duration.unit is not DurationUnit.MINUTES:
        raise ValueError(f"{duration} is not counted in minutes")
    return timedelta(minutes=duration.amount)


def _key(kind: str, subject: str) -> str:
    return kind + ":" + hashlib.sha256(f"edqueue:{kind}:{subject}".encode()).hexdigest()[:32]


def code_send_limits(values: PolicyValues, phone: PhoneNumber, device: str | None) -> list[Limit]:
    """The limits on sending a code to ``phone`` from ``device`` (if the host names it).

    >>> from datetime import date
    >>> from edqueue.rules import KAZAKHSTAN_POLICY
    >>> limits = code_send_limits(
    ...     KAZAKHSTAN_POLICY.at(date(2024, 2, 5)), PhoneNumber("+77010000001"), "tablet-1")
    >>> [(limit.scope, limit.limit, str(limit.window)) for limit in limits]
    [('phone', 5, '1:00:00'), ('device', 10, '1:00:00')]
    """
    window = minutes(values.code_send_window)
    limits = [Limit(_key("sent", phone.reveal()), values.code_sends_per_phone, window, "phone")]
    if device is not None:
        limits.append(
            Limit(_key("sent-by", device), values.code_sends_per_device, window, "device")
        )
    return limits


def code_guess_limits(
    values: PolicyValues, phone: PhoneNumber, device: str | None, code_id: str
) -> list[Limit]:
    """The limits on checking a guess of the code ``code_id`` sent to ``phone``: the code's
    own attempts (``confirmation_code_attempts`` within its lifetime), then the number's
    and the device's wrong guesses. The code's limit comes first, so that its refusal
    (ask for a new code) is told before a lockout."""
    window = minutes(values.code_failure_window)
    limits = [
        Limit(
            _key("code", code_id),
            values.confirmation_code_attempts,
            minutes(values.confirmation_code_lifetime),
            "code",
        ),
        Limit(_key("wrong", phone.reveal()), values.code_failures_per_phone, window, "phone"),
    ]
    if device is not None:
        limits.append(
            Limit(_key("wrong-by", device), values.code_failures_per_device, window, "device")
        )
    return limits


def code_expires_at(sent_at: datetime, values: PolicyValues, calendar: WorkingCalendar) -> datetime:
    """When a confirmation code sent at ``sent_at`` stops working:
    ``confirmation_code_lifetime`` later (seed, step 0: the countdown «01:44»)."""
    return calendar.deadline(sent_at, values.confirmation_code_lifetime)


def binding_expires_at(
    offered_at: datetime, values: PolicyValues, calendar: WorkingCalendar
) -> datetime:
    """When a one-time password (or QR code) to bind the ED24 app, offered at
    ``offered_at``, stops working: ``binding_password_lifetime`` later (seed, step 0)."""
    return calendar.deadline(offered_at, values.binding_password_lifetime)


def session_expires_at(
    confirmed_at: datetime, values: PolicyValues, calendar: WorkingCalendar
) -> datetime:
    """When a cabinet session whose number was confirmed at ``confirmed_at`` ends:
    ``session_lifetime`` later (edqueue's default, for the host to set)."""
    return calendar.deadline(confirmed_at, values.session_lifetime)


def number_change_allowed_from(
    bound_at: datetime, values: PolicyValues, calendar: WorkingCalendar
) -> datetime:
    """The first instant a device bound to a number at ``bound_at`` may switch to another
    number: ``device_number_change_interval`` later (seed, step 0: «не чаще, чем один раз в
    40 дней»)."""
    return calendar.deadline(bound_at, values.device_number_change_interval)
