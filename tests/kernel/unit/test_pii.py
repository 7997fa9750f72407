import string
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from cordon import pii

VALID = ["11010519491231002X", "320413199001011238", "440524188001010014"]


def with_check(first17: str) -> str:
    return first17 + pii.id_check_character(first17)


digits = st.text(alphabet=string.digits, min_size=6, max_size=6)
born = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))
serial = st.text(alphabet=string.digits, min_size=3, max_size=3)
# 17 digits of a real person: place, a real birth date, serial.
first17s = st.builds(lambda place, day, n: place + day.strftime("%Y%m%d") + n, digits, born, serial)


def test_known_id_numbers_are_valid():
    for number in VALID:
        assert pii.is_valid_id_number(number), number
    assert pii.is_valid_id_number("11010519491231002x")  # a lowercase x is the same number


@given(first17s)
def test_every_number_with_its_check_character_is_valid(first17):
    assert pii.is_valid_id_number(with_check(first17))


@given(first17s, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_mutation_is_caught(first17, position, replacement):
    number = with_check(first17)
    mutated = number[:position] + replacement + number[position + 1 :]
    if mutated != number:
        # MOD 11-2 detects every single-character substitution.
        assert not pii.is_valid_id_number(mutated)


@given(first17s, st.integers(0, 16))
def test_adjacent_transpositions_are_caught(first17, i):
    number = with_check(first17)
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    if swapped != number:
        assert not pii.is_valid_id_number(swapped)


def test_wrong_shapes_are_invalid():
    for bad in ["", "1234", "32041319900101123", "3204131990010112385", "X20413199001011235", "32041319900101123A"]:
        assert not pii.is_valid_id_number(bad)


def test_impossible_birth_dates_are_invalid():
    # Month 13, 30 February, born in 2099, born before 1880: each with a correct check character.
    for first17 in ["32041319901301123", "32041319900230123", "32041320990101123", "32041318790101123"]:
        assert not pii.is_valid_id_number(with_check(first17)), first17


def test_masks():
    assert pii.mask_id_number("320413199001011238") == "3204**********1238"
    assert pii.mask_phone("13812341234") == "138****1234"
    assert pii.mask_phone("+86 138 1234 1234") == "138****1234"


def test_phone_validity_and_normalisation():
    assert pii.is_valid_phone("+8613812341234")
    assert pii.is_valid_phone("138-1234-1234")
    assert not pii.is_valid_phone("12812341234")
    assert not pii.is_valid_phone("1381234123")


def test_blind_index_is_keyed_normalised_and_kind_separated():
    a = pii.Vault.from_hex("11" * 32, "22" * 32)
    b = pii.Vault.from_hex("33" * 32, "22" * 32)
    assert a.index("phone", "13812341234") == a.index("phone", "+86 138-1234-1234")
    assert a.index("id_number", "11010519491231002x") == a.index("id_number", "11010519491231002X")
    assert a.index("phone", "13812341234") != b.index("phone", "13812341234")
    assert a.index("phone", "13812341234") != a.index("id_number", "13812341234")
    assert "13812341234" not in a.index("phone", "13812341234")


def test_encryption_round_trip_and_no_clear_text():
    vault = pii.Vault.from_hex("11" * 32, "22" * 32)
    token = vault.encrypt("320413199001011238")
    assert "320413199001011238" not in token
    assert vault.encrypt("320413199001011238") != token  # a fresh nonce each time
    assert vault.decrypt(token) == "320413199001011238"
