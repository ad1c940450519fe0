"""The order `next` hands tasks out in: tasks others started first, then fresh ones, along each annotator's ring."""
from __future__ import annotations

from sqlalchemy import update

from tasks.assignment import STARTED_WINDOW
from tasks.models import Task
from tests.factories import answer, label_all, nxt, text_tasks


def test_a_task_someone_started_is_offered_before_fresh_ones(client, owner, annotators):
    project = text_tasks(client, owner, count=30, overlap=3)
    first = nxt(client, project, annotators[0]).get_json()
    assert answer(client, first, annotators[0]).status_code == 201
    for other in annotators[1:3]:
        assert nxt(client, project, other).get_json()["task"]["id"] == first["task"]["id"]


def test_a_started_task_behind_you_comes_before_fresh_ones_ahead(client, owner, annotators, db):
    project = text_tasks(client, owner, count=10, overlap=3)
    mine = nxt(client, project, annotators[1]).get_json()
    assert answer(client, mine, annotators[1]).status_code == 201
    theirs = nxt(client, project, annotators[0]).get_json()  # annotator 0 gets the started one ...
    assert theirs["task"]["id"] == mine["task"]["id"]
    assert answer(client, theirs, annotators[0]).status_code == 201
    fresh = nxt(client, project, annotators[0]).get_json()  # ... then a fresh one
    assert answer(client, fresh, annotators[0]).status_code == 201
    # Annotator 1 in the middle of the ring, untouched tasks just ahead of them, and annotator 0's second
    # task (now started) at the very start, behind them.
    db.execute(update(Task).where(Task.project_id == project["id"]).values(rank=2**27 + 1))
    db.execute(update(Task).where(Task.id == mine["task"]["id"]).values(rank=2**27))
    db.execute(update(Task).where(Task.id == fresh["task"]["id"]).values(rank=0))
    db.commit()
    assert nxt(client, project, annotators[1]).get_json()["task"]["id"] == fresh["task"]["id"]


def test_more_waiting_answers_than_the_window_still_reach_every_task_once(client, owner, annotators):
    count = STARTED_WINDOW + 20
    project = text_tasks(client, owner, count=count, overlap=2)
    done = label_all(client, project, annotators[0])  # every answer waits for a second annotator
    assert len(done) == len(set(done)) == count
    assert len(label_all(client, project, annotators[1])) == count
    assert nxt(client, project, annotators[2]).status_code == 204
