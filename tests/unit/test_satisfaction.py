"""Satisfaction exports: round trip, personal data kept out, encodings, per-circle summary."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import pytest

from lifecircle.surveys import parse_responses, summarise, write_responses_csv
from lifecircle.surveys.samples import make_sample_uploads

SALT = "test-salt"
AS_OF = date(2024, 5, 31)
CIRCLES = [
    {"circle_code": "TS-C01", "name": "大城生活圈", "communities": ["进步巷社区", "大城社区"]},
    {"circle_code": "TS-C02", "name": "七里墩生活圈", "communities": ["岷山社区"]},
    {"circle_code": "TS-C03", "name": "东关生活圈", "communities": ["东关社区"]},
]


def _responses() -> list[dict]:
    return [
        {"submitted_at": datetime(2024, 5, 20, 10, 23, 45), "duration_s": 125, "source": "微信",
         "ip": "61.178.12.34(甘肃-天水)", "circle_name": "大城生活圈", "community_name": "进步巷社区",
         "satisfaction": "非常满意", "missing_categories": ["breakfast", "childcare"],
         "phone": "13912345678", "name": "王秀英", "id_number": "620502199001011234"},
        {"submitted_at": datetime(2024, 5, 21, 8, 5, 0), "duration_s": 60, "source": "手机提交",
         "ip": "61.178.99.1(甘肃-天水)", "circle_name": "大城生活圈", "community_name": "大城社区",
         "satisfaction": "一般", "missing_categories": ["fresh_food_store", "post_parcel", "elderly_care"],
         "phone": None, "name": "李建华"},
        {"submitted_at": datetime(2024, 5, 22, 19, 0, 1), "duration_s": 300, "source": "链接",
         "ip": "61.178.3.3(甘肃-天水)", "circle_name": "东关生活圈", "community_name": None,
         "satisfaction": "不满意", "missing_categories": [], "phone": "+86 138-0000-1111", "name": "赵敏"},
        {"submitted_at": datetime(2024, 5, 23, 9, 30, 0), "duration_s": 90, "source": "微信",
         "ip": "61.178.12.34(甘肃-天水)", "circle_name": "大城生活圈", "community_name": "进步巷社区",
         "satisfaction": "满意", "missing_categories": ["hair_beauty"],
         "phone": "13912345678", "name": "王秀英"},
    ]


PII = ["13912345678", "王秀英", "620502199001011234", "61.178.12.34", "李建华", "61.178.99.1",
       "138-0000-1111", "13800001111", "赵敏", "61.178.3.3"]


def _assert_no_pii(result) -> None:
    for row in result.rows:
        text = repr(row)
        assert not [p for p in PII if p in text], text
    joined = repr(result.errors) + repr(result.warnings)
    assert not [p for p in PII if p in joined], joined


def test_round_trip(tmp_path):
    path = write_responses_csv(tmp_path / "s.csv", _responses())
    result = parse_responses(path, salt=SALT)
    assert result.errors == [] and result.warnings == []
    got = [{k: r[k] for k in ("circle_name", "community_name", "satisfied", "satisfaction_score",
                              "missing_categories", "submitted_at")} for r in result.rows]
    assert got == [
        {"circle_name": "大城生活圈", "community_name": "进步巷社区", "satisfied": True, "satisfaction_score": 5,
         "missing_categories": ["breakfast", "childcare"], "submitted_at": datetime(2024, 5, 20, 10, 23, 45)},
        {"circle_name": "大城生活圈", "community_name": "大城社区", "satisfied": False, "satisfaction_score": 3,
         "missing_categories": ["fresh_food_store", "post_parcel", "elderly_care"],
         "submitted_at": datetime(2024, 5, 21, 8, 5)},
        {"circle_name": "东关生活圈", "community_name": None, "satisfied": False, "satisfaction_score": 2,
         "missing_categories": [], "submitted_at": datetime(2024, 5, 22, 19, 0, 1)},
        {"circle_name": "大城生活圈", "community_name": "进步巷社区", "satisfied": True, "satisfaction_score": 4,
         "missing_categories": ["hair_beauty"], "submitted_at": datetime(2024, 5, 23, 9, 30)},
    ]
    assert [r["row_no"] for r in result.rows] == [2, 3, 4, 5]


def test_written_columns_are_wenjuanxing_style(tmp_path):
    path = write_responses_csv(tmp_path / "s.csv", _responses())
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    header, first = path.read_text(encoding="utf-8-sig").splitlines()[:2]
    assert header.split(",") == ["序号", "提交答卷时间", "所用时间", "来源", "来自IP", "1、您所在的便民生活圈",
                                 "2、您所在的社区", "3、您对本生活圈便民服务的总体满意度",
                                 "4、您觉得生活圈还缺少哪些业态（多选）", "5、您的手机号", "6、您的姓名",
                                 "7、您的身份证号"]
    assert "2024/5/20 10:23:45" in first and "125秒" in first and "早餐店┋托育站点" in first


def test_personal_data_never_in_output(tmp_path):
    result = parse_responses(write_responses_csv(tmp_path / "s.csv", _responses()), salt=SALT)
    assert len(result.rows) == 4
    _assert_no_pii(result)
    assert set(result.rows[0]) == {"row_no", "circle_name", "community_name", "satisfied",
                                   "satisfaction_score", "missing_categories", "submitted_at",
                                   "respondent_hash"}


def test_respondent_hash(tmp_path):
    rows = parse_responses(write_responses_csv(tmp_path / "s.csv", _responses()), salt=SALT).rows
    assert rows[0]["respondent_hash"] == hashlib.sha256(b"test-salt13912345678").hexdigest()
    assert rows[0]["respondent_hash"] == rows[3]["respondent_hash"]  # same phone, same person
    assert rows[1]["respondent_hash"] == hashlib.sha256(
        "test-salt李建华|61.178.99.1".encode()).hexdigest()  # no phone: name + IP
    assert rows[2]["respondent_hash"] == hashlib.sha256(b"test-salt13800001111").hexdigest()
    other = parse_responses(tmp_path / "s.csv", salt="other").rows
    assert other[0]["respondent_hash"] != rows[0]["respondent_hash"]
    with pytest.raises(ValueError):
        parse_responses(tmp_path / "s.csv", salt="")


def test_gbk_csv_parses(tmp_path):
    path = write_responses_csv(tmp_path / "s.csv", _responses(), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result = parse_responses(path, salt=SALT)
    assert result.errors == [] and len(result.rows) == 4
    assert result.rows[0]["circle_name"] == "大城生活圈"
    assert result.rows[0]["missing_categories"] == ["breakfast", "childcare"]
    assert result.warnings == ["s.csv: not UTF-8; read as GBK (GB18030)"]


def test_numeric_scale_and_variants(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "序号,提交答卷时间,您所在的便民生活圈,您所在的社区,总体满意度(1-5分),还缺少的业态,手机\n"
        "1,2024-05-20 10:00:00, 大城 生活圈 ,进步巷社区,5,生鲜超市（菜店）┋美容美发┋菜店,13900000001\n"
        "2,2024-05-20 11:00:00,大城生活圈,(空),4分,邮政快递综合服务点;其他〖奶茶店〗,(跳过)\n"
        "3,2024-05-20 12:00:00,大城生活圈,,3,(空),\n"
        ",,,,,,\n"
        "4,2024-05-20 13:00:00,大城生活圈,,1.0,奶茶店,\n", encoding="utf-8")
    result = parse_responses(path, salt=SALT)
    assert result.errors == []
    assert [r["satisfaction_score"] for r in result.rows] == [5, 4, 3, 1]
    assert [r["satisfied"] for r in result.rows] == [True, True, False, False]
    assert result.rows[0]["circle_name"] == "大城生活圈"
    assert result.rows[0]["missing_categories"] == ["fresh_food_store", "hair_beauty"]
    assert result.rows[1]["missing_categories"] == ["post_parcel"] and result.rows[1]["community_name"] is None
    assert result.rows[2]["respondent_hash"] == hashlib.sha256("test-saltanonymous|n.csv|4".encode()).hexdigest()
    assert [r["row_no"] for r in result.rows] == [2, 3, 4, 6]  # the blank line is row 5
    assert result.warnings == [
        "column '还缺少的业态': answers not mapped to a category (其他 cannot tell basic from quality): "
        "其他 (1), 奶茶店 (1)",
        "n.csv: 3 rows carry no phone, name or IP; each counts as a respondent of its own"]


def test_errors_name_row_and_column(tmp_path):
    responses = _responses()
    responses[1]["satisfaction"] = "很好"
    responses[2]["circle_name"] = ""
    result = parse_responses(write_responses_csv(tmp_path / "s.csv", responses), salt=SALT)
    assert result.errors == [
        "row 3, column '3、您对本生活圈便民服务的总体满意度': '很好', expected "
        "非常满意/满意/一般/不满意/非常不满意 or a score 1–5",
        "row 4, column '1、您所在的便民生活圈': circle name is empty, expected the circle's name",
    ]
    assert [r["row_no"] for r in result.rows] == [2, 5]
    _assert_no_pii(result)


def test_shifted_row_with_personal_data_is_left_out(tmp_path):
    path = tmp_path / "shift.csv"
    path.write_text(
        "序号,您所在的便民生活圈,您所在的社区,总体满意度,手机,姓名\n"
        "1,13912345678,王秀英,满意,,\n"            # shifted: phone and name in answer columns
        "2,大城生活圈,王秀英,满意,13800001111,王秀英\n"  # community is exactly the name
        "3,王家湾生活圈,进步巷社区,13800001111,13800001111,王\n"
        "4,王家湾生活圈,进步巷社区,满意,13800001111,王\n", encoding="utf-8")
    result = parse_responses(path, salt=SALT)
    assert result.errors == [
        "row 2, column '您所在的便民生活圈': holds what looks like personal data (phone, ID, IP or name), "
        "expected a plain answer; row left out",
        "row 3, column '您所在的社区': holds what looks like personal data (phone, ID, IP or name), "
        "expected a plain answer; row left out",
        "row 4, column '总体满意度': holds what looks like personal data (phone, ID, IP or name), "
        "expected a plain answer; row left out",
    ]
    assert [r["circle_name"] for r in result.rows] == ["王家湾生活圈"]
    _assert_no_pii(result)


def test_echoed_values_mask_digits(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("您所在的便民生活圈,总体满意度\n大城生活圈,很好 139123\n", encoding="utf-8")
    assert parse_responses(path, salt=SALT).errors == [
        "row 2, column '总体满意度': '很好 …', expected 非常满意/满意/一般/不满意/非常不满意 or a score 1–5"]


def test_missing_required_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("序号,手机\n1,13900000000\n", encoding="utf-8")
    result = parse_responses(path, salt=SALT)
    assert result.rows == [] and len(result.errors) == 2
    assert result.errors[0].startswith("x.csv: no column for circle")
    _assert_no_pii(result)


def test_question_map_override(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("编号,圈名,评价,联系电话\n1,东关生活圈,满意,13900000002\n", encoding="utf-8")
    result = parse_responses(path, {"circle": "圈名", "satisfaction": ["评价"]}, salt=SALT)
    assert result.errors == [] and result.rows[0]["circle_name"] == "东关生活圈"
    assert result.columns["phone"] == "联系电话"


def test_summarise_flags_small_samples_and_repeats():
    rows = [{"circle_name": "A", "satisfied": i % 10 != 0, "respondent_hash": f"h{i % 48}"} for i in range(49)]
    rows += [{"circle_name": "B", "satisfied": True, "respondent_hash": f"b{i}"} for i in range(50)]
    assert summarise(rows) == [
        {"circle_name": "A", "responses": 49, "satisfied": 44, "satisfaction_pct": 89.8, "sample_ok": False,
         "repeat_respondents": 1, "distinct_respondents": 48},
        {"circle_name": "B", "responses": 50, "satisfied": 50, "satisfaction_pct": 100.0, "sample_ok": True,
         "repeat_respondents": 0, "distinct_respondents": 50},
    ]


def test_sample_csvs(tmp_path):
    paths = make_sample_uploads(tmp_path, CIRCLES, AS_OF, seed=3)
    csvs = [p for p in paths if p.suffix == ".csv"]
    summaries = []
    for path in csvs:
        result = parse_responses(path, salt=SALT)
        assert result.errors == []
        summaries += summarise(result.rows)
    assert all(40 <= s["responses"] <= 120 for s in summaries)
    assert [s["sample_ok"] for s in summaries] == [False, True, True]  # TS-C01 has < 50
    assert all(65 <= s["satisfaction_pct"] <= 100 for s in summaries)
    assert any(s["repeat_respondents"] for s in summaries)
    with pytest.raises(UnicodeDecodeError):
        csvs[0].read_bytes().decode("utf-8")


def test_sample_pii_absent(tmp_path):
    paths = make_sample_uploads(tmp_path, CIRCLES, AS_OF, seed=3)
    path = next(p for p in paths if p.name == "satisfaction_TS-C01_2024-05.csv")
    raw = path.read_bytes().decode("gbk")
    result = parse_responses(path, salt=SALT)
    phones = {line.split(",")[9] for line in raw.splitlines()[1:]} - {"(空)"}
    names = {line.split(",")[10] for line in raw.splitlines()[1:]}
    ips = {line.split(",")[4].split("(")[0] for line in raw.splitlines()[1:]}
    text = repr(result.rows) + repr(result.errors) + repr(result.warnings)
    assert phones and names
    assert not [p for p in phones | names | ips if p in text]


def test_sample_csvs_deterministic(tmp_path):
    a = make_sample_uploads(tmp_path / "a", CIRCLES, AS_OF, seed=3)
    b = make_sample_uploads(tmp_path / "b", CIRCLES, AS_OF, seed=3)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [Path(p).name for p in a] == [Path(p).name for p in b]
