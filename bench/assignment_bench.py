"""Annotators under load: next -> submit cycles against the app under gunicorn (2 workers).

For N = 1, 8, 32 concurrent annotators on a project of 10,000 text tasks with overlap 3, prints
cycles per second, p50/p95/p99 latency of each call and errors, and a trivial JSON endpoint of the
same server as the ceiling. Uses DATABASE_URL / REDIS_URL when set, else SQLite and embedded Redis.
BENCH_SECONDS (default 15) is the length of each run; gunicorn workers' memory is printed before and
after so a leak shows. BENCH_SOAK=600 then keeps 8 annotators labelling for that many seconds and prints
the workers' memory every minute (the issue's 10-minute flat-memory check). BENCH_THREADS sets gunicorn's
threads per worker (default 8).

BENCH_PAID=1 runs the same on paid projects (50 base + 20 agreement bonus, funded for every answer; answers
are 80% "pos", so bonuses vary): every lease reserves, every submit credits, completions settle. With
BENCH_KILL=1 one gunicorn worker is SIGKILLed halfway through each run (gunicorn starts another; the
clients reconnect). At the end the ledger is checked (`annotator ledger verify`'s checks) and the result
printed: the issue's "verify passes after a load test and a killed worker".
"""
from __future__ import annotations

import http.client
from collections import Counter
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotator.app import create_app  # noqa: E402
from annotator.models import Base  # noqa: E402
from annotator.users import service  # noqa: E402
from annotator.runtime import embedded_redis_url, stop_embedded, runtime  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", 15))
LEVELS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "1,8,32").split(",")]
TASKS = 10_000
THREADS = os.environ.get("BENCH_THREADS", "8")
SOAK = float(os.environ.get("BENCH_SOAK", 0))
PAID = os.environ.get("BENCH_PAID", "0") not in ("", "0", "false")
KILL = os.environ.get("BENCH_KILL", "0") not in ("", "0", "false")
RATES = {"per_annotation": 50, "agreement_bonus": 20}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN: list[str] = []  # the administrator's token, once prepared


def prepare(folder: str) -> tuple[dict, list[str]]:
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    redis_url = os.environ.get("REDIS_URL") or embedded_redis_url(folder)
    config = {"SECRET_KEY": "bench", "INSTANCE_PATH": folder, "DATABASE_URL": database, "REDIS_URL": redis_url}
    app = create_app(config)
    Base.metadata.drop_all(runtime(app).engine)
    Base.metadata.create_all(runtime(app).engine)
    with app.app_context():
        session = runtime().session_factory()
        users = [service.register(session, runtime().passwords, email=f"b{n}@example.org", password="bench-pass-1",
                                  display_name=f"B{n}") for n in range(max(LEVELS) * len(LEVELS) + 9)]
        treasurer = service.register(session, runtime().passwords, email="treasurer@example.org",
                                     password="bench-pass-1", display_name="Treasurer", is_admin=True)
        session.commit()
        tokens = [service.create_token(session, user, "bench")[1] for user in users]
        ADMIN.append(service.create_token(session, treasurer, "bench")[1])  # confirms the owner's deposits
        session.commit()
    return config, tokens


def call(connection, method: str, path: str, token: str | None, body: dict | None = None) -> tuple[int, float, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    return response.status, time.perf_counter() - started, data


def make_project(port: int, owner: str, tasks: int = TASKS) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    _, _, data = call(connection, "POST", "/api/v1/projects", owner, {
        "name": "bench", "media_type": "text", "overlap": 3, "visibility": "public",
        "label_schema": {"tools": ["classify"], "labels": [{"id": "pos", "name": "P"}, {"id": "neg", "name": "N"}]},
        **({"rewards": RATES} if PAID else {})})
    project_id = json.loads(data)["id"]
    for start in range(0, tasks, 5000):
        rows = [{"data": {"text": f"review {n}"}} for n in range(start, start + 5000)]
        status, _, _ = call(connection, "POST", f"/api/v1/projects/{project_id}/tasks", owner, rows)
        assert status == 201
    if PAID:
        status, _, data = call(connection, "POST", f"/api/v1/projects/{project_id}/budget/deposits", owner,
                               {"amount": tasks * 3 * sum(RATES.values())})
        assert status == 201
        status, _, _ = call(connection, "POST", f"/api/v1/deposits/{json.loads(data)['id']}/confirm", ADMIN[-1], {})
        assert status == 200
    return project_id


def annotator(port: int, project_id: int, token: str, deadline: float, out: dict) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    chooser = random.Random(token)
    while time.perf_counter() < deadline:
        try:
            status, elapsed, data = call(connection, "POST", f"/api/v1/projects/{project_id}/next", token)
            out["next"].append(elapsed)
            if status == 204:
                break
            if status != 200:
                out["errors"] += 1
                out.setdefault("statuses", []).append(status)
                continue
            assignment = json.loads(data)["assignment"]["id"]
            label = "pos" if not PAID or chooser.random() < 0.8 else "neg"
            status, elapsed, _ = call(connection, "POST", f"/api/v1/assignments/{assignment}/annotation", token,
                                      {"result": {"labels": [label]}, "lead_time_ms": 900})
        except (OSError, http.client.HTTPException):  # the worker serving us was killed: reconnect, carry on
            out["dropped"] = out.get("dropped", 0) + 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port)
            continue
        out["submit"].append(elapsed)
        if status == 201:
            out["cycles"] += 1
        else:
            out["errors"] += 1
            out.setdefault("statuses", []).append(status)


