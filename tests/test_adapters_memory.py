"""The in-memory adapters: each satisfies its port, behaves, obeys its knobs, hides PII."""

import re
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from edqueue.adapters.memory import (
    AccessRequest,
    ManualClock,
    MemoryBenefitRegistry,
    MemoryConsents,
    MemoryDocuments,
    MemoryFamilyRegister,
    MemoryIdentity,
    MemoryNotifier,
    MemoryNumbers,
)
from edqueue.errors import PortError, TimeError
from edqueue.models import (
    KAZAKHSTAN,
    BenefitCategory,
    Iin,
    LegalRepresentativeStatus,
    PhoneNumber,
    instant,
)
from edqueue.ports import (
    AccessAnswer,
    BenefitRegistry,
    Clock,
    ConsentRegistry,
    DeviceBinding,
    DocumentStore,
    FamilyMember,
    FamilyRecord,
    FamilyRegister,
    IdentityProvider,
    Message,
    Notifier,
    NumberSequence,
)
from edqueue.sample import seed_application
from edqueue.testing.world import memory_ports, seed_ports

IIN = "900315400017"  # the seed's applicant
CHILD_IIN = "200623500011"  # the seed's child
PHONE = "+77010000001"  # the seed's applicant's phone
OTHER_PHONE = "+77010000002"
CODE = "482916"
NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
MESSAGE = Message("submitted", "1292583", "Заявление принято", "Өтініш қабылданды")

# what must never appear in a repr: the IIN, the phone (with and without +7), the code, names
CLEAR = [IIN, CHILD_IIN, PHONE, PHONE[2:], CODE, "Ахметова", "Айгуль", "Ахметов", "Алихан"]


def phone(text: str = PHONE) -> PhoneNumber:
    return PhoneNumber(text)


def seed_family() -> FamilyRecord:
    seed = seed_application()
    member = FamilyMember(seed.child, LegalRepresentativeStatus.CONFIRMED)
    return FamilyRecord(seed.applicant.iin, seed.applicant.name, (member,))


@pytest.mark.parametrize(
    ("adapter", "port"),
    [
        (MemoryIdentity(), IdentityProvider),
        (MemoryConsents(), ConsentRegistry),
        (MemoryFamilyRegister(), FamilyRegister),
        (MemoryBenefitRegistry(), BenefitRegistry),
        (MemoryDocuments(), DocumentStore),
        (MemoryNotifier(), Notifier),
        (ManualClock(NOW), Clock),
        (MemoryNumbers(), NumberSequence),
    ],
)
def test_each_adapter_satisfies_its_port(adapter: object, port: type) -> None:
    assert isinstance(adapter, port)


# --- identity (step 0) --------------------------------------------------------------------


def test_identity_knows_the_register_and_the_apps_in_any_written_form() -> None:
    identity = MemoryIdentity(mobile_register=["8 (701) 000-00-01"], apps=[phone()])
    assert identity.in_mobile_register(phone())
    assert identity.app_bound(phone())
    assert not identity.in_mobile_register(phone(OTHER_PHONE))  # not in БМГ
    assert not identity.app_bound(phone(OTHER_PHONE))


def test_a_number_in_the_register_may_have_no_app_until_one_is_installed() -> None:
    identity = MemoryIdentity(mobile_register=[PHONE])
    assert identity.in_mobile_register(phone())
    assert not identity.app_bound(phone())
    identity.install_app(PHONE)
    assert identity.app_bound(phone())


def test_register_number_puts_a_number_in_the_bmg() -> None:
    identity = MemoryIdentity()
    assert not identity.in_mobile_register(phone())
    identity.register_number(PHONE)
    assert identity.in_mobile_register(phone())


def test_push_code_records_every_code_and_the_last_one_per_number() -> None:
    identity = MemoryIdentity([PHONE, OTHER_PHONE], [PHONE, OTHER_PHONE])
    assert identity.last_code(PHONE) is None
    identity.push_code(phone(), "111111")
    identity.push_code(phone(OTHER_PHONE), "222222")
    identity.push_code(phone(), CODE)
    assert identity.last_code(PHONE) == CODE
    assert identity.last_code(phone(OTHER_PHONE)) == "222222"
    assert identity.pushed == [
        (phone(), "111111"),
        (phone(OTHER_PHONE), "222222"),
        (phone(), CODE),
    ]


