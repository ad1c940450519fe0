"""The crowd simulator: a seeded synthetic crowd answering a task flow on a real taxonomy, so reward mechanisms
can be compared on the same answers before any money moves. Pure numpy: no session, no Flask.

The taxonomy is a project's own (its label tree as parent indices) or BUILTIN: 4 kingdoms x 4 genera x 4
species, three levels and 64 leaves. True labels are leaves drawn from a Zipf-like prior (weight 1 / rank), so
"the most common label" means something. Agent strategies, each one model:

- `expert`: a skill per top-level subtree, uniform in [0.70, 0.95]; right with that probability, else a
  sibling of the truth (same parent) 70% of the time and any leaf under the same top-level label otherwise:
  experts' errors fall near the truth.
- `novice`: the right leaf 35% of the time, its parent 40% (a genus for the species), a leaf under the same
  top-level label 25%.
- `spammer`: a leaf uniformly at random.
- `constant`: always the most common leaf of the prior: uninformative collusion (everyone who does it agrees).
- `colluders`: one clique answering a leaf picked by a hash of the task and the clique's key, so the clique
  agrees on every task it shares and tells nothing about the truth.
- `gold_sniffer`: takes a task for gold when it is (80%) and sometimes when it is not (5%); answers as a
  0.9-skill expert on what it takes for gold and uniformly at random elsewhere.
- `copycat`: the current plurality of the task's earlier answers (ties: the lower label), at random when it is
  the first.

Task flow: tasks in order, `gold_ratio` of them gold (their truth known to the platform), each answered by
`overlap` distinct agents drawn uniformly, in the order drawn (so a copycat sees the answers before it). With
dynamic overlap (`dynamic`: min_overlap, max_overlap, confidence_target, as a project sets it), a task takes
answers until it has `min_overlap` whose majority share (backing off along the taxonomy, as
tasks.quality.scores.answer_confidence) reaches the target, or `max_overlap` (gold tasks: `overlap`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from annotator.errors import InvalidInput

STRATEGIES = ("expert", "novice", "spammer", "constant", "colluders", "gold_sniffer", "copycat")
MAX_TASKS = 100_000
MAX_AGENTS = 1_000
MAX_ANSWERS = 500_000  # tasks x overlap: what one simulation may generate


def builtin_taxonomy(kingdoms: int = 4, genera: int = 4, species: int = 4) -> np.ndarray:
    """Parent index per label (-1 at the top): kingdoms first, then their genera, then the species (leaves)."""
    parents = [-1] * kingdoms
    parents += [k for k in range(kingdoms) for _ in range(genera)]
    first_genus = kingdoms
    parents += [first_genus + g for g in range(kingdoms * genera) for _ in range(species)]
    return np.array(parents, dtype=np.int64)


BUILTIN = builtin_taxonomy()


@dataclass(frozen=True)
class Tree:
    """A taxonomy as the simulator walks it: parents, leaves, each label's top-level ancestor."""

    parent: np.ndarray
    leaves: np.ndarray = field(init=False)
    top: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        parent = np.asarray(self.parent, dtype=np.int64)
        has_child = np.zeros(len(parent), dtype=bool)
        has_child[parent[parent >= 0]] = True
        top = np.arange(len(parent))
        for _ in range(len(parent)):  # climb until every label names its root (depth steps at most)
            up = parent[top]
            moved = up >= 0
            if not moved.any():
                break
            top = np.where(moved, up, top)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "leaves", np.flatnonzero(~has_child))
        object.__setattr__(self, "top", top)

    def siblings(self, label: int) -> np.ndarray:
        """The other leaves with the same parent (none for a top-level leaf)."""
        if self.parent[label] < 0:
            return np.zeros(0, dtype=np.int64)
        same = self.leaves[self.parent[self.leaves] == self.parent[label]]
        return same[same != label]

    def cousins(self, label: int) -> np.ndarray:
        """The other leaves under the same top-level label."""
        same = self.leaves[self.top[self.leaves] == self.top[label]]
        return same[same != label]


