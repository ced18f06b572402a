"""A command that fails puts the desk back as it was (``atomic``), and a desk made from its
state stands as the live one (the snapshot's content): issue 17, "a refused command never
triggers a rebuild" and "a snapshot of the queues with the log position it covers"."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from edqueue import Language
from edqueue.rules import QueueBook, ReferralDesk
from edqueue.rules._state import capture, restore
from edqueue.rules.ordering import StandardOrdering
from edqueue.sample import neighbour_applications, seed_application, shakhtinsk_organizations
from edqueue.service.snapshot import Snapshot, decode, encode

from .test_referrals import (
    KARLYGASH,
    RU_2020,
    SALTANAT,
    DeskMachine,
    application,
    empty_desk,
)


class RefusedError(Exception):
    """What a store's refusal looks like to the block: raised after the command ran."""


def refused(book: QueueBook, work: Callable[[], None]) -> None:
    """Run ``work`` inside ``book.atomic()``, then refuse, as a store would."""
    with book.atomic():
        work()
        raise RefusedError


def view(desk: ReferralDesk) -> object:
    """Everything the desk holds and every reader sees: its state, and each queue in order
    with its units and tiers."""
    book = desk.book
    return (
        capture(desk),
        {q: (book.queue(*q), book.units(*q), book.tiers(*q)) for q in book.queue_ids()},
        book.priority_order(),
        book.latest_submission,
    )


class AtomicDeskMachine(DeskMachine):
    """The desk's machine, with one more rule: any of its commands, run inside ``atomic``
    and refused after it ran, leaves the desk exactly as it was; and at every step a desk
    restored from the live one's state stands as the live one."""

    @rule(
        kind=st.sampled_from(["submit", "free", "use", "decline", "withdraw", "wait"]),
        data=st.data(),
    )
    def refused(self, kind: str, data: st.DataObject) -> None:
        if kind in ("use", "decline", "withdraw") and not self.desk.book.open_referrals():
            kind = "wait"
        before = view(self.desk)
        saved = (list(self.log), dict(self.records), self.submitted, self.now, dict(self.freed))
        with contextlib.suppress(RefusedError), self.desk.atomic():
            if kind == "submit":
                self.submit(
                    born=data.draw(st.sampled_from([date(2020, 6, 23), date(2022, 3, 1)])),
                    orgs=data.draw(st.sampled_from([(SALTANAT,), (KARLYGASH, SALTANAT)])),
                    desired=None,
                    benefit=data.draw(st.sampled_from([None, 1, 8])),
                )
            elif kind == "free":
                self.free(SALTANAT, RU_2020, data.draw(st.integers(1, 2)))
            elif kind == "use":
                self.use(data)
            elif kind == "decline":
                self.decline(data)
            elif kind == "withdraw":
                self.withdraw(data)
            else:
                self.wait(data.draw(st.sampled_from([30, 24 * 8, 24 * 40])))
            raise RefusedError
        self.log, self.records, self.submitted, self.now, self.freed = saved
        assert view(self.desk) == before

    @invariant()
    def a_desk_restored_from_its_state_stands_as_the_live_one(self) -> None:
        live = self.desk
        restored = restore(
            capture(live),
            self.records.values(),
            ordering=StandardOrdering(),
            policy=live.policy,
            calendar=live.calendar,
        )
        assert view(restored) == view(live)
        assert restored.stop_list(self.now) == live.stop_list(self.now)
        snapshot = Snapshot(len(self.log), "", capture(live))
        assert decode(encode(snapshot)) == snapshot  # the bytes a store keeps


AtomicDeskMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestAtomicDesk = AtomicDeskMachine.TestCase


def test_a_block_that_raises_puts_siblings_back_together() -> None:
    """With siblings kept together, a twin's submission refused after it ran leaves the
    queue's units as they were."""
    book = QueueBook(shakhtinsk_organizations(), keep_siblings_together=True)
    first = application(1)
    twin = attrs.evolve(application(2, serial=2), applicant=first.applicant)
    book.submit(first)
    before = (book.units(SALTANAT, RU_2020), book.tiers(SALTANAT, RU_2020), len(book))
    seen: list[object] = []

    def submit_twin() -> None:
        book.submit(twin)
        seen.append(book.units(SALTANAT, RU_2020))

    with pytest.raises(RefusedError):
        refused(book, submit_twin)
    assert seen == [[("1", "2")]]
    assert (book.units(SALTANAT, RU_2020), book.tiers(SALTANAT, RU_2020), len(book)) == before


def test_a_block_inside_another_joins_it() -> None:
    """Only the outermost block puts back: an inner block that completes keeps nothing
    apart from the outer one."""
    book = QueueBook(shakhtinsk_organizations())
    seed, *others = [seed_application(), *neighbour_applications()]

    def both() -> None:
        book.submit(seed)
        with book.atomic():
            book.submit(others[0])

    with pytest.raises(RefusedError):
        refused(book, both)
    assert len(book) == 0
    assert all(not book.queue(*q) for q in book.queue_ids())


def test_a_block_that_completes_keeps_everything() -> None:
    book = QueueBook(shakhtinsk_organizations())
    with book.atomic():
        book.submit(seed_application())
    assert seed_application().number in book
    assert book.positions(seed_application().number)


def test_a_state_that_names_an_application_the_store_lacks_is_refused() -> None:
    desk = empty_desk()
    desk.book.submit(application(1))
    with pytest.raises(KeyError):
        restore(
            capture(desk),
            [],
            ordering=StandardOrdering(),
            policy=desk.policy,
            calendar=desk.calendar,
        )


def test_a_state_holds_no_personal_data() -> None:
    """The state keeps of each application its choices, benefit and status only."""
    desk = empty_desk()
    seed = seed_application()
    desk.book.submit(seed)
    state = capture(desk)
    held = state.applications[seed.number]
    assert set(held._fields) == {"choices", "benefit", "status"}
    assert Language.RUSSIAN in {c.language for c in held.choices}
