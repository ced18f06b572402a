"""Hypothesis profiles: ``ci`` (the default of ``make test``) and ``dev`` for bug hunts.

Choose with ``HYPOTHESIS_PROFILE=dev make test``. The leak scan (``tests/leak_scan.py``)
watches the whole session for personal data in clear in errors, logs and the CLI's stderr.
"""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.leak_scan", "tests.postgres_server"]

settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