def ceiling(port: int, clients: int, seconds: float) -> float:
    count = [0]
    lock = threading.Lock()

    def hammer(deadline: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        done = 0
        while time.perf_counter() < deadline:
            call(connection, "GET", "/api/v1/auth/csrf", None)
            done += 1
        with lock:
            count[0] += done

    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=hammer, args=(deadline,)) for _ in range(clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return count[0] / seconds


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) >= 2 else float("nan")


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total / 1024**2


def soak(port: int, tokens: list[str], used: int, workers: list[int]) -> None:
    clients = 8
    project_id = make_project(port, tokens[0], tasks=max(TASKS, int(SOAK * 300 / 3)))  # room for 300 cycles/s
    outs = [{"next": [], "submit": [], "cycles": 0, "errors": 0} for _ in range(clients)]
    deadline = time.perf_counter() + SOAK
    threads = [threading.Thread(target=annotator, args=(port, project_id, tokens[used + n], deadline, outs[n]))
               for n in range(clients)]
    started = time.perf_counter()
    [t.start() for t in threads]
    while any(t.is_alive() for t in threads):
        time.sleep(min(60, max(deadline - time.perf_counter(), 0) + 1))
        cycles = sum(o["cycles"] for o in outs)
        print(f"soak {time.perf_counter() - started:4.0f} s: {cycles} cycles, "
              f"{sum(o['errors'] for o in outs)} errors, workers' memory {rss_mb(workers):.0f} MB", flush=True)
        for o in outs:  # keep the client's own memory flat too
            del o["next"][:], o["submit"][:]


def worker_pids(server_pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(["pgrep", "-P", str(server_pid)], capture_output=True,
                                           text=True).stdout.split()]


def check_ledger(config: dict) -> None:
    """The ledger after the load: every invariant (as `annotator ledger verify`), and where the money is."""
    from sqlalchemy import func, select

    from incentives import checks
    from incentives.models import Account, LedgerTransaction

    app = create_app(config)
    with app.app_context(), runtime().session_factory() as session:
        breaches = checks.verify_all(session)
        balances = dict(session.execute(select(Account.kind, func.sum(Account.balance)).group_by(Account.kind)).all())
        postings = dict(session.execute(select(LedgerTransaction.kind, func.count()).group_by(
            LedgerTransaction.kind)).all())
    print(f"ledger: {sum(postings.values()):,} transactions {postings}; balances by kind {balances}")
    print("ledger verify: " + ("passes" if not breaches else f"{len(breaches)} breaches: {breaches[:5]}"))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ann-bench-") as folder:
        config, tokens = prepare(folder)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "REDIS_URL": config["REDIS_URL"],
               "ANNOTATOR_SECRET_KEY": "bench", "ANNOTATOR_INSTANCE_PATH": folder,
               # The per-annotator limit (1,200 calls a minute) would cap one client at 10 cycles/s: lifted, as
               # this measures the server, not the fairness rule.
               "ANNOTATOR_LABELLING_PER_MINUTE": "1000000000"}
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", THREADS,
                                   "--bind", f"127.0.0.1:{port}", "annotator.app:create_app()"], env=env,
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)
            workers = worker_pids(server.pid)
            print(f"database: {config['DATABASE_URL'].split('@')[-1]}; gunicorn 2 workers x {THREADS} threads")
            ceiling_rate = ceiling(port, 8, 5)
            print(f"trivial endpoint ceiling: {ceiling_rate:,.0f} requests/s (8 clients)")
            start_rss = rss_mb(workers)
            used = 1
            for clients in LEVELS:
                project_id = make_project(port, tokens[0])
                out = {"next": [], "submit": [], "cycles": 0, "errors": 0}
                outs = [{"next": [], "submit": [], "cycles": 0, "errors": 0} for _ in range(clients)]
                deadline = time.perf_counter() + SECONDS
                threads = [threading.Thread(target=annotator, args=(port, project_id, tokens[used + n], deadline,
                                                                    outs[n])) for n in range(clients)]
                used += clients
                started = time.perf_counter()
                [t.start() for t in threads]
                if KILL:
                    time.sleep(SECONDS / 2)
                    victims = worker_pids(server.pid)
                    os.kill(victims[0], signal.SIGKILL)
                    print(f"  killed gunicorn worker {victims[0]} halfway through")
                [t.join() for t in threads]
                elapsed = time.perf_counter() - started
                for o in outs:
                    out["next"] += o["next"]
                    out["submit"] += o["submit"]
                    out["cycles"] += o["cycles"]
                    out["errors"] += o["errors"]
                    out["dropped"] = out.get("dropped", 0) + o.get("dropped", 0)
                    out.setdefault("statuses", []).extend(o.get("statuses", []))
                rate = out["cycles"] / elapsed
                print(f"N={clients:>2}: {rate:6.1f} cycles/s ({rate * 2 / ceiling_rate:.0%} of the ceiling in requests)"
                      f" | next p50/p95/p99 {pct(out['next'], 50):.1f}/{pct(out['next'], 95):.1f}/"
                      f"{pct(out['next'], 99):.1f} ms | submit {pct(out['submit'], 50):.1f}/{pct(out['submit'], 95):.1f}/"
                      f"{pct(out['submit'], 99):.1f} ms | errors {out['errors']}"
                      + (f" {dict(sorted(Counter(out['statuses']).items()))}" if out["errors"] else "")
                      + (f" | dropped by the kill {out['dropped']}" if KILL else ""))
            print(f"gunicorn workers' memory: {start_rss:.0f} MB before the runs, {rss_mb(worker_pids(server.pid)):.0f}"
                  " MB after")
            if PAID:
                check_ledger(config)
            if SOAK:
                soak(port, tokens, used, worker_pids(server.pid))
        finally:
            server.terminate()
            server.wait(timeout=20)
            stop_embedded()


if __name__ == "__main__":
    main()
