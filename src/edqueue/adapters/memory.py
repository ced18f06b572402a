"""In-memory adapters for the ports that are not storage, for tests and the demo.

Each class implements one port of :mod:`edqueue.ports` and adds **knobs** that simulate
what goes wrong in the real services (a number not in the БМГ, no ED24 app, an SMS from
1414 refused, a register that fails or is slow) and **inspection** (the codes pushed, the
SMS requests, the outbox) so a test sees what happened. Only the port's own methods obey
the ``fail`` and ``timeout`` knobs; a port method that raises changes nothing.

Personal data stays masked: every ``repr`` here shows counts and switches, never an IIN,
a phone number, a name or a code. Every change of state holds a :class:`threading.Lock`.
The stores (applications, events, drafts) live in :mod:`edqueue.adapters.memory_store` and
are re-exported here, so this module has an adapter for every port.

>>> from datetime import datetime
>>> from edqueue.models import KAZAKHSTAN
>>> from edqueue.testing.world import seed_ports
>>> ports = seed_ports(datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN))
>>> phone = PhoneNumber("+7 701 000 00 01")
>>> ports.identity.in_mobile_register(phone), ports.identity.app_bound(phone)
(True, True)
>>> ports.consents.access_answer(ports.consents.request_access(Iin("900315400017"), phone))
<AccessAnswer.GRANTED: 'granted'>
>>> ports.identity
MemoryIdentity(registered=1, apps=1, codes_pushed=0, bindings=0, fail=False, timeout=False)
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from edqueue.adapters.memory_store import MemoryAttempts, MemoryDrafts, MemoryRepository
from edqueue.errors import PortError
from edqueue.models import (
    BenefitCategory,
    Iin,
    PhoneNumber,
    Proof,
    require_aware,
)
from edqueue.models.instants import later
from edqueue.ports import (
    AccessAnswer,
    DeviceBinding,
    FamilyRecord,
    Message,
)

__all__ = [
    "AccessRequest",
    "ManualClock",
    "MemoryAttempts",
    "MemoryBenefitRegistry",
    "MemoryConsents",
    "MemoryDocuments",
    "MemoryDrafts",
    "MemoryFamilyRegister",
    "MemoryIdentity",
    "MemoryNotifier",
    "MemoryNumbers",
    "MemoryRepository",
    "StoredDocument",
]


class _RemoteService:
    """The knobs every adapter of a remote service has, and the lock over its state.

    ``fail`` simulates a service that is down (``port.failed``), ``timeout`` a slow one
    (``port.timeout``); with both on, ``timeout`` wins. They may be switched at any time.
    """

    _service: ClassVar[str] = "the service"

    def __init__(self, *, fail: bool, timeout: bool) -> None:
        self.fail = fail
        self.timeout = timeout
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.timeout:
            raise PortError(
                "port.timeout",
                f"{self._service} did not answer in time (simulated); nothing changed, retry",
            )
        if self.fail:
            raise PortError(
                "port.failed", f"{self._service} failed (simulated); nothing changed, retry"
            )

    def _knobs(self) -> str:
        return f"fail={self.fail}, timeout={self.timeout}"


class MemoryIdentity(_RemoteService):
    """The ED24 identity service and the БМГ in memory, for tests and the demo.

    Seed, step 0: the number must be in the БМГ, the code goes to the ED24 app, a number
    with no app first binds one. Knobs: a number left out of ``mobile_register`` is «not in
    БМГ»; one left out of ``apps`` has no ED24 app; :meth:`register_number` and
    :meth:`install_app` add them later; ``fail`` is the service down, ``timeout`` a slow
    БМГ. Pushing a code to a number with no app raises ``port.failed``: the push has
    nowhere to go. Inspection: ``pushed`` (every code, in order) and :meth:`last_code`.
    Every operation is O(1).
    """

    _service = "the ED24 identity service (БМГ)"

    def __init__(
        self,
        mobile_register: Iterable[PhoneNumber | str] = (),
        apps: Iterable[PhoneNumber | str] = (),
        *,
        owners: Mapping[PhoneNumber | str, Iin | str] | None = None,
        fail: bool = False,
        timeout: bool = False,
    ) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self._register: set[PhoneNumber] = {PhoneNumber(phone) for phone in mobile_register}
        self._owners: dict[PhoneNumber, Iin] = {
            PhoneNumber(phone): Iin(owner) for phone, owner in (owners or {}).items()
        }
        self._register |= set(self._owners)
        self._apps: set[PhoneNumber] = {PhoneNumber(phone) for phone in apps}
        self._bindings: dict[str, DeviceBinding] = {}
        self._last_codes: dict[PhoneNumber, str] = {}
        self.pushed: list[tuple[PhoneNumber, str]] = []

    # knobs
    def register_number(self, phone: PhoneNumber | str, owner: Iin | str | None = None) -> None:
        """Put a number in the БМГ (a citizen who registered it at a ЦОН), bound to
        ``owner`` when given."""
        with self._lock:
            self._register.add(PhoneNumber(phone))
            if owner is not None:
                self._owners[PhoneNumber(phone)] = Iin(owner)

    def install_app(self, phone: PhoneNumber | str) -> None:
        """Give a number an ED24 app, so codes can be pushed to it."""
        with self._lock:
            self._apps.add(PhoneNumber(phone))

    # inspection
    def last_code(self, phone: PhoneNumber | str) -> str | None:
        """The last code pushed to the number, if any (what the citizen would type)."""
        with self._lock:
            return self._last_codes.get(PhoneNumber(phone))

    # the port
    def in_mobile_register(self, phone: PhoneNumber) -> bool:
        """Whether the number is in the БМГ."""
        self._check()
        with self._lock:
            return phone in self._register

    def owner(self, phone: PhoneNumber) -> Iin | None:
        """The person the number is bound to, if registered with one."""
        self._check()
        with self._lock:
            return self._owners.get(phone)

    def app_bound(self, phone: PhoneNumber) -> bool:
        """Whether an ED24 app is on the number (installed or bound)."""
        self._check()
        with self._lock:
            return phone in self._apps

    def push_code(self, phone: PhoneNumber, code: str) -> None:
        """Record the code as delivered to the number's app; ``port.failed`` if it has none."""
        self._check()
        with self._lock:
            if phone not in self._apps:
                raise PortError(
                    "port.failed",
                    "no ED24 app is bound to this number, so the code cannot be pushed; "
                    "bind the app first",
                )
            self.pushed.append((phone, code))
            self._last_codes[phone] = code

    def binding(self, device_id: str) -> DeviceBinding | None:
        """The device's current binding, if any."""
        self._check()
        with self._lock:
            return self._bindings.get(device_id)

    def bind(self, binding: DeviceBinding) -> None:
        """Bind the device to the number (replacing its binding); the number now has an app."""
        self._check()
        with self._lock:
            self._bindings[binding.device_id] = binding
            self._apps.add(binding.phone)

    def __repr__(self) -> str:
        with self._lock:
            counts = (
                f"registered={len(self._register)}, apps={len(self._apps)}, "
                f"codes_pushed={len(self.pushed)}, bindings={len(self._bindings)}"
            )
        return f"MemoryIdentity({counts}, {self._knobs()})"


