"""Benchmark: the upload corpus through guard → detect → parser, and write_templates.

    .venv/bin/python bench/survey_files.py [OUT_DIR]     (under /usr/bin/time -v for peak memory)
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from lifecircle import refdata
from lifecircle.surveys.annex5 import parse_annex5
from lifecircle.surveys.detect import detect_kind
from lifecircle.surveys.file_guard import check_upload
from lifecircle.surveys.satisfaction import parse_responses
from lifecircle.surveys.task_progress import parse_task_progress
from lifecircle.surveys.templates import write_templates

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "upload_corpus"


def main(out: str) -> None:
    tasks, units = refdata.load_tasks("tianshui"), refdata.load_units("tianshui")
    files = [p for p in sorted(CORPUS.iterdir()) if p.name not in ("expected.yaml", "make_corpus.py", "__pycache__")]
    start = time.perf_counter()
    for p in files:
        if check_upload(p, 20 * 1024 * 1024):
            continue
        kind = detect_kind(p)
        if kind == "annex5":
            parse_annex5(p)
        elif kind == "satisfaction":
            parse_responses(p, salt="bench")
        elif kind == "task_progress":
            parse_task_progress(p, tasks, units)
    print(f"corpus: {len(files)} files guard+detect+parse in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    r = write_templates("2024-05", out, "tianshui")
    print(f"templates: {r['annex5']} annex-5 + {r['task_progress']} task-progress workbooks "
          f"in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="templates-"))
