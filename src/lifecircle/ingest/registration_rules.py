"""Row rules for registration records: every rejected row gets a reason, nothing is dropped."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lifecircle.quality.uscc import uscc_errors

STATUSES = ("存续", "在业", "开业", "迁出", "停业", "注销", "吊销")
# Not operating at the registered address: deregistered, revoked, moved out, suspended.
CLOSED_STATUSES = frozenset({"注销", "吊销", "迁出", "停业"})
REQUIRED = ("uscc", "name", "address", "established_date", "status", "updated_at")
RAW_FIELDS = ("uscc", "name", "address", "industry_code", "business_scope", "established_date",
              "status", "approved_date", "updated_at", "district_adcode")


def _plain(value):
    """JSON-safe value: pandas' missing markers become null."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def record_json(row) -> str:
    """The whole raw record as JSON, as quarantine keeps it."""
    return json.dumps({k: _plain(row[k]) for k in RAW_FIELDS}, ensure_ascii=False, default=str)


def _strict_date(series: pd.Series) -> pd.Series:
    """YYYY-MM-DD or NaT. A number is never a date here: it is parsed as its text, which
    fails (pandas would otherwise start reading numbers as epochs)."""
    if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
        series = series.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")


def _as_dates(parsed: pd.Series) -> pd.Series:
    """``parsed.dt.date`` (datetime.date, NaT where missing) without a Python object per
    row: the distinct days are converted once (a month's registrations share a few
    thousand days)."""
    codes, days = pd.factorize(parsed)
    if not len(days):
        return parsed.dt.date  # all missing: keep pandas' own dtype for that case
    table = np.append(np.asarray(pd.DatetimeIndex(days).date, dtype=object), pd.NaT)
    return pd.Series(table[codes], index=parsed.index, dtype=object)


# The registry keeps local time: a timestamp without a zone is +08:00 (Asia/Shanghai has
# had no daylight saving since 1991; the XLSX reader appends the same fixed offset).
REGISTRY_UTC_OFFSET = pd.Timedelta(hours=8)
# A zone designator after a time of day (``T``/space + hh[:mm[:ss[.f]]]), so that a bare
# date's ``-02`` is not taken for one.
_ZONED = r"[Tt ]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _without_zone(values: np.ndarray) -> np.ndarray:
    """True for the texts that carry no UTC offset (missing values and non-texts: False).
    Matched by Arrow's regex engine: a Python loop would cost ~0.5 s per million rows."""
    texts = np.asarray([v if isinstance(v, str) else None for v in values], dtype=object) \
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty") else values
    zoned = pc.match_substring_regex(pa.array(texts, type=pa.string(), from_pandas=True), _ZONED)
    return pc.invert(zoned).fill_null(False).to_numpy(zero_copy_only=False)


def parse_updated_at(values: np.ndarray, index=None) -> pd.Series:
    """ISO timestamps as UTC (NaT where unreadable); a timestamp without an offset is the
    registry's local time, +08:00 (pandas alone would read it as UTC)."""
    parsed = pd.to_datetime(pd.Series(values, index=index, dtype=object), errors="coerce", utc=True,
                            format="ISO8601")
    naive = _without_zone(values)
    if naive.any():
        parsed = parsed.where(~naive, parsed - REGISTRY_UTC_OFFSET)
    return parsed


# Exactly the characters ``str.strip()`` removes (``str.isspace``), for Arrow's trim.
_PY_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def _clean(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, missing): object values with strings stripped, missing markers and blank
    strings turned into None.

    An Arrow-backed text column (what the raw read gives) is stripped and tested for
    blanks by Arrow before the strings become Python objects: a third of the time."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        stripped = pc.utf8_trim(pa.chunked_array(column), characters=_PY_WHITESPACE)
        missing = pc.fill_null(pc.equal(stripped, ""), True).to_numpy(zero_copy_only=False)
        values = stripped.to_numpy(zero_copy_only=False)
        values[missing] = None
        return values, missing
    values = column.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        if missing.any():
            values[missing] = None
            present = np.flatnonzero(~missing)
            values[present] = np.fromiter(map(str.strip, values[present]), dtype=object, count=len(present))
        else:
            values = np.fromiter(map(str.strip, values), dtype=object, count=len(values))
    else:  # numbers or other objects among the strings: kept as they are
        values = np.asarray([None if m else v.strip() if isinstance(v, str) else v
                             for v, m in zip(values, missing)], dtype=object)
    blank = values == ""
    values[blank] = None
    return values, missing | blank


def _records_json(cols: dict[str, np.ndarray], positions: np.ndarray) -> list[str]:
    """:func:`record_json` of the rows at ``positions``, column-wise."""
    picked = [cols[c][positions] for c in RAW_FIELDS]
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode  # what json.dumps does per call
    return [encode(dict(zip(RAW_FIELDS, map(_plain, vals)))) for vals in zip(*picked)]


