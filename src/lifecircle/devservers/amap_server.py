"""Fake AMap Web Service: v5 polygon search (``GET /v5/place/polygon``) from a JSONL file,
and v3 geocoding (``GET /v3/geocode/geo``) from an address table.

Reproduces what makes harvesting the real service hard: at most ``cap`` (200) results per
query whatever the paging, ``page_size`` ≤ 25, errors as HTTP 200 with ``status "0"``
and an ``infocode`` (10001 bad key, 10003 daily quota, 10014 QPS), ``count`` as a string,
empty fields as ``[]`` (served as stored). Fields starting with ``_`` (``_open_date``,
``_close_date``, ground-truth extras) are used for ``as_of`` filtering and never served.

The rectangle is half-open, ``min ≤ x < max`` on both axes, so neighbouring cells never
share a POI. POIs are kept sorted by longitude in numpy arrays so a query is two binary
searches plus a latitude mask over a strip — fast enough for 200k POIs.

Geocoding: ``geocode.jsonl`` (next to the POI file, or ``geocode_jsonl_path``) holds one
address per line: ``{"address", "location" ("lng,lat" GCJ-02, or null = AMap finds
nothing), "level", "formatted_address", "province", "city", "district", "adcode", ...}``.
Lookups are by :func:`lifecircle.sources.amap_geocode.normalise_address` with the
table's own province and city names as prefixes, so "甘肃省天水市X", "天水市X" and "X"
find the same line, as the real service tolerates. Single mode answers the first address
of a ``|`` list; ``batch=true`` answers up to 10, one geocode per address in order (an
unknown address as an entry of empty ``[]`` fields; ``count`` is the number of addresses).
Both endpoints share the key check, quota, QPS limit and fault tables; without a table
every address is "not found".
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from lifecircle.devservers.base import BackgroundHTTPServer, FaultTable, JsonHandler

__all__ = ["AmapFaults", "AmapServer", "GEOCODE_PATH", "INFO", "POLYGON_PATH"]

POLYGON_PATH = "/v5/place/polygon"
GEOCODE_PATH = "/v3/geocode/geo"
MAX_GEOCODE_BATCH = 10
_GEOCODE_FIELDS = ("formatted_address", "country", "province", "citycode", "city", "district", "township",
                   "neighborhood", "building", "adcode", "street", "number", "location", "level")
MAX_PAGE_SIZE = 25
MAX_PAGE_NUM = 100
INFO = {
    10000: "OK",
    10001: "INVALID_USER_KEY",
    10002: "SERVICE_NOT_AVAILABLE",
    10003: "DAILY_QUERY_OVER_LIMIT",
    10004: "ACCESS_TOO_FREQUENT",
    10005: "INVALID_USER_IP",
    10009: "USERKEY_PLAT_NOMATCH",
    10010: "IP_QUERY_OVER_LIMIT",
    10014: "QPS_HAS_EXCEEDED_THE_LIMIT",
    10015: "GATEWAY_TIMEOUT",
    10044: "USER_DAILY_QUERY_OVER_LIMIT",
    10045: "USER_ABROAD_DAILY_QUERY_OVER_LIMIT",
    20000: "INVALID_PARAMS",
    20001: "MISSING_REQUIRED_PARAMS",
}


@dataclass
class AmapFaults:
    """Faults by request ordinal (1-based, counting requests with a valid key).
    Values are ``v`` (once) or ``(v, times)``; ordinals are distinct so once is typical.

    - ``infocode_at_request``: {n: infocode} → that error answer (e.g. 10004, 10009)
    - ``http_status_at_request``: {n: status} → a bare HTTP error (e.g. 502)
    """

    infocode_at_request: dict[int, Any] = field(default_factory=dict)
    http_status_at_request: dict[int, Any] = field(default_factory=dict)


def _location(raw: Any) -> tuple[float, float] | None:
    if not isinstance(raw, str) or "," not in raw:
        return None
    try:
        lng, lat = (float(x) for x in raw.split(",", 1))
    except ValueError:
        return None
    return lng, lat


def _datestr(v: Any) -> str | None:
    return v[:10] if isinstance(v, str) and v else None


def type_prefix(code: str) -> str:
    """AMap type-code semantics: trailing ``00`` pairs widen a code to its category."""
    if len(code) == 6 and code.endswith("0000"):
        return code[:2]
    if len(code) == 6 and code.endswith("00"):
        return code[:4]
    return code


class AmapServer(BackgroundHTTPServer):
    """Serve ``pois.jsonl`` (one AMap v5 POI per line, GCJ-02 ``location``) and, when
    present, the geocoding table ``geocode.jsonl`` next to it."""

    def __init__(self, pois_jsonl_path: str | Path, key: str, *, as_of: date | str | None = None,
                 cap: int = 200, daily_quota: int | None = None, qps_limit: float | None = None,
                 faults: AmapFaults | dict | None = None, geocode_jsonl_path: str | Path | None = None,
                 batch_omits_unfound: bool = False, **kw: Any):
        super().__init__(**kw)
        self.key, self.cap = key, cap
        self.as_of = as_of.isoformat() if isinstance(as_of, date) else as_of
        self.daily_quota, self.qps_limit = daily_quota, qps_limit
        self.set_faults(faults)
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self.quota_used = 0          # valid-key requests since the last reset_quota()
        self.requests_total = 0      # every request received
        self.queries = 0             # answered with infocode 10000
        self.infocodes: Counter[int] = Counter()
        self.geocode_queries = 0     # geocoding requests answered with infocode 10000
        self.geocode_addresses = 0   # addresses in those requests
        # AMap does not document a batch with unresolvable addresses; True leaves them out
        # (the client must then ask one by one) instead of sending empty entries
        self.batch_omits_unfound = batch_omits_unfound
        self._load(Path(pois_jsonl_path))
        if geocode_jsonl_path is None:
            sibling = Path(pois_jsonl_path).with_name("geocode.jsonl")
            geocode_jsonl_path = sibling if sibling.is_file() else None
        self._load_geocodes(Path(geocode_jsonl_path) if geocode_jsonl_path is not None else None)

    def _load(self, path: Path) -> None:
        pois, lngs, lats = [], [], []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                raw = json.loads(line)
                loc = _location(raw.get("location"))
                if loc is None:  # the real service never returns a POI it cannot place
                    continue
                tc = raw.get("typecode")
                typecodes = tuple(tc.split("|")) if isinstance(tc, str) and tc else ()
                public = {k: v for k, v in raw.items() if not k.startswith("_")}
                pois.append((public, typecodes, _datestr(raw.get("_open_date")),
                             _datestr(raw.get("_close_date"))))
                lngs.append(loc[0])
                lats.append(loc[1])
        lng = np.asarray(lngs, dtype=np.float64)
        order = np.argsort(lng, kind="stable")
        self._lng = lng[order]
        self._lat = np.asarray(lats, dtype=np.float64)[order]
        self._orig = order                   # file position, for a stable result order
        self._pois = pois                    # indexed by file position

    def _load_geocodes(self, path: Path | None) -> None:
        """address -> served geocode entry (None = not found), keyed as AMap matches them."""
        from lifecircle.sources.amap_geocode import normalise_address

        rows: list[dict] = []
        if path is not None:
            with open(path, encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh if line.strip()]
        names = {str(r.get(k)) for r in rows for k in ("province", "city") if isinstance(r.get(k), str) and r.get(k)}
        provinces = sorted({n for n in names if n.endswith(("省", "自治区"))}, key=len, reverse=True)
        cities = sorted(names - set(provinces), key=len, reverse=True)
        self._geo_prefixes = tuple(provinces + cities)
        self._geocodes: dict[str, dict | None] = {}
        for r in rows:
            key = normalise_address(r.get("address"), self._geo_prefixes)
            if key in self._geocodes:  # first line wins, as the file is written
                continue
            if _location(r.get("location")) is None:
                self._geocodes[key] = None
                continue
            entry = {f: r.get(f, []) for f in _GEOCODE_FIELDS}
            entry["country"] = r.get("country", "中国")
            for f in ("neighborhood", "building"):
                if not isinstance(entry[f], dict):
                    entry[f] = {"name": [], "type": []}
            self._geocodes[key] = entry

    def lookup_address(self, address: str) -> dict | None:
        """The geocode entry the service answers for ``address`` (None: not found)."""
        from lifecircle.sources.amap_geocode import normalise_address

        return self._geocodes.get(normalise_address(address, self._geo_prefixes))

    def set_faults(self, faults: AmapFaults | dict | None) -> None:
        if isinstance(faults, dict):
            faults = AmapFaults(**faults)
        faults = faults or AmapFaults()
        self.faults = faults
        self._f_info = FaultTable(faults.infocode_at_request)
        self._f_http = FaultTable(faults.http_status_at_request)

    def reset_quota(self) -> None:
        """Midnight: the daily quota starts again."""
        with self._lock:
            self.quota_used = 0

    def mask(self, text: str) -> str:
        return text.replace(self.key, "***") if self.key else text

    def __len__(self) -> int:
        return len(self._pois)

    # the query itself -----------------------------------------------------------------
    def search(self, rect: tuple[float, float, float, float], types: tuple[str, ...] = ()
               ) -> list[dict]:
        """Every matching POI in the half-open rectangle, in file order, capped at ``cap``.

        Type codes work as AMap's do: ``050000`` (a big category) matches every 05xxxx,
        ``050300`` (a mid category) every 0503xx, anything else is a prefix."""
        types = tuple(type_prefix(t) for t in types)
        min_lng, min_lat, max_lng, max_lat = rect
        i0 = int(np.searchsorted(self._lng, min_lng, side="left"))
        i1 = int(np.searchsorted(self._lng, max_lng, side="left"))
        lat = self._lat[i0:i1]
        hits = np.sort(self._orig[i0:i1][(lat >= min_lat) & (lat < max_lat)])
        out: list[dict] = []
        for i in hits:
            public, typecodes, opened, closed = self._pois[i]
            if types and not any(tc.startswith(types) for tc in typecodes):
                continue
            if self.as_of is not None and (
                (opened is not None and opened > self.as_of)
                or (closed is not None and closed <= self.as_of)
            ):
                continue
            out.append(public)
            if len(out) >= self.cap:
                break
        return out

    # request handling -----------------------------------------------------------------
    def _error(self, h: JsonHandler, infocode: int) -> None:
        with self._lock:
            self.infocodes[infocode] += 1
        h.send_json(200, {"status": "0", "info": INFO.get(infocode, "UNKNOWN_ERROR"),
                          "infocode": str(infocode)})

    def handle_get(self, h: JsonHandler) -> None:
        url = urlsplit(h.path)
        with self._lock:
            self.requests_total += 1
        path = url.path.rstrip("/")
        if path not in (POLYGON_PATH, GEOCODE_PATH):
            return h.send_json(404, {"status": "0", "info": "NOT_FOUND", "infocode": "404"})
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if q.get("key") != self.key:
            return self._error(h, 10001)

        now = time.monotonic()
        with self._lock:
            self.quota_used += 1
            ordinal = self.quota_used
            over_quota = self.daily_quota is not None and ordinal > self.daily_quota
            too_fast = False
            if not over_quota and self.qps_limit is not None:
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                too_fast = len(self._recent) >= self.qps_limit
                if not too_fast:
                    self._recent.append(now)
        if over_quota:
            return self._error(h, 10003)
        if too_fast:
            return self._error(h, 10014)
        status = self._f_http.take(ordinal)
        if status:
            return h.send_json(int(status), {"error": "injected HTTP failure"})
        code = self._f_info.take(ordinal)
        if code:
            return self._error(h, int(code))
        if path == GEOCODE_PATH:
            return self._geocode(h, q)

        try:
            rect = self._parse_polygon(q.get("polygon", ""))
            page_size = int(q.get("page_size", "10"))
            page_num = int(q.get("page_num", "1"))
        except ValueError:
            return self._error(h, 20000)
        if not (1 <= page_size <= MAX_PAGE_SIZE and 1 <= page_num <= MAX_PAGE_NUM):
            return self._error(h, 20000)
        types = tuple(t for t in q.get("types", "").split("|") if t)

        found = self.search(rect, types)
        page = found[(page_num - 1) * page_size: page_num * page_size]
        with self._lock:
            self.queries += 1
            self.infocodes[10000] += 1
        h.send_json(200, {"status": "1", "info": "OK", "infocode": "10000",
                          "count": str(len(page)), "pois": page})

    def _geocode(self, h: JsonHandler, q: dict[str, str]) -> None:
        text = q.get("address", "")
        if not text.strip():
            return self._error(h, 20001)
        batch = q.get("batch", "false").lower() == "true"
        addresses = text.split("|") if batch else [text.split("|")[0]]
        if len(addresses) > MAX_GEOCODE_BATCH:
            return self._error(h, 20000)
        found = [self.lookup_address(a) for a in addresses]
        with self._lock:
            self.geocode_queries += 1
            self.geocode_addresses += len(addresses)
            self.infocodes[10000] += 1
        if batch and not self.batch_omits_unfound:
            empty = {f: [] for f in _GEOCODE_FIELDS} | {"neighborhood": {"name": [], "type": []},
                                                         "building": {"name": [], "type": []}}
            geocodes = [g if g is not None else empty for g in found]
        else:
            geocodes = [g for g in found if g is not None]
        h.send_json(200, {"status": "1", "info": "OK", "infocode": "10000",
                          "count": str(len(geocodes)), "geocodes": geocodes})

    @staticmethod
    def _parse_polygon(text: str) -> tuple[float, float, float, float]:
        """Two corners "lng,lat|lng,lat" (any order) → (min_lng, min_lat, max_lng, max_lat)."""
        pts = [p for p in text.split("|") if p]
        if len(pts) != 2:
            raise ValueError("rectangle needs exactly two corners")
        (x1, y1), (x2, y2) = (tuple(float(v) for v in p.split(",")) for p in pts)
        if x1 == x2 or y1 == y2:
            raise ValueError("degenerate rectangle")
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
