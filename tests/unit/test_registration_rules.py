"""Row rules for registration records: every rejected row is kept with a reason."""
import json
from datetime import date

import pandas as pd
import pytest

from lifecircle.ingest.registration_rules import CLOSED_STATUSES, RAW_FIELDS, STATUSES, check_rows
from lifecircle.quality.uscc import org_check_digit, uscc_check_digit, uscc_error


def make_uscc(body8: str, division: str = "620502", prefix: str = "91") -> str:
    org = body8 + org_check_digit(body8)
    code17 = prefix + division + org
    return code17 + uscc_check_digit(code17)


def break_check_digit(code: str) -> str:
    """Same code with a wrong 18th character (the org check stays right)."""
    wrong = "0" if code[17] != "0" else "1"
    return code[:17] + wrong


U = [make_uscc(f"MA{i:06d}") for i in range(1, 12)]


def test_helper_builds_valid_codes():
    assert all(uscc_error(u) is None for u in U)
    assert len(set(U)) == len(U)
    assert uscc_error(break_check_digit(U[0])) == "check_digit"


def record(code, **over):
    base = {"uscc": code, "name": "美宜佳便利店（进步巷店）", "address": "甘肃省天水市秦州区进步巷12号",
            "industry_code": "5213", "business_scope": "日用百货零售", "established_date": "2021-03-04",
            "status": "存续", "approved_date": "2021-03-04", "updated_at": "2024-05-02T10:00:00+08:00",
            "district_adcode": "620502"}
    base.update(over)
    return base


def raw_frame(records, load_id="registrations:2024-05"):
    df = pd.DataFrame(records, columns=list(RAW_FIELDS)).astype("object")
    df.insert(0, "row_no", range(len(df)))
    df.insert(0, "page_no", 1)
    df.insert(0, "load_id", load_id)
    return df


def _q(quarantine, row_no):
    return quarantine[quarantine["row_no"] == row_no]


def test_all_valid_rows_pass_with_typed_columns():
    raw = raw_frame([record(U[0]), record(U[1], status="注销", approved_date=None, updated_at="2024-05-03T08:30:00Z")])
    valid, quarantine = check_rows(raw)
    assert len(quarantine) == 0
    assert list(quarantine.columns) == ["load_id", "page_no", "row_no", "reason_code", "field", "message", "record"]
    assert valid["uscc"].tolist() == [U[0], U[1]]
    assert valid["established_date"].tolist() == [date(2021, 3, 4), date(2021, 3, 4)]
    assert valid["approved_date"].iloc[0] == date(2021, 3, 4)
    assert pd.isna(valid["approved_date"].iloc[1])
    assert valid["updated_at"].iloc[0] == pd.Timestamp("2024-05-02T02:00:00Z")
    assert valid["updated_at"].iloc[1] == pd.Timestamp("2024-05-03T08:30:00Z")
    assert str(valid["updated_at"].dt.tz) == "UTC"
    assert valid["is_closed"].tolist() == [False, True]


@pytest.mark.parametrize("status, closed", [(s, s in {"注销", "吊销", "迁出", "停业"}) for s in STATUSES])
def test_is_closed_by_status(status, closed):
    valid, quarantine = check_rows(raw_frame([record(U[0], status=status)]))
    assert len(quarantine) == 0
    assert valid["is_closed"].tolist() == [closed]


def test_closed_statuses_are_the_documented_four():
    assert CLOSED_STATUSES == {"注销", "吊销", "迁出", "停业"}


def test_strings_are_stripped_and_blank_counts_as_missing():
    raw = raw_frame([record(f"  {U[0]} ", name="  美宜佳  "), record(U[1], name="   ")])
    valid, quarantine = check_rows(raw)
    assert valid["uscc"].tolist() == [U[0]]
    assert valid["name"].tolist() == ["美宜佳"]
    assert quarantine[["row_no", "reason_code", "field"]].values.tolist() == [[1, "missing_field", "name"]]
    assert quarantine["message"].tolist() == ["required field name is empty"]


