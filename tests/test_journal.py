"""The queue journal: every queue event survives the store's log, and the log alone rebuilds
the queues the service built (issue 7: "Replaying the log rebuilds the same QueueBook")."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from edqueue import (
    KAZAKHSTAN,
    BenefitCategory,
    BenefitClaim,
    BenefitStatus,
    Child,
    Choice,
    Consent,
    EdqueueError,
    FullName,
    GroupKey,
    Iin,
    Language,
    LegalRepresentativeStatus,
    QueueKind,
    Tier,
)
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.sqlite import SqliteStore
from edqueue.audit import verify_audit_log
from edqueue.errors import StorageError
from edqueue.journal import (
    from_record,
    is_queue_record,
    rebuild_book,
    rebuild_desk,
    submitted_application,
    to_record,
)
from edqueue.models.identity import Sex
from edqueue.ports import AccessAnswer, EventRecord, FamilyMember, FamilyRecord
from edqueue.rules import KAZAKHSTAN_POLICY, ReferralDesk
from edqueue.rules.events import (
    ApplicationRemoved,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    BenefitChanged,
    BenefitConfirmed,
    ChoicesChanged,
    OrganizationChanged,
    PlaceFreed,
    QueueEvent,
    ReferralClosed,
    ReferralExtended,
    ReferralIssued,
    StopListed,
    event_types,
)
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.service import ApplicationService
from edqueue.testing import iin_prefix, kazakhstan_datetimes, organizations
from edqueue.testing.world import MemoryPorts, memory_ports

NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
SALTANAT = "shakhtinsk-saltanat"
KARLYGASH = "shakhtinsk-karlygash"
BORN = (date(2020, 6, 23), date(2020, 11, 2), date(2021, 3, 10), date(2022, 9, 1))

ORGANIZATIONS = "organization_changed"
"""The locality's organization records a service logs when it starts (left out here)."""


# --- round trip of every event type ------------------------------------------------------------

numbers = st.integers(1, 10**17).map(str)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)
group_keys = st.builds(
    GroupKey,
    st.integers(2015, 2026),
    st.sampled_from(["ru", "kk", "en", "uzb"]),
    st.sampled_from(list(QueueKind)),
)
queue_ids = st.tuples(ids, group_keys)
queues = st.lists(queue_ids, max_size=4).map(tuple)
# no imaginary times (02:00 on a night the clocks skip it): no clock reads them, and such a
# time comes back from the log as the instant it stands for (03:00), not equal as wall time
moments = kazakhstan_datetimes() | st.datetimes(
    timezones=st.timezones() | st.just(timezone(timedelta(hours=5))), allow_imaginary=False
)
reasons = st.text(max_size=30)
claims = st.none() | st.builds(
    BenefitClaim,
    st.sampled_from(list(BenefitCategory)),
    st.sampled_from(list(BenefitStatus)),
    st.none() | kazakhstan_datetimes(),
    st.none(),
)


def _event(
    cls: type[QueueEvent], **fields: st.SearchStrategy[object]
) -> st.SearchStrategy[QueueEvent]:
    return st.builds(cls, at=moments, queues=queues, reason=reasons, **fields)


STRATEGIES: dict[type[QueueEvent], st.SearchStrategy[QueueEvent]] = {
    ApplicationSubmitted: _event(ApplicationSubmitted, number=numbers),
    ApplicationWithdrawn: _event(ApplicationWithdrawn, number=numbers),
    ApplicationRemoved: _event(ApplicationRemoved, number=numbers),
    ChoicesChanged: _event(ChoicesChanged, number=numbers, before=queues, after=queues),
    BenefitChanged: _event(
        BenefitChanged,
        number=numbers,
        status=st.none() | st.sampled_from(list(BenefitStatus)),
        tier_before=st.sampled_from(list(Tier)),
        tier_after=st.sampled_from(list(Tier)),
        claim=claims,
    ),
    PlaceFreed: _event(
        PlaceFreed,
        organization_id=ids,
        group=group_keys,
        free_places=st.integers(0, 99),
        count=st.integers(1, 9),
    ),
    ReferralIssued: _event(
        ReferralIssued,
        number=numbers,
        referral_id=ids,
        organization_id=ids,
        group=group_keys,
        deadline=moments,
        confirm_by=st.none() | moments,
    ),
    ReferralClosed: _event(
        ReferralClosed,
        number=numbers,
        referral_id=ids,
        outcome=st.sampled_from(["used", "declined", "expired", "cancelled"]),
    ),
    ReferralExtended: _event(
        ReferralExtended, number=numbers, referral_id=ids, deadline_before=moments, deadline=moments
    ),
    StopListed: _event(StopListed, number=numbers, until=moments),
    BenefitConfirmed: _event(BenefitConfirmed, number=numbers, referral_id=ids),
    OrganizationChanged: _event(
        OrganizationChanged, organization_id=ids, organization=organizations()
    ),
}
"""A strategy for each event type edqueue defines."""

