"""Inline SVG line chart: well-formed, one path per series, one dashed line per target."""
import xml.etree.ElementTree as ET

import pytest

from lifecircle.report.charts import line_chart

NS = "{http://www.w3.org/2000/svg}"

SERIES = {
    "覆盖社区比例": [("2024-01", 0.2), ("2024-02", 0.3), ("2024-03", 0.45)],
    "覆盖居民比例": [("2024-02", 0.5), ("2024-01", 0.4), ("2024-03", None)],
    "空序列": [("2024-01", None)],
}
TARGETS = [("目标 30%（2023-12）", 0.3, "#c0392b"), ("目标 70%（2024-12）", 0.7, "#c0392b")]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag in ("svg", NS + "svg")
    return root


def find(root, tag, cls=None):
    return [e for e in root.iter() if e.tag in (tag, NS + tag) and (cls is None or e.get("class") == cls)]


def test_valid_svg_with_paths_and_targets():
    svg = line_chart(SERIES, TARGETS)
    root = parse(svg)
    assert root.get("width") == "720" and root.get("height") == "260"
    assert root.get("viewBox") == "0 0 720 260"
    paths = find(root, "path", "series")
    assert len(paths) == 2                       # the all-None series draws nothing
    targets = find(root, "line", "target")
    assert len(targets) == 2
    assert all(t.get("stroke-dasharray") == "6 4" for t in targets)
    # targets at y = top + h * (1 - v): top 16, h = 260 - 16 - 36 = 208
    assert [t.get("y1") for t in targets] == ["161.6", "78.4"]
    labels = [e.text for e in find(root, "text")]
    assert "目标 30%（2023-12）" in labels and "目标 70%（2024-12）" in labels
    assert {"2024-01", "2024-02", "2024-03"} <= set(labels)


def test_series_path_coordinates():
    root = parse(line_chart({"a": [("2024-01", 0.0), ("2024-03", 1.0), ("2024-02", 0.5)]}, []))
    (path,) = find(root, "path", "series")
    # x from 48 to 720 - 16 = 704 over 3 periods; y from 224 (0) to 16 (1)
    assert path.get("d") == "M48.0,224.0 L376.0,120.0 L704.0,16.0"
    assert len(find(root, "circle")) == 3
    assert find(root, "line", "target") == []


def test_none_values_are_skipped_in_the_path():
    root = parse(line_chart({"b": [("2024-01", 0.4), ("2024-02", None), ("2024-03", 0.6)]}, []))
    (path,) = find(root, "path", "series")
    assert path.get("d").count("L") == 1
    assert path.get("d").startswith("M48.0,")
    assert len(find(root, "circle")) == 2


def test_values_are_clamped_to_the_axis():
    root = parse(line_chart({"c": [("2024-01", -0.5), ("2024-02", 1.7)]}, [("t", 2.0, "red")]))
    (path,) = find(root, "path", "series")
    assert path.get("d") == "M48.0,224.0 L704.0,16.0"
    assert find(root, "line", "target")[0].get("y1") == "16.0"


def test_names_are_escaped():
    root = parse(line_chart({"<a & b>": [("2024-01", 0.1)]}, [("x < y & z", 0.5, "#000")]))
    texts = [e.text for e in find(root, "text")]
    assert "<a & b>" in texts
    assert "x < y & z" in texts


@pytest.mark.parametrize("series", [{}, {"a": []}, {"a": [], "b": []}])
def test_empty_input(series):
    svg = line_chart(series, TARGETS)
    root = parse(svg)
    assert root.get("aria-label") == "无数据"
    assert find(root, "path") == []
    assert find(root, "line") == []


def test_single_period():
    root = parse(line_chart({"a": [("2024-05", 0.5)]}, []))
    (path,) = find(root, "path", "series")
    assert path.get("d") == "M48.0,120.0"


def test_more_series_than_colours_are_all_drawn():
    series = {f"s{i}": [("2024-01", 0.1 * i), ("2024-02", 0.1 * i + 0.05)] for i in range(1, 6)}
    root = parse(line_chart(series, []))
    assert len(find(root, "path", "series")) == 5
