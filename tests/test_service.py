"""The portal's flow, step by step as the seed shows it, and every way each step can fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import attrs
import pytest

from edqueue import (
    KAZAKHSTAN,
    BenefitCategory,
    BenefitStatus,
    Choice,
    Consent,
    EdqueueError,
    FullName,
    GeoPoint,
    Iin,
    IneligibleApplicationError,
    Language,
    LegalRepresentativeStatus,
    PhoneNumber,
    QueueKind,
    Tier,
)
from edqueue.adapters.memory_store import MemoryDrafts, MemoryRepository
from edqueue.adapters.sqlite import SqliteStore
from edqueue.ports import AccessAnswer, FamilyMember, FamilyRecord
from edqueue.sample import seed_application
from edqueue.service import ApplicationService, Draft
from edqueue.testing.world import MemoryPorts, seed_ports

SEED = seed_application()
PHONE = SEED.applicant.phone
APPLICANT = SEED.applicant.iin.reveal()
CHILD = SEED.child.iin.reveal()
SALTANAT = Choice("shakhtinsk-saltanat", Language.RUSSIAN)
KARLYGASH = Choice("shakhtinsk-karlygash", Language.KAZAKH)
NOW = datetime(2024, 2, 5, 10, 0, tzinfo=KAZAKHSTAN)
AUTHORITY = "Руководителю управления образования г.Шахтинск"

ORGANIZATIONS = "organization_changed"
"""The locality's organization records a service logs when it starts (left out here)."""


@attrs.define
class World:
    ports: MemoryPorts
    repository: MemoryRepository | SqliteStore
    drafts: MemoryDrafts | SqliteStore
    service: ApplicationService

    def restart(self) -> World:
        """A new service over the same ports and stores (a restarted process)."""
        return attrs.evolve(self, service=make_service(self.ports, self.repository, self.drafts))


def make_service(
    ports: MemoryPorts,
    repository: MemoryRepository | SqliteStore,
    drafts: MemoryDrafts | SqliteStore,
    numbers: object | None = None,
) -> ApplicationService:
    return ports.service(repository, drafts, numbers=numbers)  # type: ignore[arg-type]


@pytest.fixture
def world() -> World:
    ports = seed_ports(NOW)
    ports.consents.auto_answer = None  # the tests answer the SMS themselves
    repository, drafts = MemoryRepository(), MemoryDrafts()
    return World(ports, repository, drafts, make_service(ports, repository, drafts))


def code_of(world: World) -> str:
    code = world.ports.identity.last_code(PHONE)
    assert code is not None
    return code


def identified(world: World) -> Draft:
    """Steps 0: code confirmed, consents given."""
    draft = world.service.start(PHONE.reveal())
    world.service.confirm_code(draft.id, code_of(world))
    return world.service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])


def with_child(world: World) -> Draft:
    """Step 1: access granted, the seed's child chosen."""
    draft = identified(world)
    draft = world.service.request_family_access(draft.id, APPLICANT)
    assert draft.access_request is not None
    world.ports.consents.answer(draft.access_request, AccessAnswer.GRANTED)
    return world.service.choose_child(draft.id, CHILD)


def ready(world: World) -> Draft:
    """Steps 2 and 3: the seed's two organizations, no benefit."""
    draft = with_child(world)
    world.service.choose_organizations(draft.id, [SALTANAT, KARLYGASH])
    return world.service.claim_benefit(draft.id, None)


def error(call: object, *args: object, **kwargs: object) -> EdqueueError:
    with pytest.raises(EdqueueError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# --- the seed, step by step -------------------------------------------------------------------


def test_step_0_a_code_goes_to_the_app_and_confirms_the_number(world: World) -> None:
    draft = world.service.start("+7 701 000 00 01")
    assert draft.code_sent
    assert world.ports.identity.pushed[-1][0] == PHONE
    confirmed = world.service.confirm_code(draft.id, code_of(world))
    assert confirmed.confirmed_at == NOW
    assert not confirmed.code_sent  # a code works once


def test_step_0_consents_come_before_anything_else(world: World) -> None:
    draft = world.service.start(PHONE)
    assert error(world.service.give_consents, draft.id, []).code == "identity.not_confirmed"
    world.service.confirm_code(draft.id, code_of(world))
    assert error(world.service.request_family_access, draft.id, APPLICANT).code == (
        "consent.missing"
    )
    refused = error(world.service.give_consents, draft.id, [Consent.NOTIFICATIONS])
    assert refused.code == "consent.missing"
    assert "offer_agreement" in refused.message
    given = world.service.give_consents(
        draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT], QueueKind.GENERAL
    )
    assert given.consents == {Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT}