@attrs.frozen
class AccessRequest:
    """One SMS from 1414 asking for access to an applicant's family data (seed, step 1)."""

    request_id: str
    applicant: Iin
    phone: PhoneNumber


class MemoryConsents(_RemoteService):
    """Access to family data via SMS 1414 in memory, for tests and the demo.

    Seed, step 1: «Согласие или отказ осуществляется отправкой SMS-уведомления от 1414».
    Requests get ids ``"sms-1"``, ``"sms-2"``, ... and stay ``NO_ANSWER`` until a test calls
    :meth:`answer`. Knobs: ``auto_answer`` answers every new request at once (``GRANTED``
    for the demo, ``REFUSED`` for an SMS refused); ``fail`` is the gateway down, ``timeout``
    a slow one. Inspection: ``requests``. An unknown id raises ``port.failed``. O(1) each.
    """

    _service = "the SMS gateway 1414"

    def __init__(
        self,
        auto_answer: AccessAnswer | None = None,
        *,
        fail: bool = False,
        timeout: bool = False,
    ) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self.auto_answer = auto_answer
        self.requests: list[AccessRequest] = []
        self._answers: dict[str, AccessAnswer] = {}

    def answer(self, request_id: str, answer: AccessAnswer) -> None:
        """The citizen replies to the SMS (a test's knob); ``KeyError`` for an unknown id."""
        with self._lock:
            if request_id not in self._answers:
                raise KeyError(request_id)
            self._answers[request_id] = AccessAnswer(answer)

    def request_access(self, applicant: Iin, phone: PhoneNumber) -> str:
        """Record the SMS sent and return its id (``"sms-N"``)."""
        self._check()
        with self._lock:
            request_id = f"sms-{len(self.requests) + 1}"
            self.requests.append(AccessRequest(request_id, applicant, phone))
            auto = self.auto_answer
            self._answers[request_id] = AccessAnswer.NO_ANSWER if auto is None else auto
            return request_id

    def access_answer(self, request_id: str) -> AccessAnswer:
        """The answer so far."""
        self._check()
        with self._lock:
            found = self._answers.get(request_id)
        if found is None:
            raise PortError(
                "port.failed",
                f"the SMS gateway 1414 knows no request {request_id!r}; send a new request",
            )
        return found

    def __repr__(self) -> str:
        with self._lock:
            counts = f"requests={len(self.requests)}"
        auto = None if self.auto_answer is None else self.auto_answer.value
        return f"MemoryConsents({counts}, auto_answer={auto!r}, {self._knobs()})"


