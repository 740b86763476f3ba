"""Survey uploads: the Tianshui annex-5 workbook and the resident-satisfaction export.

Why a package of its own: these files arrive from people (community clerks, 问卷星
exports), not from APIs, so writing them (templates, sample data) and parsing them
(tolerant of hand editing, strict about what cannot be trusted, never leaking personal
data) belong together and stay free of Airflow and the warehouse.
"""
from lifecircle.surveys.annex5 import Annex5Result, parse_annex5, write_annex5
from lifecircle.surveys.satisfaction import (
    ResponsesResult,
    parse_responses,
    summarise,
    write_responses_csv,
)

__all__ = [
    "Annex5Result",
    "ResponsesResult",
    "parse_annex5",
    "parse_responses",
    "summarise",
    "write_annex5",
    "write_responses_csv",
]