def test_push_code_to_a_number_with_no_app_fails_and_records_nothing() -> None:
    identity = MemoryIdentity([PHONE])
    with pytest.raises(PortError) as caught:
        identity.push_code(phone(), CODE)
    assert caught.value.code == "port.failed"
    assert identity.pushed == []
    assert identity.last_code(PHONE) is None


def test_bind_records_the_binding_and_gives_the_number_an_app() -> None:
    identity = MemoryIdentity([PHONE])
    assert identity.binding("device-1") is None
    first = DeviceBinding("device-1", phone(), NOW)
    identity.bind(first)
    assert identity.binding("device-1") == first
    assert identity.app_bound(phone())
    identity.push_code(phone(), CODE)
    assert identity.last_code(PHONE) == CODE

    later = DeviceBinding("device-1", phone(OTHER_PHONE), NOW + timedelta(days=41))
    identity.bind(later)
    assert identity.binding("device-1") == later  # the previous binding is replaced
    assert identity.binding("device-2") is None


# --- the fail and timeout knobs of every remote service ----------------------------------

REMOTE_CALLS: list[tuple[str, Callable[[], Any], Callable[[Any], object]]] = [
    ("in_mobile_register", MemoryIdentity, lambda a: a.in_mobile_register(phone())),
    ("app_bound", MemoryIdentity, lambda a: a.app_bound(phone())),
    ("push_code", lambda: MemoryIdentity([PHONE], [PHONE]), lambda a: a.push_code(phone(), CODE)),
    ("binding", MemoryIdentity, lambda a: a.binding("device-1")),
    ("bind", MemoryIdentity, lambda a: a.bind(DeviceBinding("device-1", phone(), NOW))),
    ("request_access", MemoryConsents, lambda a: a.request_access(Iin(IIN), phone())),
    ("access_answer", MemoryConsents, lambda a: a.access_answer("sms-1")),
    ("family", MemoryFamilyRegister, lambda a: a.family(Iin(IIN))),
    (
        "has_benefit",
        MemoryBenefitRegistry,
        lambda a: a.has_benefit(Iin(CHILD_IIN), Iin(IIN), BenefitCategory.LARGE_FAMILY),
    ),
    ("put", MemoryDocuments, lambda a: a.put(b"%PDF-1.7", "application/pdf")),
    ("exists", MemoryDocuments, lambda a: a.exists("doc-1")),
    ("send", MemoryNotifier, lambda a: a.send(phone(), MESSAGE)),
]


@pytest.mark.parametrize(("knob", "code"), [("fail", "port.failed"), ("timeout", "port.timeout")])
@pytest.mark.parametrize(("name", "make", "call"), REMOTE_CALLS, ids=[c[0] for c in REMOTE_CALLS])
def test_every_port_call_obeys_fail_and_timeout(
    name: str,
    make: Callable[[], Any],
    call: Callable[[Any], object],
    knob: str,
    code: str,
) -> None:
    adapter = make()
    setattr(adapter, knob, True)
    with pytest.raises(PortError) as caught:
        call(adapter)
    assert caught.value.code == code
    message = f"{caught.value} {caught.value!r}"
    assert not any(value in message for value in CLEAR)


@pytest.mark.parametrize(
    "make",
    [MemoryIdentity, MemoryConsents, MemoryFamilyRegister, MemoryBenefitRegistry, MemoryDocuments],
)
def test_knobs_can_be_given_to_the_constructor_and_switched_off(make: Callable[..., Any]) -> None:
    adapter = make(timeout=True, fail=True)
    assert (adapter.fail, adapter.timeout) == (True, True)
    assert "fail=True, timeout=True" in repr(adapter)
    adapter.fail = adapter.timeout = False
    assert "fail=False, timeout=False" in repr(adapter)