class MemoryFamilyRegister(_RemoteService):
    """The family register (состав семьи) in memory, for tests and the demo.

    Seed, step 1: after access is granted the portal reads the applicant's name and
    children. An applicant never :meth:`add`-ed is not in the register (``None``); ``fail``
    is the register down, ``timeout`` a slow one. O(1) each.
    """

    _service = "the family register"

    def __init__(
        self, records: Iterable[FamilyRecord] = (), *, fail: bool = False, timeout: bool = False
    ) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self._records: dict[Iin, FamilyRecord] = {}
        for record in records:
            self.add(record)

    def add(self, record: FamilyRecord) -> None:
        """Put an applicant's family in the register (replacing what it had)."""
        with self._lock:
            self._records[record.applicant] = record

    def family(self, applicant: Iin) -> FamilyRecord | None:
        """The applicant's family, or ``None``."""
        self._check()
        with self._lock:
            return self._records.get(applicant)

    def __repr__(self) -> str:
        with self._lock:
            counts = f"families={len(self._records)}"
        return f"MemoryFamilyRegister({counts}, {self._knobs()})"


class MemoryBenefitRegistry(_RemoteService):
    """The state registers of first-priority benefits (categories 5-11) in memory.

    For tests and the demo. Seed, step 3: a category with no record shows «Не найдена»;
    :meth:`confirm` adds the record that makes it found. Categories 1-4 are proven by a
    document, not a register, so confirming one raises ``ValueError``. ``fail`` is a
    register down, ``timeout`` a slow one. O(1) each.
    """

    _service = "the benefit registers"

    def __init__(self, *, fail: bool = False, timeout: bool = False) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self._records: set[tuple[Iin, Iin, BenefitCategory]] = set()

    def confirm(
        self, child: Iin | str, applicant: Iin | str, category: BenefitCategory | int
    ) -> None:
        """Add the register's record of ``category`` for this child and applicant."""
        kind = BenefitCategory(category)
        if kind.proof is not Proof.STATE_REGISTER:
            raise ValueError(
                f"category {int(kind)} is proven by an uploaded document, not a state register"
            )
        with self._lock:
            self._records.add((Iin(child), Iin(applicant), kind))

    def has_benefit(self, child: Iin, applicant: Iin, category: BenefitCategory) -> bool:
        """Whether a record for this child, applicant and category was confirmed."""
        self._check()
        with self._lock:
            return (child, applicant, category) in self._records

    def __repr__(self) -> str:
        with self._lock:
            counts = f"records={len(self._records)}"
        return f"MemoryBenefitRegistry({counts}, {self._knobs()})"


@attrs.frozen(repr=False)
class StoredDocument:
    """An uploaded document's bytes and media type; the ``repr`` shows only type and size."""

    content: bytes
    media_type: str

    def __repr__(self) -> str:
        return f"StoredDocument(media_type={self.media_type!r}, size={len(self.content)})"


