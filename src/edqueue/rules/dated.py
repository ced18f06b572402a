"""The dated machinery of the policy: each parameter's values with their dates and sources,
and the :class:`Policy` that reads them on a date and is amended.

Part of the dated policy: :mod:`edqueue.rules.policy` re-exports every name.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import attrs

from edqueue.errors import PolicyError, TimeError
from edqueue.models.instants import KAZAKHSTAN, require_aware
from edqueue.rules.durations import Duration
from edqueue.rules.parameters import _SPECS, PARAMETER_NAMES, PolicyValues

__all__ = ["DatedValue", "ParameterHistory", "Policy", "policy_date"]


def _plain_date(value: Any, what: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise PolicyError("policy.invalid_value", f"{what} is a date (not a datetime)")
    return value


def _effective_from(value: Any) -> date:
    return _plain_date(value, "the effective date")


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(
            "policy.invalid_value",
            "every policy value needs its source: the act, page or decision it comes from",
        )
    return " ".join(value.split())


@attrs.frozen
class DatedValue:
    """One value of a parameter, the date from which it applies, and where it comes from."""

    effective_from: date = attrs.field(converter=_effective_from)
    value: int | Duration = attrs.field()
    source: str = attrs.field(converter=_source)


def _parameter_name(value: Any) -> str:
    if not isinstance(value, str) or value not in _SPECS:
        raise PolicyError(
            "policy.unknown_parameter",
            f"no policy parameter named {value!r}; the parameters are: "
            + ", ".join(PARAMETER_NAMES),
        )
    return value


def _history(value: Iterable[DatedValue]) -> tuple[DatedValue, ...]:
    values = tuple(value)
    if not values or not all(isinstance(v, DatedValue) for v in values):
        raise PolicyError("policy.invalid_value", "a parameter's history is one or more DatedValue")
    dates = [v.effective_from for v in values]
    if len(set(dates)) != len(dates):
        raise PolicyError(
            "policy.invalid_value", "a parameter has at most one value per effective date"
        )
    return tuple(sorted(values, key=lambda v: v.effective_from))


def _history_values(instance: ParameterHistory, _: Any, values: tuple[DatedValue, ...]) -> None:
    for dated in values:
        _SPECS[instance.name].check(instance.name, dated.value)


def _effective_date(value: DatedValue) -> date:
    return value.effective_from


@attrs.frozen
class ParameterHistory:
    """A parameter's name and every value it has had, oldest first."""

    name: str = attrs.field(converter=_parameter_name)
    values: tuple[DatedValue, ...] = attrs.field(converter=_history, validator=_history_values)

    @property
    def unit(self) -> str:
        """What the value counts: ``"organizations"``, ``"years"``, ``"days"``, ..."""
        return _SPECS[self.name].unit

    @property
    def description(self) -> str:
        """What the parameter is, in one sentence (its sources are on the values)."""
        return _SPECS[self.name].description

    def at(self, on: date) -> DatedValue:
        """The value in force on ``on``. O(log h) for h values.

        Raises :class:`~edqueue.errors.PolicyError` (``policy.no_value``) before the first.
        """
        i = bisect.bisect_right(self.values, on, key=_effective_date)
        if i == 0:
            raise PolicyError(
                "policy.no_value",
                f"{self.name} has no value before {self.values[0].effective_from.isoformat()}; "
                "amend the policy with an earlier value or check a later date",
            )
        return self.values[i - 1]


def policy_date(on: date | datetime) -> date:
    """The calendar date a policy is read on: a date as is, an aware datetime in Kazakhstan.

    A naive datetime raises :class:`~edqueue.errors.TimeError` (``time.naive``).

    >>> from datetime import UTC
    >>> policy_date(datetime(2024, 2, 29, 20, 0, tzinfo=UTC))   # 01:00 on 1 March in Almaty
    datetime.date(2024, 3, 1)
    """
    if isinstance(on, datetime):
        return require_aware(on, "the policy date").astimezone(KAZAKHSTAN).date()
    if isinstance(on, date):
        return on
    raise TimeError("time.type", "a policy is read on a date or an aware datetime")


