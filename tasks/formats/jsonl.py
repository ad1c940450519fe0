"""JSON Lines: one task a line with its data, inferred answer (confidence, method) and agreement; with
include=all every answer too (pseudonymous annotator, lead time, schema version, verdict, credits)."""
from __future__ import annotations

from typing import Any, BinaryIO

import orjson

from tasks.formats.base import ExportContext, ExportTask


def task_record(task: ExportTask, context: ExportContext) -> dict[str, Any]:
    """The task as one JSON object (shared with the Label Studio and CSV writers' notion of a row)."""
    consensus = task.consensus or {}
    record: dict[str, Any] = {
        "id": task.id, "external_id": task.external_id, "data": task.data, "status": task.status,
        "is_gold": task.is_gold, "answers": task.answers,
        "result": consensus.get("result"), "confidence": consensus.get("confidence"),
        "method": consensus.get("method"), "agreement": consensus.get("agreement"),
    }
    if consensus.get("reviewed"):  # a reviewer's fix: marked, its reviewer pseudonymised as annotators are
        record["reviewed"], record["reviewer"] = True, consensus.get("reviewer")
    if task.media is not None:
        record["image"] = {"sha256": task.media.sha256, "width": task.media.width, "height": task.media.height,
                           "file_name": task.media.filename}
    if context.include == "all":
        record["annotations"] = [{
            "id": a.id, "annotator": a.annotator, "result": orjson.Fragment(a.result_json), "lead_time_ms": a.lead_time_ms,
            "schema_version": a.schema_version, "created_at": a.created_at, "counted": a.counted,
            "verdict": a.verdict, "gold_score": a.gold_score, "credits": a.credits} for a in task.annotations]
    return record


class JsonlWriter:
    extension = ".jsonl"
    content_type = "application/x-ndjson"
    archive = False

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out, self.context = out, context

    def write(self, task: ExportTask) -> int:
        self.out.write(orjson.dumps(task_record(task, self.context)) + b"\n")
        return 1

    def close(self, card: dict[str, Any]) -> None:
        pass
