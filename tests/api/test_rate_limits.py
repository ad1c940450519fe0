"""Limits counted in Redis (so they hold across web processes): sign-ups per address, API tokens and payout
requests per user, labelling calls per annotator, open leases across projects; and a thousand failed logins in a
minute, from many addresses, all but the first few refused before any password is checked."""
from __future__ import annotations

from tests.factories import PASSWORD, answer, assert_problem, create_text_project, nxt


def test_sign_ups_from_one_address_are_limited(app, client):
    app.config["ANNOTATOR_SIGNUPS_PER_HOUR"] = 3
    for n in range(3):
        assert client.post("/api/v1/auth/register", json={"email": f"s{n}@example.org", "password": PASSWORD,
                                                          "display_name": "S"}).status_code == 201
    limited = client.post("/api/v1/auth/register", json={"email": "s9@example.org", "password": PASSWORD,
                                                         "display_name": "S"})
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    assert client.post("/api/v1/auth/login", json={"email": "s9@example.org", "password": PASSWORD}).status_code == 401


def test_api_tokens_per_user_are_limited_and_other_users_are_not_affected(app, client, make_user, token_for):
    app.config["ANNOTATOR_TOKENS_PER_HOUR"] = 2
    busy, calm = token_for(make_user("busy@example.org")), token_for(make_user("calm@example.org"))
    for _ in range(2):
        assert client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=busy).status_code == 201
    assert_problem(client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=busy), 429)
    assert client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=calm).status_code == 201


def test_payout_requests_per_user_are_limited(app, client, make_user, token_for):
    app.config["ANNOTATOR_PAYOUTS_PER_HOUR"] = 2
    headers = token_for(make_user("poor@example.org"))
    for _ in range(2):  # refused for want of money, but counted: the limit is on asking
        assert_problem(client.post("/api/v1/payouts", json={"amount": 5}, headers=headers), 422)
    assert_problem(client.post("/api/v1/payouts", json={"amount": 5}, headers=headers), 429)


def test_labelling_calls_per_annotator_are_limited(app, client, make_user, token_for):
    owner = token_for(make_user("own@example.org"))
    project = create_text_project(client, owner, visibility="public", overlap=1)
    client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": "t"}}], headers=owner)
    app.config["ANNOTATOR_LABELLING_PER_MINUTE"] = 3
    headers = token_for(make_user("fast@example.org"))
    for _ in range(3):
        assert nxt(client, project, headers).status_code == 200  # the same lease each time
    assert_problem(nxt(client, project, headers), 429, "rate_limited")


def test_one_annotator_holds_a_bounded_number_of_open_leases_across_projects(app, client, make_user, token_for):
    owner = token_for(make_user("many@example.org"))
    projects = []
    for n in range(3):
        project = create_text_project(client, owner, visibility="public", overlap=1, name=f"P{n}")
        client.post(f"/api/v1/projects/{project['id']}/tasks", json=[{"data": {"text": f"t{n}"}}, {"data": {"text": "u"}}],
                    headers=owner)
        projects.append(project)
    app.config["ANNOTATOR_MAX_OPEN_LEASES"] = 2
    headers = token_for(make_user("greedy@example.org"))
    first = nxt(client, projects[0], headers)
    assert first.status_code == 200 and nxt(client, projects[1], headers).status_code == 200
    assert_problem(nxt(client, projects[2], headers), 429)
    assert nxt(client, projects[0], headers).status_code == 200  # the lease already held is still handed back
    assert answer(client, first.get_json(), headers).status_code == 201  # one answered: room for another
    assert nxt(client, projects[2], headers).status_code == 200


def test_a_thousand_failed_logins_in_a_minute_are_refused_after_the_limit(app, client, make_user):
    make_user("target@example.org")
    statuses = [client.post("/api/v1/auth/login", json={"email": "target@example.org", "password": f"guess {n}"},
                            environ_base={"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250}"}).status_code
                for n in range(1000)]
    limit = app.config["ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    assert statuses[:limit] == [401] * limit and set(statuses[limit:]) == {429}
    # The right password is refused too while the account is locked out: guessing cannot find it.
    assert_problem(client.post("/api/v1/auth/login", json={"email": "target@example.org", "password": PASSWORD}), 429)
