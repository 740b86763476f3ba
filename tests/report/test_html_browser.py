"""The HTML report in headless Chromium: no console errors, the charts and the map are laid
out by the browser, a screenshot that is not blank; the page needs no network."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from tests.report.conftest import console_errors, run_chromium

pytestmark = pytest.mark.integration


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, decompressed scanlines) of a PNG, with zlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, [], 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    return width, height, zlib.decompress(b"".join(idat))


@pytest.fixture(scope="module")
def report(built_month):
    return Path(built_month["make"]()["report"])


@pytest.fixture(scope="module")
def dom(report, chromium, tmp_path_factory):
    out, err = run_chromium(chromium, report.as_uri(), "--dump-dom", "--virtual-time-budget=3000",
                            profile=tmp_path_factory.mktemp("chromium-dom"))
    return out, err


def test_harness_sees_console_errors(chromium, tmp_path):
    """The console check itself works: a page that throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom-123'); undefinedFn();</script></body></html>")
    _, err = run_chromium(chromium, page.as_uri(), "--dump-dom", profile=tmp_path / "p")
    assert any("boom-123" in e or "Uncaught" in e for e in console_errors(err)), err[-2000:]


def test_no_console_errors(dom):
    assert console_errors(dom[1]) == []


def test_self_contained_no_external_resources(report):
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external resource in the report"
    assert "<link" not in html


def test_charts_and_map_rendered(dom):
    html = dom[0]
    marks = {k: int(v) for k, v in re.findall(r'data-(chart-marks|target-lines|map-dots)="(\d+)"', html)}
    assert marks["chart-marks"] >= 2, marks          # trajectory points drawn by the browser
    assert marks["target-lines"] >= 2, marks         # 70% communities + 50% residents (+ satisfaction 90%)
    assert marks["map-dots"] == 3, marks             # the tiny city's three communities
    assert html.count('class="chart"') == 2 and 'id="community-map"' in html
    assert "社区目标 70%（2024-12）" in html
    assert "甲乙一刻钟便民生活圈" in html and "66.7%" in html


def test_screenshot_is_not_blank(report, chromium, tmp_path_factory):
    shot = tmp_path_factory.mktemp("shot") / "report.png"
    run_chromium(chromium, report.as_uri(), f"--screenshot={shot}", "--window-size=1280,2400",
                 "--hide-scrollbars", profile=tmp_path_factory.mktemp("chromium-shot"))
    width, height, raw = png_pixels(shot)
    assert (width, height) == (1280, 2400)
    sample = raw[: len(raw) // 2]
    assert len(set(sample)) > 30, "screenshot looks blank"
    non_white = sum(1 for b in sample[::97] if b < 200) / len(sample[::97])
    assert non_white > 0.005, "screenshot looks blank"


def test_report_sections(report):
    html = report.read_text(encoding="utf-8")
    for needle in ('id="freshness"', 'id="city-progress"', 'id="tasks"', "缺什么", "补什么", "本月未报送进展的牵头单位",
                   "数据质量"):
        assert needle in html, needle
    # no task progress rows: the lead unit is listed as not reported this month
    assert re.search(r'id="silent-units".*市商务局', html)


def test_rendering_is_deterministic(built_month, report):
    first_html = report.read_bytes()
    first_xlsx = report.with_name("report.xlsx").read_bytes()
    built_month["make"]()
    assert report.read_bytes() == first_html
    assert report.with_name("report.xlsx").read_bytes() == first_xlsx
