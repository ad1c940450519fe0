"""Shared helpers for API tests: a bird taxonomy and project factories."""
from __future__ import annotations

BIRDS = {"tools": ["bbox", "classify"], "multi_label": False,
         "labels": [{"id": "bird", "name": "鸟类", "children": [
             {"id": "warbler", "name": "莺", "children": [
                 {"id": "yellow_warbler", "name": "黄林莺"}, {"id": "willow_warbler", "name": "欧柳莺"}]},
             {"id": "sparrow", "name": "麻雀"}]}],
         "attributes": [{"name": "occluded", "type": "boolean"},
                        {"name": "pose", "type": "choice", "options": ["perched", "flying"]}]}

SENTIMENT = {"tools": ["classify", "span"], "labels": [
    {"id": "positive", "name": "Positive"}, {"id": "negative", "name": "Negative"},
    {"id": "species", "name": "Species mention"}]}


def project_body(**overrides) -> dict:
    return {"name": "Warblers of Yunnan", "media_type": "image", "label_schema": BIRDS, "overlap": 3,
            "visibility": "private", **overrides}


def text_project_body(**overrides) -> dict:
    return {"name": "Reviews", "media_type": "text", "label_schema": SENTIMENT, "overlap": 2, **overrides}


def create_project(client, headers, **overrides) -> dict:
    response = client.post("/api/v1/projects", json=project_body(**overrides), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def create_text_project(client, headers, **overrides) -> dict:
    response = client.post("/api/v1/projects", json=text_project_body(**overrides), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
