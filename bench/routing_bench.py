"""Skill routing against the ring (issue 22): one crowd of specialists and generalists labels the same tasks through
the API (the app's whole HTTP stack, in-process), once per routing, and the consensus is scored against the truth.

The taxonomy has SUBTREES families of SPECIES species; the truth is uniform over the species. A specialist knows one
family (the species right SPECIALIST of the time) and elsewhere names the right family but a species at random
(chance: 1 in SPECIES). Everyone first answers GOLD_PER_FAMILY gold tasks of each family (the project's
warm-up): in a hard family the consensus of generalists is often wrong, so agreement with it cannot find the
expert there, gold can. A generalist always names the right family; the species right EASY of the time in the easy
families and HARD of the time in the hard ones (the first HARD_FAMILIES), else another species of the family.
Every run uses Dawid-Skene and a fixed overlap (dynamic overlap would stop at two answers that agree on the family,
backing off along the taxonomy, which is not the species); the annotators take turns asking for work until none is
left, and the minutely refresh of kept skills runs every REFRESH answers. Printed: the consensus accuracy on the
hard families and everywhere, for skill routing at OVERLAP answers a task and for the ring at OVERLAP, OVERLAP + 1
and OVERLAP + 2 (issue 22: skill routing is at least 10 points better on the hard families, or the ring needs at
least 30% more answers to match it). Also checked at small size by tests/api/test_routing_study.py.

BENCH_ROUTING_TASKS (default 400) and BENCH_ROUTING_SEED (default 7) change the run; SQLite and embedded Redis
unless DATABASE_URL / REDIS_URL are set.
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUBTREES, SPECIES, HARD_FAMILIES = 4, 4, 2
SPECIALIST, EASY, HARD = 0.95, 0.9, 0.4
SPECIALISTS, GENERALISTS = SUBTREES, 4
REFRESH = 60
GOLD_PER_FAMILY = 10  # gold tasks per family, answered first by everyone (warmup): how experts get found
OVERLAP = 3  # answers per task under skill routing (the budget); the ring is also run with 4 and 5


def taxonomy() -> list[dict]:
    return [{"id": f"f{family}", "name": f"Family {family}", "children": [
        {"id": f"f{family}s{species}", "name": f"Species {family}.{species}"} for species in range(SPECIES)]}
        for family in range(SUBTREES)]


@dataclass(frozen=True)
class Annotator:
    """Who answers how: `family` is a specialist's family (None for a generalist)."""

    name: str
    family: int | None

    def answer(self, truth: str, rng: random.Random) -> str:
        family, species = int(truth[1]), int(truth[3:])
        if self.family is not None:
            right = SPECIALIST if family == self.family else 1 / SPECIES
            if rng.random() < right:
                return truth
            return f"f{family}s{rng.choice([s for s in range(SPECIES) if s != species])}"
        right = HARD if family < HARD_FAMILIES else EASY
        if rng.random() < right:
            return truth
        return f"f{family}s{rng.choice([s for s in range(SPECIES) if s != species])}"


def crowd() -> list[Annotator]:
    return ([Annotator(f"specialist{f}", f) for f in range(SPECIALISTS)]
            + [Annotator(f"generalist{g}", None) for g in range(GENERALISTS)])


