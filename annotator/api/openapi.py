"""The OpenAPI 3.1 document, generated from the routes and their marshmallow schemas."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app

from annotator.api.core import ApiDoc

bp = Blueprint("openapi", __name__)

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_TYPES = {"int": "integer", "float": "number"}
_PROBLEM = {"description": "An error", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="Annotator API", version="1", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()], info={"description": "See API.md for the contract."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie",
                                                "name": app.config["SESSION_COOKIE_NAME"]})
    spec.components.schema("Problem", {"type": "object", "required": ["type", "title", "status", "detail"],
                                       "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                                      "status": {"type": "integer"}, "detail": {"type": "string"},
                                                      "code": {"type": "string"},
                                                      "errors": {"type": "object"}}})
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        doc: ApiDoc | None = getattr(app.view_functions[rule.endpoint], "api_doc", None)
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, doc, method)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(rule, doc: ApiDoc | None, method: str) -> dict:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": _PARAM_TYPES.get(conv or "", "string")}}
              for conv, name in _PARAM.findall(rule.rule)]
    if doc is None:
        return {"summary": rule.endpoint, "parameters": params, "responses": {"default": _PROBLEM}}
    op: dict = {"summary": doc.summary, "tags": [doc.tag], "operationId": rule.endpoint, "responses": {}}
    if doc.query is not None:
        params.append({"in": "query", "schema": doc.query})
    if params:
        op["parameters"] = params
    if doc.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
    elif doc.raw_body is not None:
        op["requestBody"] = {"required": True, "content": doc.raw_body}
    op["responses"][str(doc.status)] = _success(doc)
    op["responses"]["default"] = _PROBLEM
    op["security"] = [{"bearer": []}, {"session": []}] if doc.auth else []
    return op


def _success(doc: ApiDoc) -> dict:
    if doc.response is None:
        return {"description": "No content" if doc.status == 204 else "OK"}
    schema = doc.response
    if doc.paged:
        schema = {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
            "items": {"type": "array", "items": doc.response}, "page": {"type": "integer"},
            "per_page": {"type": "integer"}, "total": {"type": "integer"}}}
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


@bp.get("/openapi.json")
def openapi():
    return build_spec(current_app)
