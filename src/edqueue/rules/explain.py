"""Explanations: why an application stands where it does, and why its position moved.

Both are structured (a list of :class:`Reason`, each a stable ``code`` with parameters) so a
host can translate them; :meth:`Reason.render` gives English and Russian sentences. No reason
carries personal data: only counts, tiers, statuses, times and application numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

import attrs

from edqueue.models import KAZAKHSTAN, GroupKey, Tier
from edqueue.rules.ordering import Basis, Standing

__all__ = [
    "Explanation",
    "PositionChange",
    "QueuePosition",
    "QueueSnapshot",
    "Reason",
    "diff",
    "explanation",
    "tier_starts",
]

_TIER_EN = {
    Tier.EXTRAORDINARY: "a verified extraordinary benefit",
    Tier.FIRST_PRIORITY: "a verified first-priority benefit",
    Tier.NONE: "no verified benefit",
}
_TIER_RU = {
    Tier.EXTRAORDINARY: "с подтверждённой внеочередной льготой",
    Tier.FIRST_PRIORITY: "с подтверждённой первоочередной льготой",
    Tier.NONE: "без подтверждённой льготы",
}
_STATUS_EN = {
    "referred": "received a referral",
    "enrolled": "enrolled",
    "withdrawn": "were withdrawn",
    "removed": "were removed by the rules",
    "changed_choices": "left this queue when their family changed organizations",
}
_STATUS_RU = {
    "referred": "получили направление",
    "enrolled": "зачислены",
    "withdrawn": "отозваны",
    "removed": "сняты с очереди",
    "changed_choices": "ушли из этой очереди, сменив организации",
}
_BASIS_EN = {
    Basis.SUBMITTED.value: "submission",
    Basis.VERIFIED.value: "benefit verified",
    Basis.BIRTH.value: "child's birth date",
}
_BASIS_RU = {
    Basis.SUBMITTED.value: "подача заявления",
    Basis.VERIFIED.value: "подтверждение льготы",
    Basis.BIRTH.value: "дата рождения ребёнка",
}
_ORDERING_EN = {
    "standard": "extraordinary benefits first, then first-priority benefits, then the rest; "
    "within each by submission time, ties by application number (the application text)",
}
_ORDERING_RU = {
    "standard": "сначала внеочередные льготы, затем первоочередные, затем остальные; внутри "
    "каждой группы по дате и времени подачи, при равенстве по номеру заявления",
}


def tier_starts(tier: Tier, first: Standing) -> Reason:
    """The reason that says from which moment ``tier`` starts, given the :class:`Standing`
    of its first application: ``tier.starts`` (a submission time, as always) or
    ``tier.counts_from`` (another moment, named by its basis: a verification, a birth
    date). A time is written in Kazakhstan's time, a day as a day."""
    since = first.since
    if isinstance(since, datetime):
        text = f"{since.astimezone(KAZAKHSTAN):%d.%m.%Y %H:%M:%S}"
    else:
        text = f"{since:%d.%m.%Y}"
    if first.basis is Basis.SUBMITTED and isinstance(since, datetime):
        return Reason("tier.starts", {"tier": int(tier), "since": text})
    return Reason(
        "tier.counts_from", {"tier": int(tier), "since": text, "basis": first.basis.value}
    )


def _tier(value: object) -> Tier:
    return Tier(int(str(value)))


def _params(value: Mapping[str, str | int]) -> dict[str, str | int]:
    return dict(value)


@attrs.frozen
class Reason:
    """One translatable reason: a stable ``code`` and its parameters.

    Codes: ``position``, ``ahead.tier``, ``tier.starts``, ``tier.counts_from``, ``ordering``,
    ``ahead.joined``, ``ahead.moved_up``, ``ahead.left``, ``ahead.fell_behind``, ``own.tier``,
    ``own.joined``, ``own.left``; for a batch allocation ``allocation.placed``, ``allocation.full``,
    ``allocation.no_places``, ``allocation.not_needed``, ``allocation.nothing``; for an
    application that may not take a place now ``hold.stop_list``, ``hold.desired_date``,
    ``hold.too_young``, ``hold.age_limit``.
    """

    code: str
    params: Mapping[str, str | int] = attrs.field(factory=dict, converter=_params)

    def render(self, language: str = "en") -> str:
        """The reason as a sentence in ``"en"`` or ``"ru"`` (``code`` itself if unknown)."""
        ru = language == "ru"
        templates = _TEMPLATES.get(self.code)
        if templates is None:
            return self.code
        words: dict[str, object] = dict(self.params)
        for name in ("tier", "before", "after"):
            if name in words:
                words[name] = (_TIER_RU if ru else _TIER_EN)[_tier(words[name])]
        if self.code == "ahead.left":
            status = str(words["status"])
            words["status"] = (_STATUS_RU if ru else _STATUS_EN).get(status, status)
        if self.code == "tier.counts_from":
            basis = str(words["basis"])
            words["basis"] = (_BASIS_RU if ru else _BASIS_EN).get(basis, basis)
        if "name" in words:
            name = str(words["name"])
            words["name"] = (_ORDERING_RU if ru else _ORDERING_EN).get(name, name)
        return templates[1 if ru else 0].format(**words)