def test_timeout_wins_over_fail() -> None:
    family = MemoryFamilyRegister(fail=True, timeout=True)
    with pytest.raises(PortError) as caught:
        family.family(Iin(IIN))
    assert caught.value.code == "port.timeout"


def test_a_failed_call_changes_nothing() -> None:
    identity = MemoryIdentity([PHONE], [PHONE], fail=True)
    consents = MemoryConsents(timeout=True)
    documents = MemoryDocuments(fail=True)
    notifier = MemoryNotifier(fail=True)
    for attempt in (
        lambda: identity.push_code(phone(), CODE),
        lambda: identity.bind(DeviceBinding("device-1", phone(), NOW)),
        lambda: consents.request_access(Iin(IIN), phone()),
        lambda: documents.put(b"scan", "image/png"),
        lambda: notifier.send(phone(), MESSAGE),
    ):
        with pytest.raises(PortError):
            attempt()
    identity.fail = consents.timeout = documents.fail = notifier.fail = False
    assert identity.pushed == []
    assert identity.last_code(PHONE) is None
    assert identity.binding("device-1") is None
    assert consents.requests == []
    assert consents.request_access(Iin(IIN), phone()) == "sms-1"  # no id was used up
    assert not documents.exists("doc-1")
    assert notifier.outbox == []


# --- consents (step 1) --------------------------------------------------------------------


def test_requests_are_numbered_and_unanswered_until_the_citizen_answers() -> None:
    consents = MemoryConsents()
    first = consents.request_access(Iin(IIN), phone())
    second = consents.request_access(Iin(IIN), phone())
    assert (first, second) == ("sms-1", "sms-2")
    assert consents.access_answer(first) is AccessAnswer.NO_ANSWER
    consents.answer(first, AccessAnswer.GRANTED)
    assert consents.access_answer(first) is AccessAnswer.GRANTED
    assert consents.access_answer(second) is AccessAnswer.NO_ANSWER
    assert [request.request_id for request in consents.requests] == ["sms-1", "sms-2"]
    assert consents.requests == [
        AccessRequest("sms-1", Iin(IIN), phone()),
        AccessRequest("sms-2", Iin(IIN), phone()),
    ]


@pytest.mark.parametrize("answer", [AccessAnswer.GRANTED, AccessAnswer.REFUSED])
def test_auto_answer_answers_every_new_request_at_once(answer: AccessAnswer) -> None:
    consents = MemoryConsents(auto_answer=answer)
    request_id = consents.request_access(Iin(IIN), phone())
    assert consents.access_answer(request_id) is answer


def test_auto_answer_can_be_switched_between_requests() -> None:
    consents = MemoryConsents()
    pending = consents.request_access(Iin(IIN), phone())
    consents.auto_answer = AccessAnswer.REFUSED  # the SMS is refused from now on
    refused = consents.request_access(Iin(IIN), phone())
    assert consents.access_answer(pending) is AccessAnswer.NO_ANSWER
    assert consents.access_answer(refused) is AccessAnswer.REFUSED


