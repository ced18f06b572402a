"""Step 0 of the seed: identify the family by its phone number, and sessions.

The phone number must be in the БМГ; a confirmation code is pushed to the ED24 app bound to
it, lives ``confirmation_code_lifetime`` and allows ``confirmation_code_attempts`` wrong
tries (dated policy); codes sent and wrong codes are counted per number and per client
device over rolling windows in the store every process shares, and past a limit the number
is locked (:mod:`edqueue.rules.identity`, ``identity.locked``); a number with no app gets a
one-time password to bind one, and a device may switch to another number at most once in
``device_number_change_interval`` (seed: «не чаще, чем один раз в 40 дней»).

A confirmed draft is also a personal-cabinet session for ``session_lifetime``, until it is
signed out (:mod:`edqueue.service.cabinet`).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

import attrs

from edqueue.errors import FlowError, LockedError
from edqueue.models import KAZAKHSTAN, PhoneNumber
from edqueue.ports import AttemptLimit, DeviceBinding
from edqueue.rules.identity import (
    CODE_DIGITS,
    Limit,
    binding_expires_at,
    code_expires_at,
    code_guess_limits,
    code_send_limits,
    number_change_allowed_from,
)
from edqueue.service.core import Core
from edqueue.service.drafts import Draft, digest

__all__ = ["BindingOffer", "Identity"]


@attrs.frozen
class BindingOffer:
    """What the portal shows to bind the ED24 app to a number (seed, step 0): a one-time
    password (shown as «7345 5323 7173») and the same secret as a QR code's payload."""

    one_time_password: str = attrs.field(repr=False)
    qr_payload: str = attrs.field(repr=False)
    expires_at: datetime


