"""The OpenAPI 3.1 document, generated from the routes and their marshmallow schemas, and /api/docs, the page
that draws it (the vendored Swagger UI)."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, render_template
from flask_login import current_user

from annotator.api.core import ApiDoc, route
from annotator.users.login import require_valid_credentials

bp = Blueprint("openapi", __name__)
# /api/docs sits beside /api/v1, so it is registered on the app; like the API, a dead bearer token is refused.
docs = Blueprint("docs", __name__)
docs.before_request(require_valid_credentials)
TAG = "docs"

DESCRIPTION = (
    "The Annotator JSON API, browsable at [/api/docs](/api/docs). Sign in for a session cookie (writes then send "
    "the `X-CSRF-Token` from `GET /api/v1/auth/csrf`) or send an API token as `Authorization: Bearer <token>`. "
    "Every error is `application/problem+json` with a stable `code` and, for bad input, `errors` by field.")
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_PARAM_TYPES = {"int": "integer", "float": "number"}
_PROBLEM = {"description": "An error", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="Annotator API", version="1", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()], info={"description": DESCRIPTION})
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


@route(docs, "/api/docs", methods=["GET"], auth=False, tag=TAG,
       summary="This document as a browsable HTML page (Swagger UI); open to anyone, as the document is")
def api_docs():
    signed_in = current_user.is_authenticated
    html = render_template("api_docs.html", page="api_docs", signed_in=signed_in,
                           lang=current_user.locale if signed_in else None)
    return Response(html, mimetype="text/html")