def test_bad_check_digit():
    bad = break_check_digit(U[0])
    valid, quarantine = check_rows(raw_frame([record(bad), record(U[1])]))
    assert valid["uscc"].tolist() == [U[1]]
    row = quarantine.iloc[0]
    assert len(quarantine) == 1
    assert row["reason_code"] == "uscc_check_digit"
    assert row["reason_code"].startswith("uscc_")
    assert row["field"] == "uscc"
    assert bad in row["message"]
    assert (row["load_id"], row["page_no"], row["row_no"]) == ("registrations:2024-05", 1, 0)
    assert json.loads(row["record"]) == record(bad)


@pytest.mark.parametrize("code, reason", [
    ("91620502MA0000017", "uscc_length"),
    ("91620502ma000001" + "XX", "uscc_charset"),
])
def test_other_uscc_reasons(code, reason):
    _, quarantine = check_rows(raw_frame([record(code)]))
    assert quarantine["reason_code"].tolist() == [reason]
    assert code in quarantine["message"].iloc[0]


def test_bad_org_check():
    code = U[0]
    bad_org_digit = "0" if code[16] != "0" else "1"
    code17 = code[:16] + bad_org_digit
    bad = code17 + uscc_check_digit(code17)
    _, quarantine = check_rows(raw_frame([record(bad)]))
    assert quarantine["reason_code"].tolist() == ["uscc_org_check"]


@pytest.mark.parametrize("field", ["uscc", "name", "address", "established_date", "status", "updated_at"])
def test_missing_required_field(field):
    valid, quarantine = check_rows(raw_frame([record(U[0], **{field: None}), record(U[1])]))
    assert valid["uscc"].tolist() == [U[1]]
    assert quarantine[["row_no", "reason_code", "field"]].values.tolist() == [[0, "missing_field", field]]
    assert quarantine["message"].tolist() == [f"required field {field} is empty"]


def test_optional_fields_may_be_missing():
    raw = raw_frame([record(U[0], industry_code=None, business_scope=None, approved_date=None, district_adcode=None)])
    valid, quarantine = check_rows(raw)
    assert len(quarantine) == 0
    assert len(valid) == 1


@pytest.mark.parametrize("field", ["established_date", "approved_date"])
def test_bad_date(field):
    valid, quarantine = check_rows(raw_frame([record(U[0], **{field: "2023-13-45"})]))
    assert len(valid) == 0
    row = quarantine.iloc[0]
    assert (row["reason_code"], row["field"]) == ("bad_date", field)
    assert row["message"] == f"{field} '2023-13-45' is not a date YYYY-MM-DD"


def test_date_with_other_layout_is_bad():
    _, quarantine = check_rows(raw_frame([record(U[0], established_date="2021/03/04")]))
    assert quarantine["reason_code"].tolist() == ["bad_date"]
    assert "'2021/03/04'" in quarantine["message"].iloc[0]


def test_bad_updated_at():
    _, quarantine = check_rows(raw_frame([record(U[0], updated_at="yesterday")]))
    assert quarantine[["reason_code", "field"]].values.tolist() == [["bad_date", "updated_at"]]
    assert quarantine["message"].iloc[0] == "updated_at 'yesterday' is not an ISO timestamp"


def test_unknown_status():
    _, quarantine = check_rows(raw_frame([record(U[0], status="营业中")]))
    row = quarantine.iloc[0]
    assert (row["reason_code"], row["field"]) == ("unknown_status", "status")
    assert row["message"].startswith("status '营业中' is not one of ")
    assert "存续" in row["message"]


def test_duplicate_keeps_the_first():
    raw = raw_frame([
        record(U[0], name="第一次"),
        record(U[0], name="第二次"),                                       # same uscc, same updated_at
        record(U[0], name="新版本", updated_at="2024-05-09T10:00:00+08:00"),  # a later version is fine
    ])
    valid, quarantine = check_rows(raw)
    assert valid["name"].tolist() == ["第一次", "新版本"]
    assert quarantine[["row_no", "reason_code", "field"]].values.tolist() == [[1, "duplicate", "uscc"]]
    assert U[0] in quarantine["message"].iloc[0]
    assert "2024-05-02T10:00:00+08:00" in quarantine["message"].iloc[0]