def test_step_1_family_data_only_after_the_sms_is_answered(world: World) -> None:
    draft = identified(world)
    draft = world.service.request_family_access(draft.id, APPLICANT)
    assert [r.request_id for r in world.ports.consents.requests] == [draft.access_request]
    assert error(world.service.family, draft.id).code == "consent.pending"
    assert draft.access_request is not None
    world.ports.consents.answer(draft.access_request, AccessAnswer.GRANTED)
    family = world.service.family(draft.id)
    assert [m.child.iin for m in family.children] == [SEED.child.iin]
    chosen = world.service.choose_child(draft.id, CHILD)
    assert chosen.child_iin == SEED.child.iin


def test_step_2_organizations_by_name_or_by_distance(world: World) -> None:
    by_name = world.service.search_organizations("салтанат")
    assert [o.id for o in by_name] == ["shakhtinsk-saltanat"]
    near_karlygash = GeoPoint(49.7070, 72.6001)
    assert [o.id for o in world.service.search_organizations(near=near_karlygash)] == [
        "shakhtinsk-karlygash",
        "shakhtinsk-saltanat",
    ]
    draft = with_child(world)
    chosen = world.service.choose_organizations(draft.id, [SALTANAT, KARLYGASH])
    assert chosen.choices == (SALTANAT, KARLYGASH)


def test_step_2_choices_are_checked_against_every_rule_at_once(world: World) -> None:
    draft = with_child(world)
    wrong = [Choice("shakhtinsk-saltanat", Language.ENGLISH), Choice("nowhere", Language.KAZAKH)]
    with pytest.raises(IneligibleApplicationError) as caught:
        world.service.choose_organizations(draft.id, wrong)
    codes = {v.code for v in caught.value.violations}
    assert {"eligibility.unknown_organization", "eligibility.no_group"} <= codes
    assert world.service._draft(draft.id).choices == ()  # nothing was kept


def test_step_3_register_benefits_are_verified_at_once_or_not_found(world: World) -> None:
    draft = with_child(world)
    assert error(world.service.claim_benefit, draft.id, 8).code == "benefit.not_found"
    world.ports.benefits.confirm(SEED.child.iin, SEED.applicant.iin, BenefitCategory(8))
    claimed = world.service.claim_benefit(draft.id, 8)
    assert claimed.benefit is not None
    assert (claimed.benefit.category, claimed.benefit.status) == (8, BenefitStatus.VERIFIED)


def test_step_3_extraordinary_benefits_need_a_document_and_wait_for_a_reviewer(
    world: World,
) -> None:
    draft = with_child(world)
    assert error(world.service.claim_benefit, draft.id, 1).code == "benefit.document_missing"
    claimed = world.service.claim_benefit(draft.id, 1, b"%PDF-1.4 certificate")
    assert claimed.benefit is not None
    assert claimed.benefit.status is BenefitStatus.PENDING
    assert claimed.benefit_document is not None
    stored = world.ports.documents.get(claimed.benefit_document)
    assert stored is not None
    assert stored.content == b"%PDF-1.4 certificate"


def test_step_4_the_review_text_is_the_seeds_in_full(world: World) -> None:
    draft = ready(world)
    text = world.service.review(draft.id)
    assert text.splitlines()[0] == "05.02.2024"
    assert AUTHORITY in text
    assert "ЗАЯВЛЕНИЕ" in text
    assert APPLICANT in text  # the citizen signs it: personal data in full
    assert CHILD in text
    assert "Очереди: 2020 ГР русский" in text
    assert "Сведения о льготе: Отсутствует" in text
    assert "ӨТІНІШ" in world.service.review(draft.id, "kk").splitlines()