class MemoryDocuments(_RemoteService):
    """Uploaded documents in memory, for tests and the demo.

    Seed, step 3: «Загрузить документ» for categories 1-4 and the ПМПК conclusion. Ids are
    ``"doc-1"``, ``"doc-2"``, ...; :meth:`get` returns what was stored. ``fail`` is an
    upload that fails, ``timeout`` a slow one. O(1) each (``put`` copies the bytes).
    """

    _service = "the document store"

    def __init__(self, *, fail: bool = False, timeout: bool = False) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self._documents: dict[str, StoredDocument] = {}

    def put(self, content: bytes, media_type: str) -> str:
        """Store a document; return its id (``"doc-N"``)."""
        self._check()
        document = StoredDocument(bytes(content), media_type)
        with self._lock:
            document_id = f"doc-{len(self._documents) + 1}"
            self._documents[document_id] = document
            return document_id

    def exists(self, document_id: str) -> bool:
        """Whether a document with this id is stored."""
        self._check()
        with self._lock:
            return document_id in self._documents

    def get(self, document_id: str) -> StoredDocument | None:
        """The stored document (for tests), or ``None``."""
        with self._lock:
            return self._documents.get(document_id)

    def __repr__(self) -> str:
        with self._lock:
            counts = f"documents={len(self._documents)}"
        return f"MemoryDocuments({counts}, {self._knobs()})"


class MemoryNotifier(_RemoteService):
    """Notifications in memory, for tests and the demo: each sent message lands in ``outbox``.

    Seed, step 0: messages go to families that consented to notifications. ``fail`` is the
    SMS or push gateway down, ``timeout`` a slow one; a failed send appends nothing. O(1).
    """

    _service = "the notification gateway"

    def __init__(self, *, fail: bool = False, timeout: bool = False) -> None:
        super().__init__(fail=fail, timeout=timeout)
        self.outbox: list[tuple[PhoneNumber, Message]] = []

    def send(self, phone: PhoneNumber, message: Message) -> None:
        """Append the message to ``outbox``."""
        self._check()
        with self._lock:
            self.outbox.append((phone, message))

    def __repr__(self) -> str:
        with self._lock:
            counts = f"sent={len(self.outbox)}"
        return f"MemoryNotifier({counts}, {self._knobs()})"


class ManualClock:
    """A clock that stands still until a test moves it, for tests and the demo.

    Lets a test run the code's countdown (seed, step 0: about 2 minutes) or the 40 days
    between number changes without waiting. :meth:`advance` moves by elapsed time (in UTC,
    so an hour is an hour across the 2024-03-01 change of offset); :meth:`set` jumps.
    A naive datetime raises :class:`~edqueue.errors.TimeError`. O(1) each.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "the clock's start")
        self._elapsed = 0.0  # seconds advanced: the monotonic clock
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's current instant, timezone-aware."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, /, **units: float) -> datetime:
        """Move on by ``delta`` or by ``timedelta(**units)`` (``advance(minutes=2)``)."""
        if delta is None:
            delta = timedelta(**units)
        elif units or not isinstance(delta, timedelta):
            raise TypeError("advance takes one timedelta or keyword units such as minutes=2")
        with self._lock:
            self._now = later(self._now, delta)
            self._elapsed += delta.total_seconds()
            return self._now

    def monotonic(self) -> float:
        """The seconds :meth:`advance` moved on (real time passing); :meth:`set` does not
        change it (a wall clock set forward or back)."""
        with self._lock:
            return self._elapsed

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (forward or back), as an operator or NTP sets a wall clock: the
        monotonic clock does not move."""
        moment = require_aware(at, "the clock's time")
        with self._lock:
            self._now = moment

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()!r})"


_MAX_NUMBER = 10**18  # an application number has at most 18 digits


class MemoryNumbers:
    """Application numbers from a counter: ``"1292583"``, ``"1292584"``, ... (seed, step 5).

    For tests and the demo. Thread-safe: no number is given twice. O(1).
    """

    def __init__(self, start: int = 1292583) -> None:
        if isinstance(start, bool) or not isinstance(start, int) or not 1 <= start < _MAX_NUMBER:
            raise ValueError("the first application number must be an int from 1 to 18 digits")
        self._next = start
        self._lock = threading.Lock()

    def next_number(self) -> str:
        """The next number."""
        with self._lock:
            if self._next >= _MAX_NUMBER:
                raise PortError("port.failed", "application numbers are exhausted (18 digits)")
            number = self._next
            self._next += 1
        return str(number)

    def __repr__(self) -> str:
        with self._lock:
            return f"MemoryNumbers(next={str(self._next)!r})"


_MOVED = frozenset({"MemoryPorts", "memory_ports", "seed_ports"})


def __getattr__(name: str) -> Any:
    """The in-memory world moved to :mod:`edqueue.testing.world` (an adapter imports no
    service); the old names work for one release, with a :class:`DeprecationWarning`."""
    if name in _MOVED:
        warnings.warn(
            f"edqueue.adapters.memory.{name} moved to edqueue.testing.world.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        from edqueue.testing import world

        return getattr(world, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
