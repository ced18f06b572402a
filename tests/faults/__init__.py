"""Entry points for the fault tests (``tests/test_faults.py``) that run in a subprocess."""
