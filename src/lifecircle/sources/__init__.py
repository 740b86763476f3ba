"""HTTP clients for the external sources (registry data-sharing API, AMap Web Service).

The clients only fetch and hand raw pages/cells to a caller-supplied callback, which
checkpoints them; validation and loading live in ``lifecircle.ingest``. Secrets (bearer
token, AMap key) are masked in every log line and exception they produce.
"""
from lifecircle.sources.http import SourceError, make_session, mask_secrets

__all__ = ["SourceError", "make_session", "mask_secrets"]
