"""Projects, members, visibility, settings and schema versions per API.md."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tasks.models import ProjectSchemaVersion
from tests.factories import BIRDS, assert_problem, create_project, create_text_project, project_body


@pytest.fixture
def stranger(make_user, token_for):
    return token_for(make_user("stranger@example.org"))


def test_create_returns_the_project_with_the_owner_role_and_defaults(client, owner):
    project = create_project(client, owner, gold_ratio=0.1, rewards={"per_annotation": 50, "agreement_bonus": 20},
                             qualification={"min_gold_accuracy": 0.7, "warmup_gold": 5},
                             dynamic_overlap={"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.9})
    assert project["role"] == "owner" and project["schema_version"] == 1 and project["status"] == "active"
    assert project["lease_seconds"] == 600 and project["aggregation"] == "majority"
    # An image project: its boxes are paid by the agreement rule (peer prediction compares whole-item labels).
    assert project["rewards"] == {"per_annotation": 50, "agreement_bonus": 20, "mechanism": "agreement",
                                  "mechanism_params": {}}
    assert project["label_schema"]["labels"][0]["children"][0]["children"][0]["name"] == "黄林莺"


def test_a_private_project_is_404_to_others_and_absent_from_their_list(client, owner, stranger):
    project = create_project(client, owner)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}", headers=stranger), 404)
    assert_problem(client.patch(f"/api/v1/projects/{project['id']}", json={"name": "x"}, headers=stranger), 404)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/stats", headers=stranger), 404)
    assert client.get("/api/v1/projects", headers=stranger).get_json()["total"] == 0


def test_a_public_project_is_listed_for_everyone_with_a_null_role_but_not_writable(client, owner, stranger):
    project = create_project(client, owner, visibility="public")
    listed = client.get("/api/v1/projects", headers=stranger).get_json()
    assert [(p["id"], p["role"]) for p in listed["items"]] == [(project["id"], None)]
    assert_problem(client.patch(f"/api/v1/projects/{project['id']}", json={"name": "x"}, headers=stranger), 403)
    assert_problem(client.get(f"/api/v1/projects/{project['id']}/stats", headers=stranger), 403)


def test_members_get_their_role_and_managers_may_edit_but_not_add_members(client, owner, make_user, token_for):
    manager = token_for(make_user("manager@example.org"))
    annotator = token_for(make_user("annotator@example.org"))
    project = create_project(client, owner)
    pid = project["id"]
    for email, role in (("manager@example.org", "manager"), ("annotator@example.org", "annotator")):
        response = client.post(f"/api/v1/projects/{pid}/members", json={"email": email, "role": role}, headers=owner)
        assert response.status_code == 201 and response.get_json()["role"] == role
    assert client.get(f"/api/v1/projects/{pid}", headers=annotator).get_json()["role"] == "annotator"
    assert client.patch(f"/api/v1/projects/{pid}", json={"name": "Renamed"}, headers=manager).status_code == 200
    assert_problem(client.patch(f"/api/v1/projects/{pid}", json={"name": "x"}, headers=annotator), 403)
    assert_problem(client.post(f"/api/v1/projects/{pid}/members", json={"email": "owner@example.org", "role": "manager"},
                               headers=manager), 403)
    members = client.get(f"/api/v1/projects/{pid}/members", headers=manager).get_json()
    assert {m["user"]["email"]: m["role"] for m in members["items"]} == {
        "manager@example.org": "manager", "annotator@example.org": "annotator"}


def test_changing_a_members_role_keeps_one_membership(client, owner, make_user):
    make_user("a@example.org")
    pid = create_project(client, owner)["id"]
    client.post(f"/api/v1/projects/{pid}/members", json={"email": "a@example.org", "role": "annotator"}, headers=owner)
    client.post(f"/api/v1/projects/{pid}/members", json={"email": "A@example.org", "role": "reviewer"}, headers=owner)
    items = client.get(f"/api/v1/projects/{pid}/members", headers=owner).get_json()["items"]
    assert [(m["user"]["email"], m["role"]) for m in items] == [("a@example.org", "reviewer")]


@pytest.mark.parametrize("body,field", [
    ({"email": "nobody@example.org", "role": "annotator"}, "email"),
    ({"email": "owner@example.org", "role": "king"}, "role"),
    ({"email": "owner@example.org"}, "role"),
])
def test_bad_member_requests_are_422(client, owner, body, field):
    pid = create_project(client, owner)["id"]
    assert field in assert_problem(client.post(f"/api/v1/projects/{pid}/members", json=body, headers=owner), 422)["errors"]


def test_adding_the_owner_as_a_member_is_409(client, owner):
    pid = create_project(client, owner)["id"]
    response = client.post(f"/api/v1/projects/{pid}/members", json={"email": "owner@example.org", "role": "manager"},
                           headers=owner)
    assert_problem(response, 409)


def test_another_owners_project_id_is_404_everywhere(client, owner, stranger):
    pid = create_project(client, owner)["id"]
    for method, path, body in (("post", f"/api/v1/projects/{pid}/members", {"email": "x@y.org", "role": "annotator"}),
                               ("post", f"/api/v1/projects/{pid}/tasks", [{"data": {"image": "x"}}]),
                               ("get", f"/api/v1/projects/{pid}/tasks", None),
                               ("get", f"/api/v1/projects/{pid}/members", None)):
        response = getattr(client, method)(path, json=body, headers=stranger)
        assert_problem(response, 404)


def test_unknown_project_is_404(client, owner):
    assert_problem(client.get("/api/v1/projects/999999", headers=owner), 404)


def test_a_changed_schema_becomes_a_new_version_and_the_old_one_is_kept(client, owner, db):
    project = create_project(client, owner)
    same = client.patch(f"/api/v1/projects/{project['id']}", json={"label_schema": BIRDS}, headers=owner).get_json()
    assert same["schema_version"] == 1
    changed = {**BIRDS, "labels": BIRDS["labels"] + [{"id": "crow", "name": "乌鸦"}]}
    patched = client.patch(f"/api/v1/projects/{project['id']}", json={"label_schema": changed}, headers=owner).get_json()
    assert patched["schema_version"] == 2
    versions = db.scalars(select(ProjectSchemaVersion).where(ProjectSchemaVersion.project_id == project["id"])
                          .order_by(ProjectSchemaVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].label_schema["labels"] == project["label_schema"]["labels"]
    assert versions[1].label_schema["labels"][-1]["id"] == "crow"


@pytest.mark.parametrize("overrides,field", [
    ({"overlap": 0}, "overlap"), ({"overlap": 51}, "overlap"), ({"overlap": 2.5}, "overlap"), ({"overlap": True}, "overlap"),
    ({"gold_ratio": 0.6}, "gold_ratio"), ({"gold_ratio": "0.1"}, "gold_ratio"),
    ({"lease_seconds": 29}, "lease_seconds"), ({"media_type": "video"}, "media_type"),
    ({"visibility": "secret"}, "visibility"), ({"aggregation": "vote"}, "aggregation"),
    ({"rewards": {"per_annotation": -1}}, "rewards.per_annotation"),
    ({"rewards": {"per_annotation": 0.5}}, "rewards.per_annotation"),
    ({"rewards": {"per_annotation": "50"}}, "rewards.per_annotation"),
    ({"rewards": {"per_annotation": 2**63}}, "rewards.per_annotation"),
    ({"dynamic_overlap": {"min_overlap": 2, "max_overlap": 5, "confidence_target": 1.5}},
     "dynamic_overlap.confidence_target"),
    ({"dynamic_overlap": {"min_overlap": 4, "max_overlap": 5, "confidence_target": 0.9}}, "dynamic_overlap"),
    ({"qualification": {"min_gold_accuracy": 2}}, "qualification.min_gold_accuracy"),
    ({"name": "x" * 10_000}, "name"), ({"name": "a\x00b"}, "name"), ({"name": "\u202eevil"}, "name"),
    ({"name": ""}, "name"), ({"owner_id": 5}, "owner_id"),
])
def test_bad_settings_are_422_naming_the_field(client, owner, overrides, field):
    response = client.post("/api/v1/projects", json=project_body(**overrides), headers=owner)
    assert field in assert_problem(response, 422)["errors"]
    assert client.get("/api/v1/projects", headers=owner).get_json()["total"] == 0


@pytest.mark.parametrize("schema,path", [
    ({**BIRDS, "labels": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}, "label_schema.labels.1.id"),
    ({**BIRDS, "labels": [{"id": "a", "name": "A", "children": [{"id": "a", "name": "A again"}]}]},
     "label_schema.labels.0.children.0.id"),
    ({**BIRDS, "labels": [{"id": "a", "name": ""}]}, "label_schema.labels.0.name"),
    ({**BIRDS, "tools": ["circle"]}, "label_schema.tools.0"),
])
def test_bad_taxonomies_are_422_with_the_path(client, owner, schema, path):
    response = client.post("/api/v1/projects", json=project_body(label_schema=schema), headers=owner)
    assert path in assert_problem(response, 422)["errors"]


def test_eleven_levels_are_refused_and_ten_accepted(client, owner):
    def chain(depth):
        node = {"id": f"l{depth}", "name": f"Level {depth}"}
        for level in range(depth - 1, 0, -1):
            node = {"id": f"l{level}", "name": f"Level {level}", "children": [node]}
        return [node]

    ten = client.post("/api/v1/projects", json=project_body(label_schema={"tools": ["classify"], "labels": chain(10)}),
                      headers=owner)
    assert ten.status_code == 201
    eleven = client.post("/api/v1/projects", json=project_body(label_schema={"tools": ["classify"], "labels": chain(11)}),
                         headers=owner)
    assert_problem(eleven, 422)


def test_tools_must_suit_the_media_type(client, owner):
    response = client.post("/api/v1/projects", json=project_body(media_type="text"), headers=owner)
    assert "label_schema.tools" in assert_problem(response, 422)["errors"]
    text = create_text_project(client, owner)
    assert_problem(client.patch(f"/api/v1/projects/{text['id']}", json={"label_schema": BIRDS}, headers=owner), 422)


def test_media_type_cannot_change_once_there_are_tasks(client, owner):
    text = create_text_project(client, owner)
    client.post(f"/api/v1/projects/{text['id']}/tasks", json=[{"data": {"text": "hello"}}], headers=owner)
    patch = {"media_type": "image", "label_schema": BIRDS}
    assert_problem(client.patch(f"/api/v1/projects/{text['id']}", json=patch, headers=owner), 409)


def test_stats_count_tasks_by_status(client, owner):
    pid = create_text_project(client, owner)["id"]
    client.post(f"/api/v1/projects/{pid}/tasks", json=[{"data": {"text": f"t{n}"}} for n in range(3)], headers=owner)
    stats = client.get(f"/api/v1/projects/{pid}/stats", headers=owner).get_json()
    assert stats["tasks"] == {"open": 3, "completed": 0, "withheld": 0, "retired": 0}
    assert stats["total"] == 3 and stats["progress"] == 0.0


def test_archiving_and_pausing_through_patch(client, owner):
    pid = create_project(client, owner)["id"]
    assert client.patch(f"/api/v1/projects/{pid}", json={"status": "paused"}, headers=owner).get_json()["status"] == "paused"
    assert_problem(client.patch(f"/api/v1/projects/{pid}", json={"status": "deleted"}, headers=owner), 422)


def test_patching_part_of_a_nested_setting_keeps_the_rest(client, owner):
    project = create_project(client, owner, rewards={"per_annotation": 50, "agreement_bonus": 20},
                             qualification={"min_gold_accuracy": 0.7, "warmup_gold": 5},
                             dynamic_overlap={"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.9})
    patched = client.patch(f"/api/v1/projects/{project['id']}", headers=owner, json={
        "rewards": {"per_annotation": 60}, "qualification": {"warmup_gold": 10},
        "dynamic_overlap": {"confidence_target": 0.95}}).get_json()
    assert patched["rewards"] == {"per_annotation": 60, "agreement_bonus": 20, "mechanism": "agreement",
                                  "mechanism_params": {}}
    assert patched["qualification"] == {"min_gold_accuracy": 0.7, "warmup_gold": 10}
    assert patched["dynamic_overlap"] == {"min_overlap": 2, "max_overlap": 5, "confidence_target": 0.95}
    assert patched["overlap"] == 3 and patched["lease_seconds"] == 600  # untouched fields keep their values
    cleared = client.patch(f"/api/v1/projects/{project['id']}", headers=owner, json={"dynamic_overlap": None})
    assert cleared.get_json()["dynamic_overlap"] is None


def test_a_partial_dynamic_overlap_on_a_project_without_one_is_422(client, owner):
    pid = create_project(client, owner)["id"]
    response = client.patch(f"/api/v1/projects/{pid}", headers=owner, json={"dynamic_overlap": {"min_overlap": 2}})
    assert "dynamic_overlap" in assert_problem(response, 422)["errors"]


def test_a_new_project_that_names_no_aggregation_gets_dawid_skene_with_a_crowd_prior(client, owner):
    """The default the truth-inference bench chose (README): existing projects keep what they had."""
    body = project_body()
    del body["aggregation"]
    made = client.post("/api/v1/projects", json=body, headers=owner).get_json()
    assert made["aggregation"] == "dawid_skene_prior"
    changed = client.patch(f"/api/v1/projects/{made['id']}", json={"aggregation": "majority"}, headers=owner)
    assert changed.get_json()["aggregation"] == "majority"
