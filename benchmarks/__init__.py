"""edqueue's benchmarks: national-scale figures next to baselines measured in the same run.

Run them with ``make bench`` or ``python -m benchmarks.run`` (see docs/performance.md).
Plain Python and ``time.perf_counter``, in the style of sortedcontainers' own benchmarks.
"""