events = st.one_of(*STRATEGIES.values())


@given(events, st.sampled_from(["applicant", "other_representative", "desk"]))
def test_every_event_survives_its_record(event: QueueEvent, actor: str) -> None:
    record = to_record(event, actor=actor)
    assert from_record(record) == event
    assert is_queue_record(record)
    assert record.data["actor"] == actor
    for value in record.data.values():
        assert value is None or type(value) in (str, int)
    # what a store gives back: numbered, sealed, data through JSON (SQLite) or copied
    with SqliteStore(":memory:") as store:
        [stored] = store.append([record])
        assert from_record(stored) == event
        assert from_record(store.events()[0]) == event


def test_every_event_type_is_covered() -> None:
    """Every event class edqueue registers (by its ``KIND``) has a strategy above; classes
    that tests define for themselves are not edqueue's."""
    ours = {cls for cls in event_types().values() if cls.__module__ == "edqueue.rules.events"}
    assert set(STRATEGIES) == ours
    assert {cls.__name__ for cls in ours} == {
        "ApplicationSubmitted", "ApplicationWithdrawn", "ApplicationRemoved", "ChoicesChanged",
        "BenefitChanged", "PlaceFreed", "ReferralIssued", "ReferralClosed", "ReferralExtended",
        "StopListed", "BenefitConfirmed", "OrganizationChanged",
    }  # fmt: skip


def test_times_keep_their_zone() -> None:
    event = StopListed(at=NOW, number="7", until=NOW + timedelta(days=10), reason="x")
    record = to_record(event, actor="desk")
    assert record.data["until"] == "2024-02-15T10:00:00+06:00[Asia/Almaty]"
    until = from_record(record).until  # type: ignore[attr-defined]
    assert until.tzinfo == KAZAKHSTAN


def test_the_submission_record_carries_the_state_without_personal_data() -> None:
    seed = seed_application()
    claim = BenefitClaim(BenefitCategory(8), BenefitStatus.VERIFIED, NOW, NOW)
    seed = attrs.evolve(seed, benefit=claim)
    [event] = rebuild_book(MemoryRepository(), shakhtinsk_organizations()).submit(seed)
    record = to_record(event, actor="applicant", application=seed)
    text = repr(record)
    for secret in (seed.applicant.iin.reveal(), seed.child.iin.reveal(), "Ахмет", "7010000001"):
        assert secret not in text
    assert record.data["benefit_category"] == 8
    altered = attrs.evolve(seed, benefit=None, choices=seed.choices[:1])  # as stored later
    assert submitted_application(record, altered) == seed


def test_unreadable_records_are_typed_errors_without_data() -> None:
    event = ApplicationWithdrawn(at=NOW, number="12", reason="withdrawn")
    record = attrs.evolve(to_record(event, actor="applicant"), sequence=4)
    cases = [
        attrs.evolve(record, data={}),  # erased by forget
        attrs.evolve(record, kind="notification_sent"),
        attrs.evolve(record, data={**record.data, "queues": "no-group"}),
        attrs.evolve(record, data={**record.data, "journal": 99}),
        attrs.evolve(record, number=None),
    ]
    for damaged in cases:
        with pytest.raises(StorageError) as caught:
            from_record(damaged)
        assert caught.value.code == "journal.unreadable"
        assert "event 4" in caught.value.message
    no_state = to_record(ApplicationSubmitted(at=NOW, number="12"), actor="applicant")
    with pytest.raises(StorageError, match="state at submission"):
        submitted_application(no_state, seed_application())


# --- a city of families, driven through the service --------------------------------------------


def _iin(born: date, sex: Sex, serial: int) -> Iin:
    prefix = iin_prefix(born, sex)
    for n in itertools.count(serial):
        first = f"{prefix}{n % 10_000:04d}"
        digit = Iin.check_digit(first)
        if digit is not None:
            return Iin(f"{first}{digit}")
    raise AssertionError("unreachable")  # pragma: no cover


