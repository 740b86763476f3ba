"""The quality gate every validate/publish step goes through.

Order matters: results are stored in *their own* committed transaction first, then
:func:`enforce` raises on a blocking failure. The caller's publishing transaction is
then rolled back by the exception, but the results that explain why stay in
mart.dq_results for analysts (storing them inside the doomed transaction would lose
them). Callers must therefore not write mart.dq_results in their own transaction (that
would lock the rows this separate connection replaces). The Data Docs site is rebuilt
after every store, so it always matches mart.dq_results.
"""
from __future__ import annotations

import logging

from lifecircle.quality import docs, results
from lifecircle.quality.gx_runner import ExpectationResult, enforce
from lifecircle.warehouse.engine import get_engine

log = logging.getLogger(__name__)


def gate(period: str, source: str, table_name: str, checked: list[ExpectationResult]) -> dict:
    """Store ``checked`` for (period, table_name), rebuild Data Docs, then enforce."""
    with get_engine().begin() as conn:
        summary = results.store(conn, period, source, table_name, checked)
    try:
        docs.build()
    except Exception:  # the docs are a view of mart.dq_results; never fail a load over them
        log.exception("Data Docs could not be rebuilt")
    enforce(checked)
    return summary
