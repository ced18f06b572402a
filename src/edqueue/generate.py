"""Deprecated: the city generator is now :mod:`edqueue.testing.city`.

Importing a name from here still works for one release and warns with a
:class:`DeprecationWarning`; import it from :mod:`edqueue.testing.city` instead.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edqueue.testing.city import (
        BROKEN_CODES,
        generate_applications,
        generate_organizations,
        write_city,
    )

__all__ = [
    "BROKEN_CODES",
    "generate_applications",
    "generate_organizations",
    "write_city",
]


def __getattr__(name: str) -> Any:
    """A name of :mod:`edqueue.testing.city`, with a warning that it moved there."""
    if name in __all__:
        warnings.warn(
            f"edqueue.generate is deprecated and will be removed in the next release: "
            f"import {name} from edqueue.testing.city",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("edqueue.testing.city"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