@dataclass(frozen=True)
class Crowd:
    """What a simulation ran: per task its truth and whether it is gold; per answer (in answer order) its task,
    worker and label; per worker its strategy."""

    truth: np.ndarray       # per task, its true leaf
    gold: np.ndarray        # per task, bool
    task: np.ndarray        # per answer
    worker: np.ndarray      # per answer
    label: np.ndarray       # per answer
    strategy: list[str]     # per worker
    n_labels: int

    @property
    def n_tasks(self) -> int:
        return len(self.truth)

    @property
    def n_workers(self) -> int:
        return len(self.strategy)


def check(counts: dict[str, int], tasks: int, overlap: int, gold_ratio: float, dynamic: dict | None = None) -> None:
    """Refuse what cannot be simulated: InvalidInput (422) naming the field."""
    unknown = sorted(set(counts) - set(STRATEGIES))
    if unknown:
        raise InvalidInput({f"crowd.{unknown[0]}": [f"unknown strategy; use {', '.join(STRATEGIES)}"]})
    for name, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidInput({f"crowd.{name}": ["a number of agents is a whole number, 0 or more"]})
    agents = sum(counts.values())
    if agents == 0:
        raise InvalidInput({"crowd": ["a crowd needs at least one agent"]})
    if agents > MAX_AGENTS:
        raise InvalidInput({"crowd": [f"at most {MAX_AGENTS:,} agents, not {agents:,}"]})
    if not 1 <= tasks <= MAX_TASKS:
        raise InvalidInput({"tasks": [f"1 to {MAX_TASKS:,} tasks, not {tasks:,}"]})
    if not 1 <= overlap <= agents:
        raise InvalidInput({"overlap": [f"each task needs 1 to {agents} distinct agents (the crowd's size), not {overlap}"]})
    most = max(overlap, dynamic["max_overlap"]) if dynamic else overlap
    if dynamic:
        low, high, target = dynamic.get("min_overlap"), dynamic.get("max_overlap"), dynamic.get("confidence_target")
        if not isinstance(low, int) or isinstance(low, bool) or not 1 <= low <= overlap:
            raise InvalidInput({"dynamic_overlap.min_overlap": [f"a whole number from 1 to the overlap ({overlap})"]})
        if not isinstance(high, int) or isinstance(high, bool) or not overlap <= high <= agents:
            raise InvalidInput({"dynamic_overlap.max_overlap": [
                f"a whole number from the overlap ({overlap}) to the crowd's size ({agents})"]})
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise InvalidInput({"dynamic_overlap.confidence_target": ["a share above 0, at most 1"]})
    if tasks * most > MAX_ANSWERS:
        raise InvalidInput({"tasks": [f"at most {MAX_ANSWERS:,} answers (tasks x overlap), not {tasks * most:,}"]})
    if not 0.0 <= gold_ratio < 1.0:
        raise InvalidInput({"gold_ratio": ["a share from 0 to below 1"]})


def confidence(tree: Tree, said: list[int], threshold: float) -> float:
    """tasks.quality.scores.answer_confidence on label indices: the majority share, backing off to the nearest
    ancestor whose share reaches `threshold` (never to the only top-level label)."""
    mass: dict[int, float] = {}
    for label in said:
        node = label
        while node >= 0:
            mass[node] = mass.get(node, 0.0) + 1 / len(said)
            node = int(tree.parent[node])
    best = max(set(said), key=lambda label: (said.count(label), label))
    single_root = int((tree.parent < 0).sum()) == 1
    node = best
    while node >= 0:
        if node != best and single_root and tree.parent[node] < 0:
            break
        if mass[node] >= threshold:
            return mass[node]
        node = int(tree.parent[node])
    return mass[best]


