"""The public API is what edqueue.__all__ lists, and it imports without optional extras."""

import subprocess
import sys

import edqueue
import edqueue.models


def test_the_issue_names_import() -> None:
    from edqueue import Application, BenefitCategory, EdqueueError, Iin  # noqa: F401


def test_all_lists_only_real_names() -> None:
    for name in edqueue.__all__:
        assert hasattr(edqueue, name), name
    assert sorted(edqueue.__all__) == sorted(set(edqueue.__all__))


def test_every_name_of_the_models_is_importable_from_edqueue() -> None:
    """docs/api/models.md says so."""
    assert set(edqueue.models.__all__) <= set(edqueue.__all__)


def test_importing_edqueue_does_not_import_hypothesis() -> None:
    code = "import sys, edqueue; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
