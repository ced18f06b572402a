"""Notifications to the family, and their retries from the event log.

Seed, step 0: «Я даю согласие на использование своих контактных данных для получения
уведомлений»: messages go only to families that gave that consent. A failing notifier does
not undo the command it follows: the failure is logged (``notification_failed``) and
:meth:`Notifications.retry` sends it again (``notification_sent``), so nothing is lost and
nothing is sent twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime

from edqueue.errors import PortError
from edqueue.models import Application, Consent
from edqueue.ports import EventRecord, Message, Notifier
from edqueue.service.config import Store

__all__ = ["Notifications", "message"]

_MESSAGES: dict[str, tuple[str, str]] = {
    "application_submitted": (
        "Ваше заявление успешно направлено в систему Единой Очередности! Заявлению присвоен "
        "номер: #{number}",
        "Өтінішіңіз Бірыңғай кезек жүйесіне сәтті жіберілді! Өтінішке берілген нөмір: #{number}",
    ),
    "application_withdrawn": (
        "Заявление #{number} отозвано",
        "#{number} өтініш кері қайтарылды",
    ),
    "choices_changed": (
        "В заявлении #{number} изменены дошкольные организации",
        "#{number} өтініштегі мектепке дейінгі ұйымдар өзгертілді",
    ),
    "benefit_changed": (
        "Сведения о льготе в заявлении #{number} изменены: {reason}",
        "#{number} өтініштегі жеңілдік туралы мәліметтер өзгертілді: {reason}",
    ),
}
"""The family's messages in Russian and Kazakh, by event kind. Source of the first: the
seed, step 5 («Ваше заявление успешно направлено в систему Единой Очередности!»)."""


def message(kind: str, number: str, reason: str) -> Message | None:
    """The family's message for an event of ``kind``, or ``None`` if it warrants none."""
    texts = _MESSAGES.get(kind)
    if texts is None:
        return None
    words = {"number": number, "reason": reason}
    return Message(kind, number, texts[0].format(**words), texts[1].format(**words))


class Notifications:
    """Sends the family's messages after a command, and retries those that failed."""

    def __init__(self, notifier: Notifier, store: Store, now: Callable[[], datetime]) -> None:
        self._notifier = notifier
        self._store = store
        self._now = now
        self._unlogged: list[EventRecord] = []  # failures the store refused to log

    def notify(self, application: Application, records: Sequence[EventRecord]) -> None:
        """Tell the family, if it agreed to notifications, after the command committed. A
        failing notifier does not undo the command: the failure is logged as an event that
        :meth:`retry` sends again; if even that log write fails, the command still succeeds
        and the failure waits in memory (lost only if this process ends first)."""
        if Consent.NOTIFICATIONS not in application.consents:
            return
        for record in records:
            text = message(record.kind, application.number, record.reason)
            if text is None:
                continue
            try:
                self._notifier.send(application.applicant.phone, text)
            except PortError as error:
                failure = EventRecord(
                    kind="notification_failed",
                    at=self._now(),
                    number=application.number,
                    reason=error.code,
                    data={"event": record.kind, "reason": record.reason},
                )
                try:
                    self._store.append([failure])
                except PortError:
                    self._unlogged.append(failure)

    def retry(self) -> int:
        """Send again every notification that failed (``notification_failed`` in the event
        log) and has not been sent since; each sent one is logged as ``notification_sent``
        with the failure's sequence. Returns how many were sent; those that fail again wait
        for the next call. Failures the store refused to log when they happened are logged
        first. O(E) for E events."""
        if self._unlogged:
            with contextlib.suppress(PortError):
                self._store.append(self._unlogged)
                self._unlogged = []
        events = self._store.events()
        done = {e.data.get("retry_of") for e in events if e.kind == "notification_sent"}
        sent = 0
        for failure in events:
            if failure.kind != "notification_failed" or failure.sequence in done:
                continue
            stored = None if failure.number is None else self._store.get(failure.number)
            kind = str(failure.data.get("event", ""))
            text = None
            if stored is not None:
                text = message(kind, stored.application.number, str(failure.data.get("reason")))
            if stored is None or text is None:
                continue
            try:
                self._notifier.send(stored.application.applicant.phone, text)
            except PortError:
                continue
            self._store.append(
                [
                    EventRecord(
                        kind="notification_sent",
                        at=self._now(),
                        number=failure.number,
                        reason="retried",
                        data={"retry_of": failure.sequence, "event": kind},
                    )
                ]
            )
            sent += 1
        return sent
