"""Survey uploads: the Tianshui annex-5 workbook, resident-satisfaction exports and
task-progress reports — guard, kind detection, parsers, blank templates.

Why a package of its own: these files arrive from people (community clerks, responsible
units, 问卷星 exports), not from APIs, so writing them (templates, sample data) and parsing
them (tolerant of hand editing, strict about what cannot be trusted, never evaluating a
formula, never leaking personal data) belong together and stay free of Airflow and the
warehouse. See docs/survey_files.md.
"""
from lifecircle.surveys.annex5 import Annex5Result, parse_annex5, write_annex5
from lifecircle.surveys.detect import detect_kind
from lifecircle.surveys.excel_safety import neutralise
from lifecircle.surveys.file_guard import check_upload
from lifecircle.surveys.satisfaction import (
    ResponsesResult,
    parse_responses,
    summarise,
    write_responses_csv,
)
from lifecircle.surveys.task_progress import TaskProgressResult, parse_task_progress

__all__ = [
    "Annex5Result",
    "ResponsesResult",
    "TaskProgressResult",
    "check_upload",
    "detect_kind",
    "neutralise",
    "parse_annex5",
    "parse_responses",
    "parse_task_progress",
    "summarise",
    "write_annex5",
    "write_responses_csv",
]
