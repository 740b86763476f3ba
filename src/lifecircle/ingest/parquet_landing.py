"""Raw landing of registrations: Parquet files partitioned by load date, then COPY.

Every API page and every export file is written once, as received (all fields text),
to ``<raw landing>/registrations/load_date=YYYY-MM-DD/<load>_<part>.parquet`` and the
same Arrow table is COPYed into ``raw.registration``. The Parquet copy is the replayable
record of what arrived (cheap to keep, readable by any tool); the warehouse copy is what
the pipeline validates.

The load date is the period's last day (``raw.load.as_of``), never the clock: a re-run
of a period writes the same partition and file names, so it overwrites rather than adds.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from lifecircle import settings
from lifecircle.ingest.registration_rules import RAW_FIELDS
from lifecircle.warehouse.arrow_copy import copy_arrow

DATASET = "registrations"
META_COLUMNS = ("load_id", "source", "page_no", "row_no", "file_name", "file_hash")
RAW_COLUMNS = [*META_COLUMNS, *RAW_FIELDS]
SCHEMA = pa.schema([("load_id", pa.string()), ("source", pa.string()), ("page_no", pa.int32()),
                    ("row_no", pa.int32()), ("file_name", pa.string()), ("file_hash", pa.string()),
                    *[(f, pa.string()) for f in RAW_FIELDS]])


def raw_landing_dir() -> Path:
    """Root of the raw landing area (``LIFECIRCLE_RAW_LANDING_DIR``, else
    ``<state>/landing/raw``). Kept apart from the survey pick-up folder's own files:
    the surveys DAG reads only the top level of the landing folder."""
    env = os.environ.get("LIFECIRCLE_RAW_LANDING_DIR")
    path = Path(env) if env else settings.state_dir() / "landing" / "raw"
    path.mkdir(parents=True, exist_ok=True)
    return path


def partition_dir(load_date: date) -> Path:
    return raw_landing_dir() / DATASET / f"load_date={load_date.isoformat()}"


def _stem(load_id: str) -> str:
    return load_id.replace(":", "-")


def page_path(load_date: date, load_id: str, page_no: int) -> Path:
    return partition_dir(load_date) / f"{_stem(load_id)}_api_p{page_no:06d}.parquet"


def file_path(load_date: date, load_id: str, file_hash: str) -> Path:
    return partition_dir(load_date) / f"{_stem(load_id)}_bulk_{file_hash[:16]}.parquet"


def remove_load_files(load_date: date, load_id: str) -> int:
    """Delete the Parquet files of ``load_id`` (a load started afresh lands again)."""
    n = 0
    for path in partition_dir(load_date).glob(f"{_stem(load_id)}_*.parquet"):
        path.unlink()
        n += 1
    return n


def _text(value) -> str | None:
    """A field as raw text: strings as they are, JSON for lists/objects/booleans."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _string_array(values: list) -> pa.Array:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a number or object where text was expected
        return pa.array([_text(v) for v in values], pa.string())


_FIELDS_SCHEMA = pa.schema([(f, pa.string()) for f in RAW_FIELDS])


def api_page_table(items: list[dict] | pa.Table, *, load_id: str, page_no: int) -> pa.Table:
    """One API page as a raw table (fields outside ``RAW_FIELDS`` are not kept).

    ``items`` already parsed into Arrow (text fields) is used as it is. Of dicts, Arrow's
    own reader does the common all-text page (half the time of a Python loop per field);
    a page with a number or object where text belongs takes the field-by-field path that
    turns such values into text."""
    n = len(items)
    if isinstance(items, pa.Table):
        data = {f: items.column(f) if f in items.column_names else pa.nulls(n, pa.string()) for f in RAW_FIELDS}
    else:
        try:
            fields = pa.Table.from_pylist(items, schema=_FIELDS_SCHEMA)
            data = {f: fields.column(f) for f in RAW_FIELDS}
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            data = {f: _string_array([it.get(f) for it in items]) for f in RAW_FIELDS}
    cols = {
        "load_id": pa.array([load_id] * n, pa.string()), "source": pa.array(["api"] * n, pa.string()),
        "page_no": pa.array([page_no] * n, pa.int32()), "row_no": pa.array(range(n), pa.int32()),
        "file_name": pa.nulls(n, pa.string()), "file_hash": pa.nulls(n, pa.string()), **data,
    }
    return pa.table(cols, schema=SCHEMA)


def export_table(fields: dict[str, list], row_numbers: list[int], *, load_id: str, page_no: int,
                 file_name: str, file_hash: str) -> pa.Table:
    """An export file's rows (``fields``: canonical field -> values, missing optional
    fields absent) as a raw table; ``row_numbers`` are the rows in the file."""
    n = len(row_numbers)
    cols = {
        "load_id": pa.array([load_id] * n, pa.string()), "source": pa.array(["bulk"] * n, pa.string()),
        "page_no": pa.array([page_no] * n, pa.int32()), "row_no": pa.array(row_numbers, pa.int32()),
        "file_name": pa.array([file_name] * n, pa.string()), "file_hash": pa.array([file_hash] * n, pa.string()),
    }
    cols.update({f: _string_array(fields[f]) if f in fields else pa.nulls(n, pa.string()) for f in RAW_FIELDS})
    return pa.table(cols, schema=SCHEMA)


def write_parquet(table: pa.Table, path: Path) -> Path:
    """Write atomically (temporary name, then rename): a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
    return path


def land(conn: sa.Connection, table: pa.Table, path: Path, where: str, params: dict) -> int:
    """Write ``table`` to ``path`` and replace the slice ``where`` of raw.registration
    with it by COPY (in the caller's transaction), both at once: pyarrow's Parquet
    writer releases the GIL while the COPY is being parsed by the server. Either failing
    fails the landing, so the caller's transaction rolls back and its checkpoint stays
    put; a file left by a failed COPY is overwritten by the re-run (same name)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-landing") as pool:
        written = pool.submit(write_parquet, table, path)
        conn.execute(sa.text(f"DELETE FROM raw.registration WHERE {where}"), params)
        n = copy_arrow(conn, "raw.registration", table)
        written.result()
    return n


def relative(path: Path) -> str:
    return path.relative_to(raw_landing_dir()).as_posix()
