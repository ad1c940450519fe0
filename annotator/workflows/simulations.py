"""Simulations: a crowd simulated and priced under every reward mechanism by the worker, for whoever asks.

Checked before anything is written (422 naming the field), run once by the RQ worker (its progress after the
crowd and after each mechanism), seen only by its creator and administrators (404 for others)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from annotator import queue
from annotator.errors import InvalidInput, NotFound, RateLimited
from annotator.users.models import User
from incentives import mechanisms as mech
from incentives import simulate
from incentives.models import Simulation
from tasks import projects
from tasks.quality.answers import labels_of


MAX_WAITING = 16  # queued or running per person: the Incentives page starts 8 at once


def start(db: Session, user: User, body: dict[str, Any], now: dt.datetime) -> Simulation:
    """Check the request, keep it, and queue its run after the caller commits; 429 while the caller already
    has MAX_WAITING simulations waiting or running (the worker's time is shared)."""
    crowd, tasks, overlap, gold_ratio = body["crowd"], body["tasks"], body["overlap"], body["gold_ratio"]
    if not isinstance(crowd, dict):
        raise InvalidInput({"crowd": ["an object of strategy names to numbers of agents"]})
    dynamic = body.get("dynamic_overlap")
    simulate.check(crowd, tasks, overlap, gold_ratio, dynamic)
    rewards = dict(body.get("rewards") or {})
    rates = {"per_annotation": int(rewards.get("per_annotation", simulate.STUDY_RATES["per_annotation"])),
             "agreement_bonus": int(rewards.get("agreement_bonus", simulate.STUDY_RATES["agreement_bonus"]))}
    mechanisms = {name: mech.validate(name, {}) for name in mech.REGISTRY}
    if rewards.get("mechanism") is not None or rewards.get("mechanism_params") is not None:
        name = rewards.get("mechanism") or mech.DEFAULT
        mechanisms[name] = mech.validate(name, rewards.get("mechanism_params"))
    parents = None
    project_id = body.get("project_id")
    if project_id is not None:
        try:
            project = projects.visible(db, project_id, user)
        except NotFound:
            raise InvalidInput({"project_id": ["no project of that id that you can see"]}) from None
        parents = [int(p) for p in labels_of(project).parent]
        if len(simulate.Tree(parents).leaves) < 2:
            raise InvalidInput({"project_id": ["its taxonomy needs at least two labels to answer with"]})
        if dynamic is None and project.dynamic_overlap:  # the project's task flow, unless the request sets one
            dynamic = dict(project.dynamic_overlap)
            try:
                simulate.check(crowd, tasks, overlap, gold_ratio, dynamic)
            except InvalidInput as error:
                raise InvalidInput({"project_id": [f"its dynamic overlap does not fit this crowd: {error}"]}) from None
    waiting = db.scalar(select(func.count()).select_from(Simulation).where(
        Simulation.created_by == user.id, Simulation.status.in_(("queued", "running"))))
    if waiting >= MAX_WAITING:
        raise RateLimited(30, f"You have {waiting} simulations waiting or running; let them finish first.")
    row = Simulation(created_by=user.id, project_id=project_id, status="queued", progress=0.0, created_at=now,
                     params={"crowd": crowd, "tasks": tasks, "overlap": overlap, "gold_ratio": gold_ratio,
                             "rates": rates, "mechanisms": mechanisms, "parents": parents,
                             "dynamic_overlap": dynamic, "seed": body.get("seed") or 0})
    db.add(row)
    db.flush()
    queue.enqueue_simulation(db, row.id)
    return row


def seen(db: Session, simulation_id: int, user: User) -> Simulation:
    """A simulation for its creator or an administrator; 404 for everyone else."""
    row = db.get(Simulation, simulation_id)
    if row is None or (row.created_by != user.id and not user.is_admin):
        raise NotFound("No such simulation.")
    return row


def run(factory: sessionmaker, simulation_id: int, now) -> None:
    """The worker's part: run the crowd and price it, writing progress as it goes; a finished one is left be."""
    with factory() as db:
        row = db.get(Simulation, simulation_id)
        if row is None or row.status in ("completed", "failed"):
            return
        row.status, row.progress = "running", 0.0
        db.commit()
        params = dict(row.params)

    def progress(share: float) -> None:
        with factory() as db:
            db.get(Simulation, simulation_id).progress = round(0.1 + 0.9 * share, 4)
            db.commit()

    try:
        result = simulate.study(params["crowd"], params["tasks"], params["overlap"], params["gold_ratio"],
                                rates=params["rates"], mechanisms=params["mechanisms"],
                                parents=params["parents"], seed=params["seed"],
                                dynamic=params.get("dynamic_overlap"), progress=progress)
    except Exception as error:
        with factory() as db:
            row = db.get(Simulation, simulation_id)
            row.status, row.error, row.finished_at = "failed", f"{type(error).__name__}: {error}", now()
            db.commit()
        raise
    with factory() as db:
        row = db.get(Simulation, simulation_id)
        row.status, row.progress, row.result, row.finished_at = "completed", 1.0, result, now()
        db.commit()
