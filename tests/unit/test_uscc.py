"""Unified social credit code checks (GB 32100-2015 + GB 11714 organisation code)."""
import numpy as np
import pytest

from lifecircle.quality.uscc import (
    USCC_CHARSET,
    USCC_WEIGHTS,
    is_valid_uscc,
    org_check_digit,
    org_check_digits,
    uscc_check_digit,
    uscc_check_digits,
    uscc_error,
)

VALID = "91350100M000100Y43"


def test_weights_are_powers_of_three_mod_31():
    assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def test_published_example_is_valid():
    assert uscc_check_digit(VALID[:17]) == "3"
    assert org_check_digit("M000100Y") == "4"
    assert is_valid_uscc(VALID)
    assert uscc_error(VALID) is None


def test_org_check_special_values():
    # find bodies whose raw check is 10 (-> X) and 11 (-> 0) by brute force
    seen = set()
    for n in range(200):
        body = f"{n:08d}"
        c = org_check_digit(body)
        seen.add(c)
    assert "X" in seen and "0" in seen


@pytest.mark.parametrize(
    "code,reason",
    [
        ("", "length"),
        (VALID[:-1], "length"),
        (VALID + "0", "length"),
        (None, "length"),
        (12345, "length"),
        ("91350100M000100Y4I", "charset"),  # I is not in the charset
        ("91350100m000100Y43", "charset"),  # lower case
        ("91350100M000100Y53", "org_check"),  # org check 4 -> 5
        ("91350100M000100Y44", "check_digit"),
    ],
)
def test_errors(code, reason):
    assert uscc_error(code) == reason
    assert not is_valid_uscc(code)


def test_every_wrong_check_digit_is_caught():
    wrong = [c for c in USCC_CHARSET if c != VALID[17]]
    assert all(uscc_error(VALID[:17] + c) == "check_digit" for c in wrong)


def test_vectorised_helpers_agree_with_scalar():
    rng = np.random.default_rng(7)
    org_chars = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    bodies = ["".join(rng.choice(org_chars, 8)) for _ in range(300)]
    checks = org_check_digits(bodies)
    assert list(checks) == [org_check_digit(b) for b in bodies]
    code17 = [f"92620502{b}{c}" for b, c in zip(bodies, checks)]
    full = [c + d for c, d in zip(code17, uscc_check_digits(code17))]
    assert all(is_valid_uscc(c) for c in full)
    assert list(uscc_check_digits(code17)) == [uscc_check_digit(c) for c in code17]


def test_scalar_check_digit_rejects_bad_input():
    with pytest.raises(ValueError):
        uscc_check_digit("123")
    with pytest.raises(ValueError):
        uscc_check_digit("9135010OM000100Y4")  # letter O
