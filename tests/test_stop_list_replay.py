"""A desk replayed from the log keeps the stop list exactly as the live desk does, at every
time: :meth:`ReferralDesk.advance` must not drop a stay the log cannot drop (found by
``TestServiceJournal``, hypothesis seed 181198490308979205992546260167507772990)."""

from __future__ import annotations

from datetime import datetime, timedelta

from edqueue import KAZAKHSTAN, Choice, Consent, Language
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.journal import rebuild_desk
from edqueue.models.instants import instant
from edqueue.rules import ReferralDesk
from edqueue.rules.events import QueueEvent, StopListed
from edqueue.rules.queue import QueueBook
from edqueue.sample import seed_application, shakhtinsk_organizations
from edqueue.service import ApplicationService
from edqueue.testing.world import MemoryPorts, seed_ports

NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
SALTANAT = Choice("shakhtinsk-saltanat", Language.RUSSIAN)


def hours(start: datetime, end: datetime) -> list[datetime]:
    """Every hour from ``start`` to ``end``, both included."""
    count = int((end - start).total_seconds() // 3600)
    return [start + timedelta(hours=k) for k in range(count + 1)]


def assert_same_stays(live: ReferralDesk, rebuilt: ReferralDesk, times: list[datetime]) -> None:
    for number in live.book.numbers():
        for at in times:
            assert rebuilt.stop_list(at) == live.stop_list(at), at
            assert rebuilt.hold(number, at) == live.hold(number, at), (number, at)


def only_stop(events: list[QueueEvent]) -> StopListed:
    stops = [e for e in events if isinstance(e, StopListed)]
    assert len(stops) == 1
    return stops[0]


def test_a_stay_that_ended_before_the_desk_caught_up_is_replayed_as_it_was_kept() -> None:
    live = ReferralDesk(QueueBook(shakhtinsk_organizations()))
    application = seed_application()
    events = live.submit(application)  # a referral at once: the seed's place is free
    # the desk catches up 40 days later: the referral expired on 13.02, the stay on the stop
    # list (until 24.02) began and ended in the meantime, and the place was offered again
    events += live.advance(NOW + timedelta(days=40))
    stop = only_stop(events)
    rebuilt = ReferralDesk(QueueBook(shakhtinsk_organizations()))
    rebuilt.replay(events, {application.number: application})
    around = hours(stop.at - timedelta(hours=2), stop.until + timedelta(hours=2))
    assert_same_stays(live, rebuilt, around)
    during = stop.at + timedelta(days=2)
    assert live.stop_list(during) == {application.number: stop.until}
    assert live.hold(application.number, during) is not None
    # a round at a time within the stay sees the same holds on both desks
    live_round, rebuilt_round = live.allocate(during), rebuilt.allocate(during)
    assert rebuilt_round.waiting == live_round.waiting
    assert rebuilt_round.events == live_round.events


def submit_seed(service: ApplicationService, ports: MemoryPorts) -> str:
    seed = seed_application()
    phone = seed.applicant.phone.reveal()
    draft = service.start(phone)
    service.confirm_code(draft.id, ports.identity.last_code(phone) or "")
    service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    service.request_family_access(draft.id, seed.applicant.iin)
    service.choose_child(draft.id, seed.child.iin)
    service.choose_organizations(draft.id, [SALTANAT])
    service.claim_benefit(draft.id, None)
    return service.submit(draft.id, "form").number


def test_the_service_desk_and_the_desk_rebuilt_from_its_store_keep_the_same_stays() -> None:
    ports = seed_ports(NOW)
    store, drafts = MemoryRepository(), MemoryDrafts()
    service = ports.service(store, drafts)
    number = submit_seed(service, ports)  # a referral at once: the seed's place is free
    ports.clock.advance(days=23)  # 28.02: that referral lapsed, a new one is issued
    service.advance()
    # past 01.03.2024 (Kazakhstan moved from UTC+6 to UTC+5): the new referral lapses and
    # its stay on the stop list begins; then the desk catches up half an hour before the
    # stay ends, as in the shrunk hypothesis example
    ports.clock.advance(days=12)
    service.advance()
    until = service.desk.stop_list(ports.clock.now())[number]
    ports.clock.advance(instant(until) - instant(ports.clock.now()) - timedelta(minutes=30))
    service.advance()
    now = ports.clock.now()
    rebuilt = rebuild_desk(store, shakhtinsk_organizations())
    assert rebuilt.stop_list(now) == service.desk.stop_list(now)
    assert_same_stays(service.desk, rebuilt, hours(NOW, until + timedelta(hours=2)))
    restarted = ports.service(store, drafts)
    assert restarted.desk.stop_list(now) == service.desk.stop_list(now)
