"""Unified social credit code (统一社会信用代码, GB 32100-2015) checks.

Why here: the registry source is keyed by this code, the validation stage must reject
malformed ones with a reason, and the sample-city generator must produce valid ones
(and a counted share of invalid ones). One module serves both so they cannot disagree.

Layout (18 characters): 1 registration authority, 2 entity type (91 enterprise,
92 individual business, ...), 3-8 administrative division, 9-17 the GB 11714
organisation code (8 body characters + its own check), 18 the overall check character.

- Charset: ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, S, V, Z), values 0..30.
- Overall check: weights 3^(i-1) mod 31 for positions 1-17;
  check = (31 - sum mod 31) mod 31, mapped back through the charset.
- Organisation code check (GB 11714): weights 3, 7, 9, 10, 5, 8, 4, 2 on the 8 body
  characters, digits worth 0-9 and letters A-Z worth 10-35;
  check = 11 - sum mod 11, with 10 -> ``X`` and 11 -> ``0``.

Example: ``91350100M000100Y43`` is valid.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}

# Reason codes returned by uscc_error, in the order they are tested.
REASONS = ("length", "charset", "org_check", "check_digit")


def _org_char_value(c: str) -> int:
    """GB 11714 value of a body character: digits 0-9, letters A-Z -> 10-35."""
    if c.isdigit():
        return int(c)
    return ord(c) - ord("A") + 10


def org_check_digit(body8: str) -> str:
    """GB 11714 check character for an 8-character organisation-code body."""
    if len(body8) != 8:
        raise ValueError(f"organisation code body must have 8 characters: {body8!r}")
    total = sum(_org_char_value(c) * w for c, w in zip(body8.upper(), ORG_WEIGHTS))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def uscc_check_digit(code17: str) -> str:
    """The 18th character for the first 17 characters of a USCC."""
    if len(code17) != 17:
        raise ValueError(f"need the first 17 characters, got {len(code17)}")
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(code17.upper(), USCC_WEIGHTS))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the USCC charset") from None
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_error(code) -> str | None:
    """Why ``code`` is not a valid USCC (one of ``REASONS``), or None when it is valid.

    Lower-case input is rejected (``charset``): the registry publishes upper case and a
    lower-case code means someone re-typed it.
    """
    if not isinstance(code, str) or len(code) != 18:
        return "length"
    if any(c not in _USCC_VALUE for c in code):
        return "charset"
    org = code[8:17]
    if org_check_digit(org[:8]) != org[8]:
        return "org_check"
    if uscc_check_digit(code[:17]) != code[17]:
        return "check_digit"
    return None


def is_valid_uscc(code) -> bool:
    return uscc_error(code) is None


# ---------------------------------------------------------------- vectorised helpers
def uscc_values(codes17: np.ndarray) -> np.ndarray:
    """(n,) array of 17-character strings -> (n, 17) int array of charset values.

    For bulk generation (a million codes); raises if a character is outside the charset.
    """
    raw = np.asarray(codes17, dtype="U17")
    chars = raw.view("U1").reshape(len(raw), 17) if len(raw) else np.empty((0, 17), "U1")
    lut = np.full(128, -1, dtype=np.int64)
    for i, c in enumerate(USCC_CHARSET):
        lut[ord(c)] = i
    ords = chars.view(np.int32).astype(np.int64) if len(raw) else np.empty((0, 17), np.int64)
    vals = lut[np.clip(ords, 0, 127)]
    if (vals < 0).any():
        raise ValueError("character outside the USCC charset")
    return vals


def uscc_check_digits(codes17) -> np.ndarray:
    """Vectorised ``uscc_check_digit`` for an array of 17-character strings."""
    vals = uscc_values(codes17)
    total = vals @ np.asarray(USCC_WEIGHTS, dtype=np.int64)
    idx = (31 - total % 31) % 31
    return np.asarray(list(USCC_CHARSET))[idx] if len(idx) else np.empty(0, dtype="U1")


def org_check_digits(bodies8) -> np.ndarray:
    """Vectorised ``org_check_digit`` for an array of 8-character bodies (digits/A-Z)."""
    raw = np.asarray(bodies8, dtype="U8")
    if not len(raw):
        return np.empty(0, dtype="U1")
    ords = raw.view("U1").reshape(len(raw), 8).view(np.int32).astype(np.int64)
    vals = np.where(ords <= ord("9"), ords - ord("0"), ords - ord("A") + 10)
    total = vals @ np.asarray(ORG_WEIGHTS, dtype=np.int64)
    check = 11 - total % 11
    table = np.array(["", "1", "2", "3", "4", "5", "6", "7", "8", "9", "X", "0"])
    return table[check]


_CHARSET_ORDS = np.frombuffer(USCC_CHARSET.encode("ascii"), dtype=np.uint8).astype(np.int32)
_ORG_CHECK_ORDS = np.frombuffer(b"?123456789X0", dtype=np.uint8).astype(np.int32)  # index: check value 1..11


def _code_point_tables() -> tuple[np.ndarray, np.ndarray]:
    """Code point -> USCC value (-1 outside the charset) and -> GB 11714 value."""
    value = np.full(0x110000, -1, dtype=np.int8)
    value[_CHARSET_ORDS] = np.arange(len(USCC_CHARSET), dtype=np.int8)
    org = np.zeros(0x110000, dtype=np.int8)
    org[ord("0"):ord("9") + 1] = np.arange(10, dtype=np.int8)
    org[ord("A"):ord("Z") + 1] = np.arange(10, 36, dtype=np.int8)
    return value, org


def uscc_errors(codes) -> np.ndarray:
    """Vectorised :func:`uscc_error`: an object array of reasons (None where valid).

    Arithmetic on an (n, 18) code-point matrix instead of a Python call per code — the
    registry delivers a million codes a month."""
    values = np.asarray(codes, dtype=object).reshape(-1)
    n = len(values)
    out = np.full(n, None, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        is_str = ~pd.isna(values)
    else:
        is_str = np.fromiter((isinstance(c, str) for c in values), dtype=bool, count=n)
    strs = np.where(is_str, values, "")
    is18 = is_str & (np.fromiter(map(len, strs), dtype=np.int64, count=n) == 18)
    out[~is18] = "length"
    if not is18.any():
        return out
    rows = np.flatnonzero(is18)
    # a NUL inside a code reads as 0, outside the charset, as the scalar check has it
    ords = np.asarray(strs[rows], dtype="<U18").view(np.int32).reshape(len(rows), 18)
    value_of, org_value_of = _code_point_tables()
    vals = value_of[ords]
    charset_ok = (vals >= 0).all(axis=1)
    # GB 11714 on positions 9-16, checked against position 17
    org_total = org_value_of[ords[:, 8:16]].astype(np.int32) @ np.asarray(ORG_WEIGHTS, dtype=np.int32)
    org_ok = _ORG_CHECK_ORDS[11 - org_total % 11] == ords[:, 16]
    total = vals[:, :17].astype(np.int32) @ np.asarray(USCC_WEIGHTS, dtype=np.int32)
    check_ok = _CHARSET_ORDS[(31 - total % 31) % 31] == ords[:, 17]
    reason = np.select([~charset_ok, ~org_ok, ~check_ok], ["charset", "org_check", "check_digit"], "")
    out[rows] = np.where(reason == "", None, reason.astype(object))
    return out