_TEMPLATES: dict[str, tuple[str, str]] = {
    "position": ("Position {position} of {length}", "Позиция {position} из {length}"),
    "ahead.tier": (
        "{count} application(s) with {tier} stand ahead",
        "Впереди заявлений {tier}: {count}",
    ),
    "tier.starts": (
        "Your tier ({tier}) starts with an application of {since}",
        "Ваша группа ({tier}) начинается с заявления от {since}",
    ),
    "tier.counts_from": (
        "Your tier ({tier}) starts with an application counted from {since} ({basis})",
        "Ваша группа ({tier}) начинается с заявления, учитываемого с {since} ({basis})",
    ),
    "ordering": ("Order: {name}", "Порядок: {name}"),
    "ahead.joined": (
        "{count} application(s) with {tier} were added ahead",
        "Впереди добавлено заявлений {tier}: {count}",
    ),
    "ahead.moved_up": (
        "{count} application(s) moved ahead with {tier}",
        "Вперёд переместились заявления {tier}: {count}",
    ),
    "ahead.left": (
        "{count} application(s) ahead {status}",
        "Заявлений впереди {status}: {count}",
    ),
    "ahead.fell_behind": (
        "{count} application(s) that stood ahead now stand behind",
        "Заявлений, стоявших впереди, теперь позади: {count}",
    ),
    "own.tier": (
        "Your application now has {after} (was {before})",
        "Ваше заявление теперь {after} (было {before})",
    ),
    "own.joined": ("You joined this queue", "Заявление встало в эту очередь"),
    "own.left": ("You left this queue: {status}", "Заявление вышло из очереди: {status}"),
    "allocation.placed": (
        "Choice {choice} ({organization}, {group}): referral, place {rank} of {places}",
        "Выбор {choice} ({organization}, {group}): направление, место {rank} из {places}",
    ),
    "allocation.full": (
        "Choice {choice} ({organization}, {group}): all {places} place(s) went to "
        "applications ranked higher; the last one placed had {tier} and counts from {since}",
        "Выбор {choice} ({organization}, {group}): все места ({places}) получили заявления "
        "выше в очереди; последнее из них {tier}, учитывается с {since}",
    ),
    "allocation.no_places": (
        "Choice {choice} ({organization}, {group}): no free places in this round",
        "Выбор {choice} ({organization}, {group}): в этом раунде свободных мест нет",
    ),
    "allocation.not_needed": (
        "Choice {choice} ({organization}, {group}): not needed, a preferred choice was given",
        "Выбор {choice} ({organization}, {group}): не понадобился, получено направление "
        "по более желанному выбору",
    ),
    "allocation.nothing": (
        "No place in this round; the application keeps its place in every queue",
        "В этом раунде места нет; заявление сохраняет место во всех очередях",
    ),
    "hold.stop_list": (
        "On the stop list until {until}; the place in the queue is kept",
        "В стоп-листе до {until}; место в очереди сохраняется",
    ),
    "hold.desired_date": (
        "Waits for the desired referral date {date}",
        "Ожидает желаемой даты направления {date}",
    ),
    "hold.too_young": (
        "The child may receive a referral from {date}",
        "Ребёнок может получить направление с {date}",
    ),
    "hold.age_limit": (
        "The child reached the age limit on {date}",
        "Ребёнок достиг предельного возраста {date}",
    ),
}


@attrs.frozen
class QueuePosition:
    """Where one application stands in one queue.

    ``position`` is 1-based and equals ``1 + sum(ahead.values())``; ``ahead`` counts the
    applications ahead by tier; ``length`` is the number of applications in the queue.
    """

    number: str
    organization_id: str
    group: GroupKey
    position: int
    length: int
    tier: Tier
    ahead: Mapping[Tier, int]

    @property
    def ahead_total(self) -> int:
        """How many applications stand ahead."""
        return self.position - 1