@attrs.frozen
class Family:
    """One invented family: an applicant with a phone in the БМГ and the ED24 app, and one
    child; the registers know them."""

    phone: str
    applicant: Iin
    child: Iin


def city_ports(families: int) -> tuple[MemoryPorts, list[Family]]:
    """Memory ports that know ``families`` families (children born as in :data:`BORN`)."""
    ports = memory_ports(now=NOW)
    ports.consents.auto_answer = AccessAnswer.GRANTED
    made = []
    for k in range(families):
        phone = f"+7701{k + 1000001:07d}"
        applicant = _iin(date(1990, 1, 1) + timedelta(days=k), Sex.FEMALE, 10 * k)
        born = BORN[k % len(BORN)]
        child = _iin(born, Sex.MALE, 10 * k)
        ports.identity.register_number(phone, applicant)
        ports.identity.install_app(phone)
        member = FamilyMember(
            Child(iin=child, name=FullName("Бала", "Тест"), birth_date=born),
            LegalRepresentativeStatus.CONFIRMED,
        )
        ports.family.add(FamilyRecord(applicant, FullName("Ата-ана", "Тест"), (member,)))
        made.append(Family(phone, applicant, child))
    return ports, made


def submit(
    service: ApplicationService,
    ports: MemoryPorts,
    family: Family,
    choices: list[Choice],
    benefit: int | None = None,
) -> str:
    """The seed's steps 0-5 for one family, as fast as a family could click."""
    draft = service.start(family.phone)
    service.confirm_code(draft.id, ports.identity.last_code(family.phone) or "")
    service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    service.request_family_access(draft.id, family.applicant)
    service.choose_child(draft.id, family.child)
    service.choose_organizations(draft.id, choices)
    if benefit is not None and benefit >= 5:
        ports.benefits.confirm(family.child, family.applicant, benefit)
    document = b"%PDF proof" if benefit is not None and benefit <= 4 else None
    service.claim_benefit(draft.id, benefit, document)
    return service.submit(draft.id, f"form-{family.phone}").number


def signed_in(service: ApplicationService, ports: MemoryPorts, family: Family) -> str:
    draft = service.sign_in(family.phone)
    service.confirm_code(draft.id, ports.identity.last_code(family.phone) or "")
    return draft.id


def assert_same(live: ReferralDesk, rebuilt: ReferralDesk, now: datetime) -> None:
    """Every position of every application in every queue, the free places, the referrals
    (open and closed), the stop list and the confirmations due."""
    book, other = live.book, rebuilt.book
    assert other.numbers() == book.numbers()
    for queue_id in book.queue_ids():
        assert other.queue(*queue_id) == book.queue(*queue_id), queue_id
        assert other.free_places(*queue_id) == book.free_places(*queue_id), queue_id
    standing = {n for q in book.queue_ids() for n in book.queue(*q)}
    for number in book.numbers():
        assert other.application(number) == book.application(number)
        if number in standing:
            assert other.positions(number) == book.positions(number)
    assert other.referrals() == book.referrals()
    assert other.open_referrals() == book.open_referrals()
    assert rebuilt.stop_list(now) == live.stop_list(now)
    for referral in book.open_referrals():
        assert rebuilt.confirmation_due(referral.id) == live.confirmation_due(referral.id)


CHOICES = [
    [Choice(SALTANAT, Language.RUSSIAN)],
    [Choice(SALTANAT, Language.RUSSIAN), Choice(KARLYGASH, Language.KAZAKH)],
    [Choice(KARLYGASH, Language.KAZAKH), Choice(SALTANAT, Language.RUSSIAN)],
    [Choice(KARLYGASH, Language.RUSSIAN)],
]


# The machine signs a family in at every cabinet step: more codes an hour than a family asks
# for, which the limits on codes (tested in test_attacks.py) would refuse.
SIGN_IN_OFTEN = KAZAKHSTAN_POLICY.amend(
    "code_sends_per_phone", date(2020, 6, 22), 1000, source="test: a sign-in at every step"
)


