"""AMap (高德) Web Service v3 geocoding: address text -> GCJ-02 point and match level.

``GET /v3/geocode/geo?key=K&address=A&city=C[&batch=true]`` answers
``{"status":"1","info":"OK","infocode":"10000","count":"1","geocodes":[{...,"location":
"lng,lat","level":"门牌号"}]}``; ``count`` "0" with no geocodes = not found; errors are
HTTP 200 with ``status`` "0" and an ``infocode`` (10001 bad key, 10003/10044 daily quota,
10004/10014/... throttling). Empty fields come as ``[]``.

Why batches: with ``batch=true`` one request carries up to 10 addresses separated by
``|`` and the daily quota counts requests, so a city's addresses cost a tenth of the
quota. The batch answer is expected to hold one geocode per address, in order, an
unresolved address as an entry with empty fields. AMap does not document what it sends
when some addresses cannot be resolved, so the client only trusts a batch answer whose
geocodes line up one-to-one with the request; any other answer is asked again one address
per request (``realigned_batches`` in the summary counts how often).

Why the level matters: AMap answers nearly every address with *something* — for a vague
address a point on the road or the district centre — and ``level`` is the only sign of
that. :data:`LEVEL_RANK` orders AMap's levels (2023-12 list) from coarse to fine so the
caller can set a minimum; a level missing from the table (``未知``, new names) ranks
lowest.

The key is a URL query parameter, so it is masked in every log line and exception
(see :mod:`lifecircle.sources.http`).
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from lifecircle.sources.amap import QUOTA_INFOCODES, AmapCaller, AmapQuotaError

_log = logging.getLogger(__name__)

__all__ = ["GEOCODE_PATH", "GEOCODE_QUOTA_INFOCODES", "GeocodeResult", "LEVEL_RANK", "MAX_BATCH",
           "geocode_addresses", "level_rank", "normalise_address", "parse_geocode", "parse_geocodes"]

GEOCODE_PATH = "/v3/geocode/geo"
MAX_BATCH = 10
#: spent quotas: 10003 the key's daily quota, 10044/10045 the account's daily quota.
GEOCODE_QUOTA_INFOCODES = QUOTA_INFOCODES | {10044, 10045}

#: AMap geocoding match levels, coarse (0) to fine. Same rank = same precision class.
LEVEL_RANK: dict[str, int] = {
    "国家": 0, "省": 1, "市": 2, "区县": 3, "开发区": 4, "乡镇": 5, "村庄": 6, "热点商圈": 7,
    "道路": 8, "小巷": 8, "道路交叉路口": 9,
    "兴趣点": 10, "住宅区": 10, "公交地铁站点": 10,
    "门址": 11, "门牌号": 11,
    "单元号": 12, "楼层": 12, "房间": 12,
}


def level_rank(level: str | None) -> int:
    """Rank of an AMap level in :data:`LEVEL_RANK`; -1 for None, ``未知`` and unknown names."""
    return LEVEL_RANK.get(level or "", -1)


# --- address normalisation -------------------------------------------------------------
_SPACE = re.compile(r"\s+|\|")


def normalise_address(text: Any, prefixes: Sequence[str] = ()) -> str:
    """The cache key of an address: NFKC (full-width digits, letters, spaces and brackets
    become ASCII), all whitespace and ``|`` removed, then each of ``prefixes`` (e.g.
    ``("甘肃省", "天水市")``) removed from the front, in order, where present — the request
    names the city separately. So ``甘肃省天水市秦州区民主西路１２号``, ``天水市 秦州区民主西路12号``
    and ``秦州区民主西路12号`` are one key. Why named prefixes, not a pattern: a rule like
    "two to four characters then 市" also eats ``新城市花园``. Empty for None/blank input."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = _SPACE.sub("", unicodedata.normalize("NFKC", str(text)))
    for prefix in prefixes:
        p = _SPACE.sub("", unicodedata.normalize("NFKC", prefix or ""))
        if p and s.startswith(p) and len(s) > len(p):
            s = s[len(p):]
    return s


# --- answers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GeocodeResult:
    """One address's answer. ``found`` False = AMap had no location for it."""

    address: str
    found: bool
    level: str | None = None
    lng_gcj: float | None = None
    lat_gcj: float | None = None
    lng: float | None = None          # WGS-84
    lat: float | None = None
    formatted_address: str | None = None
    adcode: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


def _clean(v: Any) -> Any:
    return None if v == [] or v == "" or v == {} else v


def _split(entry: Any) -> tuple[float, float] | None:
    try:
        glng, glat = (float(x) for x in str(_clean(entry.get("location"))).split(",", 1))
    except (TypeError, ValueError):
        return None
    return glng, glat


