"""Column-wise JSON-lines encoding.

Why not ``json.dumps`` per record: a bench city has a million registrations and as
many POIs, and building a dict plus dumping it per line dominated the run time. Here
each line is one ``%``-format of a fixed template. A column whose values are all plain
strings needing no escaping is put in the template as ``"%s"`` and passed through as
is; other columns become JSON tokens first (``json.dumps`` where needed); a
``Constant`` goes into the template itself. Lines that leave a key out (``ABSENT``)
take a slow path. Output is plain JSON (``ensure_ascii=False``, ``", "``/``": "``
separators like ``json.dumps``), byte-for-byte deterministic.
"""
from __future__ import annotations

import json

import numpy as np


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()  # marker: leave the key out of this line


class Constant:
    """The same value on every line (written into the template once)."""

    def __init__(self, value):
        self.value = value


def _token(v):
    if v is ABSENT:
        return ABSENT
    if v is None:
        return "null"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "null" if v != v else json.dumps(float(v))
    if isinstance(v, (list, tuple, dict)) and not v:
        return "{}" if isinstance(v, dict) else "[]"
    if isinstance(v, np.str_):
        v = str(v)
    return json.dumps(v, ensure_ascii=False)


def _safe(strings: list[str]) -> bool:
    """Every string can go between quotes as is (no quote, backslash or control char)."""
    joined = "".join(strings)
    return joined.isprintable() and '"' not in joined and "\\" not in joined


def _column(vals: list) -> tuple[str, list, dict]:
    """(template slot, per-line values, {row: token} for rows the template cannot hold).

    Mostly-text columns keep the fast ``"%s"`` slot; their few other values (None,
    ``[]``, ``ABSENT`` ...) become exceptions and those rows are rebuilt one by one.
    """
    types = set(map(type, vals))
    all_str = types <= {str}
    strings = vals if all_str else [v for v in vals if type(v) is str]
    if _safe(strings):
        if all_str:
            return '"%s"', vals, {}
        if len(strings) >= 0.95 * len(vals):
            exc = {i: _token(v) for i, v in enumerate(vals) if type(v) is not str}
            return '"%s"', [v if type(v) is str else "" for v in vals], exc
        return "%s", [('"' + v + '"') if type(v) is str else _token(v) for v in vals], {}
    cache: dict = {}
    out = []
    for v in vals:
        if type(v) is str:
            t = cache.get(v)
            if t is None:
                t = cache[v] = json.dumps(v, ensure_ascii=False)
            out.append(t)
        else:
            out.append(_token(v))
    return "%s", out, {}


def encode_records(columns: dict[str, object]) -> list[str]:
    """One JSON object per row from ``{key: column values | Constant}``."""
    keys, slots, cols, excs = [], [], [], []
    for key, values in columns.items():
        keys.append(json.dumps(key, ensure_ascii=False))
        if isinstance(values, Constant):
            slots.append(json.dumps(values.value, ensure_ascii=False))
            cols.append(None)
            excs.append({})
            continue
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        slot, col, exc = _column(vals)
        if ABSENT in col:
            exc.update({i: ABSENT for i, t in enumerate(col) if t is ABSENT})
        slots.append(slot)
        cols.append(col)
        excs.append(exc)
    data = [c for c in cols if c is not None]
    if not data:
        return []
    template = "{" + ", ".join(
        f"{k}: " + (s.replace("%", "%%") if c is None else s) for k, s, c in zip(keys, slots, cols)) + "}"
    lines = [template % row for row in zip(*data)]
    for i in sorted(set().union(*excs)):
        parts = []
        for k, s, c, e in zip(keys, slots, cols, excs):
            if c is None:
                parts.append(f"{k}: {s}")
                continue
            tok = e[i] if i in e else s % c[i]
            if tok is not ABSENT:
                parts.append(f"{k}: {tok}")
        lines[i] = "{" + ", ".join(parts) + "}"
    return lines


def write_lines(path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, len(lines), 100_000):
            f.write("\n".join(lines[start:start + 100_000]))
            f.write("\n")