def explanation(at: QueuePosition, first: Standing, ordering: str) -> Explanation:
    """Why the application at ``at`` stands there: its position, how many stand ahead in
    each tier, the moment its tier starts from (``first``: the standing of the tier's first
    application) and the ordering rule (its name)."""
    reasons = [Reason("position", {"position": at.position, "length": at.length})]
    reasons += [
        Reason("ahead.tier", {"tier": int(tier), "count": count})
        for tier, count in sorted(at.ahead.items())
        if count
    ]
    reasons.append(tier_starts(at.tier, first))
    reasons.append(Reason("ordering", {"name": ordering}))
    return Explanation(
        number=at.number,
        organization_id=at.organization_id,
        group=at.group,
        position=at.position,
        length=at.length,
        tier=at.tier,
        ahead=at.ahead,
        reasons=tuple(reasons),
    )


@attrs.frozen
class Explanation:
    """Why an application stands where it does in one queue (``explain``)."""

    number: str
    organization_id: str
    group: GroupKey
    position: int
    length: int
    tier: Tier
    ahead: Mapping[Tier, int]
    reasons: tuple[Reason, ...]

    def render(self, language: str = "en") -> list[str]:
        """Every reason as a sentence."""
        return [reason.render(language) for reason in self.reasons]


@attrs.frozen
class QueueSnapshot:
    """One queue at one moment: the order, each member's tier, and the status of every
    application that ever chose this queue (so that a later diff can say why one left)."""

    organization_id: str
    group: GroupKey
    taken_at: datetime
    order: tuple[str, ...]
    tiers: Mapping[str, Tier]
    statuses: Mapping[str, str]

    def position(self, number: str) -> int | None:
        """1-based position of ``number``, or ``None`` if it is not in the queue. O(n)."""
        try:
            return self.order.index(number) + 1
        except ValueError:
            return None


@attrs.frozen
class PositionChange:
    """How and why one application's position moved between two snapshots."""

    number: str
    before: int | None
    after: int | None
    reasons: tuple[Reason, ...]

    @property
    def moved(self) -> int:
        """Places gained (positive) or lost (negative); 0 if it was not in both."""
        if self.before is None or self.after is None:
            return 0
        return self.before - self.after

    def render(self, language: str = "en") -> list[str]:
        """Every reason as a sentence."""
        return [reason.render(language) for reason in self.reasons]


def diff(before: QueueSnapshot, after: QueueSnapshot, number: str) -> PositionChange:
    """Why ``number`` moved from ``before`` to ``after`` (two snapshots of one queue). O(n).

    Applications that joined ahead are counted by tier; those that left are counted by what
    happened to them (referred, enrolled, withdrawn, removed, changed organizations).
    """
    if (before.organization_id, before.group) != (after.organization_id, after.group):
        raise ValueError("diff compares two snapshots of the same queue")
    was, now = before.position(number), after.position(number)
    reasons: list[Reason] = []
    if was is None and now is not None:
        reasons.append(Reason("own.joined"))
    if was is not None and now is None:
        reasons.append(Reason("own.left", {"status": after.statuses.get(number, "unknown")}))
    if was is not None and now is not None:
        tier_was, tier_now = before.tiers[number], after.tiers[number]
        if tier_was is not tier_now:
            reasons.append(Reason("own.tier", {"before": int(tier_was), "after": int(tier_now)}))
        ahead_was = set(before.order[: was - 1])
        ahead_now = set(after.order[: now - 1])
        joined: Counter[Tier] = Counter()
        moved_up: Counter[Tier] = Counter()
        for other in ahead_now - ahead_was:
            if other in before.tiers:
                moved_up[after.tiers[other]] += 1
            else:
                joined[after.tiers[other]] += 1
        left: Counter[str] = Counter()
        fell_behind = 0
        for other in ahead_was - ahead_now:
            if other in after.tiers:
                fell_behind += 1
            else:
                status = after.statuses.get(other, "unknown")
                left["changed_choices" if status == "active" else status] += 1
        for tier in sorted(joined):
            reasons.append(Reason("ahead.joined", {"tier": int(tier), "count": joined[tier]}))
        for tier in sorted(moved_up):
            reasons.append(Reason("ahead.moved_up", {"tier": int(tier), "count": moved_up[tier]}))
        for status in sorted(left):
            reasons.append(Reason("ahead.left", {"status": status, "count": left[status]}))
        if fell_behind:
            reasons.append(Reason("ahead.fell_behind", {"count": fell_behind}))
    return PositionChange(number=number, before=was, after=now, reasons=tuple(reasons))