def test_row_with_two_problems_gives_two_quarantine_rows_counted_once():
    raw = raw_frame([record(break_check_digit(U[0]), status="营业中"), record(U[1])])
    valid, quarantine = check_rows(raw)
    assert valid["uscc"].tolist() == [U[1]]
    assert sorted(quarantine["reason_code"]) == ["unknown_status", "uscc_check_digit"]
    assert set(quarantine["row_no"]) == {0}
    distinct = quarantine[["load_id", "page_no", "row_no"]].drop_duplicates()
    assert len(distinct) == 1
    assert len(valid) + len(distinct) == len(raw)


def test_same_reason_twice_in_a_row_is_one_quarantine_row():
    # the quarantine key is (load_id, page_no, row_no, reason_code)
    _, quarantine = check_rows(raw_frame([record(U[0], name=None, address=None)]))
    assert quarantine[["reason_code", "field"]].values.tolist() == [["missing_field", "name"]]


def test_nothing_is_lost_on_a_dirty_batch():
    recs = [
        record(U[0]),
        record(break_check_digit(U[1])),
        record(U[2], name=None),
        record(U[3], established_date="2023-13-45"),
        record(U[4], status="歇业中"),
        record(U[5]),
        record(U[5]),                                                    # duplicate of row 5
        record(break_check_digit(U[6]), address=None, approved_date="2024-02-30"),  # three problems
        record(U[7], status="吊销"),
        record(None),
        record(U[8], updated_at="not a time"),
        record(U[9], status="停业"),
    ]
    raw = raw_frame(recs)
    valid, quarantine = check_rows(raw)
    assert valid["row_no"].tolist() == [0, 5, 8, 11]
    assert valid["is_closed"].tolist() == [False, False, True, True]
    by_row = quarantine.groupby("row_no")["reason_code"].apply(sorted).to_dict()
    assert by_row == {
        1: ["uscc_check_digit"], 2: ["missing_field"], 3: ["bad_date"], 4: ["unknown_status"],
        6: ["duplicate"], 7: ["bad_date", "missing_field", "uscc_check_digit"], 9: ["missing_field"],
        10: ["bad_date"],
    }
    distinct = quarantine[["load_id", "page_no", "row_no"]].drop_duplicates()
    assert len(valid) + len(distinct) == len(raw) == 12
    assert set(valid["row_no"]).isdisjoint(distinct["row_no"])
    # every record is kept whole and parses as JSON
    assert all(set(json.loads(r)) == set(RAW_FIELDS) for r in quarantine["record"])
    assert raw["uscc"].tolist()[0] == U[0]  # input not modified


@pytest.mark.parametrize("stamp, utc", [
    ("2024-05-02T10:00:00", "2024-05-02T02:00:00Z"),       # naive: registry local time, +08:00
    ("2024-05-02 10:00:00", "2024-05-02T02:00:00Z"),
    ("2024-05-02T10:00:00.250", "2024-05-02T02:00:00.250Z"),
    ("2024-05-02", "2024-05-01T16:00:00Z"),                # a bare date is local midnight
    ("2024-05-02T10:00:00+08:00", "2024-05-02T02:00:00Z"),  # explicit offsets are kept
    ("2024-05-02T10:00:00Z", "2024-05-02T10:00:00Z"),
    ("2024-05-02T10:00:00-05:00", "2024-05-02T15:00:00Z"),
    ("2024-05-02T10:00:00+0800", "2024-05-02T02:00:00Z"),
])
def test_naive_updated_at_is_registry_local_time(stamp, utc):
    valid, quarantine = check_rows(raw_frame([record(U[0], updated_at=stamp)]))
    assert len(quarantine) == 0
    assert valid["updated_at"].iloc[0] == pd.Timestamp(utc)


def test_naive_and_zoned_updated_at_mixed_in_one_batch():
    stamps = ["2024-05-02T10:00:00", "2024-05-02T10:00:00Z", None, "2024-05-02T10:00:00+08:00"]
    valid, quarantine = check_rows(raw_frame([record(U[i], updated_at=s) for i, s in enumerate(stamps)]))
    assert quarantine["row_no"].tolist() == [2]  # the missing one only
    assert valid["updated_at"].tolist() == [pd.Timestamp("2024-05-02T02:00:00Z"), pd.Timestamp("2024-05-02T10:00:00Z"),
                                            pd.Timestamp("2024-05-02T02:00:00Z")]
