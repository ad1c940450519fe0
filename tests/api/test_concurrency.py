"""Concurrent writers on PostgreSQL: duplicates and members stay unique, nobody gets a 500."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from annotator.users import service
from annotator.runtime import runtime
from annotator.users.models import User
from tasks.models import Annotation, ProjectInvitation, ProjectMember, Task
from tests.factories import in_parallel, text_project_body

pytestmark = pytest.mark.postgres
CLIENTS = 8


def owner_token(app) -> dict:
    with app.app_context():
        session = runtime().session_factory()
        user = service.register(session, runtime().passwords, email="owner@example.org", password="x" * 12,
                                display_name="Owner")
        session.commit()
        _, token = service.create_token(session, user, "t")
        session.commit()
        session.close()
    return {"Authorization": f"Bearer {token}"}


def test_concurrent_imports_of_the_same_rows_create_each_task_once(pg_app):
    headers = owner_token(pg_app)
    project = pg_app.test_client().post("/api/v1/projects", json=text_project_body(), headers=headers).get_json()
    rows = [{"data": {"text": f"t{n}"}, **({"external_id": f"e{n}"} if n % 2 else {})} for n in range(400)]
    body = orjson.dumps(rows)

    def post(_index: int):
        response = pg_app.test_client().post(f"/api/v1/projects/{project['id']}/tasks", data=body,
                                             content_type="application/json", headers=headers)
        return response.status_code, response.get_json()

    results = in_parallel(CLIENTS, post)
    # A plain INSERT after a duplicate check loses this race on the unique index (most get 409): the insert
    # itself must skip duplicates (ON CONFLICT DO NOTHING).
    assert [status for status, _ in results] == [201] * CLIENTS, results
    created = sum(body["created"] for status, body in results if status == 201)
    session = runtime(pg_app).session_factory()
    stored = session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project["id"]))
    session.close()
    assert stored == created == len(rows)


def test_concurrent_member_additions_make_one_membership(pg_app):
    headers = owner_token(pg_app)
    with pg_app.app_context():
        session = runtime().session_factory()
        service.register(session, runtime().passwords, email="m@example.org", password="y" * 12, display_name="M")
        session.commit()
        session.close()
    project = pg_app.test_client().post("/api/v1/projects", json=text_project_body(), headers=headers).get_json()
    roles = ["annotator", "reviewer", "manager"]

    def add(index: int):
        return pg_app.test_client().post(f"/api/v1/projects/{project['id']}/members", headers=headers,
                                         json={"email": "m@example.org", "role": roles[index % 3]}).status_code

    statuses = in_parallel(CLIENTS, add)
    assert set(statuses) <= {201, 409}, statuses
    session = runtime(pg_app).session_factory()
    members = session.scalars(select(ProjectMember).where(ProjectMember.project_id == project["id"])).all()
    session.close()
    assert len(members) == 1 and members[0].role in roles


def test_concurrent_invitations_of_one_address_make_one_invitation_and_the_sign_up_one_membership(pg_app):
    headers = owner_token(pg_app)
    project = pg_app.test_client().post("/api/v1/projects", json=text_project_body(), headers=headers).get_json()
    roles = ["annotator", "reviewer", "manager"]

    def invite(index: int):
        return pg_app.test_client().post(f"/api/v1/projects/{project['id']}/invitations", headers=headers,
                                         json={"email": "new@example.org", "role": roles[index % 3]}).status_code

    statuses = in_parallel(CLIENTS, invite)
    assert set(statuses) == {201}, statuses  # a lost race finds the winner's invitation and sets its role
    session = runtime(pg_app).session_factory()
    invitations = session.scalars(select(ProjectInvitation).where(ProjectInvitation.project_id == project["id"])).all()
    session.close()
    assert len(invitations) == 1 and invitations[0].role in roles

    def sign_up_or_in(index: int):
        client = pg_app.test_client()
        if index == 0:
            return client.post("/api/v1/auth/register", json={"email": "new@example.org", "password": "z" * 12,
                                                              "display_name": "New"}).status_code
        return client.post(f"/api/v1/projects/{project['id']}/invitations", headers=headers,
                           json={"email": "new@example.org", "role": "annotator"}).status_code

    assert set(in_parallel(4, sign_up_or_in)) == {201}
    session = runtime(pg_app).session_factory()
    members = session.scalars(select(ProjectMember).where(ProjectMember.project_id == project["id"])).all()
    session.close()
    assert len(members) <= 1  # whichever order: at most one membership, never a 500
    # An invitation the sign-up did not see is accepted when they sign in: then they are a member, once.
    client = pg_app.test_client()
    assert client.post("/api/v1/auth/login", json={"email": "new@example.org", "password": "z" * 12}).status_code == 200
    session = runtime(pg_app).session_factory()
    members = session.scalars(select(ProjectMember).where(ProjectMember.project_id == project["id"])).all()
    session.close()
    assert len(members) == 1


def test_concurrent_imports_of_the_same_answers_store_each_once(pg_app):
    headers = owner_token(pg_app)
    project = pg_app.test_client().post("/api/v1/projects", json=text_project_body(), headers=headers).get_json()
    body = "external_id,annotator,label\n" + "".join(f"item-{n},worker-{w},positive\n" for n in range(30)
                                                     for w in range(5))

    def send(_index: int):
        response = pg_app.test_client().post(f"/api/v1/projects/{project['id']}/answers/import", data=body,
                                             content_type="text/csv", headers=headers,
                                             query_string={"create_tasks": "true"})
        return response.status_code, response.get_json()

    results = in_parallel(CLIENTS, send)
    assert {status for status, _ in results} == {201}, results
    assert sum(reply["created"] for _, reply in results) == 150  # each answer stored by exactly one of them
    session = runtime(pg_app).session_factory()
    stored = session.scalar(select(func.count()).select_from(Annotation).where(Annotation.project_id == project["id"]))
    people = session.scalar(select(func.count()).select_from(User).where(User.external_project_id == project["id"]))
    tasks = session.scalar(select(func.count()).select_from(Task).where(Task.project_id == project["id"]))
    session.close()
    assert (stored, people, tasks) == (150, 5, 30)
