"""Walking network from OpenStreetMap data the city provides, cleaned and cached.

Source: one ``.osm.pbf`` extract (read with pyosmium, node locations attached to ways) or
an Overpass JSON answer (``out body; >; out skel qt;``: ways with tags plus their nodes).
Which ways count as walkable is data (``config/mappings/walkable_highways.csv``, see
:func:`is_walkable`). Cleaning, in this order, all vectorised:

1. segments between consecutive way nodes, length by haversine (pyproj is not installed;
   the spherical error, < 0.5 %, is far below the walking-threshold resolution);
2. duplicate edges (the same node pair mapped by two ways) collapse to the shortest —
   :func:`lifecircle.coverage.network.build_graph` would otherwise *sum* them;
3. only the largest connected component is kept, so every origin can reach every outlet;
4. edges longer than ``max_segment_m`` are split by interpolated nodes (negative ids, so
   they never collide with OSM ids), so snapping a point to the nearest node never misses
   the street by more than half a segment.

The result is cached under ``<state>/network_cache/`` keyed by the source's sha256, the
rules' sha256 and the cleaning parameters; the cleaning is a pure function of those, so a
hit returns exactly what a rebuild would.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from lifecircle import settings
from lifecircle.geo.gcj02 import haversine_m

log = logging.getLogger(__name__)

CLEANING_VERSION = 1        # bump when the cleaning changes: old cache entries then miss
DEFAULT_MAX_SEGMENT_M = 50.0
OVERPASS_FILE = "overpass.json"
RULE_PRECEDENCE = ("foot", "access", "highway")   # first key with a listed value decides
SUMMARY_META_KEY = b"lifecircle.network_summary"


class NetworkSourceError(ValueError):
    """The OSM source cannot give a walking network (names the file and the reason)."""


@dataclass
class WayNodes:
    """Walkable ways flattened: one row per way-node reference, in way order."""

    way: np.ndarray        # int64 position of the way (consecutive rows of one way are a path)
    ref: np.ndarray        # int64 OSM node id
    lng: np.ndarray        # float, NaN when the node is missing from the source
    lat: np.ndarray
    ways_walkable: int
    ways_excluded: int     # highway=* ways the rules exclude


# ------------------------------------------------------------------ walkability rules
def rules_path() -> Path:
    from lifecircle.refdata import config_dir

    return config_dir() / "mappings" / "walkable_highways.csv"


def load_rules(path: Path | None = None) -> dict[tuple[str, str], bool]:
    """``{(key, value): walkable}`` from the rules CSV (``key,value,walkable,note``)."""
    from lifecircle.refdata import parse_bool

    path = Path(path or rules_path())
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"key", "value", "walkable"} - set(table.columns)
    if missing:
        raise NetworkSourceError(f"{path}: missing column(s) {sorted(missing)}")
    rules = {}
    for line, row in enumerate(table.itertuples(index=False), start=2):
        if row.key not in RULE_PRECEDENCE:
            raise NetworkSourceError(f"{path} line {line}: key {row.key!r} is not one of {RULE_PRECEDENCE}")
        try:
            rules[(row.key, row.value)] = parse_bool(row.walkable)
        except ValueError as exc:
            raise NetworkSourceError(f"{path} line {line}, field walkable: {exc}") from None
    return rules


def is_walkable(tags: Mapping[str, str], rules: Mapping[tuple[str, str], bool]) -> bool:
    """A way with ``highway=*`` is walkable as the first of foot, access, highway whose
    value the rules list says (so ``foot=yes`` opens a trunk road, ``foot=no`` closes a
    primary one); a highway value the rules do not list is not walkable."""
    if "highway" not in tags:
        return False
    for key in RULE_PRECEDENCE:
        decision = rules.get((key, tags.get(key, "")))
        if decision is not None:
            return decision
    return False


# ------------------------------------------------------------------ readers
class _Collector:
    """Flat lists of way-node rows, appended way by way (cheaper than one array per way)."""

    def __init__(self):
        self.way, self.ref, self.lng, self.lat = [], [], [], []
        self.ways = self.excluded = 0

    def add(self, refs: list[int], lngs: list[float], lats: list[float]) -> None:
        self.way.extend([self.ways] * len(refs))
        self.ref.extend(refs)
        self.lng.extend(lngs)
        self.lat.extend(lats)
        self.ways += 1

    def result(self) -> WayNodes:
        return WayNodes(np.asarray(self.way, np.int64), np.asarray(self.ref, np.int64),
                        np.asarray(self.lng, float), np.asarray(self.lat, float), self.ways, self.excluded)


def read_pbf(path: Path, rules: Mapping[tuple[str, str], bool]) -> WayNodes:
    """Walkable ways of an ``.osm.pbf`` (or any format libosmium reads), node locations
    attached by pyosmium; nodes absent from the extract get NaN coordinates."""
    import osmium

    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                 .with_filter(osmium.filter.KeyFilter("highway")))
    out = _Collector()
    try:
        for way in processor:
            if not is_walkable({t.k: t.v for t in way.tags}, rules):
                out.excluded += 1
                continue
            refs, lngs, lats = [], [], []
            for node in way.nodes:
                loc = node.location
                ok = loc.valid()
                refs.append(node.ref)
                lngs.append(loc.lon if ok else math.nan)
                lats.append(loc.lat if ok else math.nan)
            out.add(refs, lngs, lats)
    except RuntimeError as exc:   # libosmium reports unreadable files as RuntimeError
        raise NetworkSourceError(f"{path}: cannot read as OSM data: {exc}") from exc
    return out.result()


def read_overpass(path: Path, rules: Mapping[tuple[str, str], bool]) -> WayNodes:
    """Walkable ways of an Overpass JSON answer (ways with tags, nodes with lat/lon)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkSourceError(f"{path}: not Overpass JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise NetworkSourceError(f"{path}: no 'elements' list (is this an Overpass JSON answer?)")
    if "runtime error" in str(doc.get("remark", "")):
        raise NetworkSourceError(f"{path}: Overpass reported {doc['remark']!r}: the answer is incomplete")
    coords, ways, excluded = {}, [], 0
    for pos, el in enumerate(doc["elements"]):
        kind = el.get("type")
        if kind == "node":
            try:
                coords[int(el["id"])] = (float(el["lon"]), float(el["lat"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise NetworkSourceError(f"{path}: element {pos} (node): bad id/lat/lon: {exc!r}") from None
        elif kind == "way":
            if not is_walkable(el.get("tags") or {}, rules):
                excluded += "highway" in (el.get("tags") or {})
                continue
            try:
                ways.append([int(r) for r in el["nodes"]])
            except (KeyError, TypeError, ValueError) as exc:
                raise NetworkSourceError(f"{path}: element {pos} (way {el.get('id')}): bad nodes: {exc!r}") from None
    out, nan = _Collector(), (math.nan, math.nan)
    out.excluded = excluded
    for refs in ways:   # nodes may come after the ways that use them: locate at the end
        located = [coords.get(r, nan) for r in refs]
        out.add(refs, [p[0] for p in located], [p[1] for p in located])
    return out.result()


def find_source(network_dir: Path) -> Path | None:
    """The city's OSM source in ``<city data>/network``: one ``*.osm.pbf``, else
    ``overpass.json``, else None. Two .pbf files are ambiguous and an error."""
    pbfs = sorted(Path(network_dir).glob("*.osm.pbf"))
    if len(pbfs) > 1:
        raise NetworkSourceError(f"{network_dir}: several .osm.pbf files {[p.name for p in pbfs]}; keep one")
    if pbfs:
        return pbfs[0]
    overpass = Path(network_dir) / OVERPASS_FILE
    return overpass if overpass.exists() else None


def read_source(path: Path, rules: Mapping[tuple[str, str], bool]) -> WayNodes:
    return read_overpass(path, rules) if Path(path).suffix == ".json" else read_pbf(path, rules)


# ------------------------------------------------------------------ cleaning
def segments(ways: WayNodes) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Nodes used by walkable ways and one edge per consecutive node pair (both located)."""
    located = ~np.isnan(ways.lng)
    pair = (ways.way[1:] == ways.way[:-1]) & located[1:] & located[:-1]
    u, v = ways.ref[:-1][pair], ways.ref[1:][pair]
    length = haversine_m(ways.lng[:-1][pair], ways.lat[:-1][pair], ways.lng[1:][pair], ways.lat[1:][pair])
    loop = u == v   # a node repeated in a row: a mapping slip, no distance
    edges = pd.DataFrame({"u": u[~loop], "v": v[~loop], "length_m": np.asarray(length, float)[~loop]})
    refs, first = np.unique(ways.ref[located], return_index=True)   # sorted; every edge end is here
    keep = np.zeros(len(refs), bool)
    keep[np.searchsorted(refs, edges["u"].to_numpy())] = True
    keep[np.searchsorted(refs, edges["v"].to_numpy())] = True
    nodes = pd.DataFrame({"node_id": refs[keep], "lng": ways.lng[located][first][keep],
                          "lat": ways.lat[located][first][keep]})
    stats = {"ways_walkable": ways.ways_walkable, "ways_excluded": ways.ways_excluded,
             "missing_node_refs": int((~located).sum()), "repeated_node_refs": int(loop.sum())}
    return nodes, edges, stats


def collapse_duplicates(edges: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One edge per unordered node pair, the shortest (u < v afterwards)."""
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    w = edges["length_m"].to_numpy(float)
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return pd.DataFrame({"u": a[first], "v": b[first], "length_m": w[first]}), int((~first).sum())


def largest_component(nodes: pd.DataFrame, edges: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Keep the largest connected component (ties: the one holding the smallest node id)."""
    ids = nodes["node_id"].to_numpy()   # sorted ascending
    u = np.searchsorted(ids, edges["u"].to_numpy())
    v = np.searchsorted(ids, edges["v"].to_numpy())
    n = len(ids)
    graph = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    biggest = int(np.argmax(np.bincount(labels)))
    keep_node = labels == biggest
    keep_edge = keep_node[u]
    stats = {"components": int(count), "dropped_components": int(count - 1),
             "dropped_nodes": int((~keep_node).sum()), "dropped_edges": int((~keep_edge).sum())}
    return (nodes[keep_node].reset_index(drop=True), edges[keep_edge].reset_index(drop=True), stats)


def split_long_edges(nodes: pd.DataFrame, edges: pd.DataFrame, max_segment_m: float
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Split every edge longer than ``max_segment_m`` into ``ceil(length / max)`` equal
    segments; the inserted nodes are interpolated linearly in lng/lat (segments of a city
    street are short enough for that to be exact to millimetres) and numbered -1, -2, ...
    in edge order, so the result is deterministic."""
    if max_segment_m <= 0:
        raise ValueError(f"max_segment_m must be positive, got {max_segment_m}")
    w = edges["length_m"].to_numpy(float)
    k = np.maximum(np.ceil(w / max_segment_m - 1e-9).astype(np.int64), 1)
    long = k > 1
    if not long.any():
        return nodes, edges, {"split_edges": 0, "added_nodes": 0}
    ids = nodes["node_id"].to_numpy()
    lng, lat = nodes["lng"].to_numpy(float), nodes["lat"].to_numpy(float)
    u, v, wl, kl = edges["u"].to_numpy()[long], edges["v"].to_numpy()[long], w[long], k[long]
    iu, iv = np.searchsorted(ids, u), np.searchsorted(ids, v)
    inner = kl - 1
    owner = np.repeat(np.arange(len(kl)), inner)
    step = np.arange(int(inner.sum())) - np.repeat(np.cumsum(inner) - inner, inner) + 1   # 1..k-1
    t = step / kl[owner]
    new_ids = -np.arange(1, len(owner) + 1, dtype=np.int64)
    new_nodes = pd.DataFrame({"node_id": new_ids,
                              "lng": lng[iu][owner] + t * (lng[iv] - lng[iu])[owner],
                              "lat": lat[iu][owner] + t * (lat[iv] - lat[iu])[owner]})
    # each long edge becomes the chain u, new..., v of k + 1 ids and k segments
    chain_len = kl + 1
    start = np.cumsum(chain_len) - chain_len
    chain = np.empty(int(chain_len.sum()), dtype=np.int64)
    chain[start] = u
    chain[start + kl] = v
    inner_pos = np.repeat(start, inner) + step
    chain[inner_pos] = new_ids
    is_last = np.zeros(len(chain), bool)
    is_last[start + kl] = True
    seg_from = np.flatnonzero(~is_last)
    pieces = pd.DataFrame({"u": chain[seg_from], "v": chain[seg_from + 1],
                           "length_m": np.repeat(wl / kl, kl)})
    out_edges = pd.concat([edges[~long], pieces], ignore_index=True)
    return (pd.concat([nodes, new_nodes], ignore_index=True), out_edges,
            {"split_edges": int(long.sum()), "added_nodes": len(new_nodes)})


def clean(ways: WayNodes, max_segment_m: float = DEFAULT_MAX_SEGMENT_M
          ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(nodes, edges, summary) of the cleaned network; see the module docstring."""
    nodes, edges, stats = segments(ways)
    if edges.empty:
        raise NetworkSourceError("no walkable street segment with located nodes")
    edges, stats["duplicate_edges"] = collapse_duplicates(edges)
    nodes, edges, comp = largest_component(nodes, edges)
    stats.update(comp)
    nodes, edges, split = split_long_edges(nodes, edges, max_segment_m)
    stats.update(split)
    nodes["node_id"] = nodes["node_id"].astype("int64")
    edges = edges.astype({"u": "int64", "v": "int64", "length_m": "float64"})
    stats.update(nodes=len(nodes), edges=len(edges), max_segment_m=float(max_segment_m))
    return nodes, edges, stats


# ------------------------------------------------------------------ cache
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(source_sha256: str, rules_sha256: str, max_segment_m: float) -> str:
    params = {"source": source_sha256, "rules": rules_sha256, "max_segment_m": float(max_segment_m),
              "cleaning_version": CLEANING_VERSION}
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def cache_dir() -> Path:
    return settings.state_dir() / "network_cache"


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _cache_paths(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"{key}.nodes.parquet", folder / f"{key}.edges.parquet"


def load_network(source: Path, *, max_segment_m: float = DEFAULT_MAX_SEGMENT_M, rules: Path | None = None,
                 cache: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(nodes, edges, summary) of the cleaned network of ``source``, from the cache when
    this source, rules file and ``max_segment_m`` were cleaned before (summary ``cache``
    says hit or miss)."""
    source, rules = Path(source), Path(rules or rules_path())
    source_sha, rules_sha = file_sha256(source), file_sha256(rules)
    key = cache_key(source_sha, rules_sha, max_segment_m)
    folder = Path(cache or cache_dir())
    nodes_path, edges_path = _cache_paths(folder, key)
    if nodes_path.exists() and edges_path.exists():
        edges_table = pq.read_table(edges_path)
        summary = json.loads(edges_table.schema.metadata[SUMMARY_META_KEY])
        summary.update(source=str(source), cache="hit")
        log.info("walking network: cache hit %s (%d nodes, %d edges) for %s",
                 edges_path.name, summary["nodes"], summary["edges"], source)
        return pq.read_table(nodes_path).to_pandas(), edges_table.to_pandas(), summary
    ways = read_source(source, load_rules(rules))
    try:
        nodes, edges, summary = clean(ways, max_segment_m)
    except NetworkSourceError as exc:
        raise NetworkSourceError(f"{source}: {exc}") from None
    summary.update(source=str(source), source_sha256=source_sha, rules_sha256=rules_sha, cache_key=key)
    if summary["dropped_nodes"] > summary["nodes"]:
        log.warning("walking network %s: the largest component keeps only %d of %d nodes — is the extract "
                    "cut badly?", source, summary["nodes"], summary["nodes"] + summary["dropped_nodes"])
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(pa.Table.from_pandas(nodes, preserve_index=False), nodes_path)
    edges_table = pa.Table.from_pandas(edges, preserve_index=False)
    edges_table = edges_table.replace_schema_metadata({**(edges_table.schema.metadata or {}),
                                                       SUMMARY_META_KEY: json.dumps(summary).encode()})
    _write_atomic(edges_table, edges_path)   # written last: its presence marks a complete entry
    summary["cache"] = "miss"
    log.info("walking network: built from %s and cached as %s: %s", source, edges_path.name,
             {k: summary[k] for k in ("nodes", "edges", "dropped_components", "dropped_nodes", "split_edges")})
    return nodes, edges, summary