def test_unknown_request_ids_are_errors() -> None:
    consents = MemoryConsents()
    with pytest.raises(PortError) as caught:
        consents.access_answer("sms-9")
    assert caught.value.code == "port.failed"
    with pytest.raises(KeyError):
        consents.answer("sms-9", AccessAnswer.GRANTED)


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as possible, so that a missing lock shows up as a lost update."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("fast_switching")
def test_request_ids_are_unique_under_threads() -> None:
    consents = MemoryConsents()
    ids: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [consents.request_access(Iin(IIN), phone()) for _ in range(250)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == sorted(f"sms-{n}" for n in range(1, 1001))
    assert len(consents.requests) == 1000


# --- family register (step 1) -------------------------------------------------------------


def test_family_register_returns_what_was_added_and_none_otherwise() -> None:
    family = MemoryFamilyRegister()
    assert family.family(Iin(IIN)) is None
    record = seed_family()
    family.add(record)
    assert family.family(Iin(IIN)) == record
    assert family.family(Iin(CHILD_IIN)) is None
    emptier = attrs.evolve(record, children=())
    family.add(emptier)
    assert family.family(Iin(IIN)) == emptier  # replaced


def test_family_register_takes_records_at_construction() -> None:
    record = seed_family()
    assert MemoryFamilyRegister([record]).family(Iin(IIN)) == record


# --- benefit registers (step 3) -----------------------------------------------------------


def test_a_benefit_is_not_found_until_confirmed_for_that_child_applicant_and_category() -> None:
    benefits = MemoryBenefitRegistry()
    child, applicant = Iin(CHILD_IIN), Iin(IIN)
    assert not benefits.has_benefit(child, applicant, BenefitCategory.LARGE_FAMILY)  # «Не найдена»
    benefits.confirm(CHILD_IIN, applicant, 8)
    assert benefits.has_benefit(child, applicant, BenefitCategory.LARGE_FAMILY)
    assert not benefits.has_benefit(child, applicant, BenefitCategory(7))
    assert not benefits.has_benefit(child, Iin("920505300017"), BenefitCategory.LARGE_FAMILY)


@pytest.mark.parametrize("category", [1, 2, 3, 4])
def test_extraordinary_categories_are_not_in_a_register(category: int) -> None:
    with pytest.raises(ValueError, match="document"):
        MemoryBenefitRegistry().confirm(CHILD_IIN, IIN, category)


# --- documents (step 3) -------------------------------------------------------------------


def test_documents_are_numbered_and_kept_with_their_media_type() -> None:
    documents = MemoryDocuments()
    scan = bytearray(b"%PDF-1.7 certificate")
    first = documents.put(scan, "application/pdf")  # type: ignore[arg-type]
    second = documents.put(b"\x89PNG", "image/png")
    scan[:4] = b"XXXX"  # the store kept a copy
    assert (first, second) == ("doc-1", "doc-2")
    assert documents.exists(first)
    assert not documents.exists("doc-3")
    stored = documents.get(first)
    assert stored is not None
    assert (stored.content, stored.media_type) == (b"%PDF-1.7 certificate", "application/pdf")
    assert documents.get("doc-3") is None
    assert "certificate" not in repr(stored)
    assert "size=20" in repr(stored)


# --- notifier -----------------------------------------------------------------------------


def test_notifier_keeps_every_message_in_order() -> None:
    notifier = MemoryNotifier()
    other = attrs.evolve(MESSAGE, kind="referral")
    notifier.send(phone(), MESSAGE)
    notifier.send(phone(OTHER_PHONE), other)
    assert notifier.outbox == [(phone(), MESSAGE), (phone(OTHER_PHONE), other)]


# --- clock --------------------------------------------------------------------------------


def test_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(NOW)
    assert clock.now() == NOW
    assert clock.now() == NOW
    assert clock.advance(minutes=2) == NOW + timedelta(minutes=2)
    # 40 days later is past the 2024-03-01 change of offset: compare instants, not wall times
    later = clock.advance(timedelta(days=40))
    assert instant(later) - instant(NOW) == timedelta(days=40, minutes=2)
    assert clock.now() == later
    clock.set(NOW - timedelta(days=1))
    assert clock.now() == NOW - timedelta(days=1)


def test_manual_clock_advances_by_elapsed_time_across_the_change_of_offset() -> None:
    before = datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN)  # UTC+6
    clock = ManualClock(before)
    after = clock.advance(hours=1)
    assert instant(after) - instant(before) == timedelta(hours=1)
    assert after.utcoffset() == timedelta(hours=5)
    assert after.tzinfo is KAZAKHSTAN


def test_manual_clock_rejects_naive_datetimes() -> None:
    naive = NOW.replace(tzinfo=None)
    with pytest.raises(TimeError) as caught:
        ManualClock(naive)
    assert caught.value.code == "time.naive"
    clock = ManualClock(NOW)
    with pytest.raises(TimeError):
        clock.set(naive)
    assert clock.now() == NOW


def test_advance_takes_a_delta_or_units_not_both() -> None:
    clock = ManualClock(NOW)
    with pytest.raises(TypeError):
        clock.advance(timedelta(minutes=1), minutes=1)
    assert clock.now() == NOW


# --- numbers ------------------------------------------------------------------------------


