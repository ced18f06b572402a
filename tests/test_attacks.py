"""The attacks of issue 22, run against the service: each asserts the defence holds.

DOMAIN.md, "Who attacks a queue": guessing a 4-digit code for someone else's phone, reusing
keys, flooding the service with refused requests, clocks that step back, several processes
at once. Each attack is bounded in time (a simulated clock, a bounded number of requests).
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest

from edqueue import (
    KAZAKHSTAN,
    Choice,
    Consent,
    EdqueueError,
    FullName,
    Iin,
    Language,
    LegalRepresentativeStatus,
    LockedError,
    TimeError,
)
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.sqlite import SqliteStore
from edqueue.ports import Clock, FamilyMember, FamilyRecord
from edqueue.rules import KAZAKHSTAN_POLICY
from edqueue.sample import seed_application
from edqueue.service import ApplicationService, Draft, LocalityConfig, Ports
from edqueue.testing.world import seed_ports
from tests.test_service import World

SEED = seed_application()
VICTIM = SEED.applicant.phone
NOW = datetime(2024, 2, 5, 12, 5, tzinfo=KAZAKHSTAN)
VALUES = KAZAKHSTAN_POLICY.at(NOW)
SALTANAT = Choice("shakhtinsk-saltanat", Language.RUSSIAN)
CONSENTS = [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT]


def iin(prefix: str, start: int = 0) -> Iin:
    """A valid IIN with these first seven digits (the first serial from ``start`` that has a
    check digit)."""
    for serial in range(start, 10_000):
        first_eleven = f"{prefix}{serial:04d}"
        digit = Iin.check_digit(first_eleven)
        if digit is not None:
            return Iin(f"{first_eleven}{digit}")
    raise AssertionError("no IIN")


def memory_world() -> World:
    ports = seed_ports(NOW)
    repository, drafts = MemoryRepository(), MemoryDrafts()
    return World(ports, repository, drafts, ports.service(repository, drafts))


@pytest.fixture
def world() -> World:
    return memory_world()


def refused(call: object, *args: object, **kwargs: object) -> EdqueueError:
    with pytest.raises(EdqueueError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def outcome(call: object, *args: object, **kwargs: object) -> str:
    """``"ok"``, or the code of the error the call raised."""
    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except EdqueueError as error:
        return error.code
    return "ok"


def wrong(code: str, n: int = 0) -> str:
    """A code that is not ``code`` (the n-th such one)."""
    candidates = [f"{i:04d}" for i in range(n, n + 2)]
    return candidates[0] if candidates[0] != code else candidates[1]


def submit_for(world: World, phone: str, applicant: Iin, child: Iin, key: str) -> Draft:
    """Steps 0-4 for a family with one child born on 23.06.2020 (the seed's group)."""
    identity, family = world.ports.identity, world.ports.family
    if not identity.in_mobile_register(type(VICTIM)(phone)):
        identity.register_number(phone, applicant)
        identity.install_app(phone)
        family.add(
            FamilyRecord(
                applicant,
                FullName("Сериков", "Ерлан"),
                (
                    FamilyMember(
                        attrs.evolve(SEED.child, iin=child), LegalRepresentativeStatus.CONFIRMED
                    ),
                ),
            )
        )
    draft = world.service.start(phone)
    world.service.confirm_code(draft.id, world.ports.identity.last_code(phone) or "")
    world.service.give_consents(draft.id, CONSENTS)
    world.service.request_family_access(draft.id, applicant)
    world.service.choose_child(draft.id, child)
    world.service.choose_organizations(draft.id, [SALTANAT])
    world.service.claim_benefit(draft.id, None)
    return draft


def seed_draft(world: World) -> Draft:
    return submit_for(world, VICTIM.reveal(), SEED.applicant.iin, SEED.child.iin, "seed")


# --- 1. brute force of the 4-digit code ----------------------------------------------------------


def test_brute_force_of_the_code_never_gets_in(world: World) -> None:
    """Issue 22's attack: signed in to the victim's number, loop «new code, three guesses»
    for a day at one request a second. Every guess the attacker makes is wrong (the worst
    case for the defence: the counts run out exactly) and, once the number is locked, the
    right code itself is tried every cycle: it must be refused too."""
    service, clock = world.service, world.ports.clock
    draft = service.start(VICTIM)
    guesses: list[str] = []
    locked_right: list[str] = []
    end = NOW + timedelta(hours=23)
    while clock.now() < end:
        outcome(service.send_code, draft.id)  # refused past 5 an hour; the old code stays
        right = world.ports.identity.last_code(VICTIM) or ""
        for n in range(3):
            clock.advance(seconds=1)
            guesses.append(outcome(service.confirm_code, draft.id, wrong(right, n)))
            if guesses[-1] == "identity.locked":
                locked_right.append(outcome(service.confirm_code, draft.id, right))
                break
        clock.advance(seconds=1)
    assert "ok" not in guesses
    assert guesses.count("identity.code_wrong") == VALUES.code_failures_per_phone  # 10 a day
    assert len(locked_right) > 1000 and set(locked_right) == {"identity.locked"}
    assert service._draft(draft.id).confirmed_at is None


def test_the_lockout_says_when_it_ends_and_ends_then(world: World) -> None:
    service, clock = world.service, world.ports.clock
    draft = service.start(VICTIM)
    first_wrong = clock.now()
    for _ in range(VALUES.code_failures_per_phone):
        if not service._draft(draft.id).code_sent:
            service.send_code(draft.id)
        right = world.ports.identity.last_code(VICTIM) or ""
        error = refused(service.confirm_code, draft.id, wrong(right))
        if error.code == "identity.code_attempts":
            service.send_code(draft.id)
            right = world.ports.identity.last_code(VICTIM) or ""
            refused(service.confirm_code, draft.id, wrong(right))
        clock.advance(seconds=1)
    service.send_code(draft.id)
    lock = refused(service.confirm_code, draft.id, world.ports.identity.last_code(VICTIM))
    assert isinstance(lock, LockedError)
    assert lock.until == first_wrong + timedelta(days=1)  # the first wrong code leaves the window
    assert "Kazakhstan time" in lock.message and str(VICTIM.reveal()) not in lock.message
    clock.set(lock.until)
    fresh = service.start(VICTIM)
    assert service.confirm_code(fresh.id, world.ports.identity.last_code(VICTIM) or "").confirmed_at


def test_codes_sent_are_limited_per_number_and_per_device(world: World) -> None:
    service = world.service
    draft = service.start(VICTIM)  # the first code
    for _ in range(VALUES.code_sends_per_phone - 1):
        service.send_code(draft.id)
    assert isinstance(refused(service.send_code, draft.id), LockedError)
    assert isinstance(refused(service.start, VICTIM), LockedError)  # a new draft does not help
    # one device cycling through many numbers is stopped by the device's own limit
    phones = [f"+7701555{i:04d}" for i in range(VALUES.code_sends_per_device + 1)]
    for phone in phones:
        world.ports.identity.register_number(phone)
        world.ports.identity.install_app(phone)
    for phone in phones[:-1]:
        service.start(phone, device="attacker-laptop")
    error = refused(service.start, phones[-1], device="attacker-laptop")
    assert error.code == "identity.locked" and "device" in error.message
    assert service.start(phones[-1], device="family-phone").code_sent  # others go on


def test_one_device_guessing_across_many_numbers_is_locked(world: World) -> None:
    service = world.service
    phones = [f"+7701666{i:04d}" for i in range(8)]
    checked = 0
    for phone in phones:
        world.ports.identity.register_number(phone)
        world.ports.identity.install_app(phone)
        draft = service.start(phone, device="attacker")
        for n in range(3):
            error = refused(
                service.confirm_code,
                draft.id,
                wrong(world.ports.identity.last_code(phone) or "", n),
                device="attacker",
            )
            checked += error.code == "identity.code_wrong"
    assert checked == VALUES.code_failures_per_device  # 20 of the 24 guesses were checked


def _guess(path: str, draft_id: str, guess: str, rounds: int) -> list[str]:
    """One process: a service over the shared SQLite file, guessing ``rounds`` times."""
    ports = seed_ports(NOW)
    codes = []
    with SqliteStore(Path(path)) as store:
        service = ports.service(store, store)
        for _ in range(rounds):
            try:
                service.confirm_code(draft_id, guess)
            except EdqueueError as error:
                codes.append(error.code)
    return codes


def test_processes_guessing_at_once_lose_no_count(tmp_path: Path) -> None:
    """Issue 22: 8 processes guessing at once on one draft had 23-24 wrong guesses checked
    instead of 3. The counts live in the store and are taken atomically."""
    path = tmp_path / "q.sqlite3"
    ports = seed_ports(NOW)
    with SqliteStore(path) as store:
        draft = ports.service(store, store).start(VICTIM)
    guess = wrong(ports.identity.last_code(VICTIM) or "")
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        results = pool.starmap(_guess, [(str(path), draft.id, guess, 4)] * 8)
    codes = [code for result in results for code in result]
    assert len(codes) == 32
    assert codes.count("identity.code_wrong") == VALUES.confirmation_code_attempts
    assert set(codes) == {"identity.code_wrong", "identity.code_attempts"}


# --- 2. an idempotency key used by another family ------------------------------------------------


def test_another_familys_key_is_refused_and_nothing_changes(world: World) -> None:
    first = world.service.submit(seed_draft(world).id, "form-42")
    other = submit_for(
        world, "+77015550042", iin("9001013"), iin("2006235", 100), "form-42"
    )  # another family, another child
    events = len(world.repository.events())
    error = refused(world.service.submit, other.id, "form-42")
    assert error.code == "flow.idempotency_key_reused"
    assert first.number not in error.message
    assert [s.application.number for s in world.repository.all()] == [first.number]
    assert len(world.repository.events()) == events
    # a forged draft id with the key learns nothing either
    assert refused(world.service.submit, "forged", "form-42").code == "flow.idempotency_key_reused"
    # keys are compared exactly: " form-42 " is another key, and the family goes on
    second = world.service.submit(other.id, " form-42 ")
    assert (second.repeated, second.number != first.number) == (False, True)


def test_the_same_family_retrying_gets_its_number_and_no_draft_is_left(world: World) -> None:
    draft = seed_draft(world)
    first = world.service.submit(draft.id, "form-42")
    again = world.service.submit(draft.id, "form-42")
    assert (again.number, again.repeated) == (first.number, True)
    assert world.drafts.load(draft.id) is None


# --- 3. a flood of refusals ----------------------------------------------------------------------


def test_a_flood_of_refusals_keeps_the_log_small_and_is_counted(world: World) -> None:
    number = world.service.submit(seed_draft(world).id, "k").number
    before = len(world.repository.events())
    for i in range(5_000):
        if i % 1_000 == 0:
            world.ports.clock.advance(minutes=1)
        refused(world.service.details, number, session="nope")
    grown = len(world.repository.events()) - before
    assert grown <= 5  # one record a minute: the first refusal, then one per interval
    assert world.service.refusals == {"unknown session": 5_000}
    world.service.flush_refusals()
    records = world.repository.events()[before:]
    assert {r.kind for r in records} == {"access_denied"}
    assert sum(int(r.data["count"] or 0) for r in records) == 5_000  # the operator sees all
    assert world.service.flush_refusals() == 0


# --- 4. clocks that step back --------------------------------------------------------------------


def test_a_clock_stepped_back_does_not_reorder_submissions(world: World) -> None:
    earlier = world.service.submit(seed_draft(world).id, "first").number
    world.ports.clock.set(NOW - timedelta(hours=1))
    other = submit_for(world, "+77015550043", iin("9001013"), iin("2006235", 100), "x")
    later = world.service.submit(other.id, "second").number
    first, second = (world.service.book.application(n).submitted_at for n in (earlier, later))
    assert second >= first
    positions = {
        n: world.service.position(n)[0].position for n in (earlier, later)
    }  # both in Saltanat's 2020 Russian group
    assert positions == {earlier: 1, later: 2}


def test_a_clock_stepped_back_does_not_extend_a_code(world: World) -> None:
    """Issue 22: a code sent at 12:05, the clock then set to 11:50, was accepted 15 real
    minutes later (its lifetime is 2 minutes)."""
    draft = world.service.start(VICTIM)
    code = world.ports.identity.last_code(VICTIM) or ""
    world.ports.clock.set(datetime(2024, 2, 5, 11, 50, tzinfo=KAZAKHSTAN))
    world.ports.clock.advance(minutes=15)  # real time passes; the clock reads 12:05 again
    assert refused(world.service.confirm_code, draft.id, code).code == "identity.code_expired"


def test_a_code_still_lives_its_real_lifetime_after_a_step_back(world: World) -> None:
    draft = world.service.start(VICTIM)
    code = world.ports.identity.last_code(VICTIM) or ""
    world.ports.clock.set(NOW - timedelta(minutes=15))
    world.ports.clock.advance(minutes=1)  # one real minute: still within its 2 minutes
    assert world.service.confirm_code(draft.id, code).confirmed_at is not None


@pytest.mark.parametrize("monotonic", [True, False])
def test_kazakhstans_move_to_one_zone_is_no_step_back(monotonic: bool) -> None:
    """On 2024-03-01 Kazakhstan moved from UTC+6 to UTC+5: the hour from 00:00 repeats on the
    wall clock. Time runs on; it did not step back (SteadyTime compared wall times, saw a
    step back of an hour, and ran an hour ahead from then on)."""
    from edqueue.adapters.memory import ManualClock
    from edqueue.models import instant
    from edqueue.timekeeping import SteadyTime

    clock = ManualClock(datetime(2024, 2, 29, 23, 30, tzinfo=KAZAKHSTAN))
    steady = SteadyTime(clock if monotonic else WallOnly(clock))
    readings = []
    for _ in range(6):  # 23:30+06 to 00:30+05, through the repeated hour
        clock.advance(minutes=15)
        readings.append(steady.now())
    assert steady.steps_back == 0
    assert instant(readings[-1]) == instant(clock.now())
    assert all(instant(a) < instant(b) for a, b in itertools.pairwise(readings))


@attrs.frozen
class WallOnly:
    """A clock with no monotonic reading: SteadyTime then compares the instants alone."""

    clock: Clock

    def now(self) -> datetime:
        return self.clock.now()


def test_a_naive_clock_is_refused_at_construction() -> None:
    ports = seed_ports(NOW)

    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2024, 2, 5, 12, 0)  # noqa: DTZ001 (the attack)

    with pytest.raises(TimeError) as caught:
        ApplicationService(
            Ports(
                identity=ports.identity,
                consents=ports.consents,
                family=ports.family,
                benefits=ports.benefits,
                documents=ports.documents,
                notifier=ports.notifier,
                clock=NaiveClock(),
                store=MemoryRepository(),
                drafts=MemoryDrafts(),
                numbers=ports.numbers,
                attempts=ports.attempts,
            ),
            LocalityConfig(organizations=[], authority="-", locality="-"),
        )
    assert caught.value.code == "time.naive"


