"""Page bodies of the registry API: the Arrow fast path gives what the general decoder
gives, and every page it cannot take falls back to the general path (and its errors)."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lifecircle.ingest.parquet_landing import api_page_table
from lifecircle.sources.http import Emitter, SourceError
from lifecircle.sources.registry_api import _decode_page

FIELDS = ("uscc", "name", "district_adcode")
ITEMS = [
    {"uscc": "91350100M000100Y43", "name": "王记包子铺（东关店）", "district_adcode": "620502", "extra": {"x": 1}},
    {"uscc": None, "name": "", "district_adcode": "620503"},
    {"name": "引号\"与\\反斜杠\n换行"},
]
EM = Emitter(None, ["secret"])


def _body(items, total=3, indent=None) -> bytes:
    return json.dumps({"total": total, "page": 1, "items": items}, ensure_ascii=False, indent=indent).encode()


@pytest.mark.parametrize("indent", [None, 2])
def test_arrow_path_equals_general_path(indent):
    total, table = _decode_page(_body(ITEMS, indent=indent), 1, EM, FIELDS)
    assert isinstance(table, pa.Table) and total == 3
    total2, dicts = _decode_page(_body(ITEMS, indent=indent), 1, EM, None)
    assert isinstance(dicts, list) and total2 == 3
    fast = api_page_table(table, load_id="l", page_no=1)
    general = api_page_table(dicts, load_id="l", page_no=1)
    assert fast.equals(general)
    assert table.column("name").to_pylist() == ["王记包子铺（东关店）", "", "引号\"与\\反斜杠\n换行"]


def test_empty_page():
    total, table = _decode_page(_body([], total=0), 1, EM, FIELDS)
    assert total == 0 and table.num_rows == 0


@pytest.mark.parametrize("items", [
    [{"uscc": "x", "district_adcode": 620502}],  # a number where text belongs
    [{"uscc": "x", "name": {"a": 1}}],  # an object where text belongs
])
def test_pages_the_fast_path_cannot_take_come_as_dicts(items):
    total, got = _decode_page(_body(items, total=1), 1, EM, FIELDS)
    assert got == items and total == 1
    table = api_page_table(got, load_id="l", page_no=1)
    assert table.num_rows == 1


@pytest.mark.parametrize("body, message", [
    (b'{"total": 1, "items": [{"uscc": "9', "malformed JSON"),
    (b'{"items": []}', "expected {total:int"),
    (b'{"total": 1, "items": [null]}', "expected {total:int"),
    (b'{"total": 1, "items": ["text"]}', "expected {total:int"),
    (b'{"total": "1", "items": []}', "expected {total:int"),
    (b'[]', "expected {total:int"),
])
def test_unusable_bodies_name_the_page(body, message):
    with pytest.raises(SourceError, match=r"page 7: .*" + message.replace("{", r"\{")):
        _decode_page(body, 7, EM, FIELDS)


def test_escapes_decode_on_the_fast_path():
    body = rb'{"total": 1, "items": [{"name": "\u4e2d\ud83d\ude00\t", "uscc": "a"}]}'
    _, table = _decode_page(body, 1, EM, FIELDS)
    assert isinstance(table, pa.Table)
    assert table.to_pylist() == [{"uscc": "a", "name": "中😀\t", "district_adcode": None}]


def test_a_repeated_key_takes_the_general_path_last_wins():
    _, got = _decode_page(b'{"total": 1, "items": [{"uscc": "a", "uscc": "b"}]}', 1, EM, FIELDS)
    assert got == [{"uscc": "b"}]
