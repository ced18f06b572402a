"""Iin: the check digit, the birth date and sex, masking, and rejection of anything else."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edqueue import EdqueueError, Iin, IinError, Sex
from edqueue.models import identity
from edqueue.models.identity import iin_check_digit
from edqueue.testing import birth_dates, iin_prefix, iins, invalid_iin_texts


def spec_check_digit(first_eleven: str) -> int | None:
    """The algorithm as issue 2 words it, written independently of the library."""
    digits = list(map(int, first_eleven))
    first = sum(d * (i + 1) for i, d in enumerate(digits)) % 11
    if first != 10:
        return first
    second = (
        sum(d * w for d, w in zip(digits, [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], strict=True)) % 11
    )
    return None if second == 10 else second


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_check_digit_matches_the_published_algorithm(first_eleven: str) -> None:
    assert Iin.check_digit(first_eleven) == spec_check_digit(first_eleven)


@given(st.text(alphabet="0123456789", min_size=11, max_size=12))
def test_the_check_digit_reads_digits_or_their_ascii_codes(text: str) -> None:
    digits = [int(c) for c in text]
    assert iin_check_digit(digits) == iin_check_digit(text.encode("ascii"))
    assert iin_check_digit(digits) == spec_check_digit(text[:11])


def spec_birth_date_is_real(text: str) -> bool:
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[text[6]]
    try:
        date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return False
    return True


@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=12, max_size=12),
        iins().map(Iin.reveal),
    )
)
def test_the_fast_check_agrees_with_check_digit_and_birth_date(text: str) -> None:
    identity._valid_iin.cache_clear()
    valid = (
        text[6] in "123456"
        and Iin.check_digit(text[:11]) == int(text[11])
        and spec_birth_date_is_real(text)
    )
    try:
        result = identity._valid_iin(text)
    except IinError:
        result = False
    assert result == valid


@given(birth_dates(), st.sampled_from(Sex), st.data())
def test_generated_iin_yields_its_birth_date_and_sex(born: date, sex: Sex, data) -> None:
    iin = data.draw(iins(st.just(born), st.just(sex)))
    assert iin.birth_date == born
    assert iin.sex == sex
    assert Iin(iin.reveal()) == iin
    assert iin.reveal().startswith(iin_prefix(born, sex))


@given(iins(), st.integers(1, 9))
def test_a_wrong_check_digit_is_always_rejected(iin: Iin, shift: int) -> None:
    text = iin.reveal()
    wrong = text[:11] + str((int(text[11]) + shift) % 10)
    with pytest.raises(IinError) as caught:
        Iin(wrong)
    assert caught.value.code == "iin.checksum"


@given(invalid_iin_texts())
def test_invalid_text_raises_iin_error(text: str) -> None:
    with pytest.raises(IinError):
        Iin(text)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.integers())))
def test_non_text_raises_iin_error_not_anything_else(value: object) -> None:
    with pytest.raises(IinError) as caught:
        Iin(value)
    assert caught.value.code == "iin.type"


@given(st.text(max_size=40))
def test_any_text_is_an_iin_or_an_edqueue_error(text: str) -> None:
    try:
        iin = Iin(text)
    except EdqueueError:
        return
    assert len(iin.reveal()) == 12


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("20062350001", "iin.format"),
        ("2006235000111", "iin.format"),
        ("20062350001a", "iin.format"),
        ("２００６２３５０００１１", "iin.format"),  # full-width digits are not ASCII digits
        ("200623000011", "iin.century"),
        ("200623700011", "iin.century"),
        ("200623500012", "iin.checksum"),
    ],
)
def test_each_kind_of_malformed_iin_has_its_code(text: str, code: str) -> None:
    with pytest.raises(IinError) as caught:
        Iin(text)
    assert caught.value.code == code


def test_an_impossible_birth_date_is_rejected_even_with_a_good_check_digit() -> None:
    prefix = "2002305"  # 30 February 2020, male
    serial = next(
        f"{n:04d}" for n in range(10_000) if Iin.check_digit(f"{prefix}{n:04d}") is not None
    )
    first_eleven = prefix + serial
    with pytest.raises(IinError) as caught:
        Iin(first_eleven + str(Iin.check_digit(first_eleven)))
    assert caught.value.code == "iin.birth_date"


def test_surrounding_whitespace_is_ignored() -> None:
    assert Iin("  200623500011\n") == Iin("200623500011")


def test_centuries_follow_the_seventh_digit() -> None:
    for digit, year in [(1, 1899), (3, 1999), (5, 2099)]:
        prefix = f"991231{digit}"
        serial = next(
            f"{n:04d}" for n in range(10_000) if Iin.check_digit(prefix + f"{n:04d}") is not None
        )
        iin = Iin(prefix + serial + str(Iin.check_digit(prefix + serial)))
        assert iin.birth_date == date(year, 12, 31)
        assert iin.sex is Sex.MALE


@given(iins())
def test_iin_is_masked_everywhere_but_reveal(iin: Iin) -> None:
    clear = iin.reveal()
    for shown in (repr(iin), str(iin), f"{iin}", f"{iin!r}"):
        assert clear not in shown
    assert iin.masked == clear[:4] + "******" + clear[-2:]


@given(invalid_iin_texts().filter(lambda t: len(t) >= 4 and any(c.isdigit() for c in t)))
def test_error_messages_never_echo_the_input(text: str) -> None:
    # inputs with a digit (what an IIN leaks), compared with the message, not the code: the
    # fixed words can hold a short input by chance ("iin." is in "[iin.format]")
    with pytest.raises(IinError) as caught:
        Iin(text)
    assert text not in caught.value.message
    assert text not in repr(caught.value).replace(f"'{caught.value.code}'", "")