class ServiceMachine(RuleBasedStateMachine):
    """Random submissions, cabinet commands and desk decisions through the service; after
    each step a new desk rebuilt from the store alone stands exactly as the live one, and
    every stored application holds the status the queues give it."""

    FAMILIES = 16

    def __init__(self) -> None:
        super().__init__()
        self.ports, self.families = city_ports(self.FAMILIES)
        self.open_store()
        self.service = self.ports.service(self.store, self.drafts, policy=SIGN_IN_OFTEN)  # type: ignore[arg-type]
        self.numbers: dict[str, Family] = {}
        self.next_family = 0

    def open_store(self) -> None:
        self.store: MemoryRepository | SqliteStore = MemoryRepository()
        self.drafts: MemoryDrafts | SqliteStore = MemoryDrafts()

    def reopened(self) -> MemoryRepository | SqliteStore:
        """The store as another process would open it."""
        return self.store

    @property
    def now(self) -> datetime:
        return self.ports.clock.now()

    def attempt(self, call: Callable[[], object]) -> None:
        """A command the rules may refuse; a refused one must change nothing."""
        try:
            call()
        except EdqueueError as error:
            refused = error.code
        else:
            return
        assert refused.startswith(("queue.", "application.", "referral.", "eligibility."))

    def _live(self) -> list[str]:
        book = self.service.book
        return [n for n in self.numbers if not book.application(n).status.is_final]

    @precondition(lambda self: self.next_family < self.FAMILIES)
    @rule(choices=st.sampled_from(CHOICES), benefit=st.sampled_from([None, None, 8, 1]))
    def submit(self, choices: list[Choice], benefit: int | None) -> None:
        family = self.families[self.next_family]
        self.next_family += 1
        self.ports.clock.advance(minutes=7)
        try:
            number = submit(self.service, self.ports, family, choices, benefit)
        except EdqueueError as error:  # a year later, a child may be too old to apply
            refused = error.code
        else:
            self.numbers[number] = family
            return
        assert refused.startswith(("eligibility.", "family.")), refused

    @initialize(choices=st.lists(st.sampled_from(CHOICES), min_size=3, max_size=8))
    def a_street_applies(self, choices: list[list[Choice]]) -> None:
        for chosen in choices:
            self.submit(chosen, None)

    @precondition(lambda self: self.numbers)
    @rule(data=st.data(), benefit=st.sampled_from([8, 6, 2]))
    def add_benefit(self, data: st.DataObject, benefit: int) -> None:
        live = self._live()
        if not live:
            return
        number = data.draw(st.sampled_from(live))
        family = self.numbers[number]
        if benefit >= 5:
            self.ports.benefits.confirm(family.child, family.applicant, benefit)
        session = signed_in(self.service, self.ports, family)
        document = b"%PDF proof" if benefit <= 4 else None
        self.service.add_benefit(number, benefit, document, session=session)

    @precondition(lambda self: self.numbers)
    @rule(data=st.data(), choices=st.sampled_from(CHOICES))
    def change(self, data: st.DataObject, choices: list[Choice]) -> None:
        live = self._live()
        if not live:
            return
        number = data.draw(st.sampled_from(live))
        session = signed_in(self.service, self.ports, self.numbers[number])
        self.attempt(lambda: self.service.change_organizations(number, choices, session=session))

    @precondition(lambda self: self.numbers)
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        live = self._live()
        if not live:
            return
        number = data.draw(st.sampled_from(live))
        session = signed_in(self.service, self.ports, self.numbers[number])
        self.service.withdraw(number, session=session)

    @rule(
        org=st.sampled_from([SALTANAT, KARLYGASH]),
        year=st.sampled_from([2020, 2021]),
        language=st.sampled_from([Language.RUSSIAN, Language.KAZAKH]),
        count=st.integers(1, 2),
    )
    def free_place(self, org: str, year: int, language: Language, count: int) -> None:
        self.service.free_place(org, GroupKey(year, language), count)

    @rule()
    def offer_all(self) -> None:
        self.service.offer_all()

    @rule()
    def allocate(self) -> None:
        self.service.allocate()

    def _open(self) -> list[str]:
        return [r.id for r in self.service.book.open_referrals()]

    @precondition(lambda self: self.service.book.open_referrals())
    @rule(data=st.data())
    def use(self, data: st.DataObject) -> None:
        referral_id = data.draw(st.sampled_from(self._open()))
        self.attempt(lambda: self.service.use_referral(referral_id))

    @precondition(lambda self: self.service.book.open_referrals())
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        self.service.decline_referral(data.draw(st.sampled_from(self._open())))

    @precondition(lambda self: self.service.book.open_referrals())
    @rule(data=st.data(), days=st.sampled_from([1, 3, 40]))
    def extend(self, data: st.DataObject, days: int) -> None:
        referral = self.service.book.referral(data.draw(st.sampled_from(self._open())))
        deadline = referral.deadline + timedelta(days=days)
        self.attempt(lambda: self.service.extend_referral(referral.id, deadline))

    @rule(hours=st.sampled_from([1, 30, 24 * 8, 24 * 40, 24 * 400]))
    def wait(self, hours: int) -> None:
        self.ports.clock.advance(hours=hours)
        self.service.advance()

    @invariant()
    def the_log_alone_rebuilds_the_queues(self) -> None:
        store = self.reopened()
        rebuilt = rebuild_desk(store, shakhtinsk_organizations())
        assert_same(self.service.desk, rebuilt, self.now)
        assert verify_audit_log(store.events()).ok

    @invariant()
    def the_store_holds_the_status_the_queues_give(self) -> None:
        book = self.service.book
        for stored in self.store.all():
            held = book.application(stored.application.number)
            assert stored.application.status is held.status
            assert stored.application.benefit == held.benefit
            assert stored.application.choices == held.choices

    def teardown(self) -> None:
        # a new service over the same store (a restarted process) decides as this one would
        restarted = self.ports.service(self.reopened(), self.drafts, policy=SIGN_IN_OFTEN)  # type: ignore[arg-type]
        assert_same(self.service.desk, restarted.desk, self.now)
        restarted.offer_all()  # the other process decides; this one catches up from the log
        assert_same(restarted.desk, self.service.desk, self.now)