def test_step_5_submission_gives_a_number_positions_and_a_message(world: World) -> None:
    draft = ready(world)
    submission = world.service.submit(draft.id, "key-1")
    assert submission.number == "1292583"
    assert not submission.repeated
    stored = world.repository.get("1292583")
    assert stored is not None
    assert stored.version == 1
    assert stored.application.child.iin == SEED.child.iin
    assert stored.application.representative_status is LegalRepresentativeStatus.CONFIRMED
    assert [p.position for p in world.service.position("1292583")] == [1, 1]
    phone, message = world.ports.notifier.outbox[-1]
    assert phone == PHONE
    assert "#1292583" in message.text_ru
    assert [e.kind for e in world.repository.events() if e.kind != ORGANIZATIONS] == [
        "application_submitted"
    ]


# --- identity failures -------------------------------------------------------------------------


def test_a_number_not_in_the_bmg_is_refused(world: World) -> None:
    assert error(world.service.start, "+77019998877").code == "identity.not_in_bmg"


def test_a_wrong_code_counts_and_too_many_need_a_new_code(world: World) -> None:
    draft = world.service.start(PHONE)
    right = code_of(world)
    wrong = "0000" if right != "0000" else "1111"
    first = error(world.service.confirm_code, draft.id, wrong)
    assert (first.code, "2 attempt(s) left" in first.message) == ("identity.code_wrong", True)
    error(world.service.confirm_code, draft.id, wrong)
    error(world.service.confirm_code, draft.id, wrong)
    assert error(world.service.confirm_code, draft.id, right).code == "identity.code_attempts"
    world.service.send_code(draft.id)
    assert world.service.confirm_code(draft.id, code_of(world)).confirmed_at is not None


def test_an_expired_code_is_refused(world: World) -> None:
    draft = world.service.start(PHONE)
    world.ports.clock.advance(minutes=2)
    assert error(world.service.confirm_code, draft.id, code_of(world)).code == (
        "identity.code_expired"
    )


def test_a_used_code_cannot_be_replayed(world: World) -> None:
    draft = world.service.start(PHONE)
    code = code_of(world)
    world.service.confirm_code(draft.id, code)
    assert error(world.service.confirm_code, draft.id, code).code == "flow.step"


def test_a_number_without_the_app_binds_one_with_a_one_time_password(world: World) -> None:
    phone = "+77010000009"
    world.ports.identity.register_number(phone)
    draft = world.service.start(phone)
    assert not draft.code_sent
    assert error(world.service.send_code, draft.id).code == "identity.app_not_bound"
    offer = world.service.request_binding(draft.id)
    assert len(offer.one_time_password.replace(" ", "")) == 12
    assert error(world.service.bind_app, draft.id, "device-9", "0000 0000 0000").code == (
        "identity.binding_invalid"
    )
    world.service.bind_app(draft.id, "device-9", offer.one_time_password)
    binding = world.ports.identity.binding("device-9")
    assert binding is not None
    assert binding.phone == PhoneNumber(phone)
    assert world.service.send_code(draft.id).code_sent


def test_a_device_switches_numbers_at_most_once_in_40_days(world: World) -> None:
    first, second = "+77010000011", "+77010000012"
    for phone in (first, second):
        world.ports.identity.register_number(phone)
    draft = world.service.start(first)
    world.service.bind_app(
        draft.id, "device-1", world.service.request_binding(draft.id).one_time_password
    )
    world.ports.clock.advance(days=39)
    other = world.service.start(second)
    offer = world.service.request_binding(other.id)
    refused = error(world.service.bind_app, other.id, "device-1", offer.one_time_password)
    assert refused.code == "identity.device_recently_bound"
    assert world.ports.identity.binding("device-1").phone == PhoneNumber(first)  # type: ignore[union-attr]
    world.ports.clock.advance(days=2)
    assert error(world.service.request_binding, other.id).code == "flow.unknown_draft"  # expired
    other = world.service.start(second)
    offer = world.service.request_binding(other.id)
    world.service.bind_app(other.id, "device-1", offer.one_time_password)
    assert world.ports.identity.binding("device-1").phone == PhoneNumber(second)  # type: ignore[union-attr]


