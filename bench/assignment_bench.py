"""Annotators under load: next -> submit cycles against the app under gunicorn (2 workers), one table.

Rows (BENCH_ROWS, default all): free and paid projects of 10,000 text tasks with overlap 3 at N = 1, 8, 32,
200 concurrent annotators (BENCH_CLIENTS); a project of 1,000,000 tasks and an annotator who already has
20,000 answers in a project, each at N = 1 (their p50s against the 10,000-task fresh-annotator row: the
issue's "flat as it grows"); a free project under skill routing at N = 8 (issue 22: every submit reads the task's
answers to say where they point, every `next` reads the kept skills; against free N = 8); and 10 paid projects labelled at once by 8 annotators each. Each row prints
cycles per second, p50/p95/p99 of next and of submit, errors, the server's memory before and after the row,
and the requests per second as a share of a trivial JSON endpoint of the same server measured in the same
run (the ceiling). Paid projects pay 50 base + 20 agreement bonus, funded for every answer; answers are 80%
"pos", so bonuses vary: every lease reserves, every submit credits, completions settle. At the end the
ledger is checked (`annotator ledger verify`'s checks).

Uses DATABASE_URL / REDIS_URL when set, else SQLite and embedded Redis. BENCH_SECONDS (default 15) is the
length of each row; BENCH_THREADS gunicorn's threads per worker (default 4, as `make run`). BENCH_KILL=1
SIGKILLs one gunicorn worker halfway through each row (gunicorn starts another; the clients reconnect).
BENCH_SOAK=600 then keeps 8 annotators labelling for that many seconds and prints the workers' memory every
minute. BENCH_BIG sets the large project's size (default 1,000,000), BENCH_HISTORY the long history (20,000).
On PostgreSQL every table is analysed before each row, as autovacuum would (BENCH_ANALYSE=0 skips it).
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
LEVELS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "1,8,32,200").split(",")]
ROWS = os.environ.get("BENCH_ROWS", "free,paid,routed,big,history,projects").split(",")
TASKS = 10_000
BIG = int(os.environ.get("BENCH_BIG", 1_000_000))
HISTORY = int(os.environ.get("BENCH_HISTORY", 20_000))
PROJECTS = 10
THREADS = os.environ.get("BENCH_THREADS", "4")
SOAK = float(os.environ.get("BENCH_SOAK", 0))
PAID = False  # the row being run pays (set per row)
KILL = os.environ.get("BENCH_KILL", "0") not in ("", "0", "false")
RATES = {"per_annotation": 50, "agreement_bonus": 20, **({"mechanism": os.environ["BENCH_MECHANISM"]} if os.environ.get("BENCH_MECHANISM") else {})}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN: list[str] = []  # the administrator's token, once prepared
CONFIG: dict = {}  # the app's configuration, once prepared


def prepare(folder: str) -> tuple[dict, list[str]]:
    database = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    redis_url = os.environ.get("REDIS_URL") or embedded_redis_url(folder)
    config = {"SECRET_KEY": "bench", "INSTANCE_PATH": folder, "DATABASE_URL": database, "REDIS_URL": redis_url,
              # the bench's users sign in with tokens: their passwords need no real cost
              "ANNOTATOR_ARGON2_TIME_COST": 1, "ANNOTATOR_ARGON2_MEMORY_KIB": 1024, "ANNOTATOR_ARGON2_PARALLELISM": 1}
    app = create_app(config)
    Base.metadata.drop_all(runtime(app).engine)
    Base.metadata.create_all(runtime(app).engine)
    with app.app_context():
        session = runtime().session_factory()
        needed = 2 * sum(LEVELS) + PROJECTS * 8 + 8 + 4
        users = [service.register(session, runtime().passwords, email=f"b{n}@example.org", password="bench-pass-1",
                                  display_name=f"B{n}") for n in range(needed)]
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


def make_project(port: int, owner: str, tasks: int = TASKS, routing: str = "ring") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    _, _, data = call(connection, "POST", "/api/v1/projects", owner, {
        "name": "bench", "media_type": "text", "overlap": 3, "visibility": "public", "routing": routing,
        "label_schema": {"tools": ["classify"], "labels": [{"id": "pos", "name": "P"}, {"id": "neg", "name": "N"}]},
        **({"rewards": RATES} if PAID else {})})
    project_id = json.loads(data)["id"]
    for start in range(0, tasks, 5000):
        rows = [{"data": {"text": f"review {n}"}} for n in range(start, start + 5000)]
        status, _, _ = call(connection, "POST", f"/api/v1/projects/{project_id}/tasks", owner, rows)
        assert status == 201
    if PAID:
        status, _, data = call(connection, "POST", f"/api/v1/projects/{project_id}/budget/deposits", owner,
                               {"amount": tasks * 3 * (RATES["per_annotation"] + RATES["agreement_bonus"])})
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


def dead_tuples(config: dict) -> str:
    """PostgreSQL: the queue tables' dead rows and when autovacuum last ran on them (the claim's index head)."""
    if not config["DATABASE_URL"].startswith("postgresql"):
        return ""
    from sqlalchemy import text
    app = create_app(config)
    with app.app_context(), runtime().session_factory() as session:
        rows = session.execute(text("SELECT relname, n_live_tup, n_dead_tup, autovacuum_count FROM pg_stat_user_tables "
                                    "WHERE relname IN ('tasks', 'assignments') ORDER BY relname")).all()
    return "; ".join(f"{name}: {live:,} live, {dead:,} dead, autovacuumed {runs}x" for name, live, dead, runs in rows)


def soak(port: int, tokens: list[str], used: int, workers: list[int], config: dict) -> None:
    clients = 8
    project_id = make_project(port, tokens[0], tasks=max(TASKS, int(SOAK * 300 / 3)))  # room for 300 cycles/s
    outs = [{"next": [], "submit": [], "cycles": 0, "errors": 0} for _ in range(clients)]
    deadline = time.perf_counter() + SOAK
    threads = [threading.Thread(target=annotator, args=(port, project_id, tokens[used + n], deadline, outs[n]))
               for n in range(clients)]
    started = time.perf_counter()
    [t.start() for t in threads]
    before, last = 0, started
    while any(t.is_alive() for t in threads):
        time.sleep(min(60, max(deadline - time.perf_counter(), 0) + 1))
        cycles, now = sum(o["cycles"] for o in outs), time.perf_counter()
        nexts, submits = [v for o in outs for v in o["next"]], [v for o in outs for v in o["submit"]]
        # Per minute: does the claim slow down as the run leaves dead rows at the head of the queue?
        print(f"soak {now - started:4.0f} s: {cycles} cycles ({(cycles - before) / (now - last):.1f}/s this minute, "
              f"next p50 {pct(nexts, 50):.1f} ms, submit p50 {pct(submits, 50):.1f} ms), "
              f"{sum(o['errors'] for o in outs)} errors, workers' memory {rss_mb(workers):.0f} MB", flush=True)
        before, last = cycles, now
        for o in outs:  # keep the client's own memory flat too
            del o["next"][:], o["submit"][:]
    print(f"soak end: {dead_tuples(config)}", flush=True)


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


def big_project(config: dict, port: int, owner: str, tasks: int) -> int:
    """A free project of `tasks` text tasks, stored with the import's bulk insert (COPY on PostgreSQL) in
    batches, then analysed: the API would take minutes to make a million."""
    from tasks.bulk import insert_rows
    from tasks.importing import data_hash
    from annotator.db import refresh_statistics, utcnow
    from tasks.models import Task

    project_id = make_project(port, owner, tasks=0)
    app = create_app(config)
    with app.app_context(), runtime().session_factory() as session:
        for start in range(0, tasks, 50_000):
            rows = [{"external_id": None, "data": data, "data_hash": data_hash(data), "media_sha256": None,
                     "is_gold": False, "gold": None}
                    for data in ({"text": f"big review {n}"} for n in range(start, min(start + 50_000, tasks)))]
            insert_rows(session, {"project_id": project_id, "import_id": None, "created_at": utcnow()}, rows)
            session.commit()
        refresh_statistics(session, Task.__table__)
    return project_id


def long_history(config: dict, project_id: int, token: str, answers: int) -> None:
    """Give the token's annotator `answers` submitted answers in the project (the first tasks of its rank ring,
    each counted once), as if they had labelled them one by one."""
    from sqlalchemy import text

    from annotator.db import refresh_statistics, utcnow
    from tasks.models import Annotation, Assignment, Task

    app = create_app(config)
    with app.app_context(), runtime().session_factory() as session:
        user_id = service.user_for_token(session, token).id
        now = utcnow()
        chosen = ("SELECT id FROM tasks WHERE project_id = :project AND status = 'open' AND NOT is_gold "
                  "ORDER BY rank, id LIMIT :answers")
        session.execute(text(
            "INSERT INTO assignments (project_id, task_id, user_id, status, is_gold, expires_at, created_at, "
            f"finished_at) SELECT :project, id, :user, 'submitted', false, :now, :now, :now FROM ({chosen}) AS t "
            "ORDER BY id"), {"project": project_id, "user": user_id, "now": now, "answers": answers})
        session.execute(text(
            "INSERT INTO annotations (project_id, task_id, user_id, assignment_id, result, lead_time_ms, "
            "schema_version, counted, created_at) SELECT :project, task_id, user_id, id, CAST(:result AS JSON), 900, 1, "
            "true, :now "
            "FROM assignments WHERE project_id = :project AND user_id = :user"),
            {"project": project_id, "user": user_id, "now": now, "result": '{"labels": ["pos"]}'})
        session.execute(text("UPDATE tasks SET submitted = submitted + 1 WHERE id IN (SELECT task_id FROM assignments "
                             "WHERE project_id = :project AND user_id = :user)"),
                        {"project": project_id, "user": user_id})
        session.commit()
        refresh_statistics(session, Task.__table__, Assignment.__table__, Annotation.__table__)


def analyse(config: dict) -> None:
    """PostgreSQL: fresh planner statistics for every table, as autovacuum keeps them on a production server (this
    machine's PostgreSQL runs with autovacuum off: never analysed, the ledger's tables look to the planner as if a
    transaction had 92 entries, and a settlement's lookups scan every entry)."""
    if not config["DATABASE_URL"].startswith("postgresql") or os.environ.get("BENCH_ANALYSE") == "0":
        return
    from sqlalchemy import text
    app = create_app(config)
    with app.app_context(), runtime().session_factory() as session:
        session.execute(text("ANALYZE"))
        session.commit()


def run_row(port: int, project_ids: list[int], tokens: list[str], server_pid: int) -> dict:
    """len(tokens) annotators labelling the projects (annotator n the project n mod len) for SECONDS."""
    analyse(CONFIG)
    clients = len(tokens)
    outs = [{"next": [], "submit": [], "cycles": 0, "errors": 0} for _ in range(clients)]
    deadline = time.perf_counter() + SECONDS
    threads = [threading.Thread(target=annotator, args=(port, project_ids[n % len(project_ids)], tokens[n], deadline,
                                                        outs[n])) for n in range(clients)]
    before = rss_mb(worker_pids(server_pid))
    started = time.perf_counter()
    [t.start() for t in threads]
    if KILL:
        time.sleep(SECONDS / 2)
        victims = worker_pids(server_pid)
        os.kill(victims[0], signal.SIGKILL)
    [t.join() for t in threads]
    elapsed = time.perf_counter() - started
    out = {"next": [], "submit": [], "cycles": 0, "errors": 0, "statuses": [], "dropped": 0}
    for o in outs:
        for key in ("next", "submit", "statuses"):
            out[key] += o.get(key, [])
        for key in ("cycles", "errors", "dropped"):
            out[key] += o.get(key, 0)
    out["rate"] = out["cycles"] / elapsed
    out["memory"] = (before, rss_mb(worker_pids(server_pid)))
    return out


HEADER = (f"{'row':<30} {'cycles/s':>8} {'next p50/p95/p99 ms':>21} {'submit p50/p95/p99 ms':>23} {'errors':>6} "
          f"{'ceiling':>7} {'memory MB':>11}")


def show(name: str, out: dict, ceiling_rate: float) -> str:
    def three(values: list[float]) -> str:
        return f"{pct(values, 50):.1f}/{pct(values, 95):.1f}/{pct(values, 99):.1f}"

    errors = f"{out['errors']}" + (f" {dict(sorted(Counter(out['statuses']).items()))}" if out["errors"] else "")
    line = (f"{name:<30} {out['rate']:8.1f} {three(out['next']):>21} {three(out['submit']):>23} {errors:>6} "
            f"{out['rate'] * 2 / ceiling_rate:7.1%} {out['memory'][0]:5.0f}>{out['memory'][1]:<5.0f}")
    return line + (f" dropped by the kill {out['dropped']}" if KILL else "")


def main() -> None:
    global PAID
    with tempfile.TemporaryDirectory(prefix="ann-bench-") as folder:
        config, tokens = prepare(folder)
        CONFIG.update(config)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "REDIS_URL": config["REDIS_URL"],
               "ANNOTATOR_SECRET_KEY": "bench", "ANNOTATOR_INSTANCE_PATH": folder,
               # The per-annotator limit (1,200 calls a minute) would cap one client at 10 cycles/s: lifted, as
               # this measures the server, not the fairness rule.
               "ANNOTATOR_LABELLING_PER_MINUTE": "1000000000"}
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", THREADS,
                                   "--bind", f"127.0.0.1:{port}", "annotator.app:create_app()"], env=env,
                                  stderr=subprocess.DEVNULL)
        fresh = iter(tokens[1:])

        def people(count: int) -> list[str]:
            return [next(fresh) for _ in range(count)]

        try:
            time.sleep(3)
            print(f"database: {config['DATABASE_URL'].split('@')[-1]}; gunicorn 2 workers x {THREADS} threads; "
                  f"{SECONDS:.0f} s a row")
            ceiling_rate = ceiling(port, 8, 5)
            print(f"trivial endpoint ceiling: {ceiling_rate:,.0f} requests/s (8 clients)\n{HEADER}", flush=True)
            results = {}
            for kind in ("free", "paid"):
                if kind not in ROWS:
                    continue
                PAID = kind == "paid"
                for clients in LEVELS:
                    name = f"{kind} N={clients}"
                    results[name] = run_row(port, [make_project(port, tokens[0])], people(clients), server.pid)
                    print(show(name, results[name], ceiling_rate), flush=True)
            PAID = False
            if "routed" in ROWS:  # issue 22: skill routing's cost on the hot path, against free N=8 (the ring)
                name = "free N=8, skill routing"
                results[name] = run_row(port, [make_project(port, tokens[0], routing="skill")], people(8), server.pid)
                print(show(name, results[name], ceiling_rate), flush=True)
                if "free N=8" in results:
                    print(f"skill routing: {results[name]['rate'] / results['free N=8']['rate']:.0%} of the ring's "
                          "cycles/s (the target: within 15%)", flush=True)
            if "big" in ROWS:
                project_id = big_project(config, port, tokens[0], BIG)
                name = f"free {BIG:,} tasks N=1"
                results[name] = run_row(port, [project_id], people(1), server.pid)
                print(show(name, results[name], ceiling_rate), flush=True)
            if "history" in ROWS:
                project_id = big_project(config, port, tokens[0], HISTORY + TASKS)
                veteran = people(1)
                long_history(config, project_id, veteran[0], HISTORY)
                name = f"free {HISTORY:,}-answer annotator"
                results[name] = run_row(port, [project_id], veteran, server.pid)
                print(show(name, results[name], ceiling_rate), flush=True)
            if "projects" in ROWS:
                PAID = True
                ids = [make_project(port, tokens[0]) for _ in range(PROJECTS)]
                name = f"paid {PROJECTS} projects x 8"
                results[name] = run_row(port, ids, people(PROJECTS * 8), server.pid)
                print(show(name, results[name], ceiling_rate), flush=True)
            growth(results)
            if "paid" in ROWS or "projects" in ROWS:
                check_ledger(config)
            if SOAK:
                soak(port, tokens, len(tokens) - 8, worker_pids(server.pid), config)
        finally:
            server.terminate()
            server.wait(timeout=20)
            stop_embedded()


def growth(results: dict) -> None:
    """The issue's growth target: p50s of the large rows within 20% of the 10,000-task fresh annotator's."""
    base = results.get("free N=1")
    if base is None:
        return
    for name, out in results.items():
        if "tasks N=1" in name or "answer annotator" in name:
            ratios = [pct(out[call], 50) / pct(base[call], 50) for call in ("next", "submit")]
            print(f"{name}: next p50 x{ratios[0]:.2f}, submit p50 x{ratios[1]:.2f} of the 10,000-task row "
                  f"({'within' if max(ratios) <= 1.2 else 'beyond'} the 20% target)")


if __name__ == "__main__":
    main()
