"""The test suites every store passes, for a host to run against its own adapters.

Each suite is an abstract class of pytest tests for one port of :mod:`edqueue.ports`:

- :class:`RepositoryContract`: ``ApplicationRepository`` + ``EventLog`` as one object (the
  ``store`` the service takes), with ``forget``;
- :class:`DraftStoreContract`: ``DraftStore``;
- :class:`AttemptCounterContract`: ``AttemptCounter``;
- :class:`NumberSequenceContract`: ``NumberSequence``;
- :class:`SnapshotStoreContract`: ``SnapshotStore`` (snapshots of the queues).

Subclass one in a ``Test...`` class of your test suite and implement ``make(directory)``,
which returns a new, empty store (its files, if any, in ``directory``); pytest then runs
every test of the suite against it. edqueue's own tests run them against the memory and
SQLite stores. The suites need pytest and hypothesis (``pip install pytest
'edqueue[testing]'``); their model tests run with the host's hypothesis profile, without a
deadline.

A failing check reads like a failing assert in your own tests: this package asks pytest to
rewrite the suites' asserts, as it does for test modules.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - the suites need it too; say so now
    import pytest
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "edqueue.testing.contracts needs pytest and hypothesis: "
        "pip install pytest 'edqueue[testing]'"
    ) from error

# Before the suites are imported, so that pytest rewrites their asserts.
pytest.register_assert_rewrite(
    "edqueue.testing.contracts._attempts",
    "edqueue.testing.contracts._common",
    "edqueue.testing.contracts._drafts",
    "edqueue.testing.contracts._numbers",
    "edqueue.testing.contracts._repository",
    "edqueue.testing.contracts._repository_model",
    "edqueue.testing.contracts._snapshots",
)

from edqueue.testing.contracts._attempts import AttemptCounterContract  # noqa: E402
from edqueue.testing.contracts._common import event  # noqa: E402
from edqueue.testing.contracts._drafts import DraftStoreContract  # noqa: E402
from edqueue.testing.contracts._numbers import NumberSequenceContract  # noqa: E402
from edqueue.testing.contracts._repository import Repository, RepositoryContract  # noqa: E402
from edqueue.testing.contracts._snapshots import SnapshotStoreContract  # noqa: E402

__all__ = [
    "AttemptCounterContract",
    "DraftStoreContract",
    "NumberSequenceContract",
    "Repository",
    "RepositoryContract",
    "SnapshotStoreContract",
    "event",
]