def _duplicate_keys(uscc: np.ndarray, updated_at: np.ndarray, no_uscc: np.ndarray) -> np.ndarray:
    """Positions of rows repeating an earlier row's (uscc, updated_at); rows without a
    code are not compared. Pairs are hashed only where the code itself repeats."""
    repeated = np.flatnonzero(pd.Series(uscc, dtype=object).duplicated(keep=False).to_numpy() & ~no_uscc)
    pairs = pd.DataFrame({"uscc": uscc[repeated], "updated_at": updated_at[repeated]}, dtype=object)
    return repeated[pairs.duplicated(keep="first").to_numpy()]


QUARANTINE_COLUMNS = ["load_id", "page_no", "row_no", "reason_code", "field", "message", "record"]
_NOT_A_STATUS = "status {} is not one of " + "/".join(STATUSES)


def check_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split raw registration rows into (valid, quarantined).

    ``quarantined`` has one row per problem: load_id, page_no, row_no, reason_code, field,
    message, record (the whole raw record). A row with any problem is kept out of ``valid``.

    Vectorised: the fields are cleaned once into object arrays, each rule is one array
    operation, and messages and records are built for the failing rows only."""
    cols, missing = {}, {}
    for c in RAW_FIELDS:
        cols[c], missing[c] = _clean(raw[c])
    problems: list[tuple[np.ndarray, object, str, object]] = []  # (positions, code(s), field, message(s))

    def flag(mask: np.ndarray, code, field: str, message) -> None:
        """``message``: one text, or a template whose ``{}`` takes repr(value) of each failing row."""
        pos = np.flatnonzero(mask)
        if len(pos):
            if "{}" in message:
                message = [message.replace("{}", repr(v)) for v in cols[field][pos]]
            problems.append((pos, code, field, message))

    for col in REQUIRED:
        flag(missing[col], "missing_field", col, f"required field {col} is empty")
    errors = uscc_errors(cols["uscc"])
    failing = np.flatnonzero(pd.notna(errors) & ~missing["uscc"])
    if len(failing):
        problems.append((failing, np.asarray(["uscc_" + e for e in errors[failing]], dtype=object), "uscc",
                         [f"unified social credit code {c!r} fails: {e}"
                          for c, e in zip(cols["uscc"][failing], errors[failing])]))
    dates = {c: _strict_date(pd.Series(cols[c], dtype=object)) for c in ("established_date", "approved_date")}
    for col, parsed in dates.items():
        flag(~missing[col] & parsed.isna().to_numpy(), "bad_date", col, col + " {} is not a date YYYY-MM-DD")
    updated = parse_updated_at(cols["updated_at"], raw.index)
    flag(~missing["updated_at"] & updated.isna().to_numpy(), "bad_date", "updated_at",
         "updated_at {} is not an ISO timestamp")
    status = pd.Series(cols["status"], dtype=object)
    flag(~missing["status"] & ~status.isin(STATUSES).to_numpy(), "unknown_status", "status", _NOT_A_STATUS)
    dup = _duplicate_keys(cols["uscc"], cols["updated_at"], missing["uscc"])
    if len(dup):
        # a missing stamp reads "nan" in a column of texts, "None" in a mixed one (as pandas showed it)
        absent = "nan" if pd.api.types.infer_dtype(cols["updated_at"], skipna=True) == "string" else "None"
        problems.append((dup, "duplicate", "uscc", [f"record {u} @ {absent if t is None else t} received more than once"
                                                   for u, t in zip(cols["uscc"][dup], cols["updated_at"][dup])]))

    if problems:
        pos = np.concatenate([p for p, *_ in problems])
        bad, where = np.unique(pos, return_inverse=True)

        def spread(i: int) -> np.ndarray:
            return np.concatenate([np.broadcast_to(np.asarray(p[i], dtype=object), len(p[0])) for p in problems])

        quarantine = pd.DataFrame({
            "load_id": raw["load_id"].to_numpy(dtype=object)[pos],
            "page_no": raw["page_no"].to_numpy()[pos].astype(np.int64),
            "row_no": raw["row_no"].to_numpy()[pos].astype(np.int64),
            "reason_code": spread(1), "field": spread(2), "message": spread(3),
            "record": np.asarray(_records_json(cols, bad), dtype=object)[where],
        }, columns=QUARANTINE_COLUMNS)
        quarantine = quarantine.drop_duplicates(subset=["load_id", "page_no", "row_no", "reason_code"])
        keep = ~raw.index.isin(raw.index[bad])  # as DataFrame.drop(index=...) does
    else:
        quarantine = pd.DataFrame([], columns=QUARANTINE_COLUMNS)
        keep = np.ones(len(raw), dtype=bool)
    # raw's columns in raw's order; the cleaned fields as object columns, None where
    # missing, as the raw frame has them
    valid = pd.DataFrame({c: pd.Series(cols[c][keep], index=raw.index[keep], dtype=object) if c in cols
                          else raw[c][keep] for c in raw.columns}, index=raw.index[keep],
                         copy=False)  # the arrays are fresh: no need to stack them into one block
    return valid.assign(
        established_date=_as_dates(dates["established_date"][keep].set_axis(valid.index)),
        approved_date=_as_dates(dates["approved_date"][keep].set_axis(valid.index)),
        updated_at=updated[keep],
        is_closed=valid["status"].isin(CLOSED_STATUSES),
    ), quarantine