def run_crowd(counts: dict[str, int], tasks: int, overlap: int, gold_ratio: float = 0.0, *,
              parents: np.ndarray | None = None, seed: int = 0, dynamic: dict | None = None) -> Crowd:
    """Generate every answer of the task flow (see the module docstring)."""
    check(counts, tasks, overlap, gold_ratio, dynamic)
    tree = Tree(BUILTIN if parents is None else np.asarray(parents, dtype=np.int64))
    rng = np.random.default_rng(seed)
    strategy = [name for name in STRATEGIES for _ in range(counts.get(name, 0))]
    prior = 1.0 / np.arange(1, len(tree.leaves) + 1)
    prior /= prior.sum()
    order = rng.permutation(tree.leaves)  # which leaf is common is itself random
    truth = rng.choice(order, size=tasks, p=prior)
    gold = np.zeros(tasks, dtype=bool)
    gold[rng.choice(tasks, size=int(round(gold_ratio * tasks)), replace=False)] = True
    most_common = int(order[0])
    skill = rng.uniform(0.70, 0.95, size=(len(strategy), len(tree.parent)))  # per agent and top-level label
    clique_key = int(rng.integers(2**31))
    agents = Agents(tree, rng, skill, most_common, clique_key)
    task_of, worker_of, label_of = [], [], []
    for t in range(tasks):
        most = dynamic["max_overlap"] if dynamic and not gold[t] else overlap
        chosen = rng.choice(len(strategy), size=most, replace=False)
        said: list[int] = []
        for w in chosen:
            said.append(agents.answer(strategy[w], int(w), t, int(truth[t]), bool(gold[t]), said))
            if dynamic and not gold[t] and len(said) >= dynamic["min_overlap"] and \
                    confidence(tree, said, dynamic["confidence_target"]) >= dynamic["confidence_target"]:
                break
        task_of.extend([t] * len(said))
        worker_of.extend(int(w) for w in chosen[:len(said)])
        label_of.extend(said)
    return Crowd(truth.astype(np.int64), gold, np.array(task_of, dtype=np.int64), np.array(worker_of, dtype=np.int64),
                 np.array(label_of, dtype=np.int64), strategy, len(tree.parent))


@dataclass
class Agents:
    """The strategies' answers (one method per strategy, as the module docstring describes them)."""

    tree: Tree
    rng: np.random.Generator
    skill: np.ndarray
    most_common: int
    clique_key: int

    def answer(self, strategy: str, worker: int, task: int, truth: int, gold: bool, earlier: list[int]) -> int:
        return int(getattr(self, strategy)(worker, task, truth, gold, earlier))

    def _pick(self, options: np.ndarray, fallback: int) -> int:
        return int(self.rng.choice(options)) if len(options) else fallback

    def _careful(self, skill: float, truth: int) -> int:
        if self.rng.random() < skill:
            return truth
        if self.rng.random() < 0.7:
            return self._pick(self.tree.siblings(truth), self._pick(self.tree.cousins(truth), truth))
        return self._pick(self.tree.cousins(truth), truth)

    def expert(self, worker, task, truth, gold, earlier):
        return self._careful(float(self.skill[worker, self.tree.top[truth]]), truth)

    def novice(self, worker, task, truth, gold, earlier):
        roll = self.rng.random()
        if roll < 0.35:
            return truth
        if roll < 0.75 and self.tree.parent[truth] >= 0:
            return int(self.tree.parent[truth])
        return self._pick(self.tree.cousins(truth), truth)

    def spammer(self, worker, task, truth, gold, earlier):
        return int(self.rng.choice(self.tree.leaves))

    def constant(self, worker, task, truth, gold, earlier):
        return self.most_common

    def colluders(self, worker, task, truth, gold, earlier):
        digest = hashlib.blake2b(f"{self.clique_key}:{task}".encode(), digest_size=8).digest()
        return int(self.tree.leaves[int.from_bytes(digest, "big") % len(self.tree.leaves)])

    def gold_sniffer(self, worker, task, truth, gold, earlier):
        takes_for_gold = self.rng.random() < (0.8 if gold else 0.05)
        return self._careful(0.9, truth) if takes_for_gold else self.spammer(worker, task, truth, gold, earlier)

    def copycat(self, worker, task, truth, gold, earlier):
        if not earlier:
            return self.spammer(worker, task, truth, gold, earlier)
        values, counts = np.unique(earlier, return_counts=True)
        return int(values[np.argmax(counts)])


# ------------------------------------------------------------------------------------------------------
# Pricing a crowd under every mechanism
# ------------------------------------------------------------------------------------------------------

