"""Row rules for registration records: every rejected row gets a reason, nothing is dropped."""
from __future__ import annotations

import json

import pandas as pd

from lifecircle.quality.uscc import uscc_error

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
    return pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")


def check_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split raw registration rows into (valid, quarantined).

    ``quarantined`` has one row per problem: load_id, page_no, row_no, reason_code, field,
    message, record (the whole raw record). A row with any problem is kept out of ``valid``."""
    df = raw.copy()
    for col in RAW_FIELDS:
        df[col] = df[col].astype("object").where(df[col].notna(), None)
        df[col] = df[col].map(lambda v: v.strip() if isinstance(v, str) else v).replace("", None)
    problems: list[tuple] = []

    def flag(mask: pd.Series, code: str, field: str, message) -> None:
        for idx in df.index[mask]:
            text = message(df.loc[idx]) if callable(message) else message
            problems.append((idx, code, field, text))

    for col in REQUIRED:
        flag(df[col].isna(), "missing_field", col, f"required field {col} is empty")
    present = df["uscc"].notna()
    errors = df.loc[present, "uscc"].map(uscc_error)
    for idx, err in errors.dropna().items():
        problems.append((idx, f"uscc_{err}", "uscc", f"unified social credit code {df.at[idx, 'uscc']!r} fails: {err}"))
    for col in ("established_date", "approved_date"):
        bad = df[col].notna() & _strict_date(df[col]).isna()
        flag(bad, "bad_date", col, lambda r, c=col: f"{c} {r[c]!r} is not a date YYYY-MM-DD")
    updated = pd.to_datetime(df["updated_at"], errors="coerce", utc=True, format="ISO8601")
    flag(df["updated_at"].notna() & updated.isna(), "bad_date", "updated_at",
         lambda r: f"updated_at {r['updated_at']!r} is not an ISO timestamp")
    flag(df["status"].notna() & ~df["status"].isin(STATUSES), "unknown_status", "status",
         lambda r: f"status {r['status']!r} is not one of {'/'.join(STATUSES)}")
    dup = df.duplicated(subset=["uscc", "updated_at"], keep="first") & df["uscc"].notna()
    flag(dup, "duplicate", "uscc", lambda r: f"record {r['uscc']} @ {r['updated_at']} received more than once")

    bad_idx = sorted({p[0] for p in problems})
    quarantine = pd.DataFrame([{
        "load_id": df.at[i, "load_id"], "page_no": int(df.at[i, "page_no"]), "row_no": int(df.at[i, "row_no"]),
        "reason_code": code, "field": field, "message": msg,
        "record": record_json(df.loc[i]),
    } for i, code, field, msg in problems], columns=["load_id", "page_no", "row_no", "reason_code", "field",
                                                    "message", "record"])
    quarantine = quarantine.drop_duplicates(subset=["load_id", "page_no", "row_no", "reason_code"])
    valid = df.drop(index=bad_idx)
    valid = valid.assign(
        established_date=_strict_date(valid["established_date"]).dt.date,
        approved_date=_strict_date(valid["approved_date"]).dt.date,
        updated_at=updated.loc[valid.index],
        is_closed=valid["status"].isin(CLOSED_STATUSES),
    )
    return valid, quarantine
