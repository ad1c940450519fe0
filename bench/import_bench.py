"""Import speed: text tasks through the API, and 4000x3000 JPEGs through an import job.

Prints tasks/s next to a bare SQLAlchemy Core bulk INSERT of the same rows (the
ratio is the figure to watch), and images/s with the worker's peak memory for
two import sizes (flat memory means the two peaks are about equal).

Uses DATABASE_URL / REDIS_URL when set, else a temporary SQLite and embedded Redis.
BENCH_TASKS (default 100000) and BENCH_IMAGES (default 1000) scale it down.
"""
from __future__ import annotations

import io
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import orjson
from PIL import Image, ImageDraw
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.app import create_app  # noqa: E402
from annotator.db import utcnow  # noqa: E402
from annotator.models import Base  # noqa: E402
from annotator.users import service  # noqa: E402
from annotator.runtime import embedded_redis_url, stop_embedded, runtime  # noqa: E402
from tasks.importing import data_hash  # noqa: E402
from tasks.models import Import, Task  # noqa: E402

TASKS = int(os.environ.get("BENCH_TASKS", 100_000))
IMAGES = int(os.environ.get("BENCH_IMAGES", 1_000))
BATCH = 10_000


def make_app(folder: str):
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    redis_url = os.environ.get("REDIS_URL") or embedded_redis_url(folder)
    app = create_app({"SECRET_KEY": "bench", "INSTANCE_PATH": folder, "DATABASE_URL": database, "REDIS_URL": redis_url})
    engine = runtime(app).engine
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return app


def setup_project(app, media_type: str) -> tuple[dict, int]:
    with app.app_context():
        session = runtime().session_factory()
        user = session.scalar(text("SELECT id FROM users WHERE email = 'bench@example.org'"))
        if user is None:
            service.register(session, runtime().passwords, email="bench@example.org", password="bench-password-1",
                             display_name="Bench")
            session.commit()
        owner = session.scalar(text("SELECT id FROM users WHERE email = 'bench@example.org'"))
        _, token = service.create_token(session, session.get(service.User, owner), "bench")
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    schema = ({"tools": ["classify"], "labels": [{"id": "pos", "name": "Positive"}, {"id": "neg", "name": "Negative"}]}
              if media_type == "text" else {"tools": ["bbox"], "labels": [{"id": "bird", "name": "Bird"}]})
    response = app.test_client().post("/api/v1/projects", headers=headers, json={
        "name": f"bench {media_type}", "media_type": media_type, "label_schema": schema})
    return headers, response.get_json()["id"]


def bench_text(app) -> None:
    headers, project_id = setup_project(app, "text")
    client = app.test_client()
    rows = [{"data": {"text": f"Review number {n}: the warbler sang at dawn near the lake."}, "external_id": f"r{n}"}
            for n in range(TASKS)]
    bodies = [orjson.dumps(rows[start:start + BATCH]) for start in range(0, TASKS, BATCH)]
    started = time.perf_counter()
    for body in bodies:
        response = client.post(f"/api/v1/projects/{project_id}/tasks", data=body, headers=headers,
                               content_type="application/json")
        assert response.status_code == 201, response.get_json()
    api_seconds = time.perf_counter() - started

    _, baseline_project = setup_project(app, "text")
    now = utcnow()
    values = [{"project_id": baseline_project, "external_id": row["external_id"], "data": row["data"],
               "data_hash": data_hash(row["data"]), "is_gold": False, "status": "open", "created_at": now}
              for row in rows]
    engine = runtime(app).engine
    started = time.perf_counter()
    for start in range(0, TASKS, BATCH):
        with engine.begin() as connection:
            connection.execute(insert(Task), values[start:start + BATCH])
    core_seconds = time.perf_counter() - started
    api_rate, core_rate = TASKS / api_seconds, TASKS / core_seconds
    print(f"text tasks via API:          {TASKS} in {api_seconds:.2f} s = {api_rate:,.0f} tasks/s (target >= 20,000)")
    print(f"bare Core bulk INSERT:       {TASKS} in {core_seconds:.2f} s = {core_rate:,.0f} rows/s")
    print(f"API / bare INSERT ratio:     {api_rate / core_rate:.2f} (target >= 0.33)")


def jpeg_zip(path: Path, count: int) -> None:
    rng = random.Random(7)
    base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for n in range(count):
            image = base.copy()
            draw = ImageDraw.Draw(image)
            for _ in range(6):
                x, y = rng.randint(0, 3600), rng.randint(0, 2600)
                draw.rectangle([x, y, x + rng.randint(50, 400), y + rng.randint(50, 400)],
                               fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85)
            archive.writestr(f"img-{n:05d}.jpg", out.getvalue())


def bench_images(app, folder: str, count: int) -> None:
    headers, project_id = setup_project(app, "image")
    archive = Path(folder) / f"images-{count}.zip"
    jpeg_zip(archive, count)
    with archive.open("rb") as stream:
        response = app.test_client().post(f"/api/v1/projects/{project_id}/imports", headers=headers,
                                          data={"files": [(stream, archive.name)]}, content_type="multipart/form-data")
    import_id = response.get_json()["id"]
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
           "ANNOTATOR_SECRET_KEY": "bench", "ANNOTATOR_INSTANCE_PATH": folder}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "annotator.cli", "worker", "--burst", "--queue", "imports"], env=env,
                   check=True, capture_output=True)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with app.app_context():
        job = runtime().session_factory().get(Import, import_id)
        created = job.counts.get("created")
    note = "" if before < resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss else " (peak not above an earlier run)"
    print(f"images via import job:       {count} 4000x3000 JPEGs in {seconds:.1f} s = {count / seconds:.1f} images/s, "
          f"{created} tasks, worker peak RSS {peak_mb:.0f} MB{note}")
    archive.unlink()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ann-bench-") as folder:
        app = make_app(folder)
        print(f"database: {app.config['DATABASE_URL'].split('@')[-1]}")
        bench_text(app)
        for count in sorted({max(IMAGES // 5, 1), IMAGES}) if IMAGES else []:
            bench_images(app, folder, count)
        stop_embedded()


if __name__ == "__main__":
    main()