def test_numbers_count_up_from_the_seed_number() -> None:
    numbers = MemoryNumbers()
    assert [numbers.next_number() for _ in range(3)] == ["1292583", "1292584", "1292585"]
    assert MemoryNumbers(start=7).next_number() == "7"


@pytest.mark.parametrize("start", [0, -1, 10**18, True])
def test_numbers_start_must_make_a_valid_application_number(start: int) -> None:
    with pytest.raises(ValueError, match="18 digits"):
        MemoryNumbers(start=start)


@pytest.mark.usefixtures("fast_switching")
def test_numbers_are_unique_under_four_threads() -> None:
    numbers = MemoryNumbers(start=1)
    results: list[list[str]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def work(out: list[str]) -> None:
        barrier.wait()
        out.extend(numbers.next_number() for _ in range(1000))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    given = [number for out in results for number in out]
    assert len(given) == 4000
    assert sorted(given, key=int) == [str(n) for n in range(1, 4001)]


# --- bundles ------------------------------------------------------------------------------


def test_memory_ports_start_empty() -> None:
    ports = memory_ports(now=NOW)
    assert not ports.identity.in_mobile_register(phone())
    assert ports.family.family(Iin(IIN)) is None
    request_id = ports.consents.request_access(Iin(IIN), phone())
    assert ports.consents.access_answer(request_id) is AccessAnswer.NO_ANSWER
    assert ports.clock.now() == NOW
    assert ports.numbers.next_number() == "1292583"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ports.clock = ManualClock(NOW)  # type: ignore[misc]


def test_seed_ports_preload_the_seeds_world() -> None:
    seed = seed_application()
    ports = seed_ports(NOW)
    assert ports.identity.in_mobile_register(seed.applicant.phone)
    assert ports.identity.app_bound(seed.applicant.phone)
    record = ports.family.family(seed.applicant.iin)
    assert record is not None
    assert record.name == seed.applicant.name
    assert record.children == (FamilyMember(seed.child, LegalRepresentativeStatus.CONFIRMED),)
    request_id = ports.consents.request_access(seed.applicant.iin, seed.applicant.phone)
    assert ports.consents.access_answer(request_id) is AccessAnswer.GRANTED
    assert ports.clock.now() == NOW
    assert ports.identity.pushed == []
    assert ports.notifier.outbox == []


def test_seed_ports_are_fresh_each_time() -> None:
    first, second = seed_ports(NOW), seed_ports(NOW)
    first.identity.push_code(phone(), CODE)
    assert second.identity.pushed == []


# --- personal data ------------------------------------------------------------------------


def test_reprs_show_no_iin_phone_name_or_code() -> None:
    ports = seed_ports(NOW)
    ports.identity.push_code(phone(), CODE)
    ports.identity.bind(DeviceBinding("device-1", phone(), NOW))
    request_id = ports.consents.request_access(Iin(IIN), phone())
    ports.benefits.confirm(CHILD_IIN, IIN, BenefitCategory.LARGE_FAMILY)
    ports.documents.put(f"IIN {IIN}".encode(), "text/plain")
    ports.notifier.send(phone(), MESSAGE)
    ports.numbers.next_number()
    shown = " ".join(
        repr(thing)
        for thing in (
            ports,
            *attrs.astuple(ports, recurse=False),
            *ports.consents.requests,
            ports.documents.get("doc-1"),
        )
    )
    assert "codes_pushed=1" in shown
    assert "requests=1" in shown
    assert request_id in shown
    for value in CLEAR:
        assert value not in shown
    assert not re.search(r"\d{10,}", shown)  # no IIN or phone number in any form


def test_the_world_moved_to_edqueue_testing_and_the_old_names_warn() -> None:
    import edqueue.adapters.memory as adapters
    from edqueue.testing import world

    for name in ("MemoryPorts", "memory_ports", "seed_ports"):
        with pytest.warns(DeprecationWarning, match="edqueue.testing.world"):
            assert getattr(adapters, name) is getattr(world, name)
    with pytest.raises(AttributeError):
        adapters.no_such_name  # noqa: B018
