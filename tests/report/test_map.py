"""The offline community map: inline SVG, one dot per community, colour by categories present."""
import xml.etree.ElementTree as ET

from lifecircle.report.charts import community_map

NS = "{http://www.w3.org/2000/svg}"


def _pts():
    return [{"code": "c1", "name": "甲<社区>", "lng": 105.70, "lat": 34.58, "present": 2, "in_circle": True,
             "circles": "TC01", "population": 1000},
            {"code": "c2", "name": "乙", "lng": 105.72, "lat": 34.60, "present": 0, "in_circle": False,
             "circles": "", "population": 2000}]


def test_map_dots_colours_and_titles():
    root = ET.fromstring(community_map(_pts(), 2))
    dots = [e for e in root.iter(NS + "circle") if e.get("class") == "community"]
    assert len(dots) == 2
    by_title = {d.find(NS + "title").text.split("（")[0]: d for d in dots}
    assert by_title["甲<社区>"].get("fill") == "#2a9d55" and by_title["甲<社区>"].get("stroke") == "#222"
    assert by_title["乙"].get("fill") == "#c0392b" and by_title["乙"].get("stroke") == "#fff"
    # north is up: the northern community is drawn higher
    assert float(by_title["乙"].get("cy")) < float(by_title["甲<社区>"].get("cy"))
    xs = [float(d.get("cx")) for d in dots]
    assert all(0 <= x <= 720 for x in xs)


def test_map_single_point_and_empty():
    root = ET.fromstring(community_map(_pts()[:1], 2))
    assert len([e for e in root.iter(NS + "circle") if e.get("class") == "community"]) == 1
    assert ET.fromstring(community_map([], 2)).get("aria-label") == "无数据"
