"""Column-wise JSON-lines encoding.

Why not ``json.dumps`` per record: a bench city has a million registrations and as
many POIs, and building a dict plus dumping it per line dominated the run time. Here
each line is one ``%``-format of a fixed template. A column whose values are all plain
strings needing no escaping is put in the template as ``"%s"`` and passed through as
is; ``Raw`` columns are ready-made tokens; other columns become JSON tokens first
(``json.dumps`` where needed); a ``Constant`` goes into the template itself. The few
dirty cells (null, empty, missing key) come as per-row overrides and only those
lines are rebuilt. Output is plain JSON (``ensure_ascii=False``, ``", "``/``": "``
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


class Raw:
    """A column given as ready JSON tokens (e.g. built with numpy: ``'"' + s + '"'``)."""

    def __init__(self, tokens):
        self.tokens = tokens


def _column(vals: list) -> tuple[str, list]:
    """(template slot, per-line values) for one column of Python values."""
    if set(map(type, vals)) <= {str} and _safe(vals):
        return '"%s"', vals
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
    return "%s", out


def encode_records(columns: dict[str, object], overrides: dict[int, dict] | None = None) -> list[str]:
    """One JSON object per row from ``{key: values | Raw | Constant}``.

    ``overrides`` = ``{row: {key: value}}`` replaces single cells (``ABSENT`` drops the
    key); it is how a few dirty cells are written without slowing down whole columns.
    """
    keys, slots, cols = [], [], []
    for key, values in columns.items():
        keys.append(key)
        if isinstance(values, Constant):
            slots.append(json.dumps(values.value, ensure_ascii=False))
            cols.append(None)
        elif isinstance(values, Raw):
            slots.append("%s")
            cols.append(values.tokens.tolist() if isinstance(values.tokens, np.ndarray) else list(values.tokens))
        else:
            vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
            slot, col = _column(vals)
            slots.append(slot)
            cols.append(col)
    kjs = [json.dumps(k, ensure_ascii=False) for k in keys]
    data = [c for c in cols if c is not None]
    if not data:
        return []
    template = "{" + ", ".join(
        f"{k}: " + (s.replace("%", "%%") if c is None else s) for k, s, c in zip(kjs, slots, cols)) + "}"
    lines = [template % row for row in zip(*data)]
    for i, cells in sorted((overrides or {}).items()):
        parts = []
        for key, k, s, c in zip(keys, kjs, slots, cols):
            if key in cells:
                v = cells[key]
                if v is not ABSENT:
                    parts.append(f"{k}: {_token(v) if type(v) is not str else json.dumps(v, ensure_ascii=False)}")
            elif c is None:
                parts.append(f"{k}: {s}")
            else:
                parts.append(f"{k}: {s % c[i]}")
        lines[i] = "{" + ", ".join(parts) + "}"
    return lines


def write_lines(path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for start in range(0, len(lines), 100_000):
            f.write("\n".join(lines[start:start + 100_000]))
            f.write("\n")
