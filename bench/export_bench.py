"""Export speed and memory: 1,000,000 annotations (200,000 image tasks, overlap 5) to JSONL and COCO.

Builds the project straight into the database (bulk INSERTs: tasks with images' sizes, leases, answers with
one box and a label each), then runs each export in a fresh process, as the exports worker would, and prints
annotations per second and that process's peak memory (targets: at least 50,000 annotations/s, under 300 MB
whatever the size). BENCH_EXPORT_TASKS (default 200000) scales it; the figures should not depend on it.
Uses DATABASE_URL when set, else a temporary SQLite.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from annotator.app import create_app  # noqa: E402
from annotator.models import Base  # noqa: E402
from annotator.users import service  # noqa: E402
from annotator.runtime import embedded_redis_url, stop_embedded, runtime  # noqa: E402
from tasks import projects  # noqa: E402
from tasks.models import Annotation, Assignment, Export, Media, Task  # noqa: E402

TASKS = int(os.environ.get("BENCH_EXPORT_TASKS", 200_000))
OVERLAP = 5
BATCH = 20_000
SCHEMA = {"tools": ["bbox", "classify"], "labels": [
    {"id": "bird", "name": "鸟类", "children": [{"id": "warbler", "name": "莺"}, {"id": "sparrow", "name": "麻雀"}]},
    {"id": "bat", "name": "Bat"}]}


def config(folder: str) -> dict:
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    return {"SECRET_KEY": "bench", "INSTANCE_PATH": folder, "DATABASE_URL": database,
            "REDIS_URL": os.environ.get("REDIS_URL") or embedded_redis_url(folder),
            "ANNOTATOR_STORAGE_PATH": folder}


def build(settings: dict) -> int:
    app = create_app(settings)
    engine = runtime(app).engine
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    now = dt.datetime.now(dt.timezone.utc)
    rng = random.Random(7)
    with app.app_context(), runtime().session_factory() as session:
        users = [service.register(session, runtime().passwords, email=f"e{n}@example.org", password="bench-pass-1",
                                  display_name=f"E{n}") for n in range(OVERLAP + 1)]
        session.commit()
        owner, annotators = users[0], users[1:]
        project = projects.create_project(session, owner, {
            "name": "Export bench", "media_type": "image", "label_schema": SCHEMA, "overlap": OVERLAP,
            "visibility": "public"}, now)
        session.commit()
        started = time.perf_counter()
        for start in range(0, TASKS, BATCH):
            count = min(BATCH, TASKS - start)
            shas = [hashlib.sha256(f"img{n}".encode()).hexdigest() for n in range(start, start + count)]
            session.execute(insert(Media), [{"sha256": sha, "content_type": "image/jpeg", "width": 1024,
                                             "height": 768, "size_bytes": 1, "phash": 0, "created_at": now}
                                            for sha in shas])
            task_rows = session.execute(insert(Task).returning(Task.id), [{
                "project_id": project.id, "data": {"image": f"/media/{sha}", "name": f"img{n}.jpg"},
                "data_hash": sha, "media_sha256": sha, "rank": n, "status": "completed", "leased": 0,
                "submitted": OVERLAP, "is_gold": False, "created_at": now}
                for n, sha in zip(range(start, start + count), shas)]).scalars().all()
            leases = session.execute(insert(Assignment).returning(Assignment.id, Assignment.task_id, Assignment.user_id), [{
                "project_id": project.id, "task_id": task_id, "user_id": user.id, "status": "submitted",
                "is_gold": False, "expires_at": now, "created_at": now} for task_id in task_rows
                for user in annotators]).all()
            session.execute(insert(Annotation), [{
                "project_id": project.id, "task_id": task_id, "user_id": user_id, "assignment_id": lease_id,
                "result": {"labels": [rng.choice(["warbler", "warbler", "sparrow"])], "objects": [
                    {"tool": "bbox", "label": "warbler", "bbox": [rng.randint(0, 500), rng.randint(0, 400),
                                                                  rng.randint(20, 300), rng.randint(20, 300)]}]},
                "lead_time_ms": rng.randint(800, 9000), "schema_version": 1, "counted": True, "created_at": now}
                for lease_id, task_id, user_id in leases])
            session.commit()
        print(f"built {TASKS:,} tasks and {TASKS * OVERLAP:,} annotations in {time.perf_counter() - started:.0f} s "
              f"on {settings['DATABASE_URL'].split('@')[-1].split('/')[0] or 'SQLite'}", flush=True)
        if engine.dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
        return project.id


def one_export(settings: dict, project_id: int, format_name: str) -> None:
    """Run in its own process: one export, as the worker runs it; prints rows/s and this process's peak memory."""
    app = create_app(settings)
    from annotator.jobs import run_export

    with app.app_context(), runtime().session_factory() as session:
        export = Export(project_id=project_id, created_by=1, format=format_name, include="all",
                        fingerprint=f"bench-{format_name}", status="queued", progress=0.0, rows=0, attempts=0)
        session.add(export)
        session.commit()
        export_id = export.id
    started = time.perf_counter()
    with app.app_context():
        result = run_export(export_id)
    elapsed = time.perf_counter() - started
    peak = _peak_mb()
    annotations = TASKS * OVERLAP
    print(f"{format_name:>5} include=all: {annotations:,} annotations in {elapsed:.1f} s = "
          f"{annotations / elapsed:,.0f} annotations/s, {result['size_bytes'] / 1e6:,.0f} MB written, "
          f"peak memory {peak:.0f} MB", flush=True)


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    if len(sys.argv) == 4:
        import orjson

        one_export(orjson.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
        return
    import orjson

    with tempfile.TemporaryDirectory(prefix="ann-export-bench-") as folder:
        settings = config(folder)
        project_id = build(settings)
        for format_name in ("jsonl", "coco"):
            done = subprocess.run([sys.executable, __file__, orjson.dumps(settings).decode(), str(project_id),
                                   format_name], timeout=3600)
            if done.returncode:
                raise SystemExit(done.returncode)
        stop_embedded()


if __name__ == "__main__":
    main()
