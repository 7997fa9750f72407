from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from cordon import pii

# Known numbers, written out rather than computed by the code under test: the two examples of
# GB 11643-1999 itself, and others whose check character was worked by hand (weights 7 9 10 5 8 4 2 1
# 6 3 7 9 10 5 8 4 2; the sum mod 11 picks from "10X98765432").
VALID = ["11010519491231002X", "440524188001010014", "320413199001011238", "32041319850101019X", "110101200001010010"]
# The same numbers with one character wrong: the check character, a digit, or two digits swapped.
INVALID = ["110105194912310021", "440524188001010015", "320413199001011239", "320413198501010190",
           "110101200001010011", "110105194912310023", "320413199001012138"]


def test_known_id_numbers_are_valid():
    for number in VALID:
        assert pii.is_valid_id_number(number), number
    assert pii.is_valid_id_number("11010519491231002x")  # a lowercase x is the same number


def test_known_wrong_id_numbers_are_invalid():
    for number in INVALID:
        assert not pii.is_valid_id_number(number), number


# GB 11643-1999 MOD 11-2, written here from the standard, independently of cordon.pii.
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def with_check(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


# The first 17 characters of a plausible number: a region, a real birth date, a serial.
first17s = st.builds(
    lambda region, born, serial: f"{region}{born:%Y%m%d}{serial:03d}",
    st.sampled_from(["110101", "320413", "440524", "650102"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    st.integers(0, 999),
)


@given(first17s)
def test_the_code_agrees_with_the_standard(first17):
    assert pii.id_check_character(first17) == with_check(first17)[-1]
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
