"""One hierarchy rooted in EdqueueError; every code is stable, dotted and unique."""

import re

import pytest

import edqueue
from edqueue import EdqueueError
from edqueue.errors import all_codes


def test_every_error_class_is_exported_and_rooted_in_edqueue_error() -> None:
    exported = {
        name: obj
        for name in edqueue.__all__
        if isinstance(obj := getattr(edqueue, name), type) and issubclass(obj, Exception)
    }
    assert "EdqueueError" in exported
    for cls in exported.values():
        assert issubclass(cls, EdqueueError)
    for cls in set(all_codes().values()):
        assert cls.__name__ in exported


def test_codes_are_dotted_lowercase_and_unique() -> None:
    codes = all_codes()
    assert len(codes) >= 30
    for code in codes:
        assert re.fullmatch(r"[a-z]+(\.[a-z_]+)+", code), code


def test_an_undeclared_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="does not declare"):
        edqueue.IinError("phone.format", "wrong family")


def test_str_and_repr_carry_the_code() -> None:
    error = edqueue.PhoneError("phone.format", "write it as +7 7XX XXX XX XX")
    assert str(error) == "[phone.format] write it as +7 7XX XXX XX XX"
    assert repr(error).startswith("PhoneError('phone.format'")
    assert isinstance(error, edqueue.ValidationError)