def _parameters(value: Iterable[ParameterHistory]) -> tuple[ParameterHistory, ...]:
    given = tuple(value)
    if not all(isinstance(p, ParameterHistory) for p in given):
        raise PolicyError("policy.invalid_value", "a policy's parameters are ParameterHistory")
    by_name = {p.name: p for p in given}
    if len(by_name) != len(given):
        raise PolicyError("policy.invalid_value", "each parameter appears once in a policy")
    missing = [name for name in PARAMETER_NAMES if name not in by_name]
    if missing:
        raise PolicyError(
            "policy.invalid_value", "a policy needs every parameter; missing: " + ", ".join(missing)
        )
    return tuple(by_name[name] for name in PARAMETER_NAMES)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError("policy.invalid_value", "a policy's name is non-empty text")
    return value.strip()


@attrs.frozen
class Policy:
    """Every parameter with its dated history: the law (and regional practice) as data.

    Immutable: :meth:`amend` returns a new policy. Valid by construction: each value is
    checked, and so is the snapshot on each date where a value changes, so :meth:`at`
    fails only with ``policy.no_value`` (a date before the first value). Parameters are kept
    in the order of :class:`PolicyValues`' fields.
    """

    name: str = attrs.field(converter=_name)
    parameters: tuple[ParameterHistory, ...] = attrs.field(converter=_parameters)

    def __attrs_post_init__(self) -> None:
        changes = sorted({v.effective_from for p in self.parameters for v in p.values})
        start = max(p.values[0].effective_from for p in self.parameters)
        for on in changes:
            if on >= start:
                self.at(on)  # raises if the values in force together do not agree

    def history(self, name: str) -> ParameterHistory:
        """The history of parameter ``name``. O(p) for p parameters.

        Raises :class:`~edqueue.errors.PolicyError` (``policy.unknown_parameter``).
        """
        _parameter_name(name)
        return next(p for p in self.parameters if p.name == name)

    def value(self, name: str, on: date | datetime) -> DatedValue:
        """The value of ``name`` in force on ``on``, with its date and source."""
        return self.history(name).at(policy_date(on))

    def at(self, on: date | datetime) -> PolicyValues:
        """The values in force on ``on`` (a date, or an aware datetime read in Kazakhstan).

        O(p log h) for p parameters of at most h values each. Raises
        :class:`~edqueue.errors.PolicyError` (``policy.no_value``) if a parameter has no
        value yet on that date.
        """
        day = policy_date(on)
        values: dict[str, Any] = {p.name: p.at(day).value for p in self.parameters}
        return PolicyValues(**values)

    def amend(
        self, name: str, effective_from: date, value: int | Duration, *, source: str
    ) -> Policy:
        """A new policy in which ``name`` takes ``value`` from ``effective_from`` on.

        A value already dated ``effective_from`` is replaced (a correction); earlier and
        later values stay. This policy is unchanged. O(d p log h) for d distinct dates of
        change, as the snapshot on each is checked.

        Raises :class:`~edqueue.errors.PolicyError`: ``policy.unknown_parameter`` for a name
        that is not a parameter, ``policy.invalid_value`` for a value of the wrong type or
        range, a date that is not a date, an empty source, or a value that contradicts
        another parameter in force at the same time.
        """
        old = self.history(name)
        new = DatedValue(effective_from, value, source)
        kept = [v for v in old.values if v.effective_from != new.effective_from]
        history = ParameterHistory(name, [*kept, new])
        return attrs.evolve(
            self,
            parameters=tuple(history if p.name == name else p for p in self.parameters),
        )

    def renamed(self, name: str) -> Policy:
        """The same policy under another name (e.g. ``"Astana"`` for a regional one)."""
        return attrs.evolve(self, name=name)
