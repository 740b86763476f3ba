"""Registry API client against the fake registry server, over real sockets."""
from __future__ import annotations

import json
import logging
import time

import pytest

from lifecircle.devservers import RegistryServer
from lifecircle.sources.http import SourceError, make_session
from lifecircle.sources.registry_api import fetch_registrations

pytestmark = pytest.mark.integration

TOKEN = "tok-Zq81-DistinctiveRegistrySecret"
SINCE = "2024-01-01T00:00:00+08:00"
UNTIL = "2024-06-30T23:59:59+08:00"
N_IN_WINDOW = 2345


def _items() -> list[dict]:
    """2,345 items inside the window (with tied timestamps) plus some outside it."""
    items = []
    for i in range(N_IN_WINDOW):
        day, minute = 1 + (i // 40) % 28, i % 17  # many (updated_at) ties, broken by uscc
        month = 1 + i // 400
        items.append({
            "uscc": f"92620502{i:09d}X", "name": f"店{i}", "address": "天水市秦州区",
            "industry_code": "5213", "business_scope": "", "established_date": "2021-03-04",
            "status": "存续", "approved_date": "2021-03-04",
            "updated_at": f"2024-{month:02d}-{day:02d}T10:{minute:02d}:00+08:00",
            "district_adcode": "620502",
        })
    items.append({**items[0], "uscc": "OUT-BEFORE", "updated_at": "2023-12-31T23:00:00+08:00"})
    items.append({**items[0], "uscc": "OUT-ON-SINCE", "updated_at": SINCE})  # since is exclusive
    items.append({**items[0], "uscc": "IN-ON-UNTIL", "updated_at": UNTIL})   # until is inclusive
    items.append({**items[0], "uscc": "OUT-AFTER", "updated_at": "2024-07-01T00:00:00+08:00"})
    items.append({**items[0], "uscc": "IN-UTC", "updated_at": "2024-06-30T15:00:00Z"})  # 23:00 CST
    return items


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory):
    path = tmp_path_factory.mktemp("registry") / "registrations.jsonl"
    rows = _items()
    # written out of order: the server must sort by (updated_at, uscc)
    rows = rows[1::2] + rows[::2]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture()
def server(jsonl):
    with RegistryServer(jsonl, TOKEN) as srv:
        yield srv


@pytest.fixture()
def session():
    return make_session(retries=3, backoff_factor=0.01, timeout=(2.0, 2.0), secrets=[TOKEN])


EXPECTED = {r["uscc"] for r in _items()} - {"OUT-BEFORE", "OUT-ON-SINCE", "OUT-AFTER"}


def _collect(pages: dict):
    def on_page(page_no, items):
        assert page_no not in pages, f"page {page_no} delivered twice"
        pages[page_no] = items
    return on_page


def _all(pages: dict) -> list[str]:
    return [i["uscc"] for p in sorted(pages) for i in pages[p]]


def test_pages_every_item_exactly_once_in_order(server, session):
    pages: dict = {}
    lines: list[str] = []
    res = fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                              on_page=_collect(pages), session=session, log=lines.append)
    got = _all(pages)
    assert len(got) == len(set(got)) == len(EXPECTED) == N_IN_WINDOW + 2
    assert set(got) == EXPECTED
    assert res == {"pages": 5, "rows": len(EXPECTED), "last_page": 5}
    assert lines[2] == "registrations page 3/5, 1500 rows"
    # order is (updated_at, uscc) across page boundaries
    from lifecircle.devservers.registry_server import parse_timestamp
    items = [i for p in sorted(pages) for i in pages[p]]
    keys = [(parse_timestamp(i["updated_at"]), i["uscc"]) for i in items]
    assert keys == sorted(keys)


def test_no_since_and_exact_multiple_of_page_size(server, session):
    pages: dict = {}
    res = fetch_registrations(server.url, TOKEN, None, "2024-01-01T00:00:00+08:00",
                              page_size=1, on_page=_collect(pages), session=session)
    assert _all(pages) == ["OUT-BEFORE", "OUT-ON-SINCE"]
    assert res["pages"] == 2  # stops on page*page_size >= total, no empty extra page
    assert server.requests_total == 2


