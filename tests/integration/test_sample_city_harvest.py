"""A harvest of the sample city returns exactly the generator's POIs: a small generated city
served by the fake AMap server as of 2024-05-31, harvested over its GCJ-02 bbox, yields
every POI open on that date once (exact-duplicate lines once), no other, and no cell
truncated at the cap."""
from __future__ import annotations

import json
from datetime import date

import pytest

from lifecircle.devservers import AmapServer
from lifecircle.samplecity.generator import generate_city
from lifecircle.sources.amap import harvest
from lifecircle.sources.http import make_session

pytestmark = pytest.mark.integration
KEY = "sample-city-harvest-key"
AS_OF = date(2024, 5, 31)


def _open_ids(path, as_of: date) -> set[str]:
    """Ids of the JSONL's POIs open on ``as_of``: ``_open_date <= as_of < _close_date``
    (missing dates are open-ended); exact duplicate lines are one POI."""
    day = as_of.isoformat()
    ids: set[str] = set()
    seen_lines: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line in seen_lines:
            continue
        seen_lines.add(line)
        poi = json.loads(line)
        opened, closed = poi.get("_open_date"), poi.get("_close_date")
        if (opened is None or str(opened)[:10] <= day) and (closed is None or day < str(closed)[:10]):
            ids.add(poi["id"])
    return ids


def test_harvest_of_the_sample_city_returns_exactly_the_generators_pois(tmp_path):
    city = tmp_path / "city"
    manifest = generate_city(city, seed=7, n_communities=30, n_outlets=3000, with_uploads=False)
    assert manifest == json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    pois_path = city / "amap" / "pois.jsonl"
    expected = _open_ids(pois_path, AS_OF)
    lines = [ln for ln in pois_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert len(set(lines)) < len(lines), "the generator's exact-duplicate dirt lines are expected"
    assert len(expected) > 1000

    min_lng, min_lat, max_lng, max_lat = manifest["bbox"]["gcj02"]
    # the manifest box is closed (a POI may sit on its max edge), the harvest's cells are
    # half-open (min <= x < max): widen the max edges by a hair (~10 m) so that POI is in.
    bbox = (min_lng, min_lat, max_lng + 1e-4, max_lat + 1e-4)
    handed: list[str] = []

    def on_cell(cell_id: str, raws: list[dict]) -> None:
        handed.extend(p["id"] for p in raws)

    with AmapServer(pois_path, KEY, as_of=AS_OF) as srv:
        summary = harvest(srv.url, KEY, bbox, [], qps=None, on_cell=on_cell,
                          session=make_session(retries=0))
    assert summary["truncated_cells"] == []
    assert summary["split_cells"] > 0, "3000 outlets must force cells past the 200 cap to split"
    assert len(handed) == len(set(handed)), "a POI id was handed out twice"
    got = set(handed)
    assert got == expected, (f"missing {sorted(expected - got)[:5]} ({len(expected - got)}), "
                             f"extra {sorted(got - expected)[:5]} ({len(got - expected)})")
    assert summary["pois"] == len(expected)