def parse_geocodes(addresses: Sequence[str], entries: Sequence[dict | None]) -> list[GeocodeResult]:
    """``geocodes`` entries -> :class:`GeocodeResult` (GCJ-02 and WGS-84, one vectorised
    conversion). An entry without a parsable ``location`` (or None) is "not found"."""
    import numpy as np

    from lifecircle.geo.gcj02 import gcj02_to_wgs84

    points = [_split(e) if isinstance(e, dict) else None for e in entries]
    have = [i for i, p in enumerate(points) if p is not None]
    wgs: dict[int, tuple[float, float]] = {}
    if have:
        wlng, wlat = gcj02_to_wgs84(np.array([points[i][0] for i in have]), np.array([points[i][1] for i in have]))
        wgs = {i: (float(x), float(y)) for i, x, y in zip(have, np.atleast_1d(wlng), np.atleast_1d(wlat))}
    out = []
    for i, (address, entry) in enumerate(zip(addresses, entries)):
        if not isinstance(entry, dict):
            out.append(GeocodeResult(address, False))
            continue
        level = _clean(entry.get("level"))
        if i not in wgs:
            out.append(GeocodeResult(address, False, level=level, raw=entry))
            continue
        fmt, adcode = _clean(entry.get("formatted_address")), _clean(entry.get("adcode"))
        out.append(GeocodeResult(address, True, level, points[i][0], points[i][1], wgs[i][0], wgs[i][1],
                                 None if fmt is None else str(fmt), None if adcode is None else str(adcode), entry))
    return out


def parse_geocode(address: str, entry: dict | None) -> GeocodeResult:
    """:func:`parse_geocodes` for one entry."""
    return parse_geocodes([address], [entry])[0]


# --- requests --------------------------------------------------------------------------
class _Client(AmapCaller):
    def __init__(self, base_url: str, key: str, city: str | None, *, qps, throttle_retries,
                 throttle_backoff, session, log):
        super().__init__(base_url.rstrip("/") + GEOCODE_PATH, key, qps=qps, throttle_retries=throttle_retries,
                         throttle_backoff=throttle_backoff, session=session, log=log)
        self.city = city

    def request(self, addresses: Sequence[str]) -> dict:
        """One answer for 1..10 addresses."""
        params = {"key": self.key, "address": "|".join(addresses), "output": "JSON",
                  "batch": "true" if len(addresses) > 1 else "false"}
        if self.city:
            params["city"] = self.city
        where = f"GET {GEOCODE_PATH} ({len(addresses)} addresses from {addresses[0]!r})"
        return self.call(params, where, GEOCODE_QUOTA_INFOCODES)

    def one(self, address: str) -> GeocodeResult:
        data = self.request([address])
        geocodes = data.get("geocodes") or []
        if str(data.get("count", "")) == "0" or not isinstance(geocodes, list) or not geocodes:
            return GeocodeResult(address, False)
        return parse_geocode(address, geocodes[0])  # the first answer is AMap's best match

    def many(self, addresses: Sequence[str]) -> tuple[list[GeocodeResult], bool]:
        """Results for a batch, and whether it had to be asked again one by one."""
        if len(addresses) == 1:
            return [self.one(addresses[0])], False
        geocodes = self.request(addresses).get("geocodes")
        if isinstance(geocodes, list) and len(geocodes) == len(addresses):
            return parse_geocodes(addresses, geocodes), False
        self.em.warning(f"batch answer has {len(geocodes) if isinstance(geocodes, list) else 'no'} geocodes "
                        f"for {len(addresses)} addresses: asking one by one")
        return [self.one(a) for a in addresses], True


def geocode_addresses(
    base_url: str,
    key: str,
    addresses: Sequence[str],
    *,
    city: str | None = None,
    batch_size: int = MAX_BATCH,
    qps: float | None = 3.0,
    on_batch: Callable[[list[GeocodeResult]], None] | None = None,
    session: requests.Session | None = None,
    log: Callable[[str], object] | None = None,
    throttle_retries: int = 3,
    throttle_backoff: float = 1.0,
) -> dict[str, Any]:
    """Geocode ``addresses`` (sent as given; ``|`` is removed), ``batch_size`` (1..10) per
    request, requests spaced to ``qps`` (None = unlimited). ``city`` (adcode or name)
    restricts the search to one city. ``on_batch(results)`` is called after each request
    with that batch's :class:`GeocodeResult` list, so the caller can store them before the
    next request — a quota stop then loses nothing.

    Throttling infocodes are retried ``throttle_retries`` times (backoff
    ``throttle_backoff * 2**n`` s); a spent quota raises :class:`AmapQuotaError` (with
    ``summary``); any other failure raises :class:`SourceError`.

    Returns ``{addresses, requests, found, not_found, realigned_batches, results}``."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"AMap geocoding batch_size must be 1..{MAX_BATCH}, got {batch_size}")
    client = _Client(base_url, key, city, qps=qps, throttle_retries=throttle_retries,
                     throttle_backoff=throttle_backoff, session=session, log=log)
    todo = [str(a).replace("|", " ") for a in addresses]
    summary: dict[str, Any] = {"addresses": len(todo), "requests": 0, "found": 0, "not_found": 0,
                               "realigned_batches": 0, "results": []}
    client.em.info(f"AMap geocoding: {len(todo)} addresses, {batch_size} per request")
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        try:
            results, realigned = client.many(chunk)
        except AmapQuotaError as exc:
            summary["requests"] = client.calls
            client.em.warning(f"geocoding stopped by infocode {exc.infocode} {exc.info} after "
                              f"{start} of {len(todo)} addresses")
            exc.summary = {k: v for k, v in summary.items() if k != "results"} | {"done": start}
            raise
        summary["realigned_batches"] += int(realigned)
        summary["found"] += sum(r.found for r in results)
        summary["not_found"] += sum(not r.found for r in results)
        summary["results"].extend(results)
        if on_batch is not None:
            on_batch(results)
    summary["requests"] = client.calls
    client.em.info(f"AMap geocoding done: {summary['found']} found, {summary['not_found']} not found, "
                   f"{summary['requests']} requests")
    return summary