class Identity:
    """Codes, binding the app, and sessions (see the module)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def start(self, phone: str | PhoneNumber, *, device: str | None = None) -> Draft:
        """Begin with a phone number: it must be in the БМГ; if an ED24 app is bound to it,
        a code is pushed at once (``draft.code_sent``), otherwise the family binds an app
        first. ``device`` is the host's id of the client asking; codes are limited per
        number and per device (``identity.locked`` past a limit)."""
        core = self._core
        number = phone if isinstance(phone, PhoneNumber) else PhoneNumber(phone)
        if not core.ports.identity.in_mobile_register(number):
            raise FlowError(
                "identity.not_in_bmg",
                "this number is not in the БМГ (register of mobile citizens); register it "
                "at a ЦОН or on egov.kz, then start again",
            )
        draft = Draft(id=secrets.token_urlsafe(16), phone=number)
        if core.ports.identity.app_bound(number):
            draft = self._push_code(draft, device)
        core.drafts.save(draft)
        return draft

    def send_code(self, draft_id: str, *, device: str | None = None) -> Draft:
        """Push a new confirmation code (the old one stops working), within the limits."""
        core = self._core
        draft = core.drafts.load(draft_id)
        if not core.ports.identity.app_bound(draft.phone):
            raise FlowError(
                "identity.app_not_bound",
                "no ED24 app is bound to this number; install ED24 and bind it with the "
                "one-time password or QR code (request_binding)",
            )
        draft = self._push_code(draft, device)
        core.drafts.save(draft)
        return draft

    def _push_code(self, draft: Draft, device: str | None) -> Draft:
        core = self._core
        now = core.now()
        limits = code_send_limits(core.values(now), draft.phone, device)
        self._take(secrets.token_hex(16), now, limits, "confirmation codes were asked for")
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        core.ports.identity.push_code(draft.phone, code)
        return attrs.evolve(
            draft,
            code_digest=digest(draft.salt, code),
            code_sent_at=now,
            code_id=secrets.token_hex(16),
        )

    def _take(self, token: str, now: datetime, limits: Sequence[Limit], what: str) -> list[int]:
        """Count one attempt under every limit, atomically in the store; raise
        ``identity.locked`` (a phone or device limit) or ``identity.code_attempts`` (the
        code's own) if one is full. Returns the counts, this attempt included."""
        tally = self._core.attempts.take(
            token, now, [AttemptLimit(limit.key, limit.limit, limit.window) for limit in limits]
        )
        if tally.refused is None:
            return list(tally.counts)
        limit = limits[tally.refused]
        if limit.scope == "code":
            raise FlowError("identity.code_attempts", "too many wrong codes; ask for a new one")
        until = now if tally.until is None else tally.until
        raise LockedError(
            "identity.locked",
            f"too many {what} for this {'phone number' if limit.scope == 'phone' else 'device'}"
            f"; it is locked until {until.astimezone(KAZAKHSTAN):%d.%m.%Y %H:%M} "
            "(Kazakhstan time): wait until then",
            until,
        )

    def confirm_code(self, draft_id: str, code: str, *, device: str | None = None) -> Draft:
        """Check the code the family typed: once, within its lifetime, and only
        ``confirmation_code_attempts`` wrong codes; each wrong one counts for the code, the
        number and the device, atomically across processes. Past a number's or device's
        limit every code is refused, the right one too (``identity.locked``)."""
        core = self._core
        draft = core.drafts.load(draft_id)
        now = core.now()
        values = core.values(now)
        if draft.code_digest is None or draft.code_sent_at is None:
            raise FlowError("flow.step", "ask for a confirmation code first (send_code)")
        if now >= code_expires_at(draft.code_sent_at, values, core.config.calendar):
            raise FlowError("identity.code_expired", "the code has expired; ask for a new one")
        code_id = draft.code_id or f"{draft.id}:{draft.code_sent_at.isoformat()}"
        limits = code_guess_limits(values, draft.phone, device, code_id)
        token = secrets.token_hex(16)
        counts = self._take(token, now, limits, "wrong codes")
        if not hmac.compare_digest(draft.code_digest, digest(draft.salt, str(code).strip())):
            left = limits[0].limit - counts[0]
            raise FlowError(
                "identity.code_wrong",
                f"the code does not match; {left} attempt(s) left"
                if left
                else "the code does not match; ask for a new one",
            )
        core.attempts.release(token)  # only wrong codes count
        draft = attrs.evolve(draft, code_digest=None, code_id=None, confirmed_at=now)
        core.drafts.save(draft)
        return draft

    def request_binding(self, draft_id: str) -> BindingOffer:
        """A one-time password (and QR code) to bind the ED24 app to the draft's number,
        valid ``binding_password_lifetime``."""
        core = self._core
        draft = core.drafts.load(draft_id)
        now = core.now()
        password = " ".join(f"{secrets.randbelow(10_000):04d}" for _ in range(3))
        expires = binding_expires_at(now, core.values(now), core.config.calendar)
        core.drafts.save(
            attrs.evolve(
                draft,
                binding_digest=digest(draft.salt, password.replace(" ", "")),
                binding_offered_at=now,
            )
        )
        return BindingOffer(password, f"ed24-bind:{draft.id}:{password.replace(' ', '')}", expires)

    def bind_app(self, draft_id: str, device_id: str, one_time_password: str) -> Draft:
        """The ED24 app on ``device_id`` entered the one-time password: bind it to the
        number. A device may switch to another number at most once in
        ``device_number_change_interval`` (seed: «не чаще, чем один раз в 40 дней»)."""
        core = self._core
        calendar = core.config.calendar
        draft = core.drafts.load(draft_id)
        now = core.now()
        values = core.values(now)
        typed = "".join(str(one_time_password).split())
        if (
            draft.binding_digest is None
            or draft.binding_offered_at is None
            or now >= binding_expires_at(draft.binding_offered_at, values, calendar)
            or not hmac.compare_digest(draft.binding_digest, digest(draft.salt, typed))
        ):
            raise FlowError(
                "identity.binding_invalid",
                "the one-time password is wrong or expired; ask for a new one",
            )
        current = core.ports.identity.binding(device_id)
        if current is not None and current.phone != draft.phone:
            allowed = number_change_allowed_from(current.bound_at, values, calendar)
            if now < allowed:
                raise FlowError(
                    "identity.device_recently_bound",
                    "this device switched numbers less than "
                    f"{values.device_number_change_interval} ago; it may switch again from "
                    f"{allowed:%d.%m.%Y %H:%M}",
                )
        core.ports.identity.bind(DeviceBinding(device_id, draft.phone, now))
        draft = attrs.evolve(draft, binding_digest=None, binding_offered_at=None)
        core.drafts.save(draft)
        return draft

    def confirmed(self, draft_id: str) -> Draft:
        """The draft, once its number is confirmed (``identity.not_confirmed``)."""
        draft = self._core.drafts.load(draft_id)
        if draft.confirmed_at is None:
            raise FlowError(
                "identity.not_confirmed", "confirm the phone number with the code first"
            )
        return draft