STUDY_RATES = {"per_annotation": 10, "agreement_bonus": 90}  # the bonus carries the incentive
# The crowds incentives/STUDY.md compares the mechanisms on (20 agents each, but "many casual": 200).
STANDARD_CROWDS = {
    "mostly honest": {"expert": 16, "novice": 4},
    "30% spammers": {"expert": 14, "spammer": 6},
    "20% constant colluders": {"expert": 16, "constant": 4},
    "a clique of 5": {"expert": 15, "colluders": 5},
    "gold sniffers": {"expert": 14, "gold_sniffer": 6},
    "copycats": {"expert": 14, "copycat": 6},
    "mixed": {"expert": 12, "spammer": 3, "constant": 2, "colluders": 3},
    "many casual, 30% spammers": {"expert": 140, "spammer": 60},
}


def targets(results: dict[str, dict]) -> dict[str, bool | None]:
    """The issue's targets for one mechanism, from its summaries on the standard crowds (crowd name -> the
    mechanism's `summarise`): None when a crowd it needs was not run."""
    def pay(crowd: str, strategy: str) -> float | None:
        found = results.get(crowd)
        return found["by_strategy"][strategy]["pay_per_answer"] if found else None

    def check(a: float | None, b: float | None, holds) -> bool | None:
        return None if a is None or b is None else bool(holds(a, b))
    return {"experts earn 3x spammers": check(pay("30% spammers", "expert"), pay("30% spammers", "spammer"),
                                              lambda e, s: e >= 3 * s),
            "constant earns no more than spammers": check(pay("mixed", "constant"), pay("mixed", "spammer"),
                                                          lambda c, s: c <= s),
            "a clique earns less than experts": check(pay("a clique of 5", "colluders"), pay("a clique of 5", "expert"),
                                                      lambda c, e: c < e),
            "gold sniffers earn less than experts": check(pay("gold sniffers", "gold_sniffer"),
                                                          pay("gold sniffers", "expert"), lambda g, e: g < e)}


@dataclass(frozen=True)
class Inputs:
    """What the mechanisms see of a simulated crowd, per answer in answer order."""

    consensus: np.ndarray   # per task, its majority label after the taxonomy back-off, -1 without one
    score: np.ndarray       # per answer, 1 - taxonomy distance to the consensus; on gold, its gold credit
    posterior: np.ndarray   # per answer, the share of the task's answers within its label's subtree


