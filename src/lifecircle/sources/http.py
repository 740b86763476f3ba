"""Shared HTTP plumbing for the source clients: a retrying session and secret masking.

Why urllib3's ``Retry`` rather than a hand-written loop: it already knows which failures
are safe to repeat for an idempotent GET (connection refused/reset, read time-outs,
429/5xx), honours ``Retry-After`` and applies exponential backoff, and it does so below
``requests`` so each client only sees the final outcome.

Why masking lives here: the AMap key travels as a URL query parameter, so it shows up in
urllib3's own log lines ("Retrying ... /v5/place/polygon?key=...") and in requests'
exception text ("Max retries exceeded with url: ..."). Every secret handed to
:func:`make_session` (or :func:`register_secrets`) is therefore scrubbed from urllib3 and
requests log records by a logging filter, and the clients pass everything they log or
raise through :func:`mask_secrets`.
"""
from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = [
    "RETRY_STATUSES",
    "DEFAULT_TIMEOUT",
    "SourceError",
    "Emitter",
    "make_session",
    "mask_secrets",
    "register_secrets",
]

#: HTTP statuses that mean "try again later" for a GET.
RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)
#: (connect, read) seconds; a session never waits forever on a silent server.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
MASK = "***"

_log = logging.getLogger(__name__)


class SourceError(RuntimeError):
    """A source answered something we cannot use (non-retryable status, bad JSON, error
    infocode) or could not be reached after the configured retries.

    The message is already secret-masked and names the request (path + page/cell)."""


def mask_secrets(text: object, secrets: Iterable[str | None]) -> str:
    """Return ``str(text)`` with every secret (and its URL-encoded forms) replaced by ``***``.

    Longer secrets are replaced first so a secret containing another is fully hidden.
    Empty/None secrets are ignored."""
    out = str(text)
    variants: set[str] = set()
    for s in secrets:
        if not s:
            continue
        variants.update({s, quote(s, safe=""), quote_plus(s)})
    for v in sorted(variants, key=len, reverse=True):
        if v:
            out = out.replace(v, MASK)
    return out


# --- logging filter for third-party loggers -------------------------------------------
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_FILTERED_LOGGERS: set[str] = set()
_BASE_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "requests",
)


class _MaskingFilter(logging.Filter):
    """Rewrite a record's message with all registered secrets masked.

    A logger's filters only see records created on that very logger (not on children),
    so the filter is attached to each urllib3/requests logger by name."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _SECRETS_LOCK:
            secrets = tuple(_SECRETS)
        if secrets:
            try:
                msg = record.getMessage()
            except Exception:  # a broken format string is not ours to fix
                return True
            masked = mask_secrets(msg, secrets)
            if masked != msg:
                record.msg, record.args = masked, ()
        return True


_FILTER = _MaskingFilter()


def register_secrets(*secrets: str | None) -> None:
    """Remember secrets so urllib3/requests log records never show them."""
    with _SECRETS_LOCK:
        _SECRETS.update(s for s in secrets if s)
    names = set(_BASE_LOGGERS) | {
        n for n in logging.Logger.manager.loggerDict if n.startswith(("urllib3", "requests"))
    }
    for name in names - _FILTERED_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
        _FILTERED_LOGGERS.add(name)


# --- session --------------------------------------------------------------------------
class _TimeoutAdapter(HTTPAdapter):
    """HTTPAdapter that applies a default timeout when the caller gives none
    (requests itself has no session-wide timeout)."""

    def __init__(self, *args, timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, **kw):
        self._timeout = timeout
        super().__init__(*args, **kw)

    def send(self, request, **kwargs):  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def make_session(
    *,
    retries: int = 5,
    backoff_factor: float = 0.5,
    backoff_max: float = 60.0,
    retry_after_max: float = 300.0,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    status_forcelist: Iterable[int] = RETRY_STATUSES,
    secrets: Iterable[str | None] = (),
    user_agent: str = "lifecircle/0.1",
) -> requests.Session:
    """A ``requests.Session`` that retries idempotent requests and has default time-outs.

    ``retries`` bounds connection errors, read time-outs and retryable statuses alike;
    backoff between attempts is ``backoff_factor * 2**(n-1)`` seconds (capped at
    ``backoff_max``), except that a ``Retry-After`` header on 429/503 is honoured (capped
    at ``retry_after_max``). When retries run out on a status, the last response is
    returned (``raise_on_status=False``) so the client can report the status it saw.
    ``secrets`` are registered for log masking (see :func:`register_secrets`)."""
    extra = {}
    if "retry_after_max" in inspect.signature(Retry.__init__).parameters:  # urllib3 >= 2.5
        extra["retry_after_max"] = retry_after_max
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        status_forcelist=frozenset(status_forcelist),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        **extra,
    )
    session = requests.Session()
    adapter = _TimeoutAdapter(max_retries=retry, timeout=timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    register_secrets(*secrets)
    return session


class Emitter:
    """Masking front for the caller's ``log`` callable (``print``, ``logger.info``, a
    task's log...). Without one, lines go to the given module logger at INFO/WARNING."""

    def __init__(self, log: Callable[[str], object] | None, secrets: Iterable[str | None],
                 logger: logging.Logger = _log):
        self._log, self._secrets, self._logger = log, tuple(s for s in secrets if s), logger

    def mask(self, text: object) -> str:
        return mask_secrets(text, self._secrets)

    def info(self, msg: str) -> None:
        msg = self.mask(msg)
        if self._log is None:
            self._logger.info(msg)
        else:
            self._log(msg)

    def warning(self, msg: str) -> None:
        msg = self.mask(msg)
        if self._log is None:
            self._logger.warning(msg)
        else:
            self._log("WARNING: " + msg)