ServiceMachine.TestCase.settings = settings(
    ServiceMachine.TestCase.settings, stateful_step_count=30, deadline=None
)
TestServiceJournal = ServiceMachine.TestCase


class SqliteServiceMachine(ServiceMachine):
    """The same over SQLite; the rebuild reads the file through a new store object."""

    def open_store(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "edqueue.sqlite3"
        store = SqliteStore(self.path)
        self.store = store
        self.drafts = store
        self.others: list[SqliteStore] = []

    def reopened(self) -> SqliteStore:
        other = SqliteStore(self.path)
        self.others.append(other)
        return other

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            for other in self.others:
                other.close()
            assert isinstance(self.store, SqliteStore)
            self.store.close()
            self.folder.cleanup()


SqliteServiceMachine.TestCase.settings = settings(
    ServiceMachine.TestCase.settings, max_examples=15, stateful_step_count=20, deadline=None
)
TestSqliteServiceJournal = SqliteServiceMachine.TestCase


# --- the store is the truth ------------------------------------------------------------------


City = tuple[MemoryPorts, list[Family], MemoryRepository, ApplicationService]


@pytest.fixture
def city() -> City:
    ports, families = city_ports(6)
    store = MemoryRepository()
    return ports, families, store, ports.service(store, MemoryDrafts())


def test_desk_decisions_are_logged_with_the_applications_they_change(city: City) -> None:
    ports, families, store, service = city
    first = submit(service, ports, families[0], CHOICES[0])
    second = submit(service, ports, families[4], CHOICES[0])
    kinds = [e.kind for e in store.events() if e.kind != ORGANIZATIONS]
    assert kinds == ["application_submitted", "application_submitted"]
    issued = service.offer_all()  # Saltanat's 2 free places in 2020 ru
    assert [e.kind for e in issued] == ["referral_issued", "referral_issued"]
    assert {store.get(n).application.status.value for n in (first, second)} == {"referred"}  # type: ignore[union-attr]
    referral = service.book.open_referral(first)
    assert referral is not None
    service.use_referral(referral.id)
    assert store.get(first).application.status.value == "enrolled"  # type: ignore[union-attr]
    records = store.events()
    assert [r.data["actor"] for r in records[:2]] == ["locality", "locality"]
    assert [r.data["actor"] for r in records[4:]] == ["desk", "desk", "desk"]
    assert all(is_queue_record(r) for r in records)


def test_a_decision_the_store_refuses_changes_nothing(city: City) -> None:
    ports, families, store, service = city
    number = submit(service, ports, families[0], CHOICES[0])

    before = list(store.events())
    original = store.update

    def refuse(*args: object, **kwargs: object) -> object:
        from edqueue.errors import PortError

        raise PortError("port.timeout", "the store is busy")

    store.update = refuse  # type: ignore[method-assign]
    with pytest.raises(EdqueueError):
        service.offer_all()
    store.update = original  # type: ignore[method-assign]
    assert store.events() == before
    assert service.book.open_referral(number) is None  # rebuilt from the store
    assert service.book.position(number, SALTANAT).position == 1
    assert [e.kind for e in service.offer_all()] == ["referral_issued"]


def test_another_process_writes_are_caught_up(city: City) -> None:
    ports, families, store, service = city
    other = ports.service(store, MemoryDrafts())
    number = submit(other, ports, families[0], CHOICES[1])
    assert service.position(number)[0].position == 1  # caught up from the log
    events = service.offer_all()
    assert [e.number for e in events] == [number]  # type: ignore[attr-defined]
    assert other.book.open_referral(number) is not None


def test_a_forgotten_application_is_skipped_when_rebuilding(city: City) -> None:
    ports, families, store, service = city
    kept = submit(service, ports, families[0], CHOICES[1])
    gone = submit(service, ports, families[4], CHOICES[1])
    service.withdraw(gone, session=signed_in(service, ports, families[4]))
    assert store.forget(gone)
    rebuilt = rebuild_book(store, shakhtinsk_organizations())
    assert rebuilt.numbers() == [kept]
    assert rebuilt.positions(kept) == service.book.positions(kept)


def test_a_log_written_before_the_journal_still_rebuilds() -> None:
    legacy = MemoryRepository()
    seed = seed_application()
    legacy.add(seed, [EventRecord("application_submitted", NOW, seed.number, "submitted")])
    book = rebuild_book(legacy, shakhtinsk_organizations())
    assert [p.position for p in book.positions(seed.number)] == [1, 1]


def test_a_submission_missing_from_the_repository_is_corrupt() -> None:
    seed = seed_application()
    [event] = rebuild_book(MemoryRepository(), shakhtinsk_organizations()).submit(seed)
    store = MemoryRepository()
    store.append([to_record(event, actor="applicant", application=seed)])
    with pytest.raises(StorageError) as caught:
        rebuild_book(store, shakhtinsk_organizations())
    assert caught.value.code == "storage.corrupt"


def test_benefit_confirmations_and_the_stop_list_come_back() -> None:
    """Decisions the service's flow cannot reach yet (an extraordinary benefit verified by a
    reviewer) still go through the journal: the desk's own state is rebuilt too."""
    seed = seed_application()
    claim = BenefitClaim(BenefitCategory(1), BenefitStatus.VERIFIED, NOW, NOW)
    seed = attrs.evolve(seed, benefit=claim)
    store = MemoryRepository()
    desk = rebuild_desk(store, shakhtinsk_organizations())

    def log(events: list[QueueEvent]) -> None:
        store.append([to_record(e, actor="desk", application=seed) for e in events])

    [submitted] = desk.book.submit(seed)
    store.add(seed, [to_record(submitted, actor="applicant", application=seed)])
    at = NOW + timedelta(hours=1)
    log(desk.offer_all(at))
    referral = desk.book.open_referral(seed.number)
    assert referral is not None
    assert desk.confirmation_due(referral.id) is not None
    assert_same(desk, rebuild_desk(store, shakhtinsk_organizations()), at)
    log(desk.confirm_benefit(referral.id, at))
    log(desk.decline(referral.id, at))
    assert desk.stop_list(at)
    kinds = [e.kind for e in store.events()]
    assert {"benefit_confirmed", "stop_listed", "referral_closed"} <= set(kinds)
    assert_same(desk, rebuild_desk(store, shakhtinsk_organizations()), at)


def test_a_failure_the_busy_store_could_not_log_is_retried_later() -> None:
    """The notifier fails and the store is busy at the same moment: the failure waits in
    the service and ``retry_notifications`` logs it and sends the message later."""
    from edqueue.errors import PortError

    class BusyLog(MemoryRepository):
        busy = False

        def append(self, events, *, log_head=None):  # type: ignore[no-untyped-def]
            if self.busy:
                raise PortError("port.timeout", "the store is busy")
            return super().append(events, log_head=log_head)

    ports, families = city_ports(1)
    store = BusyLog()
    service = ports.service(store, MemoryDrafts())
    ports.notifier.fail = True
    store.busy = True
    number = submit(service, ports, families[0], CHOICES[0])
    assert [e.kind for e in store.events() if e.kind != ORGANIZATIONS] == ["application_submitted"]
    assert service.retry_notifications() == 0  # the store is still busy
    store.busy = False
    ports.notifier.fail = False
    assert service.retry_notifications() == 1
    assert ports.notifier.outbox[-1][1].number == number
    kinds = [e.kind for e in store.events() if e.kind != ORGANIZATIONS]
    assert kinds == ["application_submitted", "notification_failed", "notification_sent"]