# --- 5. drafts with personal data ----------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def any_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    if request.param == "memory":
        yield memory_world()
        return
    ports = seed_ports(NOW)
    with SqliteStore(tmp_path / "q.sqlite3") as store:
        yield World(ports, store, store, ports.service(store, store))


def drafts_left(world: World) -> int:
    drafts = world.drafts
    if isinstance(drafts, SqliteStore):
        return int(drafts._read("SELECT count(*) FROM drafts", ())[0][0])
    return len(drafts._drafts)


def test_no_draft_survives_a_submission_and_old_ones_are_purged(any_world: World) -> None:
    world = any_world
    for i in range(30):
        draft = submit_for(
            world, f"+7701777{i:04d}", iin("9001013", 10 * i), iin("2006235", 10 * i), "-"
        )
        world.service.submit(draft.id, f"key-{i}")
        world.ports.clock.advance(seconds=5)
    assert drafts_left(world) == 0
    abandoned = [world.service.start(f"+7701777{i:04d}") for i in range(3)]
    session = world.service.sign_in("+77017770003")
    world.service.sign_out(session.id)
    assert drafts_left(world) == 3
    world.ports.clock.advance(minutes=VALUES.draft_lifetime.amount - 1)
    assert world.service.purge_drafts() == 0  # not yet
    world.ports.clock.advance(minutes=1)
    assert refused(world.service.give_consents, abandoned[0].id, CONSENTS).code == (
        "flow.unknown_draft"
    )  # expired: refused and deleted at once
    assert world.service.purge_drafts() == 2
    assert drafts_left(world) == 0


def test_a_purge_deletes_drafts_written_before_drafts_expired(any_world: World) -> None:
    world = any_world
    draft = world.service.start(VICTIM)
    data = dict(world.drafts.load(draft.id) or {})
    del data["expires_at"]
    world.drafts.save(draft.id, data)  # as an edqueue before this one wrote it
    assert world.service.purge_drafts() == 1
    assert world.drafts.load(draft.id) is None


def test_the_family_still_gets_through_after_the_defences(world: World) -> None:
    """The defences stop attackers, not the family: the whole flow, with the SMS answered."""
    draft = world.service.start(VICTIM, device="family-phone")
    world.service.confirm_code(
        draft.id, world.ports.identity.last_code(VICTIM) or "", device="family-phone"
    )
    world.service.give_consents(draft.id, CONSENTS)
    draft = world.service.request_family_access(draft.id, SEED.applicant.iin)
    world.service.choose_child(draft.id, SEED.child.iin)
    world.service.choose_organizations(draft.id, [SALTANAT])
    world.service.claim_benefit(draft.id, None)
    assert world.service.submit(draft.id, "form-1").number == "1292583"
