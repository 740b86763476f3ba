"""A stdlib HTTP server running in a background thread, for tests and the demo.

Why real sockets instead of mocks: retries, time-outs, Retry-After and keep-alive are
behaviour of the HTTP stack (urllib3/requests), and only a real server exercises them.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BackgroundHTTPServer", "FaultTable", "JsonHandler"]

_log = logging.getLogger(__name__)


class _QuietThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # noqa: D401
        """A client that gave up (time-out test) resets the socket: not an error."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                            socket.timeout)):
            return
        super().handle_error(request, client_address)


class JsonHandler(BaseHTTPRequestHandler):
    """Request handler with JSON helpers; ``self.app`` is the owning server object."""

    protocol_version = "HTTP/1.1"  # keep-alive: a harvest makes thousands of requests
    app: Any = None
    verbose = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed
        # ACK would add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None):
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                       headers=headers)

    def send_body(self, status: int, body: bytes, *, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.verbose:
            _log.info("%s %s", self.address_string(), self.app.mask(format % args))


class BackgroundHTTPServer:
    """Base for the fake servers: ``start()``/``stop()``, context manager, ``.url``.

    Subclasses implement ``handle_get(handler)``; ``port=0`` picks a free port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.host, self.port, self.verbose = host, port, verbose
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # subclasses -----------------------------------------------------------------------
    def handle_get(self, handler: JsonHandler) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def mask(self, text: str) -> str:
        """Hide the server's own secret in its log lines (overridden by subclasses)."""
        return text

    # lifecycle ------------------------------------------------------------------------
    def _bind(self) -> ThreadingHTTPServer:
        app = self

        class Handler(JsonHandler):
            verbose = app.verbose

            def do_GET(self):  # noqa: N802
                self.app = app
                app.handle_get(self)

        httpd = _QuietThreadingServer((self.host, self.port), Handler)
        self.port = httpd.server_address[1]
        return httpd

    def start(self) -> "BackgroundHTTPServer":
        if self._httpd is not None:
            return self
        self._httpd = self._bind()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FaultTable:
    """``{key: value}`` or ``{key: (value, times)}`` faults consumed one hit at a time.

    A bare value fires once; ``times=None`` fires forever. Thread-safe (the servers are
    threaded) so "fail once" really fails exactly once."""

    def __init__(self, spec: Any = None, *, default: Any = None):
        self._left: dict[Any, list] = {}
        self._lock = threading.Lock()
        if spec is None:
            return
        if not isinstance(spec, dict):  # an iterable of keys: each fires once
            spec = {k: default for k in spec}
        for k, v in spec.items():
            value, times = v if isinstance(v, tuple) else (v, 1)
            self._left[k] = [value, times]

    def take(self, key: Any) -> Any:
        """The fault value for ``key`` if one is left (and use it up), else None."""
        if key not in self._left:
            return None
        with self._lock:
            value, times = self._left[key]
            if times is not None:
                if times <= 0:
                    return None
                self._left[key][1] = times - 1
            return value
