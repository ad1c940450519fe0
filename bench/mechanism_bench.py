"""Every reward mechanism on 10,000 tasks x 5 answers: what pricing a project's settlements costs.

A seeded crowd (incentives.simulate: 30 experts, 10 spammers, 5 constant, 5 colluders on the built-in 64-leaf
taxonomy, 10% gold) answers BENCH_MECHANISM_TASKS tasks (default 10,000), 5 answers each. Measured in the same
run:
- ours: the settlements (incentives.simulate.events) priced under every mechanism in turn
  (incentives.simulate.price_events: the per-task functions the ledger calls, the history kept in memory);
- the reference: the Dawid-Skene EM the quality report runs over the same answers
  (tasks.quality.inference.dawid_skene), a cost every project already pays.

Target: all four mechanisms in under 5 s on this machine. Wall time: best of 3; rerun on a busy machine.
The labelling hot path: the default mechanism (`agreement`) reads nothing more when a task settles; peer
prediction and gold read each of the task's workers' recent settlements (one query per worker, one for gold).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incentives import mechanisms as mech  # noqa: E402
from incentives import simulate as sim  # noqa: E402
from tasks.quality import inference as inf  # noqa: E402

TASKS = int(os.environ.get("BENCH_MECHANISM_TASKS", "10000"))
CROWD = {"expert": 30, "spammer": 10, "constant": 5, "colluders": 5}


def best_of(runs: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> None:
    crowd = sim.run_crowd(CROWD, TASKS, 5, 0.1, seed=7)
    given = sim.inputs(crowd)
    settlements = sim.events(crowd, given)
    per = {}
    for name in mech.REGISTRY:
        per[name], _ = best_of(3, lambda name=name: sim.price_events(settlements, name, {}, sim.STUDY_RATES,
                                                                      len(crowd.task)))
    total = sum(per.values())
    reference, _ = best_of(3, lambda: inf.dawid_skene(crowd.task, crowd.worker, crowd.label, crowd.n_tasks,
                                                      crowd.n_workers, crowd.n_labels))
    print(f"{TASKS:,} tasks, {len(crowd.task):,} answers, {len(settlements):,} settlements")
    for name, seconds in per.items():
        print(f"  {name:16} {seconds:6.2f} s")
    print(f"all mechanisms    {total:6.2f} s (target < 5 s: {'met' if total < 5 else 'MISSED'})")
    print(f"Dawid-Skene EM    {reference:6.2f} s  ratio {total / reference:.1f}x")


if __name__ == "__main__":
    main()
