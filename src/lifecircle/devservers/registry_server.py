"""Fake registry data-sharing API: ``GET /api/v1/registrations`` from a JSONL file.

Behaves like the contract in docs/architecture.md (bearer token, window
``updated_since < updated_at <= updated_until``, order (updated_at, uscc), page_size ≤ 1000
unless the server is started with a larger ``max_page_size``) and can inject faults per
page so tests can prove the client's retries and resume.

Each item is kept as its JSON text and a page is answered by joining those texts, so a
page of 10,000 items costs a memcpy rather than a ``json.dumps`` (the 1M-row benchmark
measures the client and the warehouse, not this server).
"""
from __future__ import annotations

import bisect
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lifecircle.devservers.base import BackgroundHTTPServer, FaultTable, JsonHandler

__all__ = ["RegistryFaults", "RegistryServer", "parse_timestamp"]

PATH = "/api/v1/registrations"
MAX_PAGE_SIZE = 1000
_CST = timezone(timedelta(hours=8))  # the registry's local time, assumed for naive stamps


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 → aware datetime (naive = China Standard Time). A '+' turned into a space
    by sloppy URL encoding is repaired."""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return dt if dt.tzinfo else dt.replace(tzinfo=_CST)
    value = re.sub(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s(\d{2}:?\d{2})$", r"\1+\2",
                   value.strip())
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=_CST)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(dt: datetime) -> int:
    """Exact sort key of an aware datetime."""
    return (dt - _EPOCH) // timedelta(microseconds=1)


@dataclass
class RegistryFaults:
    """Per-page faults. Values are ``v`` (fires once) or ``(v, times)`` (``None`` = always).

    - ``fail_at_page``: {page: http_status}
    - ``retry_after_at_page``: {page: seconds} → 429 with ``Retry-After``
    - ``malformed_at_page``: {page: times} or a set of pages → truncated JSON body
    - ``delay_at_page``: {page: seconds} → sleep before answering (client time-outs)
    """

    fail_at_page: dict[int, Any] = field(default_factory=dict)
    retry_after_at_page: dict[int, Any] = field(default_factory=dict)
    malformed_at_page: Any = field(default_factory=dict)
    delay_at_page: dict[int, Any] = field(default_factory=dict)


class RegistryServer(BackgroundHTTPServer):
    """Serve ``registrations.jsonl`` (one registry API item per line) behind a token."""

    def __init__(self, jsonl_path: str | Path, token: str, *,
                 faults: RegistryFaults | dict | None = None, max_page_size: int = MAX_PAGE_SIZE, **kw: Any):
        super().__init__(**kw)
        self.token = token
        self.max_page_size = max_page_size
        self.set_faults(faults)
        self.requests_per_page: Counter[int] = Counter()
        self.requests_total = 0
        self._lock = threading.Lock()
        rows = []
        with open(jsonl_path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    item = json.loads(line)
                    text = line.strip().encode("utf-8")  # valid JSON: it was just parsed
                    rows.append((_micros(parse_timestamp(item["updated_at"])), item.get("uscc") or "", text))
        rows.sort(key=lambda r: (r[0], r[1]))  # integers: comparing aware datetimes is ~10x slower
        self._stamps = [r[0] for r in rows]  # microseconds since the epoch (UTC)
        self._items = [r[2] for r in rows]  # JSON text of each item, in serving order

    def set_faults(self, faults: RegistryFaults | dict | None) -> None:
        """Replace the fault plan (tests reuse one server across scenarios)."""
        if isinstance(faults, dict):
            faults = RegistryFaults(**faults)
        faults = faults or RegistryFaults()
        self.faults = faults
        self._fail = FaultTable(faults.fail_at_page)
        self._retry_after = FaultTable(faults.retry_after_at_page)
        self._malformed = FaultTable(faults.malformed_at_page, default=1)
        self._delay = FaultTable(faults.delay_at_page)

    def reset_counters(self) -> None:
        with self._lock:
            self.requests_per_page.clear()
            self.requests_total = 0

    def mask(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def __len__(self) -> int:
        return len(self._items)

    # request handling -----------------------------------------------------------------
    def handle_get(self, h: JsonHandler) -> None:
        url = urlsplit(h.path)
        with self._lock:
            self.requests_total += 1  # every request, rejected ones included
        if url.path.rstrip("/") != PATH:
            return h.send_json(404, {"error": "not found", "path": url.path})
        if h.headers.get("Authorization", "") != f"Bearer {self.token}":
            return h.send_json(401, {"error": "invalid or missing bearer token"},
                               headers={"WWW-Authenticate": 'Bearer realm="registry"'})
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            page = int(q.get("page", "1"))
            page_size = int(q.get("page_size", "100"))
            since = parse_timestamp(q["updated_since"]) if q.get("updated_since") else None
            until = parse_timestamp(q["updated_until"]) if q.get("updated_until") else None
        except (ValueError, KeyError) as exc:
            return h.send_json(400, {"error": f"bad parameter: {exc}"})
        if page < 1 or not 1 <= page_size <= self.max_page_size:
            return h.send_json(
                400, {"error": f"page must be >= 1 and page_size 1..{self.max_page_size}"})

        with self._lock:
            self.requests_per_page[page] += 1
        delay = self._delay.take(page)
        if delay:
            time.sleep(delay)
        status = self._fail.take(page)
        if status:
            return h.send_json(int(status), {"error": f"injected failure at page {page}"})
        seconds = self._retry_after.take(page)
        if seconds is not None:
            return h.send_json(429, {"error": "too many requests"},
                               headers={"Retry-After": str(int(seconds))})
        if self._malformed.take(page):
            return h.send_body(200, b'{"total": 1, "page": 1, "items": [{"uscc": "9')

        lo = 0 if since is None else bisect.bisect_right(self._stamps, _micros(since))
        hi = len(self._stamps) if until is None else bisect.bisect_right(self._stamps, _micros(until))
        total = max(0, hi - lo)
        start = lo + (page - 1) * page_size
        items = self._items[start:min(hi, start + page_size)] if start < hi else []
        head = f'{{"total": {total}, "page": {page}, "page_size": {page_size}, "items": ['.encode()
        h.send_body(200, head + b", ".join(items) + b"]}")
