"""PhoneNumber: the common written forms normalise to E.164; anything else is a PhoneError."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import EdqueueError, PhoneError, PhoneNumber
from edqueue.testing import mobile_numbers, phone_spellings


@given(mobile_numbers(), st.data())
def test_every_common_spelling_gives_the_same_number(number: PhoneNumber, data) -> None:
    spelling = data.draw(phone_spellings(number))
    parsed = PhoneNumber(spelling)
    assert parsed == number
    assert parsed.reveal() == number.reveal()
    assert parsed.reveal().startswith("+77") and len(parsed.reveal()) == 12


@pytest.mark.parametrize(
    "written",
    ["+7 701 123 45 67", "87011234567", "8 (701) 123-45-67", "7011234567", "+77011234567"],
)
def test_the_seed_forms_normalise_to_e164(written: str) -> None:
    assert PhoneNumber(written).reveal() == "+77011234567"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("", "phone.format"),
        ("hello", "phone.format"),
        ("+7 701 123", "phone.format"),
        ("+7 495 123 45 67", "phone.not_kazakhstan"),  # Moscow shares +7
        ("+998 90 123 45 67", "phone.not_kazakhstan"),  # Uzbekistan
        ("+7 7172 12 34 56", "phone.not_mobile"),  # an Astana landline
    ],
)
def test_numbers_that_cannot_receive_a_code_are_rejected(written: str, code: str) -> None:
    with pytest.raises(PhoneError) as caught:
        PhoneNumber(written)
    assert caught.value.code == code


@given(st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
def test_non_text_is_a_phone_error(value: object) -> None:
    with pytest.raises(PhoneError) as caught:
        PhoneNumber(value)
    assert caught.value.code == "phone.type"


@given(st.text(max_size=30))
def test_any_text_is_a_number_or_an_edqueue_error(text: str) -> None:
    try:
        number = PhoneNumber(text)
    except EdqueueError:
        return
    assert number.reveal().startswith("+7")


@given(mobile_numbers())
def test_phone_is_masked_everywhere_but_reveal(number: PhoneNumber) -> None:
    clear = number.reveal()
    for shown in (repr(number), str(number), f"{number}"):
        assert clear not in shown
        assert clear[2:] not in shown
    assert number.masked.endswith(clear[-2:])


def test_error_messages_never_echo_the_input() -> None:
    with pytest.raises(PhoneError) as caught:
        PhoneNumber("+7 495 123 45 67")
    assert "495" not in str(caught.value)


def test_a_number_with_an_extension_is_refused_not_truncated() -> None:
    with pytest.raises(PhoneError) as caught:
        PhoneNumber("+77010000001 ext. 1234")
    assert caught.value.code == "phone.format"
    assert "1234" not in caught.value.message


def _library_path(text: str) -> str:
    """The E.164 form by the library's documented calls, one after another: parse, then
    ``is_valid_number``, the region, the type (what ``PhoneNumber`` shortens)."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text, "KZ")
    except phonenumbers.NumberParseException:
        raise PhoneError("phone.format", "unparsable") from None
    if parsed.extension or not phonenumbers.is_valid_number(parsed):
        raise PhoneError("phone.format", "not valid")
    if phonenumbers.region_code_for_number(parsed) != "KZ":
        raise PhoneError("phone.not_kazakhstan", "not KZ")
    if phonenumbers.number_type(parsed) not in PhoneNumber.MOBILE_TYPES:
        raise PhoneError("phone.not_mobile", "not mobile")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _outcome(convert, text: str) -> tuple[str, str]:
    try:
        return ("ok", convert(text))
    except PhoneError as error:
        return ("error", error.code)


@given(
    st.one_of(
        st.from_regex(r"\+7[0-9]{10}", fullmatch=True),
        st.from_regex(r"\+77[0-9]{9}", fullmatch=True),
        st.sampled_from(["+77011234567", "+77271234567", "+79161234567", "+70001234567"]),
    )
)
def test_the_canonical_form_is_checked_as_the_library_checks_any_spelling(text: str) -> None:
    from edqueue.models.identity import _e164_of

    assert _outcome(_e164_of, text) == _outcome(_library_path, text)


@given(
    st.one_of(
        st.from_regex(r"(\+7|8)? ?\(?7[0-9]{2}\)? ?[0-9]{3}-?[0-9]{2}-?[0-9]{2}"),
        st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True),
        st.text(max_size=20),
    )
)
def test_any_spelling_is_checked_as_the_library_checks_it(text: str) -> None:
    from edqueue.models.identity import _e164_of

    assert _outcome(_e164_of, text) == _outcome(_library_path, text)