def test_an_expired_one_time_password_is_refused(world: World) -> None:
    phone = "+77010000013"
    world.ports.identity.register_number(phone)
    draft = world.service.start(phone)
    offer = world.service.request_binding(draft.id)
    world.ports.clock.advance(minutes=10)
    assert error(world.service.bind_app, draft.id, "d", offer.one_time_password).code == (
        "identity.binding_invalid"
    )


# --- consent and family failures ---------------------------------------------------------------


def test_a_refused_sms_stops_the_flow(world: World) -> None:
    draft = identified(world)
    draft = world.service.request_family_access(draft.id, APPLICANT)
    assert draft.access_request is not None
    world.ports.consents.answer(draft.access_request, AccessAnswer.REFUSED)
    assert error(world.service.family, draft.id).code == "consent.refused"
    assert error(world.service.choose_child, draft.id, CHILD).code == "consent.refused"


def test_a_child_not_in_the_family_is_refused(world: World) -> None:
    draft = identified(world)
    draft = world.service.request_family_access(draft.id, APPLICANT)
    assert draft.access_request is not None
    world.ports.consents.answer(draft.access_request, AccessAnswer.GRANTED)
    stranger = "200314600018"
    assert error(world.service.choose_child, draft.id, stranger).code == "family.child_not_found"


def test_only_a_confirmed_legal_representative_may_apply(world: World) -> None:
    world.ports.family.add(
        FamilyRecord(
            SEED.applicant.iin,
            SEED.applicant.name,
            (FamilyMember(SEED.child, LegalRepresentativeStatus.NOT_CONFIRMED),),
        )
    )
    draft = identified(world)
    draft = world.service.request_family_access(draft.id, APPLICANT)
    assert draft.access_request is not None
    world.ports.consents.answer(draft.access_request, AccessAnswer.GRANTED)
    refused = error(world.service.choose_child, draft.id, CHILD)
    assert refused.code == "family.not_legal_representative"
    assert CHILD not in refused.message


def test_a_failing_port_changes_nothing(world: World) -> None:
    draft = identified(world)
    world.ports.consents.fail = True
    assert error(world.service.request_family_access, draft.id, APPLICANT).code == "port.failed"
    assert world.service._draft(draft.id).access_request is None
    world.ports.consents.fail = False
    world.ports.identity.timeout = True
    assert error(world.service.start, PHONE).code == "port.timeout"


# --- submission ----------------------------------------------------------------------------------


def test_a_retried_submission_returns_the_same_number_and_creates_nothing(world: World) -> None:
    draft = ready(world)
    first = world.service.submit(draft.id, "retry-key")
    again = world.service.submit(draft.id, "retry-key")
    assert (again.number, again.repeated) == (first.number, True)
    assert [s.application.number for s in world.repository.all()] == [first.number]
    assert len(world.ports.notifier.outbox) == 1
    assert world.drafts.load(draft.id) is None  # the draft, with its IINs, is gone
    assert error(world.service.submit, draft.id, "another-key").code == "flow.unknown_draft"


def test_a_second_application_for_the_same_child_is_refused(world: World) -> None:
    world.service.submit(ready(world).id, "k1")
    with pytest.raises(IneligibleApplicationError) as caught:
        world.service.submit(ready(world).id, "k2")
    assert "eligibility.second_active_application" in {v.code for v in caught.value.violations}


def test_a_failing_notifier_keeps_the_application_and_logs_the_failure(world: World) -> None:
    draft = ready(world)
    world.ports.notifier.fail = True
    submission = world.service.submit(draft.id, "k")
    assert world.repository.get(submission.number) is not None
    kinds = [e.kind for e in world.repository.events() if e.kind != ORGANIZATIONS]
    assert kinds == ["application_submitted", "notification_failed"]


# --- the personal cabinet ------------------------------------------------------------------------


def submitted(world: World) -> str:
    return world.service.submit(ready(world).id, "k").number


def session(world: World, phone: str | PhoneNumber = PHONE) -> str:
    """A personal-cabinet session: signed in with a code pushed to ``phone``'s app."""
    draft = world.service.sign_in(phone)
    world.service.confirm_code(draft.id, world.ports.identity.last_code(phone) or "")
    return draft.id


