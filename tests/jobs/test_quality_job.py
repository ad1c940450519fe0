"""A large project's agreement, computed by a real worker process from the quality queue."""
from __future__ import annotations

import os
import subprocess
import sys

from annotator import queue
from annotator.runtime import runtime


def test_a_real_worker_computes_the_report_the_api_then_serves(app, client, owner, labelled):
    project, task_ids = labelled
    app.config["ANNOTATOR_QUALITY_ON_REQUEST"] = 5  # 14 answers: the worker's job
    queue.get_queue(runtime(app).redis, "quality").empty()
    assert client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner).status_code == 202
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
           "ANNOTATOR_SECRET_KEY": "worker-test-key", "ANNOTATOR_INSTANCE_PATH": app.instance_path,
           "ANNOTATOR_QUALITY_ON_REQUEST": "5"}
    done = subprocess.run([sys.executable, "-m", "annotator.cli", "worker", "--burst", "--queue", "quality"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    body = client.get(f"/api/v1/projects/{project['id']}/agreement", headers=owner)
    assert body.status_code == 200, body.get_json()
    report = body.get_json()
    assert report["annotations"] == 14 and report["stale"] is False and report["krippendorff_alpha"] is not None
    consensus = client.get(f"/api/v1/tasks/{task_ids[3]}/consensus", headers=owner).get_json()
    assert consensus["result"] == {"labels": ["species"]} and consensus["annotations"] == 3
