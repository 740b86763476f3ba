"""Fake Overpass API: answers POST /api/interpreter with a JSON file's content.

The query (form field ``data``) is recorded, not interpreted: tests serve the elements
they want. ``fail_with`` makes the next answers an HTTP error (429/504, as Overpass does
when busy)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

from lifecircle.devservers.base import BackgroundHTTPServer, JsonHandler


class OverpassServer(BackgroundHTTPServer):
    def __init__(self, data_file: str | Path, **kw):
        super().__init__(**kw)
        self.body = Path(data_file).read_bytes()
        json.loads(self.body)  # fail early on a bad file
        self.queries: list[str] = []
        self.fail_with: int | None = None

    def _bind(self):
        httpd = super()._bind()
        app = self
        handler = httpd.RequestHandlerClass

        def do_POST(h):  # noqa: N802
            h.app = app
            app.handle_post(h)

        handler.do_POST = do_POST
        return httpd

    def handle_get(self, handler: JsonHandler) -> None:
        handler.send_json(405, {"error": "use POST /api/interpreter"})

    def handle_post(self, handler: JsonHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode("utf-8"))
        if handler.path.split("?")[0] != "/api/interpreter":
            handler.send_json(404, {"error": "not found"})
            return
        self.queries.append((form.get("data") or [""])[0])
        if self.fail_with:
            handler.send_body(self.fail_with, b"<html>rate_limited</html>", content_type="text/html")
            return
        if not self.queries[-1]:
            handler.send_body(400, b"<html>no query</html>", content_type="text/html")
            return
        handler.send_body(200, self.body)
