"""Application.replace: the record and the error attrs.evolve gives, checking only changes."""

from datetime import datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import Application, EdqueueError
from edqueue.testing import applications

FIELDS = [field.name for field in attrs.fields(Application)]
JUNK = st.sampled_from(
    [None, "", "  ", 0, -3, True, "abc", "007", (), ("x",), frozenset({"x"}), 1.5, object()]
)
NAIVE = datetime(2026, 1, 1, 9, 0)  # noqa: DTZ001 - a naive time must be refused


def outcome(make):
    try:
        return "ok", make()
    except EdqueueError as error:
        return "error", (type(error), error.code, str(error))
    except (TypeError, ValueError) as error:
        return "error", (type(error), None, None)


@given(st.data())
def test_replace_gives_what_evolve_gives(data) -> None:
    application = data.draw(applications())
    other = data.draw(applications())
    names = data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True))
    changes = {
        name: data.draw(st.one_of(st.just(getattr(other, name)), JUNK, st.just(NAIVE)), label=name)
        for name in names
    }
    expected = outcome(lambda: attrs.evolve(application, **changes))
    got = outcome(lambda: application.replace(**changes))
    assert got == expected
    if got[0] == "ok":
        assert type(got[1]) is Application
        assert got[1].group_keys == expected[1].group_keys
        assert got[1].tier is expected[1].tier


@given(applications(), applications())
def test_replaced_group_keys_follow_the_new_choices(application, other) -> None:
    assert application.group_keys  # worked out and kept
    changed = application.replace(choices=other.choices, child=other.child)
    assert changed.group_keys == other.replace(queue_kind=application.queue_kind).group_keys


def test_replace_refuses_a_name_that_is_not_a_field() -> None:
    application = Application.__new__(Application)
    with pytest.raises(TypeError, match="'colour'"):
        application.replace(colour="red")