def run(app, routing: str, tasks: int, overlap: int, seed: int, run_name: str = "") -> dict:
    """One project of `overlap` answers a task labelled by the crowd under `routing`: the consensus accuracy."""
    from annotator.runtime import runtime
    from annotator.users import service
    from tasks import jobs
    from tasks.models import Project
    from tasks.quality.consensus import project_consensus

    rng = random.Random(seed)
    client = app.test_client()
    with app.app_context():
        session = runtime().session_factory()
        people = crowd()
        owner = service.register(session, runtime().passwords, email=f"owner-{run_name or routing}-{seed}@bench.org",
                                 password="bench-pass-1", display_name="Owner")
        users = [service.register(session, runtime().passwords, email=f"{a.name}-{run_name or routing}-{seed}@bench.org",
                                  password="bench-pass-1", display_name=a.name) for a in people]
        session.commit()
        tokens = [{"Authorization": f"Bearer {service.create_token(session, u, 'bench')[1]}"} for u in [owner, *users]]
        session.commit()
        session.close()
    owner_headers, headers = tokens[0], tokens[1:]
    truths = [f"f{rng.randrange(SUBTREES)}s{rng.randrange(SPECIES)}" for _ in range(tasks)]
    project = client.post("/api/v1/projects", headers=owner_headers, json={
        "name": f"routing {routing}", "media_type": "text", "visibility": "public", "overlap": overlap,
        "aggregation": "dawid_skene", "routing": routing,
        "qualification": {"warmup_gold": SUBTREES * GOLD_PER_FAMILY, "min_gold_accuracy": 0.0}, "label_schema": {"tools": ["classify"], "labels": taxonomy()}}).get_json()
    gold = [f"f{family}s{rng.randrange(SPECIES)}" for family in range(SUBTREES) for _ in range(GOLD_PER_FAMILY)]
    rows = [{"data": {"text": f"item {n}"}} for n in range(tasks)]
    rows += [{"data": {"text": f"gold {n}"}, "gold": {"labels": [label]}} for n, label in enumerate(gold)]
    assert client.post(f"/api/v1/projects/{project['id']}/tasks", json=rows, headers=owner_headers).status_code == 201
    truth_of, gold_ids = {}, set()
    for page in range(1, len(rows) // 500 + 2):
        for task in client.get(f"/api/v1/projects/{project['id']}/tasks?per_page=500&page={page}",
                               headers=owner_headers).get_json()["items"]:
            kind, number = task["data"]["text"].split()
            truth_of[task["id"]] = (truths if kind == "item" else gold)[int(number)]
            if kind == "gold":
                gold_ids.add(task["id"])
    answered, done = 0, set()
    while len(done) < len(people):
        for index, person in enumerate(people):
            if index in done:
                continue
            response = client.post(f"/api/v1/projects/{project['id']}/next", headers=headers[index])
            if response.status_code == 204:
                done.add(index)
                continue
            lease = response.get_json()
            label = person.answer(truth_of[lease["task"]["id"]], rng)
            assert client.post(f"/api/v1/assignments/{lease['assignment']['id']}/annotation", headers=headers[index],
                               json={"result": {"labels": [label]}}).status_code == 201
            answered += 1
            if answered % REFRESH == 0:
                with app.app_context():
                    jobs.refresh_quality()
    with app.app_context():
        session = runtime().session_factory()
        found = project_consensus(session, session.get(Project, project["id"]))
        session.close()
    right = {task_id: bool(found.get(task_id) and (found[task_id].result or {}).get("labels") == [truth])
             for task_id, truth in truth_of.items() if task_id not in gold_ids}  # scored on the items, not gold
    hard = [task_id for task_id in right if int(truth_of[task_id][1]) < HARD_FAMILIES]
    return {"answers": answered, "hard": sum(right[t] for t in hard) / len(hard),
            "all": sum(right.values()) / len(right)}


def study(app, tasks: int, seed: int) -> dict[str, dict]:
    """Skill routing at OVERLAP answers a task; the ring at OVERLAP and at one and two answers more (1.33x, 1.67x)."""
    return {f"skill {OVERLAP}": run(app, "skill", tasks, OVERLAP, seed),
            **{f"ring {overlap}": run(app, "ring", tasks, overlap, seed, f"ring{overlap}")
               for overlap in (OVERLAP, OVERLAP + 1, OVERLAP + 2)}}


def main() -> None:
    from annotator.app import create_app
    from annotator.models import Base
    from annotator.runtime import embedded_redis_url, runtime, stop_embedded

    tasks = int(os.environ.get("BENCH_ROUTING_TASKS", 400))
    seed = int(os.environ.get("BENCH_ROUTING_SEED", 7))
    with tempfile.TemporaryDirectory(prefix="ann-routing-") as folder:
        config = {"SECRET_KEY": "bench", "INSTANCE_PATH": folder,
                  "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db",
                  "REDIS_URL": os.environ.get("REDIS_URL") or embedded_redis_url(folder),
                  "ANNOTATOR_ARGON2_TIME_COST": 1, "ANNOTATOR_ARGON2_MEMORY_KIB": 1024,
                  "ANNOTATOR_ARGON2_PARALLELISM": 1, "ANNOTATOR_LABELLING_PER_MINUTE": 10**9}
        app = create_app(config)
        Base.metadata.drop_all(runtime(app).engine)
        Base.metadata.create_all(runtime(app).engine)
        started = time.perf_counter()
        try:
            results = study(app, tasks, seed)
        finally:
            stop_embedded()
    print(f"routing study: {tasks} tasks, {SPECIALISTS} specialists ({SPECIALIST:.0%} in their family, chance "
          f"elsewhere), {GENERALISTS} generalists ({EASY:.0%} easy, {HARD:.0%} hard families), seed {seed}, "
          f"{time.perf_counter() - started:.0f} s")
    print(f"{'run':<12} {'answers':>8} {'hard families':>14} {'all':>6}")
    for name, row in results.items():
        print(f"{name:<12} {row['answers']:8d} {row['hard']:14.1%} {row['all']:6.1%}")
    skill, ring = results[f"skill {OVERLAP}"], results[f"ring {OVERLAP}"]
    gain = skill["hard"] - ring["hard"]
    matched = [row["answers"] for name, row in results.items() if name.startswith("ring") and row["hard"] >= skill["hard"]]
    print(f"skill routing vs the ring at the same answers: {gain * 100:+.1f} points on the hard families; the ring "
          + (f"matches it with {matched[0] / skill['answers'] - 1:+.0%} answers" if matched
             else f"does not match it even with {OVERLAP + 2} answers a task ({(OVERLAP + 2) / OVERLAP - 1:+.0%})"))


if __name__ == "__main__":
    main()
