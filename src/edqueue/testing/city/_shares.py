"""The shares and distributions the city is drawn from (synthetic: edqueue's assumptions,
not statistics), and how it draws: one seeded stream per kind of record, weighted picks."""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import timedelta
from typing import TypeVar

_T = TypeVar("_T")

# --- shares and distributions (synthetic: edqueue's assumptions, not statistics) -------------

_STATE_SHARE = 0.85
_CORRECTIONAL_ORGANIZATION_SHARE = 0.10
_INCLUSIVE_ORGANIZATION_SHARE = 0.05
_SANATORIUM_ORGANIZATION_SHARE = 0.02
_FREE_PLACES = ((0, 1, 2, 3), (0.70, 0.15, 0.10, 0.05))
_CHOICE_COUNT = ((1, 2, 3, 4), (0.45, 0.30, 0.15, 0.10))
_NEIGHBOURS = 4  # further choices come from this many organizations on either side
_KAZAKH_LANGUAGE_SHARE = 0.60
_CORRECTIONAL_SHARE = 0.02
_TWIN_SHARE = 0.015
_SAME_SECOND_SHARE = 0.005
_FROM_DATE_SHARE = 0.10
_EXTRAORDINARY_SHARE = 0.02
_FIRST_PRIORITY_SHARE = 0.12
_EXTRAORDINARY = ((1, 2, 3, 4), (0.35, 0.15, 0.40, 0.10))
_FIRST_PRIORITY = ((5, 6, 7, 8, 9, 10, 11), (0.10, 0.04, 0.02, 0.50, 0.05, 0.09, 0.20))
_EXTRAORDINARY_VERIFIED = 0.50
_FIRST_PRIORITY_VERIFIED = 0.85
_CLAIMED_LATER_SHARE = 0.20
_APPLICANT_MOTHER_SHARE = 0.80
_WINDOW = timedelta(days=1826)  # submissions fall in the 5 years before as_of
_YOUNGEST = timedelta(days=90)  # children are at least about three months old
_PHONE_POOL = 1 << 16
_MAX_DRAWS = 10_000  # draws of one application before giving up (see _Generator.make)


def _cumulative(
    table: tuple[tuple[_T, ...], tuple[float, ...]],
) -> tuple[tuple[_T, ...], list[float]]:
    values, weights = table
    total = sum(weights)
    cumulative = list(itertools.accumulate(w / total for w in weights))
    cumulative[-1] = 1.0
    return values, cumulative


def _pick(rng: random.Random, table: tuple[tuple[_T, ...], list[float]]) -> _T:
    values, cumulative = table
    return values[bisect.bisect_right(cumulative, rng.random())]


def _new_rng(kind: str, seed: int) -> random.Random:
    # Synthetic test data, not a secret. A string seed is hashed with SHA-512: the same on
    # every run, platform and PYTHONHASHSEED. The prefix keeps the module's old name
    # (edqueue.generate): changing it would change every city ever generated.
    return random.Random(f"edqueue.generate.{kind}:{seed}")  # noqa: S311 # nosec B311