def test_a_benefit_added_later_moves_the_application_up(world: World) -> None:
    number = submitted(world)
    world.ports.benefits.confirm(SEED.child.iin, SEED.applicant.iin, BenefitCategory(8))
    stored = world.service.add_benefit(number, 8, session=session(world))
    assert (stored.version, stored.application.tier) == (2, Tier.FIRST_PRIORITY)
    assert world.service.position(number)[0].tier is Tier.FIRST_PRIORITY
    assert world.repository.events()[-1].kind == "benefit_changed"


def test_changing_organizations_keeps_the_queue_date(world: World) -> None:
    number = submitted(world)
    world.ports.clock.advance(days=3)
    stored = world.service.change_organizations(number, [KARLYGASH], session=session(world))
    assert stored.application.submitted_at == NOW
    assert [p.organization_id for p in world.service.position(number)] == ["shakhtinsk-karlygash"]


def test_withdrawing_leaves_every_queue(world: World) -> None:
    number = submitted(world)
    signed_in = session(world)
    world.service.withdraw(number, session=signed_in)
    assert world.service.book.queue("shakhtinsk-saltanat", SEED.group_keys[0][1]) == []
    assert error(world.service.withdraw, number, session=signed_in).code == (
        "queue.invalid_operation"
    )


def test_two_concurrent_changes_one_wins_the_other_gets_a_conflict(world: World) -> None:
    number = submitted(world)
    world.ports.benefits.confirm(SEED.child.iin, SEED.applicant.iin, BenefitCategory(8))
    signed_in = session(world)
    first = world.service.change_organizations(
        number, [KARLYGASH], session=signed_in, expected_version=1
    )
    conflict = error(world.service.add_benefit, number, 8, session=signed_in, expected_version=1)
    assert conflict.code == "storage.conflict"
    stored = world.repository.get(number)
    assert stored is not None
    assert stored == first  # the winner's change is kept, nothing half-written
    assert stored.application.benefit is None


# --- a restart with the SQLite adapter --------------------------------------------------------


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Iterator[World]:
    ports = seed_ports(NOW)
    store = SqliteStore(tmp_path / "edqueue.sqlite3")
    yield World(ports, store, store, make_service(ports, store, store, numbers=store))
    store.close()


def test_the_flow_survives_restarts_with_sqlite(sqlite_world: World, tmp_path: Path) -> None:
    world = sqlite_world
    draft = world.service.start(PHONE)
    world.service.confirm_code(draft.id, code_of(world))
    world.service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    world.service.request_family_access(draft.id, APPLICANT)  # auto-answered: granted
    world.service.choose_child(draft.id, CHILD)
    assert isinstance(world.repository, SqliteStore)
    world.repository.close()
    store = SqliteStore(tmp_path / "edqueue.sqlite3")  # the process restarted
    world = attrs.evolve(world, repository=store, drafts=store)
    world = attrs.evolve(world, service=make_service(world.ports, store, store, numbers=store))
    world.service.choose_organizations(draft.id, [SALTANAT, KARLYGASH])
    number = world.service.submit(draft.id, "k").number
    store.close()
    store = SqliteStore(tmp_path / "edqueue.sqlite3")
    service = make_service(world.ports, store, store, numbers=store)
    assert [p.position for p in service.position(number)] == [1, 1]
    stored = store.get(number)
    assert stored is not None
    assert stored.application.choices == (SALTANAT, KARLYGASH)
    assert stored.application.referral.desired_date is None
    assert date(2020, 6, 23) == stored.application.child.birth_date
    store.close()


