"""COPY between PostgreSQL and Arrow tables.

Why beside :mod:`lifecircle.warehouse.bulk`: ``bulk.copy_rows`` formats every cell in
Python (about 1 µs a cell), which dominates at a million rows.

Writes go as PostgreSQL's binary COPY format, encoded from Arrow by ``pgpq`` (Rust):
the server then parses no text at all (timestamps and dates are the costly ones), which
halves the server's share of a million-row COPY. Binary COPY needs every value in the
target column's exact type, so each Arrow column is cast to the type the table declares
(read from the catalogue); a column that has no such safe cast — text where a date is
declared, a type the encoder lacks — sends the whole table the CSV way instead, where
PostgreSQL parses (and names) whatever is wrong. The CSV dialect is the one
``COPY ... (FORMAT csv)`` speaks: strings quoted where needed, NULL as an unquoted empty
field, so an empty string and a NULL stay apart in both directions. Reads use CSV
(``COPY ... TO``) decoded by pyarrow's C++ reader.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

try:
    import pgpq
except ImportError:  # no wheel for this platform (pyproject says which): CSV for every COPY
    pgpq = None

COPY_BATCH_ROWS = 65_536  # rows encoded per chunk: the server parses one while the next is encoded
_READ_SIZE = 1 << 20  # bytes psycopg2 asks the stream for per call (its default, 8 KiB, costs a call per page)


def _as_arrow(data: pa.Table | pd.DataFrame, columns: list[str] | None) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        frame = data[columns] if columns else data
        table = pa.Table.from_pandas(frame, preserve_index=False)
    else:
        table = data.select(columns) if columns else data
    # PostgreSQL parses microseconds; pyarrow would print nanoseconds for ns columns.
    fields = []
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
            f = f.with_type(pa.timestamp("us", tz=f.type.tz))
        fields.append(f)
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def copy_arrow(conn: sa.Connection, table: str, data: pa.Table | pd.DataFrame,
               columns: list[str] | None = None, order_by: list[str] | None = None) -> int:
    """COPY ``data`` (its ``columns``, default all) into ``table``; returns the row count.

    ``order_by``: sort the rows by these columns first. Rows arriving in the order of the
    table's primary key append to the right edge of its B-tree instead of landing on
    random pages: at a million rows that halves the COPY (and the table's heap then
    follows the key, which the SCD2 rebuild reads in that order)."""
    arrow = _as_arrow(data, columns)
    if arrow.num_rows == 0:
        return 0
    order = (pc.sort_indices(arrow.select(order_by), sort_keys=[(c, "ascending") for c in order_by])
             if order_by else None)
    cols = ", ".join(f'"{c}"' for c in arrow.column_names)
    stream = binary_stream(conn, table, arrow, order)
    with conn.connection.driver_connection.cursor() as cur:
        if stream is not None:
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT binary)", stream, size=_READ_SIZE)
        else:
            if order is not None:
                arrow = arrow.take(order)
            buf = io.BytesIO()
            pacsv.write_csv(arrow, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            buf.seek(0)
            cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buf, size=_READ_SIZE)
    return arrow.num_rows


# PostgreSQL type (format_type) -> the Arrow type pgpq encodes as it, and the Arrow types
# a column may arrive as and be cast from without reinterpreting its values. Floats may
# feed an integer column (pandas makes an integer column with gaps float64): the safe
# cast refuses a fraction or an overflow, and such a table goes the CSV way.
def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


_BINARY_TYPES: dict[str, tuple[pa.DataType, object]] = {
    "text": (pa.string(), _is_text),
    "character varying": (pa.string(), _is_text),
    "jsonb": (pa.string(), _is_text),
    "smallint": (pa.int16(), _is_number),
    "integer": (pa.int32(), _is_number),
    "bigint": (pa.int64(), _is_number),
    "boolean": (pa.bool_(), pa.types.is_boolean),
    "real": (pa.float32(), _is_number),
    "double precision": (pa.float64(), _is_number),
    "date": (pa.date32(), pa.types.is_date),
    "timestamp with time zone": (pa.timestamp("us", tz="UTC"), lambda t: pa.types.is_timestamp(t) and bool(t.tz)),
    "timestamp without time zone": (pa.timestamp("us"), lambda t: pa.types.is_timestamp(t) and not t.tz),
}


def column_types(conn: sa.Connection, table: str) -> dict[str, str]:
    """``{column: format_type}`` of a table (temporary tables included)."""
    rows = conn.execute(sa.text(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped"), {"t": table}).all()
    return dict(rows)


def binary_copy_table(conn: sa.Connection, table: str, arrow: pa.Table) -> tuple[pa.Table, list[str]] | None:
    """(``arrow`` with every column cast to the type ``table`` declares for it, the
    columns to encode as jsonb), ready for binary COPY; ``None`` when some column has no
    safe cast or no encoder installed (then CSV it is)."""
    if pgpq is None:
        return None
    declared = column_types(conn, table)
    out = []
    for name, col in zip(arrow.column_names, arrow.columns):
        target = _BINARY_TYPES.get(declared.get(name, ""))
        if target is None:
            return None
        typ, accepts = target
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if not (pa.types.is_null(col.type) or accepts(col.type)):
            return None
        try:
            out.append(col if col.type == typ else col.cast(typ, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # an overflowing integer, say
            return None
    jsonb = [c for c in arrow.column_names if declared[c] == "jsonb"]
    return pa.Table.from_arrays(out, names=arrow.column_names), jsonb  # field metadata dropped on purpose


def binary_stream(conn: sa.Connection, table: str, arrow: pa.Table,
                  order: pa.Array | None = None) -> "_BinaryCopyStream | None":
    """A readable binary COPY stream of ``arrow`` for ``table`` (rows in ``order`` when
    given), or None when it must go as CSV (see :func:`binary_copy_table`)."""
    binary = binary_copy_table(conn, table, arrow)
    return None if binary is None else _BinaryCopyStream(*binary, order=order)


def _encoder(table: pa.Table, jsonb: list[str]) -> "pgpq.ArrowToPostgresBinaryEncoder":
    if not jsonb:
        return pgpq.ArrowToPostgresBinaryEncoder(table.schema)
    from pgpq import encoders, schema

    builders = {f.name: (encoders.StringEncoderBuilder.new_with_output(f, schema.Jsonb()) if f.name in jsonb
                         else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f)) for f in table.schema}
    return pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(table.schema, builders)


class _BinaryCopyStream:
    """The file-like object ``copy_expert`` reads: binary COPY data encoded batch by
    batch on demand, so a million rows never sit in memory twice.

    ``order`` (row indices) is applied a batch at a time too: gathering and encoding the
    next batch runs here while the server is still parsing the previous one, instead of
    the whole sort finishing before the first byte is sent."""

    def __init__(self, table: pa.Table, jsonb: list[str] | None = None, order: pa.Array | None = None):
        self._chunks = self._encode(table, jsonb or [], order)

    @staticmethod
    def _encode(table: pa.Table, jsonb: list[str], order: pa.Array | None) -> Iterator[bytes]:
        enc = _encoder(table, jsonb)
        yield enc.write_header()
        for start in range(0, table.num_rows, COPY_BATCH_ROWS):
            part = (table.slice(start, COPY_BATCH_ROWS) if order is None
                    else table.take(order.slice(start, COPY_BATCH_ROWS)))
            for batch in part.to_batches():
                yield enc.write_batch(batch)
        yield enc.finish()

    def read(self, size: int = -1) -> bytes:
        """The next non-empty chunk, or b"" at the end: psycopg2 stops at the first empty
        read, and the encoder returns nothing for a batch it has only buffered."""
        for chunk in self._chunks:
            if chunk:
                return chunk
        return b""


def read_arrow(conn: sa.Connection, select_sql: str, params: dict | None = None,
               text_columns: list[str] | None = None) -> pa.Table:
    """Rows of ``select_sql`` through ``COPY (...) TO STDOUT``; parameters are written
    ``%(name)s`` and bound by the driver (COPY itself takes no bind parameters).

    ``text_columns`` are read as strings whatever they look like (codes keep leading
    zeros, ``"2024-05-02"`` stays text); other columns get pyarrow's type inference."""
    buf = io.BytesIO()
    with conn.connection.driver_connection.cursor() as cur:
        query = cur.mogrify(select_sql, params or {}).decode("utf-8")
        cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", buf)
    if buf.tell() == 0:
        return pa.table({})
    buf.seek(0)
    types = {c: pa.string() for c in text_columns or ()}
    return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False),
        read_options=pacsv.ReadOptions(block_size=1 << 24))


def upsert_arrow(conn: sa.Connection, table: str, data: pa.Table | pd.DataFrame, keys: list[str],
                 columns: list[str] | None = None) -> int:
    """:func:`lifecircle.warehouse.bulk.upsert_rows` with the COPY done by
    :func:`copy_arrow`: COPY into a temporary table, then insert-or-update on ``keys``."""
    arrow = _as_arrow(data, columns)
    if arrow.num_rows == 0:
        return 0
    temp = f"tmp_upsert_{table.replace('.', '_')}"
    conn.execute(sa.text(f"CREATE TEMP TABLE {temp} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"))
    copy_arrow(conn, temp, arrow, order_by=keys[:1])  # the insert then walks the key in order
    cols = ", ".join(f'"{c}"' for c in arrow.column_names)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in arrow.column_names if c not in keys)
    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp} "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"))
    conn.execute(sa.text(f"DROP TABLE {temp}"))
    return arrow.num_rows
