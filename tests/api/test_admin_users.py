"""Administrators' user directory (search, filters, paging, last active), deactivating and the administrator's
right: audit-logged, never on your own account, never leaving the platform without an active administrator; and
the enriched audit log they read."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from annotator.runtime import runtime
from annotator.users.models import User
from tests.factories import PASSWORD, assert_problem, create_text_project, in_parallel, sign_in

API = "/api/v1/admin/users"


@pytest.fixture
def staff(make_user, token_for):
    """An administrator (with a token) and three ordinary accounts."""
    root = make_user("root@example.org", admin=True, name="Root Admin")
    people = [make_user("li.wei@example.org", name="李伟 Li Wei"), make_user("ANNA@Example.org", name="Anna Berg"),
              make_user("bob@example.org", name="Bob 100%_sure")]
    return root, token_for(root), people


def emails(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [user["email"] for user in response.get_json()["items"]]


def test_the_directory_lists_every_account_newest_first_with_its_flags(client, staff):
    root, admin, people = staff
    body = client.get(API, headers=admin).get_json()
    assert body["total"] == 4 and body["page"] == 1 and body["per_page"] == 50
    assert [u["email"] for u in body["items"]] == ["bob@example.org", "anna@example.org", "li.wei@example.org",
                                                   "root@example.org"]
    first = body["items"][-1]
    assert first["is_admin"] is True and first["is_active"] is True and first["display_name"] == "Root Admin"
    assert first["created_at"] and first["last_active_at"] is None
    assert "password_hash" not in first and "session_epoch" not in first


@pytest.mark.parametrize("q, found", [
    ("ANNA", ["anna@example.org"]),           # the e-mail, any case
    ("berg", ["anna@example.org"]),           # the display name, any case
    ("李伟", ["li.wei@example.org"]),          # a name in Chinese
    ("example.ORG", ["bob@example.org", "anna@example.org", "li.wei@example.org", "root@example.org"]),
    ("100%_", ["bob@example.org"]),           # % and _ are characters, not wildcards
    ("%", ["bob@example.org"]),
    ("nobody", []),
    ("  anna  ", ["anna@example.org"]),       # trimmed
    ("", ["bob@example.org", "anna@example.org", "li.wei@example.org", "root@example.org"])])
def test_search_is_a_case_insensitive_piece_of_the_email_or_name(client, staff, q, found):
    _, admin, _ = staff
    assert emails(client.get(API, query_string={"q": q}, headers=admin)) == found


def test_filters_by_status_and_pages(client, staff):
    root, admin, (li, anna, bob) = staff
    assert client.post(f"{API}/{anna.id}/deactivate", headers=admin).status_code == 200
    assert client.post(f"{API}/{bob.id}/admin", headers=admin).status_code == 200
    assert emails(client.get(f"{API}?status=deactivated", headers=admin)) == ["anna@example.org"]
    assert emails(client.get(f"{API}?status=active", headers=admin)) == ["bob@example.org", "li.wei@example.org",
                                                                         "root@example.org"]
    assert emails(client.get(f"{API}?status=admins", headers=admin)) == ["bob@example.org", "root@example.org"]
    assert emails(client.get(f"{API}?status=admins&q=root", headers=admin)) == ["root@example.org"]
    second = client.get(f"{API}?per_page=3&page=2", headers=admin).get_json()
    assert [u["email"] for u in second["items"]] == ["root@example.org"] and second["total"] == 4


@pytest.mark.parametrize("query, field", [
    ("status=banned", "status"), ("status=", "status"), ("q=" + "x" * 101, "q"), ("q=a%00b", "q"),
    ("page=0", "page"), ("per_page=501", "per_page"), ("colour=red", "colour")])
def test_a_bad_directory_query_is_422_naming_the_field(client, staff, query, field):
    _, admin, _ = staff
    problem = assert_problem(client.get(f"{API}?{query}", headers=admin), 422, "invalid_fields")
    assert field in problem["errors"], problem


def test_only_administrators_read_the_directory(client, staff, token_for):
    _, _, (li, _, _) = staff
    assert_problem(client.get(API), 401)
    assert_problem(client.get(API, headers=token_for(li)), 403, "forbidden")
    assert_problem(client.post(f"{API}/{li.id}/admin", headers=token_for(li)), 403, "forbidden")
    assert_problem(client.delete(f"{API}/{li.id}/admin", headers=token_for(li)), 403, "forbidden")


def test_last_active_is_the_latest_task_taken_or_recorded_action(client, staff, token_for):
    root, admin, (li, anna, _) = staff
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    owner = token_for(li)
    project = create_text_project(client, owner, name="Seen")
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "a"}}], headers=owner)
    client.post(f"/api/v1/projects/{project['id']}/members", json={"email": "anna@example.org", "role": "annotator"},
                headers=owner)
    taken = client.post(f"/api/v1/projects/{project['id']}/next", headers=token_for(anna))
    assert taken.status_code == 200, taken.get_json()
    rows = {u["email"]: u for u in client.get(API, headers=admin).get_json()["items"]}
    for email in ("li.wei@example.org", "anna@example.org"):  # created a project (audit-logged); took a task
        assert dt.datetime.fromisoformat(rows[email]["last_active_at"]) >= before, rows[email]
    assert rows["bob@example.org"]["last_active_at"] is None


def test_making_and_unmaking_an_administrator_is_audit_logged_and_takes_effect(client, staff, token_for):
    root, admin, (li, _, _) = staff
    li_token = token_for(li)
    made = client.post(f"{API}/{li.id}/admin", headers=admin)
    assert made.status_code == 200 and made.get_json()["is_admin"] is True
    assert client.get(API, headers=li_token).status_code == 200  # the right works at once
    assert client.post(f"{API}/{li.id}/admin", headers=admin).get_json()["is_admin"] is True  # again: no change
    taken = client.delete(f"{API}/{li.id}/admin", headers=admin)
    assert taken.status_code == 200 and taken.get_json()["is_admin"] is False
    assert_problem(client.get(API, headers=li_token), 403)
    log = client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]
    assert [(e["action"], e["target_id"]) for e in log[:2]] == [("admin_revoked", li.id), ("admin_granted", li.id)]
    assert len([e for e in log if e["action"] == "admin_granted"]) == 1  # the repeat recorded nothing
    assert log[0]["actor_email"] == "root@example.org" and log[0]["target_email"] == "li.wei@example.org"


def test_an_administrator_cannot_remove_their_own_right(client, staff, token_for):
    root, admin, (li, _, _) = staff
    client.post(f"{API}/{li.id}/admin", headers=admin)
    problem = assert_problem(client.delete(f"{API}/{root.id}/admin", headers=admin), 409, "own_account")
    assert "your own administrator right" in problem["detail"]
    assert client.post(f"{API}/{root.id}/admin", headers=admin).get_json()["is_admin"] is True  # asking is a no-op
    assert client.get(API, headers=admin).status_code == 200  # still an administrator


def test_the_only_administrator_is_told_to_name_another_first(client, staff):
    root, admin, _ = staff
    problem = assert_problem(client.delete(f"{API}/{root.id}/admin", headers=admin), 409, "last_admin")
    assert "only administrator" in problem["detail"]
    assert client.get(API, headers=admin).status_code == 200


def test_the_last_active_administrator_keeps_the_right_even_against_a_stale_colleague(app, staff):
    """Two administrators demote each other at the same moment: the second finds itself no longer one (its rows
    are read under lock), so one administrator remains. Here the race is replayed in order on one session."""
    from annotator.errors import PermissionDenied
    from annotator.workflows import accounts

    root, _, (li, _, _) = staff
    with app.app_context():
        session = runtime().session_factory()
        try:
            root_row, li_row = session.get(User, root.id), session.get(User, li.id)
            li_row.is_admin = True
            session.flush()
            accounts.set_admin(session, root_row, li.id, False)  # root demotes li ...
            with pytest.raises(PermissionDenied, match="no longer an administrator"):
                accounts.set_admin(session, li_row, root.id, False)  # ... li, acting on what it read before
            assert session.get(User, root.id).is_admin is True
        finally:
            session.rollback()
            session.close()


def test_an_administrator_cannot_deactivate_or_reactivate_themselves(client, staff):
    root, admin, _ = staff
    for verb in ("deactivate", "activate"):
        problem = assert_problem(client.post(f"{API}/{root.id}/{verb}", headers=admin), 409, "own_account")
        assert "your own account" in problem["detail"]
    assert client.get("/api/v1/me", headers=admin).get_json()["email"] == "root@example.org"


def test_deactivating_another_administrator_leaves_them_admin_but_signed_out(client, staff, token_for):
    root, admin, (li, _, _) = staff
    client.post(f"{API}/{li.id}/admin", headers=admin)
    li_token = token_for(li)
    done = client.post(f"{API}/{li.id}/deactivate", headers=admin).get_json()
    assert done["is_active"] is False and done["is_admin"] is True
    assert_problem(client.get(API, headers=li_token), 401)


def test_reactivating_an_active_account_changes_nothing_and_keeps_its_sessions(app, client, staff):
    _, admin, (li, _, _) = staff
    browser = app.test_client()
    sign_in(browser, "li.wei@example.org")
    assert client.post(f"{API}/{li.id}/activate", headers=admin).get_json()["is_active"] is True
    assert browser.get("/api/v1/me").status_code == 200  # not signed out by a no-op
    actions = [e["action"] for e in client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]]
    assert "account_activated" not in actions


@pytest.mark.parametrize("method, path", [
    ("POST", "/999999/admin"), ("DELETE", "/999999/admin"), ("POST", "/999999/deactivate"),
    ("POST", "/999999/activate"), ("POST", "/abc/admin"), ("POST", "/99999999999999999999999/admin")])
def test_an_unknown_user_is_404(client, staff, method, path):
    _, admin, _ = staff
    assert_problem(client.open(API + path, method=method, headers=admin), 404, "not_found")


def test_a_deactivated_account_cannot_sign_in_nor_use_a_token_made_before(app, client, staff, token_for):
    _, admin, (_, anna, _) = staff
    token = token_for(anna)
    client.post(f"{API}/{anna.id}/deactivate", headers=admin)
    assert_problem(client.post("/api/v1/auth/login", json={"email": "anna@example.org", "password": PASSWORD}),
                   401, "invalid_credentials")
    assert_problem(client.get("/api/v1/projects", headers=token), 401, "not_authenticated")


def test_the_admin_audit_log_names_actors_targets_and_projects(client, staff, token_for):
    root, admin, (li, _, _) = staff
    project = create_text_project(client, token_for(li), name="Named project")
    client.post(f"{API}/{li.id}/deactivate", headers=admin)
    log = client.get("/api/v1/admin/audit", headers=admin).get_json()["items"]
    deactivated, created = log[0], log[1]
    assert (deactivated["action"], deactivated["actor_email"], deactivated["target_email"]) == (
        "account_deactivated", "root@example.org", "li.wei@example.org")
    assert deactivated["project_name"] is None
    assert (created["action"], created["project_id"], created["project_name"]) == (
        "project_created", project["id"], "Named project")
    assert created["actor_email"] == "li.wei@example.org" and created["target_email"] is None
    owners_view = client.get(f"/api/v1/projects/{project['id']}/audit", headers=admin).get_json()["items"][0]
    assert "actor_email" not in owners_view  # the project's log keeps its shape


def test_two_administrators_demoting_each_other_at_once_leave_one(app, make_user, token_for):
    """Each round both ask at the same moment: exactly one wins, the other is refused as no longer an
    administrator (on PostgreSQL through the locked rows, on SQLite one after the other)."""
    pair = [make_user(f"twin{n}@example.org", admin=True) for n in range(2)]
    tokens = [token_for(user) for user in pair]
    for _ in range(4):
        def demote(index: int):
            return app.test_client().delete(f"{API}/{pair[1 - index].id}/admin", headers=tokens[index]).status_code

        statuses = sorted(in_parallel(2, demote))
        assert statuses == [200, 403], statuses
        with app.app_context():
            session = runtime().session_factory()
            admins = session.scalars(select(User.id).where(User.is_admin.is_(True))).all()
            session.execute(update(User).values(is_admin=True))  # both again, for the next round
            session.commit()
            session.close()
        assert len(admins) == 1