def test_resume_after_failure_at_page_k(server, session):
    server.set_faults({"fail_at_page": {3: (500, None)}})  # page 3 fails until cleared
    pages: dict = {}
    with pytest.raises(SourceError) as err:
        fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                            on_page=_collect(pages), session=session)
    assert "page 3" in str(err.value) and "500" in str(err.value)
    assert sorted(pages) == [1, 2]                 # the checkpoint holds pages 1-2
    assert server.requests_per_page[3] == 4        # 1 try + 3 retries
    server.set_faults(None)
    res = fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                              start_page=max(pages) + 1, on_page=_collect(pages),
                              session=session)
    assert res == {"pages": 3, "rows": len(EXPECTED) - 1000, "last_page": 5}
    got = _all(pages)
    assert len(got) == len(set(got)) and set(got) == EXPECTED


def test_429_retry_after_is_honoured(server, session):
    server.set_faults({"retry_after_at_page": {2: 1}})
    pages: dict = {}
    t0 = time.monotonic()
    fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                        on_page=_collect(pages), session=session)
    assert time.monotonic() - t0 >= 1.0
    assert server.requests_per_page[2] == 2
    assert set(_all(pages)) == EXPECTED


def test_500_is_retried(server, session):
    server.set_faults({"fail_at_page": {2: (503, 2), 4: 502}})
    pages: dict = {}
    fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                        on_page=_collect(pages), session=session)
    assert server.requests_per_page[2] == 3 and server.requests_per_page[4] == 2
    assert server.requests_per_page[1] == 1
    assert len(_all(pages)) == len(EXPECTED)


def test_timeout_is_retried(server):
    server.set_faults({"delay_at_page": {2: 1.0}})
    session = make_session(retries=2, backoff_factor=0.01, timeout=(1.0, 0.3))
    pages: dict = {}
    fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                        on_page=_collect(pages), session=session)
    assert server.requests_per_page[2] == 2
    assert set(_all(pages)) == EXPECTED


def test_malformed_json_names_the_page(server, session):
    server.set_faults({"malformed_at_page": {2}})
    pages: dict = {}
    with pytest.raises(SourceError, match=r"/api/v1/registrations page 2: malformed JSON"):
        fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                            on_page=_collect(pages), session=session)
    assert sorted(pages) == [1]


def test_wrong_token_is_not_retried(server, session):
    with pytest.raises(SourceError, match="HTTP 401") as err:
        fetch_registrations(server.url, "wrong-" + TOKEN, SINCE, UNTIL,
                            on_page=lambda p, i: None, session=session)
    assert TOKEN not in str(err.value)
    assert server.requests_total == 1


def test_bad_page_size_is_400(server, session):
    r = session.get(server.url + "/api/v1/registrations", params={"page_size": 1001},
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400


def test_token_never_in_logs_or_errors(server, session, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    server.set_faults({"retry_after_at_page": {1: 0}, "fail_at_page": {2: 500},
                       "malformed_at_page": {3}})
    with pytest.raises(SourceError) as err:
        fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500,
                            on_page=lambda p, i: None, session=session, log=print)
    fetch_registrations(server.url, TOKEN, SINCE, UNTIL, page_size=500, start_page=3,
                        on_page=lambda p, i: None, session=session)  # default logger
    # a server that is gone: the connection error text names the URL
    dead = server.url
    server.stop()
    with pytest.raises(SourceError) as err2:
        fetch_registrations(dead, TOKEN, SINCE, UNTIL, on_page=lambda p, i: None,
                            session=make_session(retries=1, backoff_factor=0))
    out = capsys.readouterr()
    assert "registrations page 1/5" in out.out
    assert "Retry" in caplog.text  # urllib3 did log its retries
    for text in (out.out, out.err, caplog.text, str(err.value), str(err2.value), repr(err.value)):
        assert TOKEN not in text
