#!/usr/bin/env python3
"""Build Tianshui reference data under config/cities/tianshui/ (deterministic).

Writes communities.csv, circles.csv, circle_members.csv (from annex 2 plus a fixed
synthetic fill-up to 120 communities) and tasks.csv, units.csv (parsed from annexes
3 and 4 of the seed). Re-running produces byte-identical files.

Usage:  python scripts/build_tianshui_refdata.py [--seed PATH] [--out DIR]
"""
from __future__ import annotations

import argparse
import calendar
import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SEED = Path("/work/shared/seeds/tianshui-three-year-action-plan-2023.txt")
DEFAULT_OUT = REPO / "config" / "cities" / "tianshui"

TOTAL_COMMUNITIES = 120

# street code -> (district code, target number of communities on the street)
STREETS = {
    "620502001": ("620502", 14),  # 大城街道
    "620502002": ("620502", 12),  # 七里墩街道
    "620502003": ("620502", 12),  # 东关街道
    "620502004": ("620502", 12),  # 中城街道
    "620502005": ("620502", 12),  # 西关街道
    "620502006": ("620502", 12),  # 石马坪街道
    "620502007": ("620502", 12),  # 天水郡街道
    "620503001": ("620503", 12),  # 道北街道
    "620503002": ("620503", 12),  # 北道埠街道
    "620503003": ("620503", 10),  # 桥南街道
}

# Annex 2: circle code, full name, street the circle is named after, anchor, members.
CIRCLES = [
    ("TS-C01", "大城一刻钟便民生活圈(光明社区)", "620502001", "光明社区",
     ["进步巷社区", "岷山社区", "罗一社区", "自治巷社区", "十方堂社区", "仁和里社区"]),
    ("TS-C02", "西关一刻钟便民生活圈(聚宝盆社区)", "620502005", "聚宝盆社区",
     ["解放路社区", "东团庄社区", "重新街社区"]),
    ("TS-C03", "天水郡一刻钟便民生活圈(红山社区)", "620502007", "红山社区",
     ["藉水南路社区", "石马坪社区"]),
    ("TS-C04", "桥南一刻钟便民生活圈1(新苑社区)", "620503003", "新苑社区",
     ["林苑社区", "埠南社区"]),
    ("TS-C05", "桥南一刻钟便民生活圈2(天河社区)", "620503003", "天河社区",
     ["泉湖社区", "龙园社区"]),
    ("TS-C06", "北道埠一刻钟便民生活圈(商埠社区)", "620503002", "商埠社区",
     ["羲皇社区", "大桥社区", "北山路社区", "前进路社区"]),
]

# Synthetic name parts: invented garden-style names, none taken from annex 2.
SYN_PREFIX = [
    "青槐", "丹桂", "翠柏", "银杏", "紫荆", "玉兰", "海棠", "芙蓉", "梧桐", "杏林",
    "松涛", "竹韵", "兰亭", "晴川", "晓月", "星河", "云岫", "锦绣", "泰和", "丰乐",
    "康宁", "安澜", "嘉禾", "瑞景", "润泽", "明德", "启秀", "文汇", "清风", "朝阳",
    "碧溪", "雁鸣", "秋实", "春晖", "柳岸", "荷塘", "梅岭", "枫林", "槐荫", "桃源",
    "金穗", "麦香", "秦韵", "陇华", "渭滨", "羲和", "伏龙", "凤栖",
]
SYN_SUFFIX = ["苑", "里", "园", "坊", "湾", "庭"]


