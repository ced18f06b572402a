"""What hosts import for their tests: hypothesis strategies, the city generator and the
contract suites for stores.

- :mod:`edqueue.testing.strategies`: hypothesis strategies for valid IINs, phone numbers,
  children, organizations, applications and whole queue books. Each is also importable from
  here (``from edqueue.testing import applications``); they need the ``testing`` extra
  (``pip install 'edqueue[testing]'``), which brings hypothesis.
- :mod:`edqueue.testing.city`: a deterministic synthetic city or country (organizations and
  applications) for demos, benchmarks and tests; ``edqueue generate`` writes one. It needs
  nothing beyond edqueue's own dependencies.
- :mod:`edqueue.testing.contracts`: the test suites every store passes
  (``ApplicationRepository`` + ``EventLog``, ``DraftStore``, ``AttemptCounter``,
  ``NumberSequence``), to run against a host's own adapter. They need pytest and hypothesis.

Importing this package imports neither hypothesis nor pytest: a strategy is imported when
it is first asked for, so :mod:`edqueue.testing.city` works without the extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edqueue.testing.strategies import (
        applicants,
        applications,
        benefit_claims,
        birth_dates,
        children,
        full_names,
        groups,
        iin_prefix,
        iins,
        invalid_iin_texts,
        kazakhstan_datetimes,
        mobile_numbers,
        organizations,
        phone_spellings,
        queue_books,
    )

__all__ = [
    "applicants",
    "applications",
    "benefit_claims",
    "birth_dates",
    "children",
    "full_names",
    "groups",
    "iin_prefix",
    "iins",
    "invalid_iin_texts",
    "kazakhstan_datetimes",
    "mobile_numbers",
    "organizations",
    "phone_spellings",
    "queue_books",
]


def __getattr__(name: str) -> Any:
    """The strategies, imported (with hypothesis) the first time one is asked for."""
    if name in __all__:
        return getattr(importlib.import_module("edqueue.testing.strategies"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
