"""CSV: one flat row per task (include=consensus) or per answer (include=all). Nested values are JSON text.

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) get a
leading apostrophe, the OWASP advice against CSV injection: the value still reads the same to a person.
"""
from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO

import orjson

from tasks.formats.base import ExportContext, ExportTask

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TASK_COLUMNS = ("task_id", "external_id", "status", "is_gold", "answers", "labels", "result", "confidence",
                "method", "agreement", "data")
ANSWER_COLUMNS = ("annotation_id", "annotator", "answer_labels", "answer", "lead_time_ms", "schema_version",
                  "created_at", "counted", "verdict", "gold_score", "credits")


def neutralise(value: Any) -> str:
    """The cell's text, made inert for spreadsheets (numbers are ours, and stay numbers)."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return str(value)
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _labels(result: dict | None) -> str:
    return "|".join((result or {}).get("labels") or [])


class CsvWriter:
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"
    archive = False

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context
        self.buffer = io.StringIO()
        self.rows = csv.writer(self.buffer, lineterminator="\r\n")
        columns = TASK_COLUMNS + (ANSWER_COLUMNS if context.include == "all" else ())
        self.out.write(b"\xef\xbb\xbf")  # a BOM, so spreadsheet programs read UTF-8 (Chinese labels) right
        self._emit(columns)

    def _emit(self, row) -> None:
        self.rows.writerow(row)
        self.out.write(self.buffer.getvalue().encode())
        self.buffer.seek(0)
        self.buffer.truncate()

    def write(self, task: ExportTask) -> int:
        consensus = task.consensus or {}
        base = (task.id, task.external_id, task.status, task.is_gold, task.answers, _labels(consensus.get("result")),
                consensus.get("result"), consensus.get("confidence"), consensus.get("method"),
                consensus.get("agreement"), task.data)
        if self.context.include != "all":
            self._emit([neutralise(v) for v in base])
            return 1
        if not task.annotations:
            self._emit([neutralise(v) for v in base] + [""] * len(ANSWER_COLUMNS))
            return 1
        for a in task.annotations:
            self._emit([neutralise(v) for v in base + (
                a.id, a.annotator, _labels(a.result), a.result, a.lead_time_ms, a.schema_version, a.created_at,
                a.counted, a.verdict, a.gold_score, a.credits)])
        return len(task.annotations)

    def close(self, card: dict[str, Any]) -> None:
        pass
