"""Members managed by the owner: invitations for addresses without an account (accepted at sign-up), removal."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import PASSWORD, assert_problem, create_project, sign_in


def sign_up(client, email: str) -> dict:
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                          "display_name": "New person"})
    assert response.status_code == 201, response.get_json()
    sign_in(client, email)  # the test client now holds the new person's session
    return response.get_json()


def test_an_invitation_waits_for_the_sign_up_and_then_is_a_membership(app, client, owner):
    pid = create_project(client, owner)["id"]
    response = client.post(f"/api/v1/projects/{pid}/invitations", json={"email": " New@Example.org ", "role": "reviewer"},
                           headers=owner)
    assert response.status_code == 201
    invitation = response.get_json()
    assert (invitation["email"], invitation["role"], invitation["status"]) == ("new@example.org", "reviewer", "pending")
    assert invitation["accepted_at"] is None
    pending = client.get(f"/api/v1/projects/{pid}/invitations", headers=owner).get_json()
    assert [i["email"] for i in pending["items"]] == ["new@example.org"]
    assert client.get(f"/api/v1/projects/{pid}/members", headers=owner).get_json()["total"] == 0

    sign_up(client, "new@example.org")
    seen = client.get(f"/api/v1/projects/{pid}").get_json()
    assert seen["role"] == "reviewer"
    members = client.get(f"/api/v1/projects/{pid}/members", headers=owner).get_json()["items"]
    assert [(m["user"]["email"], m["role"]) for m in members] == [("new@example.org", "reviewer")]
    assert client.get(f"/api/v1/projects/{pid}/invitations", headers=owner).get_json()["total"] == 0
    actions = [e["action"] for e in client.get(f"/api/v1/projects/{pid}/audit", headers=owner).get_json()["items"]]
    assert "member_invited" in actions and "invitation_accepted" in actions


def test_inviting_again_changes_the_role_and_keeps_one_invitation(client, owner):
    pid = create_project(client, owner)["id"]
    first = client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "x@example.org", "role": "annotator"},
                        headers=owner).get_json()
    again = client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "X@example.org", "role": "manager"},
                        headers=owner).get_json()
    assert again["id"] == first["id"] and again["role"] == "manager"
    sign_up(client, "x@example.org")
    assert client.get(f"/api/v1/projects/{pid}").get_json()["role"] == "manager"


def test_an_address_with_an_account_becomes_a_member_at_once(client, owner, make_user, token_for):
    someone = token_for(make_user("someone@example.org"))
    pid = create_project(client, owner)["id"]
    invitation = client.post(f"/api/v1/projects/{pid}/invitations",
                             json={"email": "someone@example.org", "role": "annotator"}, headers=owner).get_json()
    assert invitation["status"] == "accepted" and invitation["accepted_at"]
    assert client.get(f"/api/v1/projects/{pid}", headers=someone).get_json()["role"] == "annotator"
    assert client.get(f"/api/v1/projects/{pid}/invitations", headers=owner).get_json()["total"] == 0


def test_invitations_to_several_projects_are_all_accepted(client, owner):
    pids = [create_project(client, owner, name=f"P{n}")["id"] for n in range(2)]
    for pid, role in zip(pids, ("annotator", "reviewer")):
        client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "two@example.org", "role": role},
                    headers=owner)
    sign_up(client, "two@example.org")
    assert [client.get(f"/api/v1/projects/{pid}").get_json()["role"] for pid in pids] == ["annotator", "reviewer"]


def test_a_withdrawn_invitation_gives_nothing_at_sign_up(client, owner):
    pid = create_project(client, owner)["id"]
    invitation = client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "gone@example.org",
                                                                          "role": "annotator"}, headers=owner).get_json()
    assert client.delete(f"/api/v1/projects/{pid}/invitations/{invitation['id']}", headers=owner).status_code == 204
    assert_problem(client.delete(f"/api/v1/projects/{pid}/invitations/{invitation['id']}", headers=owner), 404)
    sign_up(client, "gone@example.org")
    assert_problem(client.get(f"/api/v1/projects/{pid}"), 404)


def test_an_accepted_invitation_cannot_be_withdrawn(client, owner, make_user):
    make_user("in@example.org")
    pid = create_project(client, owner)["id"]
    invitation = client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "in@example.org",
                                                                          "role": "annotator"}, headers=owner).get_json()
    assert_problem(client.delete(f"/api/v1/projects/{pid}/invitations/{invitation['id']}", headers=owner), 409)


def test_an_invitation_of_another_project_is_404(client, owner):
    first, second = (create_project(client, owner, name=n)["id"] for n in ("A", "B"))
    invitation = client.post(f"/api/v1/projects/{first}/invitations", json={"email": "q@example.org",
                                                                            "role": "annotator"}, headers=owner).get_json()
    assert_problem(client.delete(f"/api/v1/projects/{second}/invitations/{invitation['id']}", headers=owner), 404)


@pytest.mark.parametrize("body,field", [
    ({"email": "not an address", "role": "annotator"}, "email"),
    ({"email": "", "role": "annotator"}, "email"),
    ({"role": "annotator"}, "email"),
    ({"email": "a@example.org", "role": "owner"}, "role"),
    ({"email": "a@example.org"}, "role"),
    ({"email": "a@example.org", "role": "annotator", "extra": 1}, "extra"),
])
def test_bad_invitations_are_422_naming_the_field_and_store_nothing(client, owner, body, field):
    pid = create_project(client, owner)["id"]
    problem = assert_problem(client.post(f"/api/v1/projects/{pid}/invitations", json=body, headers=owner), 422)
    assert field in problem["errors"]
    assert client.get(f"/api/v1/projects/{pid}/invitations", headers=owner).get_json()["total"] == 0


def test_inviting_the_owner_is_409(client, owner):
    pid = create_project(client, owner)["id"]
    assert_problem(client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "owner@example.org",
                                                                            "role": "manager"}, headers=owner), 409)


def test_only_the_owner_invites_and_removes(client, owner, make_user, token_for):
    manager = token_for(make_user("m@example.org"))
    pid = create_project(client, owner)["id"]
    client.post(f"/api/v1/projects/{pid}/members", json={"email": "m@example.org", "role": "manager"}, headers=owner)
    assert_problem(client.post(f"/api/v1/projects/{pid}/invitations", json={"email": "z@example.org",
                                                                            "role": "annotator"}, headers=manager), 403)
    assert client.get(f"/api/v1/projects/{pid}/invitations", headers=manager).status_code == 200
    me = client.get("/api/v1/me", headers=manager).get_json()
    assert_problem(client.delete(f"/api/v1/projects/{pid}/members/{me['id']}", headers=manager), 403)


def test_a_removed_member_loses_the_project_but_keeps_what_they_did(client, owner, make_user, token_for):
    user = make_user("leaving@example.org")
    leaving = token_for(user)
    pid = create_project(client, owner)["id"]
    client.post(f"/api/v1/projects/{pid}/members", json={"email": "leaving@example.org", "role": "annotator"},
                headers=owner)
    assert client.get(f"/api/v1/projects/{pid}", headers=leaving).status_code == 200
    assert client.delete(f"/api/v1/projects/{pid}/members/{user.id}", headers=owner).status_code == 204
    assert_problem(client.get(f"/api/v1/projects/{pid}", headers=leaving), 404)
    assert_problem(client.delete(f"/api/v1/projects/{pid}/members/{user.id}", headers=owner), 404)
    owner_id = client.get("/api/v1/me", headers=owner).get_json()["id"]
    assert "owner" in assert_problem(client.delete(f"/api/v1/projects/{pid}/members/{owner_id}", headers=owner),
                                     404)["detail"]


def test_an_invitation_that_missed_the_sign_up_is_accepted_at_the_next_sign_in(app, client, owner, make_user):
    """An owner may invite an address while its account is being made (the sign-up did not see the invitation):
    signing in accepts it."""
    from annotator.runtime import runtime
    from tasks.models import ProjectInvitation

    make_user("racing@example.org")
    pid = create_project(client, owner)["id"]
    owner_id = client.get("/api/v1/me", headers=owner).get_json()["id"]
    with runtime(app).session_factory() as session:  # as if written just after the sign-up looked
        session.add(ProjectInvitation(project_id=pid, email="racing@example.org", role="annotator",
                                      invited_by=owner_id, created_at=dt.datetime.now(dt.timezone.utc)))
        session.commit()
    sign_in(client, "racing@example.org")
    assert client.get(f"/api/v1/projects/{pid}").get_json()["role"] == "annotator"
    assert client.get(f"/api/v1/projects/{pid}/invitations", headers=owner).get_json()["total"] == 0
