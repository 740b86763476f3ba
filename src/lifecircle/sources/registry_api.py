"""Client for the registry data-sharing API (``GET /api/v1/registrations``).

Pages through one fixed window ``updated_since < updated_at <= updated_until``; because
the window's upper bound is fixed by the caller and the API orders by
(updated_at, uscc), page N means the same rows on every run, so the caller can checkpoint
in ``on_page`` and a failed run resumes at ``start_page`` without gaps or repeats.

The bearer token goes in the ``Authorization`` header only — never in the URL — and is
masked in every log line and error message.
"""
from __future__ import annotations

import functools
import io
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.json as pajson
import requests
import urllib3

from lifecircle.sources.http import Emitter, SourceError, make_session

_log = logging.getLogger(__name__)

__all__ = ["REGISTRATIONS_PATH", "fetch_registrations"]

REGISTRATIONS_PATH = "/api/v1/registrations"
# The data-sharing API's contract allows 1000; a deployment that allows more (the bulk
# benchmark serves 10,000) is asked for more through the connection's ``page_size``.
MAX_PAGE_SIZE = 10_000


def fetch_registrations(
    base_url: str,
    token: str,
    updated_since: str | None,
    updated_until: str,
    *,
    page_size: int = 500,
    start_page: int = 1,
    on_page: Callable[[int, list[dict] | pa.Table], None],
    session: requests.Session | None = None,
    log: Callable[[str], object] | None = None,
    text_fields: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Fetch every registration changed in the window, one page at a time.

    ``on_page(page_no, items)`` is called after each page (also an empty one) before the
    next is requested. Paging stops when a page is short/empty or
    ``page * page_size >= total``. Retries (429 with Retry-After, 5xx, time-outs,
    connection errors) happen inside the session; what is left raises
    :class:`SourceError` naming the path and page. Returns
    ``{"pages": n_fetched, "rows": n_rows, "last_page": last_page_no}`` for this run
    (``last_page`` is ``start_page - 1`` if nothing was fetched).

    ``text_fields``: when given, a page's items reach ``on_page`` as an Arrow table of
    these fields (strings; other fields dropped), parsed by pyarrow's JSON reader with no
    Python object per value and without holding the GIL, so a page lands while the next
    is parsed. A page that does not fit that shape (a number where text belongs, say)
    comes as ``list[dict]`` as without ``text_fields``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
    if start_page < 1:
        raise ValueError(f"start_page must be >= 1, got {start_page}")
    em = Emitter(log, [token], _log)
    if session is None:
        session = make_session(secrets=[token])
    url = base_url.rstrip("/") + REGISTRATIONS_PATH
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    pages = rows = 0
    page = start_page
    last_page = start_page - 1
    while True:
        params = {"updated_until": updated_until, "page": page, "page_size": page_size}
        if updated_since:
            params["updated_since"] = updated_since
        body = _get_page(session, url, params, headers, page, em)
        total, items = _decode_page(body, page, em, text_fields)
        on_page(page, items)
        pages += 1
        rows += len(items)
        last_page = page
        n_pages = max(1, math.ceil(total / page_size))
        through = (page - 1) * page_size + len(items)
        resumed = f" ({rows} this run)" if start_page > 1 else ""
        em.info(f"registrations page {page}/{n_pages}, {through} rows{resumed}")
        if len(items) < page_size or page * page_size >= total:
            break
        page += 1
    return {"pages": pages, "rows": rows, "last_page": last_page}


def _get_page(session: requests.Session, url: str, params: dict, headers: dict,
              page: int, em: Emitter) -> bytes:
    """One GET, its body read in one call (requests' own ``.content`` reads 10 KiB per
    Python call); everything unusable becomes a masked SourceError naming the page."""
    where = _where(page)
    try:
        with session.get(url, params=params, headers=headers, stream=True) as resp:
            body = resp.raw.read(decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        # `from None`: the chained exception's text would carry the unmasked URL/headers.
        raise SourceError(em.mask(f"{where}: request failed after retries: {exc}")) from None
    if resp.status_code != 200:
        text = body[:200].decode("utf-8", errors="replace").strip()
        raise SourceError(
            em.mask(f"{where}: HTTP {resp.status_code} {resp.reason}: {text}")
        ) from None
    return body


def _decode_page(body: bytes, page: int, em: Emitter,
                 text_fields: Sequence[str] | None) -> tuple[int, list[dict] | pa.Table]:
    """(total, items) of a page body: an Arrow table when ``text_fields`` are asked for
    and the page fits them, else dicts decoded by msgspec (``json`` decodes bytes -> str
    -> objects, twice the work)."""
    if text_fields is not None:
        arrow = _decode_arrow(body, text_fields)
        if arrow is not None:
            return arrow
    where = _where(page)
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise SourceError(
            em.mask(f"{where}: malformed JSON ({exc}); body starts {body[:80].decode('utf-8', errors='replace')!r}")
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("items"), list)
        or not isinstance(data.get("total"), int)
        or not set(map(type, data["items"])) <= {dict}  # C-speed check of 10,000 items
    ):
        raise SourceError(
            em.mask(f"{where}: malformed JSON: expected {{total:int, items:[object]}}, "
                    f"got {str(data)[:120]!r}")
        ) from None
    return data["total"], data["items"]


def _where(page: int) -> str:
    return f"GET {REGISTRATIONS_PATH} page {page}"


@functools.lru_cache(maxsize=8)
def _page_schema(text_fields: tuple[str, ...]) -> pa.Schema:
    return pa.schema([("total", pa.int64()),
                      ("items", pa.list_(pa.struct([(f, pa.string()) for f in text_fields])))])


def _decode_arrow(body: bytes, text_fields: Sequence[str]) -> tuple[int, pa.Table] | None:
    """The page as (total, Arrow table of ``text_fields``), or None when it is not
    ``{total: int, items: [{field: string|null, ...}]}`` (the caller then decodes it the
    general way, which also words any error)."""
    schema = _page_schema(tuple(text_fields))
    try:
        table = pajson.read_json(
            io.BytesIO(body),
            read_options=pajson.ReadOptions(block_size=len(body) + 1),  # the whole body is one JSON value
            parse_options=pajson.ParseOptions(explicit_schema=schema, newlines_in_values=True,
                                              unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != 1 or not table["total"].is_valid()[0].as_py() or not table["items"].is_valid()[0].as_py():
        return None
    items = table["items"].combine_chunks().flatten()
    if items.null_count:  # a null where an object belongs
        return None
    return table["total"][0].as_py(), pa.Table.from_struct_array(items)
