"""AMap (高德) Web Service v5 polygon-search harvest, and POI normalisation.

Why tiling: a v5 query returns at most ~200 POIs whatever the paging, so a city is cut
into cells and any cell whose answer reaches the cap is discarded and split into four,
recursively, until every leaf answer is complete. Nothing is silently truncated: a cell
that still hits the cap at ``min_cell_deg`` is reported in ``truncated_cells``.

Why stable cell ids: ``r{row}c{col}`` for the initial grid (rows counted from the south),
then ``/q`` per split with q = 0 SW, 1 SE, 2 NW, 3 NE (e.g. ``r3c5/0/2``). The caller
checkpoints each finished leaf in ``on_cell`` and passes the set back as ``done_cells``;
a rerun skips those leaves and, seeing a done descendant, goes straight to the children
of a cell it already knows must be split (no re-query of split parents).

Boundary rule: cells are half-open, ``min ≤ x < max`` on both axes, and cell corners are
rounded to 6 decimals exactly as sent in the request. Each POI is assigned to the one
leaf whose rectangle contains its GCJ-02 location; a POI the service returns for a cell
that does not contain it is dropped there (the neighbouring cell gets it), and POIs are
also de-duplicated by id within a run. So every POI inside the bbox lands in exactly one
leaf; a POI exactly on the bbox's max edge is outside, as the half-open rule says.

Why the cap-page probe: when page 1 is full, the page holding result number ``cap`` is
requested next; if it is full the cell is split after 2 queries instead of 8 — the daily
quota is the scarce resource.

The key is a URL query parameter (the service accepts nothing else), so it is masked in
every log line and exception, including urllib3's own log records.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from lifecircle.sources.http import Emitter, SourceError, make_session, register_secrets

_log = logging.getLogger(__name__)

__all__ = [
    "AmapQuotaError",
    "Cell",
    "POLYGON_PATH",
    "harvest",
    "initial_cells",
    "parse_poi",
    "parse_pois",
]

POLYGON_PATH = "/v5/place/polygon"
MAX_PAGE_NUM = 100
#: "slow down" answers, retried with backoff before giving up: 10004 too frequent,
#: 10014/10015 QPS limits (10019-10021 are AMap's newer per-service/per-key QPS codes).
THROTTLE_INFOCODES = frozenset({10004, 10014, 10015, 10019, 10020, 10021})
#: answers that end the run for today (the caller resumes from its checkpoint later).
QUOTA_INFOCODES = frozenset({10003}) | THROTTLE_INFOCODES
_KEEP = ("id", "name", "type", "address", "adcode", "adname", "tel")


class AmapQuotaError(SourceError):
    """The daily quota is spent (10003) or throttling did not clear (10004/10014/10015).

    Raised only after every finished cell was handed to ``on_cell``; ``summary`` holds
    the harvest summary so far (``stopped_by_quota`` = True)."""

    def __init__(self, infocode: int, info: str, summary: dict | None = None):
        self.infocode, self.info, self.summary = infocode, info, summary
        super().__init__(f"AMap stopped the harvest: infocode {infocode} {info}")


# --- POI normalisation -----------------------------------------------------------------
def _clean(v: Any) -> Any:
    """AMap sends empty fields as ``[]`` (sometimes ``""``): both become None."""
    return None if v == [] or v == "" else v


def _split_location(loc: Any) -> tuple[float | None, float | None]:
    if not isinstance(loc, str) or "," not in loc:
        return None, None
    try:
        lng, lat = (float(x) for x in loc.split(",", 1))
    except ValueError:
        return None, None
    return lng, lat


def _normalise(raw: dict) -> dict:
    out = {k: _clean(raw.get(k)) for k in _KEEP}
    tc = _clean(raw.get("typecode"))
    typecodes = [t for t in str(tc).split("|") if t] if tc is not None else []
    out["typecode"] = typecodes[0] if typecodes else None
    out["typecodes"] = typecodes
    out["lng_gcj"], out["lat_gcj"] = _split_location(_clean(raw.get("location")))
    out["lng"] = out["lat"] = None
    return out


def parse_poi(raw: dict) -> dict:
    """One AMap POI → flat dict: ``[]`` → None, ``typecode`` "a|b" → ``typecode`` "a" +
    ``typecodes`` ["a", "b"], ``location`` → ``lng_gcj, lat_gcj`` and WGS-84 ``lng, lat``.
    Keeps ``id, name, type, address, adcode, adname, tel``."""
    return parse_pois([raw])[0]


def parse_pois(raws: Iterable[dict]) -> list[dict]:
    """:func:`parse_poi` for many POIs with one vectorised GCJ-02 → WGS-84 conversion."""
    import numpy as np

    from lifecircle.geo.gcj02 import gcj02_to_wgs84

    out = [_normalise(r) for r in raws]
    idx = [i for i, p in enumerate(out) if p["lng_gcj"] is not None]
    if idx:
        lng = np.array([out[i]["lng_gcj"] for i in idx], dtype=np.float64)
        lat = np.array([out[i]["lat_gcj"] for i in idx], dtype=np.float64)
        wlng, wlat = gcj02_to_wgs84(lng, lat)
        wlng, wlat = np.atleast_1d(wlng), np.atleast_1d(wlat)
        for j, i in enumerate(idx):
            out[i]["lng"], out[i]["lat"] = float(wlng[j]), float(wlat[j])
    return out


# --- cells -----------------------------------------------------------------------------
def _r6(x: float) -> float:
    """Round as the request will (6 decimals), so client and server share one boundary."""
    return float(f"{x:.6f}")


@dataclass(frozen=True)
class Cell:
    """A half-open GCJ-02 rectangle ``[min_lng, max_lng) × [min_lat, max_lat)``."""

    id: str
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    def polygon(self) -> str:
        """Upper-left|lower-right corners, the form AMap documents for a rectangle."""
        return (f"{self.min_lng:.6f},{self.max_lat:.6f}|"
                f"{self.max_lng:.6f},{self.min_lat:.6f}")

    def contains(self, lng: float, lat: float) -> bool:
        return self.min_lng <= lng < self.max_lng and self.min_lat <= lat < self.max_lat

    def can_split(self, min_cell_deg: float) -> bool:
        """Children may not get a side shorter than ``min_cell_deg``."""
        side = min(self.max_lng - self.min_lng, self.max_lat - self.min_lat)
        return side / 2 >= min_cell_deg * (1 - 1e-9)

    def children(self) -> list[Cell]:
        mx, my = _r6((self.min_lng + self.max_lng) / 2), _r6((self.min_lat + self.max_lat) / 2)
        return [
            Cell(f"{self.id}/0", self.min_lng, self.min_lat, mx, my),
            Cell(f"{self.id}/1", mx, self.min_lat, self.max_lng, my),
            Cell(f"{self.id}/2", self.min_lng, my, mx, self.max_lat),
            Cell(f"{self.id}/3", mx, my, self.max_lng, self.max_lat),
        ]


def initial_cells(bbox_gcj: Sequence[float], initial_cell_deg: float) -> list[Cell]:
    """Cut the bbox into an even grid of cells no larger than ``initial_cell_deg``."""
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in bbox_gcj)
    if not (max_lng > min_lng and max_lat > min_lat):
        raise ValueError(f"empty bbox {bbox_gcj}")
    cols = max(1, math.ceil((max_lng - min_lng) / initial_cell_deg - 1e-9))
    rows = max(1, math.ceil((max_lat - min_lat) / initial_cell_deg - 1e-9))
    xs = [_r6(min_lng + (max_lng - min_lng) * i / cols) for i in range(cols + 1)]
    ys = [_r6(min_lat + (max_lat - min_lat) * j / rows) for j in range(rows + 1)]
    return [Cell(f"r{r}c{c}", xs[c], ys[r], xs[c + 1], ys[r + 1])
            for r in range(rows) for c in range(cols)]


def _ancestors(cell_id: str) -> list[str]:
    parts = cell_id.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class _RateLimiter:
    """Token bucket with a burst of one: requests at most every ``1/qps`` seconds."""

    def __init__(self, qps: float | None):
        self.interval = 1.0 / qps if qps and qps > 0 else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


# --- one AMap web-service call ---------------------------------------------------------
class AmapCaller:
    """What every AMap web-service call shares (place search, geocoding): the key masked
    everywhere, requests spaced to ``qps``, throttling infocodes retried with backoff, a
    spent quota raised as :class:`AmapQuotaError`, anything else as :class:`SourceError`."""

    def __init__(self, url: str, key: str, *, qps, throttle_retries, throttle_backoff, session, log):
        self.url, self.key = url, key
        self.throttle_retries, self.throttle_backoff = throttle_retries, throttle_backoff
        self.em = Emitter(log, [key], _log)
        register_secrets(key)
        self.session = session or make_session(secrets=[key])
        self.limiter = _RateLimiter(qps)
        self.calls = 0

    def call(self, params: dict, where: str, quota_infocodes: frozenset = QUOTA_INFOCODES) -> dict:
        """One answer with status 1; throttling answers are retried with backoff."""
        for attempt in range(self.throttle_retries + 1):
            self.limiter.wait()
            self.calls += 1
            data = self._get_json(params, where)
            infocode = str(data.get("infocode", ""))
            if str(data.get("status")) == "1" and infocode in ("10000", ""):
                return data
            code = int(infocode) if infocode.isdigit() else -1
            info = str(data.get("info", ""))
            if code in THROTTLE_INFOCODES and attempt < self.throttle_retries:
                delay = self.throttle_backoff * 2 ** attempt
                self.em.warning(f"{where}: infocode {code} {info}; retry "
                                f"{attempt + 1}/{self.throttle_retries} in {delay:.2f}s")
                time.sleep(delay)
                continue
            if code in quota_infocodes:
                raise AmapQuotaError(code, self.em.mask(info))
            raise SourceError(self.em.mask(f"{where}: AMap error infocode {infocode} {info}"))
        raise AssertionError("unreachable")

    def _get_json(self, params: dict, where: str) -> dict:
        try:
            resp = self.session.get(self.url, params=params)
        except requests.RequestException as exc:
            # `from None`: the chained exception's text carries the unmasked URL.
            raise SourceError(self.em.mask(f"{where}: request failed after retries: {exc}")
                              ) from None
        if resp.status_code != 200:
            raise SourceError(self.em.mask(
                f"{where}: HTTP {resp.status_code} {resp.reason}: {resp.text[:200].strip()}"
            )) from None
        try:
            data = resp.json()
        except ValueError as exc:
            raise SourceError(self.em.mask(
                f"{where}: malformed JSON ({exc}); body starts {resp.text[:80]!r}")) from None
        if not isinstance(data, dict):
            raise SourceError(self.em.mask(f"{where}: malformed answer {str(data)[:80]!r}"))
        return data


# --- harvest ---------------------------------------------------------------------------
class _Harvest(AmapCaller):
    """State of one harvest run (see :func:`harvest`)."""

    def __init__(self, base_url: str, key: str, types: Sequence[str], *, qps, cap,
                 page_size, throttle_retries, throttle_backoff, session, log):
        super().__init__(base_url.rstrip("/") + POLYGON_PATH, key, qps=qps, throttle_retries=throttle_retries,
                         throttle_backoff=throttle_backoff, session=session, log=log)
        self.types, self.cap, self.page_size = list(types), cap, page_size

    def request(self, cell: Cell, page_num: int) -> list[dict]:
        """One page for one cell."""
        params = {"key": self.key, "polygon": cell.polygon(),
                  "page_size": self.page_size, "page_num": page_num}
        if self.types:
            params["types"] = "|".join(self.types)
        where = f"GET {POLYGON_PATH} cell {cell.id} page {page_num}"
        pois = self.call(params, where).get("pois") or []
        if not isinstance(pois, list):
            raise SourceError(self.em.mask(f"{where}: malformed answer: pois is {type(pois).__name__}"))
        return pois

    def query_cell(self, cell: Cell, min_cell_deg: float) -> tuple[list[dict], bool]:
        """All POIs of a cell and whether the answer reached the cap.

        Stops early (with hit_cap=True) when the cell is splittable and the cap page is
        full — its partial results are discarded by the caller anyway."""
        ps = self.page_size
        cap_page = min(MAX_PAGE_NUM, math.ceil(self.cap / ps))
        cap_page_full = self.cap - (cap_page - 1) * ps
        first = self.request(cell, 1)
        if len(first) < ps or cap_page == 1:
            return first, len(first) >= self.cap
        probe = self.request(cell, cap_page)
        if len(probe) >= cap_page_full and cell.can_split(min_cell_deg):
            return first + probe, True
        results = list(first)
        for page_num in range(2, cap_page):
            page = self.request(cell, page_num)
            results.extend(page)
            if len(page) < ps:
                break
        results.extend(probe)
        return results, len(results) >= self.cap


def harvest(
    base_url: str,
    key: str,
    bbox_gcj: Sequence[float],
    types: Sequence[str],
    *,
    qps: float | None = 3.0,
    cap: int = 200,
    page_size: int = 25,
    min_cell_deg: float = 0.001,
    initial_cell_deg: float = 0.02,
    done_cells: Iterable[str] = (),
    on_cell: Callable[[str, list[dict]], None],
    session: requests.Session | None = None,
    log: Callable[[str], object] | None = None,
    throttle_retries: int = 3,
    throttle_backoff: float = 1.0,
    raise_on_quota: bool = True,
) -> dict[str, Any]:
    """Harvest every POI of ``types`` (AMap typecode prefixes) inside ``bbox_gcj``.

    ``bbox_gcj`` = (min_lng, min_lat, max_lng, max_lat) in GCJ-02, cut into an initial
    grid of cells ≤ ``initial_cell_deg``. ``on_cell(cell_id, raw_pois)`` is called once
    per finished leaf with the raw POIs assigned to it (half-open rule, de-duplicated by
    id); leaves listed in ``done_cells`` are skipped. Requests are spaced to ``qps``
    (None/0 = unlimited); throttling infocodes are retried ``throttle_retries`` times
    with backoff ``throttle_backoff * 2**n`` s. A spent quota raises
    :class:`AmapQuotaError` (or, with ``raise_on_quota=False``, returns the summary with
    ``stopped_by_quota=True``); other errors raise :class:`SourceError`.

    Returns ``{cells_done, leaf_cells, skipped_cells, split_cells, queries, pois,
    dropped_outside, truncated_cells, stopped_by_quota}`` for this run (``leaf_cells``
    counts leaves finished now or skipped as done; ``pois`` distinct ids handed out)."""
    if not 1 <= page_size <= 25:
        raise ValueError("AMap v5 page_size must be 1..25")
    run = _Harvest(base_url, key, types, qps=qps, cap=cap, page_size=page_size,
                   throttle_retries=throttle_retries, throttle_backoff=throttle_backoff,
                   session=session, log=log)
    em = run.em
    done = set(done_cells)
    split_known = {a for c in done for a in _ancestors(c)}
    cells = initial_cells(bbox_gcj, initial_cell_deg)
    stack = list(reversed(cells))
    seen: set[str] = set()
    summary: dict[str, Any] = {
        "cells_done": 0, "leaf_cells": 0, "skipped_cells": 0, "split_cells": 0,
        "queries": 0, "pois": 0, "dropped_outside": 0, "truncated_cells": [],
        "stopped_by_quota": False,
    }
    em.info(f"AMap harvest: {len(cells)} initial cells, types={'|'.join(types) or '(all)'}, "
            f"{len(done)} cells already done")
    while stack:
        cell = stack.pop()
        if cell.id in done:
            summary["skipped_cells"] += 1
            summary["leaf_cells"] += 1
            continue
        if cell.id in split_known:  # a previous run split it: do not re-query
            stack.extend(reversed(cell.children()))
            continue
        try:
            raw, hit_cap = run.query_cell(cell, min_cell_deg)
        except AmapQuotaError as exc:
            summary.update(queries=run.calls, pois=len(seen), stopped_by_quota=True)
            em.warning(f"harvest stopped at cell {cell.id} by infocode {exc.infocode} "
                       f"{exc.info}: {summary['cells_done']} cells done this run, "
                       f"{len(stack) + 1} cells left; rerun with the checkpointed cells")
            if raise_on_quota:
                exc.summary = summary
                raise
            return summary
        if hit_cap and cell.can_split(min_cell_deg):
            summary["split_cells"] += 1
            stack.extend(reversed(cell.children()))
            continue
        if hit_cap:
            summary["truncated_cells"].append(cell.id)
            em.warning(f"cell {cell.id} still returns {len(raw)} POIs (the cap) at the "
                       f"minimum cell size {min_cell_deg}°: results there are truncated")
        kept = []
        for poi in raw:
            lng, lat = _split_location(poi.get("location"))
            if lng is not None and not cell.contains(lng, lat):
                summary["dropped_outside"] += 1
                continue
            pid = poi.get("id")
            if isinstance(pid, str) and pid:
                if pid in seen:
                    continue
                seen.add(pid)
            kept.append(poi)
        on_cell(cell.id, kept)
        summary["cells_done"] += 1
        summary["leaf_cells"] += 1
        em.info(f"cell {cell.id}: {len(kept)} POIs; {summary['cells_done']} cells done, "
                f"{len(stack)} queued, {run.calls} queries, {len(seen)} POIs")
    summary.update(queries=run.calls, pois=len(seen))
    em.info(f"AMap harvest done: {summary['leaf_cells']} leaf cells, {summary['queries']} "
            f"queries, {summary['pois']} POIs, {len(summary['truncated_cells'])} truncated")
    return summary
