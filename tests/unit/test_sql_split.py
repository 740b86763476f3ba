"""SQL statement splitting, COPY cell encoding, and the rules every include/sql file keeps."""
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecircle.warehouse.bulk import _cell
from lifecircle.warehouse.engine import split_statements

SQL_DIR = Path(__file__).resolve().parents[2] / "include" / "sql"
SQL_FILES = sorted(SQL_DIR.rglob("*.sql"))


# ------------------------------------------------------------------ split_statements
def test_split_simple():
    assert split_statements("SELECT 1;\nSELECT 2;\n") == ["SELECT 1", "SELECT 2"]


def test_split_multiline_statement():
    text = "INSERT INTO t (a, b)\nSELECT a,\n       b\nFROM s\nWHERE a > :x;\nDELETE FROM u;"
    assert split_statements(text) == ["INSERT INTO t (a, b)\nSELECT a,\n       b\nFROM s\nWHERE a > :x",
                                      "DELETE FROM u"]


def test_split_leading_comments_are_dropped():
    text = "-- header comment\n-- more header\nCREATE TABLE t (a int);\n-- section\nDROP TABLE t;"
    assert split_statements(text) == ["CREATE TABLE t (a int)", "DROP TABLE t"]


def test_split_comment_inside_a_statement_is_kept():
    text = "SELECT a,\n  -- the b column\n  b\nFROM t;"
    assert split_statements(text) == ["SELECT a,\n  -- the b column\n  b\nFROM t"]


def test_split_semicolon_inside_a_line_does_not_split():
    assert split_statements("SELECT ';' AS x, 1;\n") == ["SELECT ';' AS x, 1"]


def test_split_trailing_statement_without_semicolon():
    assert split_statements("SELECT 1;\nSELECT 2\nFROM t") == ["SELECT 1", "SELECT 2\nFROM t"]


def test_split_blank_and_lone_semicolons():
    assert split_statements("") == []
    assert split_statements("\n\n  \n") == []
    assert split_statements("SELECT 1;\n;\n  ;  \nSELECT 2;") == ["SELECT 1", "SELECT 2"]


def test_split_trailing_whitespace_after_semicolon():
    assert split_statements("SELECT 1;   \nSELECT 2;\t\n") == ["SELECT 1", "SELECT 2"]


def test_split_trailing_comment_after_blank_line_is_not_a_statement():
    assert split_statements("SELECT 1;\n\n-- end of file\n") == ["SELECT 1"]


# ------------------------------------------------------------------ include/sql rules
def test_sql_files_exist():
    layers = {p.relative_to(SQL_DIR).parts[0] for p in SQL_FILES}
    assert {"raw", "staging", "quarantine", "core", "mart"} <= layers


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(SQL_DIR)))
def test_sql_file_splits_into_real_statements(path):
    statements = split_statements(path.read_text(encoding="utf-8"))
    assert len(statements) >= 1
    for stmt in statements:
        assert _strip_comments(stmt).strip(), f"comment-only statement in {path.name}: {stmt!r}"
        assert not stmt.endswith(";")


CLOCK = re.compile(r"\bnow\s*\(|\bcurrent_date\b|\bclock_timestamp\b|\bcurrent_timestamp\b|\blocaltimestamp\b",
                   re.IGNORECASE)


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(SQL_DIR)))
def test_sql_file_reads_no_clock(path):
    found = CLOCK.findall(_strip_comments(path.read_text(encoding="utf-8")))
    assert found == [], f"{path.relative_to(SQL_DIR)} reads the clock: {found}"


def test_clock_pattern_catches_the_forbidden_calls():
    for text in ("SELECT now()", "WHERE d < CURRENT_DATE", "SELECT clock_timestamp()", "NOW ()"):
        assert CLOCK.search(text), text
    assert not CLOCK.search("SELECT snow(), known_date, current_dates")


# ------------------------------------------------------------------ COPY cells
@pytest.mark.parametrize("value", [None, float("nan"), np.nan, np.float64("nan"), pd.NA, pd.NaT])
def test_cell_nulls(value):
    assert _cell(value) == r"\N"


@pytest.mark.parametrize("value, text", [
    (True, "t"),
    (False, "f"),
    (0, "0"),
    (3, "3"),
    (2.5, "2.5"),
    ("", ""),
    ("美宜佳", "美宜佳"),
    ("a,b\"c", "a,b\"c"),
])
def test_cell_scalars(value, text):
    assert _cell(value) == text


def test_cell_lists_are_postgres_array_literals():
    assert _cell(["060200", "060201"]) == '{"060200","060201"}'
    assert _cell(("a",)) == '{"a"}'
    assert _cell([]) == "{}"
    assert _cell(['say "hi"', "back\\slash", "a,b", "{x}"]) == r'{"say \"hi\"","back\\slash","a,b","{x}"}'


def test_cell_dicts_are_json():
    value = {"b": 1, "a": "美宜佳", "n": None, "l": [1, 2]}
    out = _cell(value)
    assert out == '{"a": "美宜佳", "b": 1, "l": [1, 2], "n": null}'
    assert json.loads(out) == value


def test_cell_nan_is_not_written_as_text():
    assert _cell(float("nan")) != "nan"
    assert not math.isnan(float("inf")) and _cell(float("inf")) == "inf"