def test_two_services_on_one_sqlite_file_never_lose_a_change(
    sqlite_world: World, tmp_path: Path
) -> None:
    world = sqlite_world
    draft = world.service.start(PHONE)
    world.service.confirm_code(draft.id, code_of(world))
    world.service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    world.service.request_family_access(draft.id, APPLICANT)
    world.service.choose_child(draft.id, CHILD)
    world.service.choose_organizations(draft.id, [SALTANAT, KARLYGASH])
    number = world.service.submit(draft.id, "k").number
    other_store = SqliteStore(tmp_path / "edqueue.sqlite3")  # a second process
    other = make_service(world.ports, other_store, other_store, numbers=other_store)
    world.ports.benefits.confirm(SEED.child.iin, SEED.applicant.iin, BenefitCategory(8))
    # both read version 1; the first write wins
    signed_in = session(world)
    world.service.change_organizations(number, [KARLYGASH], session=signed_in, expected_version=1)
    conflict = error(other.add_benefit, number, 8, session=signed_in, expected_version=1)
    assert conflict.code == "storage.conflict"
    # the loser reads again and repeats its change: both changes are kept
    stored = other_store.get(number)
    assert stored is not None
    other.add_benefit(number, 8, session=signed_in, expected_version=stored.version)
    final = other_store.get(number)
    assert final is not None
    assert (final.version, final.application.choices) == (3, (KARLYGASH,))
    assert final.application.benefit is not None
    other_store.close()


# --- access: who may act on an application --------------------------------------------------

STRANGER_PHONE = "+77010000077"
STRANGER_IIN = "881120400013"
OTHER_PARENT_PHONE = "+77010000078"
OTHER_PARENT_IIN = "920505300017"


def with_stranger_and_other_parent(world: World) -> None:
    world.ports.identity.register_number(STRANGER_PHONE, STRANGER_IIN)
    world.ports.identity.install_app(STRANGER_PHONE)
    world.ports.identity.register_number(OTHER_PARENT_PHONE, OTHER_PARENT_IIN)
    world.ports.identity.install_app(OTHER_PARENT_PHONE)
    world.ports.family.add(
        FamilyRecord(
            Iin(OTHER_PARENT_IIN),
            FullName("Ахметов", "Ержан"),
            (FamilyMember(SEED.child, LegalRepresentativeStatus.CONFIRMED),),
        )
    )


@pytest.mark.parametrize("who", ["stranger", "other parent"])
def test_only_the_applicant_may_read_change_or_withdraw(world: World, who: str) -> None:
    number = submitted(world)
    with_stranger_and_other_parent(world)
    intruder = session(world, STRANGER_PHONE if who == "stranger" else OTHER_PARENT_PHONE)
    commands = [
        lambda: world.service.details(number, session=intruder),
        lambda: world.service.withdraw(number, session=intruder),
        lambda: world.service.change_organizations(number, [KARLYGASH], session=intruder),
        lambda: world.service.add_benefit(number, 8, session=intruder),
    ]
    for command in commands:
        assert error(command).code == "access.denied"
    stored = world.repository.get(number)
    assert stored is not None
    assert stored.version == 1  # nothing changed
    assert world.service.refusals == {
        "not the applicant nor an allowed legal representative": len(commands)
    }
    world.service.flush_refusals()  # the first refusal was written at once, the rest now
    denied = [e for e in world.repository.events() if e.kind == "access_denied"]
    assert [e.data["count"] for e in denied] == [1, len(commands) - 1]
    assert all(e.number == number for e in denied)
    # the position by number is public and carries no personal data
    assert [p.position for p in world.service.position(number)] == [1, 1]
    assert world.service.details(number, session=session(world)).version == 1


def test_the_other_parent_may_act_when_the_policy_allows(world: World) -> None:
    from edqueue.rules import KAZAKHSTAN_POLICY

    policy = KAZAKHSTAN_POLICY.amend(
        "other_representative_may_act", date(2020, 6, 22), 1, source="a regional rule (test)"
    )
    service = world.ports.service(world.repository, world.drafts, policy=policy)
    world = attrs.evolve(world, service=service)
    number = submitted(world)
    with_stranger_and_other_parent(world)
    other = session(world, OTHER_PARENT_PHONE)
    assert world.service.details(number, session=other).application.number == number
    world.service.change_organizations(number, [KARLYGASH], session=other)
    actors = [
        (e.kind, e.data.get("actor")) for e in world.repository.events() if e.kind != ORGANIZATIONS
    ]
    assert actors[0] == ("application_submitted", "applicant")
    assert actors[-1] == ("choices_changed", "other_representative")  # who, without an IIN
    stranger = session(world, STRANGER_PHONE)
    assert error(world.service.withdraw, number, session=stranger).code == "access.denied"