def gold_credit(taxonomy, given: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """tasks.gold's credit for one label against the gold label, on arrays: 1 when equal, an ancestor of the
    truth earns its depth over the truth's depth ("Warbler" for "Yellow Warbler" in a 3-level tree: 2/3),
    anything else 0."""
    path = taxonomy.ancestors[truth]                     # answers x depth, the truth's path from its root
    at = path == given[:, None]
    depth = (path >= 0).sum(axis=1)
    return np.where(at.any(axis=1), (at.argmax(axis=1) + 1) / depth, 0.0)


def subtree_share(taxonomy, labels: np.ndarray) -> np.ndarray:
    """Per answer, the share of these answers (one task's) whose label lies in its label's subtree: the
    posterior of its being right under the task's vote shares."""
    inside = (taxonomy.ancestors[labels][None, :, :] == labels[:, None, None]).any(axis=2)
    return inside.mean(axis=1)


def inputs(crowd: Crowd, parents: np.ndarray | None = None, threshold: float = 0.5) -> Inputs:
    """The consensus as a settlement sees it: each task's own majority vote (tasks.quality.inference) with the
    taxonomy back-off at `threshold`; each answer's agreement score against it (its gold credit on gold) and
    the vote share of its label's subtree."""
    from tasks.quality import agreement as ag
    from tasks.quality import inference as inf

    taxonomy = ag.Taxonomy.from_parents(BUILTIN if parents is None else parents)
    found = inf.majority_vote(crowd.task, crowd.worker, crowd.label, crowd.n_tasks, crowd.n_workers, crowd.n_labels)
    consensus, _ = inf.back_off(found.posterior, taxonomy.ancestors, threshold)
    distance = taxonomy.distance()
    target = consensus[crowd.task]
    score = np.where(target >= 0, 1.0 - distance(crowd.label, np.maximum(target, 0)), 0.0)
    on_gold = crowd.gold[crowd.task]
    score[on_gold] = gold_credit(taxonomy, crowd.label[on_gold], crowd.truth[crowd.task[on_gold]])
    under = (taxonomy.ancestors[None, :, :] == np.arange(crowd.n_labels)[:, None, None]).any(axis=2)
    posterior = (found.posterior[crowd.task] * under[crowd.label]).sum(axis=1)
    return Inputs(consensus, score, posterior)


def settlement(taxonomy, workers: np.ndarray, labels: np.ndarray, truth: int | None = None,
               threshold: float = 0.5):
    """One task's answers as a settlement prices them: against the task's own majority with the taxonomy
    back-off (or, with a gold `truth`, each one's gold credit), with the vote share of each label's subtree."""
    from incentives import mechanisms as mech
    from tasks.quality import inference as inf

    labels = np.asarray(labels, dtype=np.int64)
    if truth is not None:
        score = gold_credit(taxonomy, labels, np.full(len(labels), truth))
    else:
        shares = np.bincount(labels, minlength=len(taxonomy.parent)).astype(np.float64)[None, :] / len(labels)
        consensus = int(inf.back_off(shares, taxonomy.ancestors, threshold)[0][0])
        score = 1.0 - taxonomy.distance()(labels, np.full(len(labels), consensus))
    return mech.TaskAnswers(np.asarray(workers), labels, score, subtree_share(taxonomy, labels), truth is not None)


@dataclass(frozen=True)
class Event:
    """One settlement: the task's answers so far (`answers`) and which of them it pays (`paid`, their rows in
    the crowd's answer order). A task settles its answers together when it completes; a gold task settles
    each answer as it arrives, against the answers before it (as incentives.payments does)."""

    answers: object   # incentives.mechanisms.TaskAnswers
    paid: np.ndarray  # indices into `answers` this settlement pays
    rows: np.ndarray  # those answers' rows in the crowd


def events(crowd: Crowd, given: Inputs, parents: np.ndarray | None = None) -> list[Event]:
    """The crowd's settlements in order: tasks in task order, a gold task's answers one at a time."""
    from incentives import mechanisms as mech
    from tasks.quality import agreement as ag

    taxonomy = ag.Taxonomy.from_parents(BUILTIN if parents is None else parents)
    starts = np.searchsorted(crowd.task, np.arange(crowd.n_tasks + 1))
    out = []
    for t in range(crowd.n_tasks):
        rows = np.arange(starts[t], starts[t + 1])
        if not crowd.gold[t]:
            answers = mech.TaskAnswers(crowd.worker[rows], crowd.label[rows], given.score[rows],
                                       given.posterior[rows], False)
            out.append(Event(answers, np.arange(len(rows)), rows))
            continue
        for k in range(1, len(rows) + 1):
            seen = rows[:k]
            answers = mech.TaskAnswers(crowd.worker[seen], crowd.label[seen], given.score[seen],
                                       subtree_share(taxonomy, crowd.label[seen]), True)
            out.append(Event(answers, np.array([k - 1]), rows[k - 1:k]))
    return out


def price_events(settlements: list[Event], mechanism: str, params: dict | None, rates: dict,
                 n_answers: int) -> np.ndarray:
    """What each answer earns under `mechanism`, in minor units (the base plus the bonus times its share,
    rounded down as incentives.rules does), the settlements priced in order with the history kept in memory."""
    from incentives import mechanisms as mech

    params = mech.validate(mechanism, params)
    memory = mech.Memory(window=int(params.get("window", mech.REGISTRY["peer_prediction"].params["window"].default)))
    paid = np.zeros(n_answers, dtype=np.int64)
    for event in settlements:
        priced = mech.price(mechanism, params, event.answers, memory.history(event.answers), keep_peer_score=False)
        memory.record(event.answers.take(event.paid), priced.peer_score[event.paid])
        paid[event.rows] = rates["per_annotation"] + (rates["agreement_bonus"] * priced.fraction[event.paid]).astype(np.int64)
    return paid


def price_crowd(crowd: Crowd, given: Inputs, mechanism: str, params: dict | None = None,
                rates: dict | None = None, parents: np.ndarray | None = None) -> np.ndarray:
    """What each answer of the crowd earns under `mechanism` (see `events`, `price_events`)."""
    return price_events(events(crowd, given, parents), mechanism, params, rates or STUDY_RATES, len(crowd.task))


def summarise(crowd: Crowd, given: Inputs, mechanism: str, paid: np.ndarray) -> dict:
    """Per strategy: agents, answers, pay per answer, total and share of the budget; the consensus accuracy
    (non-gold tasks), the cost per correct label and the ratios the study compares."""
    strategy = np.array(crowd.strategy)[crowd.worker]
    by = {}
    for name in STRATEGIES:
        mine = strategy == name
        agents = crowd.strategy.count(name)
        if agents:
            by[name] = {"agents": agents, "answers": int(mine.sum()),
                        "pay_per_answer": round(float(paid[mine].mean()), 3) if mine.any() else None,
                        "total": int(paid[mine].sum()),
                        "share": round(float(paid[mine].sum() / max(paid.sum(), 1)), 4)}
    plain = ~crowd.gold
    correct = int((given.consensus[plain] == crowd.truth[plain]).sum())

    def ratio(a: str, b: str) -> float | None:
        x, y = (by.get(k, {}).get("pay_per_answer") for k in (a, b))
        return round(x / y, 3) if x is not None and y else None
    return {"id": mechanism, "accuracy": round(correct / max(int(plain.sum()), 1), 4),
            "cost_per_correct": round(float(paid.sum()) / correct, 2) if correct else None,
            "by_strategy": by, "ratios": {"expert/spammer": ratio("expert", "spammer"),
                                          "colluders/expert": ratio("colluders", "expert"),
                                          "constant/spammer": ratio("constant", "spammer"),
                                          "gold_sniffer/expert": ratio("gold_sniffer", "expert")}}


def study(counts: dict[str, int], tasks: int, overlap: int, gold_ratio: float = 0.0, *, rates: dict | None = None,
          mechanisms: dict[str, dict] | None = None, parents: np.ndarray | None = None, seed: int = 0,
          dynamic: dict | None = None, progress=None) -> dict:
    """Run the crowd once and price the same answers under every mechanism (`mechanisms`: id -> params; all
    with their defaults when None). `progress(share)` is called after each mechanism."""
    from incentives import mechanisms as mech

    chosen = mechanisms if mechanisms is not None else {m: {} for m in mech.REGISTRY}
    for name, params in chosen.items():
        mech.validate(name, params, field_name=f"mechanisms.{name}")
    crowd = run_crowd(counts, tasks, overlap, gold_ratio, parents=parents, seed=seed, dynamic=dynamic)
    given = inputs(crowd, parents)
    settlements = events(crowd, given, parents)
    out = []
    for n, (name, params) in enumerate(chosen.items(), start=1):
        paid = price_events(settlements, name, params, rates or STUDY_RATES, len(crowd.task))
        out.append(summarise(crowd, given, name, paid))
        if progress:
            progress(n / len(chosen))
    return {"mechanisms": out, "answers": len(crowd.task), "tasks": crowd.n_tasks, "seed": seed,
            "rates": rates or STUDY_RATES}


def table(result: dict) -> str:
    """A study's result as plain text: per mechanism, its consensus accuracy, cost per correct label and pay per
    answer per strategy (what `annotator simulate` prints)."""
    strategies = [s for s in STRATEGIES if s in result["mechanisms"][0]["by_strategy"]]
    head = f"{'mechanism':<16} {'accuracy':>8} {'cost/correct':>12} " + " ".join(f"{s:>12}" for s in strategies)
    lines = [f"{result['tasks']:,} tasks, {result['answers']:,} answers, seed {result['seed']}; pay per answer "
             f"(base {result['rates']['per_annotation']}, bonus up to {result['rates']['agreement_bonus']}):", head]
    for found in result["mechanisms"]:
        cost = found["cost_per_correct"]
        lines.append(f"{found['id']:<16} {found['accuracy']:>8.3f} {('-' if cost is None else f'{cost:.1f}'):>12} "
                     + " ".join(f"{found['by_strategy'][s]['pay_per_answer']:>12.1f}" for s in strategies))
    return "\n".join(lines)