def synthetic_names(n: int, taken: set[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < n:
        p = SYN_PREFIX[i % len(SYN_PREFIX)]
        s = SYN_SUFFIX[(i // len(SYN_PREFIX) + i) % len(SYN_SUFFIX)]
        name = f"{p}{s}社区"
        if name not in taken and name not in out:
            out.append(name)
        i += 1
    return out


def build_communities(out: Path) -> None:
    real: dict[str, list[str]] = {s: [] for s in STREETS}
    for _, _, street, anchor, members in CIRCLES:
        real[street].extend([anchor, *members])
    n_real = sum(len(v) for v in real.values())
    assert sum(t for _, t in STREETS.values()) == TOTAL_COMMUNITIES
    taken = {n for v in real.values() for n in v}
    syn = iter(synthetic_names(TOTAL_COMMUNITIES - n_real, taken))

    rows, code_of = [], {}
    for street, (district, target) in STREETS.items():
        names = [(n, False) for n in real[street]]
        names += [(next(syn), True) for _ in range(target - len(names))]
        for serial, (name, is_syn) in enumerate(names, start=1):
            code = f"{street}{serial:03d}"
            code_of[name] = code
            rows.append([code, name, street, district, str(is_syn).lower(), "true"])
    assert len(rows) == TOTAL_COMMUNITIES and len({r[1] for r in rows}) == len(rows)
    write(out / "communities.csv",
          ["community_code", "name", "street_code", "district_code", "synthetic", "code_synthetic"],
          rows)

    write(out / "circles.csv", ["circle_code", "name", "anchor_community", "build_year", "batch"],
          [[c, name, code_of[anchor], "2023", "1"] for c, name, _, anchor, _ in CIRCLES])
    members = []
    for c, _, _, anchor, mems in CIRCLES:
        members.append([c, code_of[anchor], "anchor"])
        members += [[c, code_of[m], "member"] for m in mems]
    write(out / "circle_members.csv", ["circle_code", "community_code", "role"], members)


# ---------------------------------------------------------------- annexes 3 and 4
UNIT_START = ("市", "秦州区", "麦积区", "各", "中国", "金融", "人行")


def split_units(text: str) -> list[str]:
    """Split a unit cell on 、 , ， and spaces; re-join tokens that a line wrap split
    inside one name (e.g. "市卫生 健康委" -> 市卫生健康委)."""
    units: list[str] = []
    for tok in re.split(r"[、,，\s]+", text.strip()):
        if not tok:
            continue
        if units and not tok.startswith(UNIT_START):
            units[-1] += tok
        else:
            units.append(tok)
    return units


def parse_deadline(raw: str) -> tuple[str, bool]:
    if raw.startswith("常态化"):
        return "", True
    m = re.fullmatch(r"(\d{4})年(?:(\d{1,2})月[底度]|底)", raw)  # 月度 is a typo in the seed
    if not m:
        raise ValueError(f"unparsed deadline {raw!r}")
    year, month = int(m.group(1)), int(m.group(2) or 12)
    day = calendar.monthrange(year, month)[1]
    return f"{year:04d}-{month:02d}-{day:02d}", False


def annex_rows(lines: list[str], start: str, stop: str) -> list[list[str]]:
    i = lines.index(start)
    rows = []
    for line in lines[i + 3:]:  # skip marker, title, header
        if line.strip() == stop:
            break
        cells = [c.strip() for c in line.split("|")]
        rows.append([c for c in cells if c])
    return rows


def build_tasks(seed: Path, out: Path) -> None:
    lines = seed.read_text(encoding="utf-8").splitlines()
    tasks, units = [], []
    for annex, start, stop in (("3", "附件3", "附件4"), ("4", "附件4", "附件5")):
        item = ""
        for cells in annex_rows(lines, start, stop):
            seq = cells[0]
            if len(cells) == 6:  # first row of a group carries the 项目 heading
                item = re.sub(r"\s+", "", cells[1])
                cells = [seq, *cells[2:]]
            if len(cells) != 5:
                raise ValueError(f"annex {annex} row {seq}: {cells}")
            _, measure, lead, co, deadline_raw = cells
            deadline_raw = re.sub(r"\s+", "", deadline_raw)
            deadline, ongoing = parse_deadline(deadline_raw)
            lead_u, co_u = split_units(lead), split_units(co)
            units += lead_u + co_u
            tasks.append([f"A{annex}-{int(seq):02d}", annex, seq, item, measure,
                          ";".join(lead_u), ";".join(co_u), deadline_raw, deadline,
                          str(ongoing).lower()])
    write(out / "tasks.csv",
          ["task_id", "annex", "seq", "item", "measure", "lead_units", "co_units",
           "deadline_raw", "deadline", "ongoing"], tasks)
    write(out / "units.csv", ["unit_name"], [[u] for u in dict.fromkeys(units)])


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    build_communities(a.out)
    build_tasks(a.seed, a.out)


if __name__ == "__main__":
    main()
