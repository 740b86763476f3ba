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


def test_candidate_markers_are_drawn_and_extend_the_map():
    far = {"lng": 106.00, "lat": 34.57, "label": "药店1", "title": "补<药店>候选点位1"}
    root = ET.fromstring(community_map(_pts(), 2, markers=[far]))
    marks = [g for g in root.iter(NS + "g") if g.get("class") == "candidate"]
    assert len(marks) == 1
    assert marks[0].find(NS + "title").text == "补<药店>候选点位1" and marks[0].find(NS + "text").text == "药店1"
    # the marker lies east and south of every community: the extent grew to keep it inside
    xs = [float(v) for v in marks[0].find(NS + "path").get("d").replace("M", " ").replace("L", " ").replace("Z", " ")
          .replace(",", " ").split()]
    assert all(0 <= x <= 720 for x in xs[0::2]) and all(0 <= y <= 480 for y in xs[1::2])
    dots = [e for e in root.iter(NS + "circle") if e.get("class") == "community"]
    assert max(float(d.get("cx")) for d in dots) < min(xs[0::2])
    assert "补什么候选点位" in ET.tostring(root, encoding="unicode")
    assert marks[0].find(NS + "text").get("text-anchor") == "end"     # at the east edge: label to its left


def test_no_markers_no_legend():
    assert "补什么候选点位" not in community_map(_pts(), 2)