def test_a_forged_replayed_or_expired_session_is_refused(world: World) -> None:
    number = submitted(world)
    draft = world.service.sign_in(PHONE)
    code = code_of(world)
    wrong = "0000" if code != "0000" else "1111"
    assert error(world.service.confirm_code, draft.id, wrong).code == "identity.code_wrong"
    assert error(world.service.withdraw, number, session=draft.id).code == "access.denied"
    assert error(world.service.withdraw, number, session="forged-id").code == "access.denied"
    world.service.confirm_code(draft.id, code)
    assert error(world.service.confirm_code, draft.id, code).code == "flow.step"  # replay
    world.ports.clock.advance(minutes=30)
    assert error(world.service.withdraw, number, session=draft.id).code == "access.denied"
    assert world.repository.get(number).version == 1  # type: ignore[union-attr]


def test_an_applicant_applies_only_with_their_own_number(world: World) -> None:
    with_stranger_and_other_parent(world)
    draft = world.service.start(STRANGER_PHONE)
    world.service.confirm_code(draft.id, world.ports.identity.last_code(STRANGER_PHONE) or "")
    world.service.give_consents(draft.id, [Consent.NOTIFICATIONS, Consent.OFFER_AGREEMENT])
    refused = error(world.service.request_family_access, draft.id, APPLICANT)
    assert refused.code == "access.denied"
    assert world.ports.consents.requests == []  # no SMS went to the real applicant


def test_failed_notifications_are_retried_from_the_event_log(world: World) -> None:
    draft = ready(world)
    world.ports.notifier.fail = True
    number = world.service.submit(draft.id, "k").number
    assert world.service.retry_notifications() == 0  # still failing: nothing lost
    world.ports.notifier.fail = False
    assert world.service.retry_notifications() == 1
    assert world.ports.notifier.outbox[-1][1].number == number
    assert world.service.retry_notifications() == 0  # sent once, not twice
    kinds = [e.kind for e in world.repository.events() if e.kind != ORGANIZATIONS]
    assert kinds == ["application_submitted", "notification_failed", "notification_sent"]


def test_a_notification_failure_that_cannot_be_logged_does_not_fail_the_command() -> None:
    from edqueue.errors import PortError

    class BusyLog(MemoryRepository):
        busy = False

        def append(self, events, *, log_head=None):  # type: ignore[no-untyped-def]
            if self.busy:
                raise PortError("port.timeout", "the store is busy")
            return super().append(events, log_head=log_head)

    ports = seed_ports(NOW)
    repository, drafts = BusyLog(), MemoryDrafts()
    world = World(ports, repository, drafts, make_service(ports, repository, drafts))
    draft = ready(world)
    ports.notifier.fail = True
    repository.busy = True
    number = world.service.submit(draft.id, "k").number  # committed: no error escapes
    assert repository.get(number) is not None
    assert [e.kind for e in repository.events() if e.kind != ORGANIZATIONS] == [
        "application_submitted"
    ]


def test_the_service_is_built_from_ports_and_a_locality_and_the_old_keywords_still_work() -> None:
    ports = seed_ports(NOW)
    store, drafts = MemoryRepository(), MemoryDrafts()
    service = ports.service(store, drafts)
    assert service.ports.store is store and service.config.locality == "г.Шахтинск"
    keywords = {
        "identity": ports.identity,
        "consents": ports.consents,
        "family": ports.family,
        "benefits": ports.benefits,
        "documents": ports.documents,
        "notifier": ports.notifier,
        "clock": ports.clock,
        "store": store,
        "drafts": drafts,
        "numbers": ports.numbers,
        "attempts": ports.attempts,
        "organizations": service.config.organizations,
        "authority": AUTHORITY,
        "locality": "г.Шахтинск",
    }
    with pytest.warns(DeprecationWarning, match="Ports"):
        old = ApplicationService(**keywords)  # type: ignore[arg-type]
    assert old.ports == service.ports and old.config == service.config
    with pytest.raises(TypeError, match="AttemptCounter"):
        attrs.evolve(service.ports, attempts=None)  # a memory store counts no attempts
    with pytest.raises(TypeError, match="unknown"):
        ApplicationService(**keywords, colour="blue")  # type: ignore[arg-type]
