"""Sessions end when they should (signing out ends every session, a new password every other one, a deactivated
account at once, its API tokens too), and the audit log records owner, admin and money actions, append-only,
for the project's owner and for admins."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from annotator.runtime import runtime
from tests.factories import PASSWORD, assert_problem, create_text_project, sign_in

NEW_PASSWORD = "another long passphrase 2026"


def test_signing_out_ends_the_users_sessions_everywhere(app, make_user):
    make_user("two@example.org")
    laptop, phone = app.test_client(), app.test_client()
    token = sign_in(laptop, "two@example.org")
    sign_in(phone, "two@example.org")
    assert phone.get("/api/v1/me").status_code == 200
    assert laptop.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert_problem(phone.get("/api/v1/me"), 401, "not_authenticated")
    assert_problem(laptop.get("/api/v1/me"), 401, "not_authenticated")
    sign_in(phone, "two@example.org")  # signing in again works
    assert phone.get("/api/v1/me").status_code == 200


def test_a_new_password_ends_every_other_session_and_keeps_this_one(app, make_user):
    make_user("pw@example.org")
    here, elsewhere = app.test_client(), app.test_client()
    token = sign_in(here, "pw@example.org")
    sign_in(elsewhere, "pw@example.org")
    changed = here.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                        headers={"X-CSRF-Token": token})
    assert changed.status_code == 204, changed.get_json()
    assert here.get("/api/v1/me").status_code == 200
    assert_problem(elsewhere.get("/api/v1/me"), 401)
    assert_problem(elsewhere.post("/api/v1/auth/login", json={"email": "pw@example.org", "password": PASSWORD}), 401)
    sign_in(elsewhere, "pw@example.org", NEW_PASSWORD)


@pytest.mark.parametrize("body, field", [
    ({"current_password": "wrong one", "new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
    ({"current_password": PASSWORD}, "new_password"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "is_admin": True}, "is_admin")])
def test_a_bad_password_change_is_422_and_changes_nothing(client, make_user, token_for, body, field):
    headers = token_for(make_user("pw2@example.org"))
    problem = assert_problem(client.post("/api/v1/auth/password", json=body, headers=headers), 422)
    assert field in problem["errors"]
    assert client.post("/api/v1/auth/login", json={"email": "pw2@example.org", "password": PASSWORD}).status_code == 200


def test_guessing_the_current_password_is_rate_limited(app, client, make_user, token_for):
    headers = token_for(make_user("guess@example.org"))
    limit = app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert client.post("/api/v1/auth/password", json={"current_password": "nope", "new_password": NEW_PASSWORD},
                           headers=headers).status_code == 422
    assert_problem(client.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                               "new_password": NEW_PASSWORD}, headers=headers), 429)


def test_a_deactivated_account_stops_at_once_sessions_and_tokens_alike(app, client, make_user, token_for):
    admin = token_for(make_user("root@example.org", admin=True))
    user = make_user("leaving@example.org")
    bearer = token_for(user)
    browser = app.test_client()
    sign_in(browser, "leaving@example.org")
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    done = client.post(f"/api/v1/admin/users/{user.id}/deactivate", headers=admin)
    assert done.status_code == 200 and done.get_json()["email"] == "leaving@example.org"
    assert_problem(client.get("/api/v1/me", headers=bearer), 401)
    assert_problem(browser.get("/api/v1/me"), 401)
    assert_problem(browser.post("/api/v1/auth/login", json={"email": "leaving@example.org", "password": PASSWORD}),
                   401)
    assert client.post(f"/api/v1/admin/users/{user.id}/activate", headers=admin).status_code == 200
    assert_problem(client.get("/api/v1/me", headers=bearer), 401)  # deactivation revoked it: it stays dead
    csrf = sign_in(browser, "leaving@example.org")
    made = browser.post("/api/v1/auth/tokens", json={"name": "after"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.get_json()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {made.get_json()['token']}"}).status_code == 200


def test_only_admins_deactivate_and_never_themselves(client, make_user, token_for):
    someone = make_user("someone@example.org")
    plain = token_for(make_user("plain@example.org"))
    root = make_user("root2@example.org", admin=True)
    admin = token_for(root)
    assert_problem(client.post(f"/api/v1/admin/users/{someone.id}/deactivate", headers=plain), 403)
    assert_problem(client.post(f"/api/v1/admin/users/{root.id}/deactivate", headers=admin), 409, "own_account")
    assert_problem(client.post("/api/v1/admin/users/999999/deactivate", headers=admin), 404)
    assert_problem(client.post(f"/api/v1/admin/users/{someone.id}/deactivate"), 401)


def test_owner_and_money_actions_are_in_the_projects_audit_log_for_its_owner_and_admins(client, make_user,
                                                                                       token_for):
    owner_user = make_user("auditee@example.org")
    owner = token_for(owner_user)
    manager = token_for(make_user("manager@example.org"))
    outsider = token_for(make_user("outsider@example.org"))
    admin = token_for(make_user("auditor@example.org", admin=True))
    project = create_text_project(client, owner, rewards={"per_annotation": 10, "agreement_bonus": 0},
                                  name="=HYPERLINK(\"http://evil\")")
    pid = project["id"]
    client.patch(f"/api/v1/projects/{pid}", json={"overlap": 1}, headers=owner)
    client.post(f"/api/v1/projects/{pid}/members", json={"email": "manager@example.org", "role": "manager"},
                headers=owner)
    client.post(f"/api/v1/projects/{pid}/tasks", json=[{"data": {"text": "a"}}], headers=owner)
    client.post(f"/api/v1/projects/{pid}/budget/deposits", json={"amount": 500}, headers=owner)
    client.post(f"/api/v1/projects/{pid}/exports", json={"format": "jsonl"}, headers=manager)
    log = client.get(f"/api/v1/projects/{pid}/audit", headers=owner).get_json()["items"]
    assert [e["action"] for e in log] == ["export_requested", "budget_deposit", "tasks_imported", "member_set",
                                          "project_settings_changed", "project_created"]
    assert log[1]["actor_id"] == owner_user.id and log[1]["details"]["amount"] == 500
    assert log[4]["details"]["fields"] == ["overlap"]
    assert client.get(f"/api/v1/projects/{pid}/audit", headers=admin).get_json()["total"] == 6
    assert_problem(client.get(f"/api/v1/projects/{pid}/audit", headers=manager), 403)
    assert_problem(client.get(f"/api/v1/projects/{pid}/audit", headers=outsider), 404)
    assert_problem(client.get("/api/v1/admin/audit", headers=owner), 403)
    csv_text = client.get(f"/api/v1/projects/{pid}/audit.csv", headers=owner).get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,created_at,actor_id,action") and len(lines) == 7
    assert "project_created" in lines[1] and '""amount"":500' in csv_text  # details as JSON


def test_the_audit_log_is_append_only_in_the_database(app, client, make_user, token_for):
    owner = token_for(make_user("ao@example.org"))
    create_text_project(client, owner)
    with app.app_context():
        session = runtime().session_factory()
        try:
            for statement in ("UPDATE audit_events SET action = 'nothing'", "DELETE FROM audit_events"):
                with pytest.raises(DatabaseError, match="append-only"):
                    session.execute(text(statement))
                session.rollback()
        finally:
            session.close()


@pytest.mark.parametrize("query", ["page=0", "page=abc", "per_page=100000", "colour=red"])
def test_bad_paging_of_the_audit_log_is_422(client, make_user, token_for, query):
    owner = token_for(make_user("pager@example.org"))
    project = create_text_project(client, owner)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/audit?{query}", headers=owner), 422)
    admin = token_for(make_user("pager-admin@example.org", admin=True))
    assert_problem(client.get(f"/api/v1/admin/audit?{query}", headers=admin), 422)
