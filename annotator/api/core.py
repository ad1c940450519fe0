"""How API views are declared: strict body loading, output schemas, and the record the OpenAPI document reads."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Blueprint, Response, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from marshmallow import Schema, ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.errors import Conflict, InvalidInput, MalformedBody, NotAuthenticated, UnsupportedMediaType
from annotator.api import idempotency
from annotator.web import OrjsonProvider, check_csrf, db_session

JSON_MIMETYPES = frozenset({"application/json"})
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


@dataclass(frozen=True)
class ApiDoc:
    """What the OpenAPI document says of one endpoint."""

    summary: str
    auth: bool
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    paged: bool
    tag: str
    raw_body: dict | None = None  # OpenAPI request content for bodies the view reads itself
    idempotent: bool = False      # honours the Idempotency-Key header


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"a.b.0.c": [...]} so a client can point at the field."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": messages}
    flat: dict[str, list[str]] = {}
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, value in items:
        path = f"{prefix}.{key}" if prefix else str(key)
        if key == "_schema" and prefix == "":
            path = "_body"
        flat.update(flatten_messages(value, path))
    return flat


def load(schema: Schema, data: Any) -> dict:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise InvalidInput(flatten_messages(error.messages)) from None


def read_body() -> bytes:
    """The whole request body; 413 past the limit, whether declared or streamed."""
    raw = request.get_data(cache=True)  # werkzeug answers 413 past a declared Content-Length
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is cut at the limit without an error: never use a truncated body.
        raise RequestEntityTooLarge()
    return raw


def read_json_object() -> dict:
    """The body as a JSON object. A body-less request (no content, no type: `curl -X POST .../approve`) means
    `{}`, so a schema's defaults apply; a body of another type is 415."""
    if not request.mimetype and not read_body():
        return {}
    if request.mimetype not in JSON_MIMETYPES:
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.mimetype or 'nothing'}.")
    raw = read_body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise MalformedBody(f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise MalformedBody(f"The body must be a JSON object, not a JSON {_JSON_TYPES[type(data)]}.")
    return data


def require_user() -> None:
    if not current_user.is_authenticated:
        raise NotAuthenticated("Sign in, or send an API token as 'Authorization: Bearer <token>'.")


def route(bp: Blueprint, rule: str, *, methods: list[str], summary: str, tag: str, auth: bool = True,
          body: type[Schema] | None = None, query: type[Schema] | None = None,
          response: type[Schema] | None = None, status: int = 200, paged: bool = False,
          raw_body: dict | None = None, idempotent: bool = False) -> Callable:
    """Declare an API view.

    The view receives `payload` (the loaded body) and `args` (the loaded query) when
    schemas are given, and returns either a Response, a `Reply` (a body already shaped, with its status), or
    data that `response` dumps (with `paged`, a `Page`).

    An `idempotent` view does not commit: the route dumps its result, records the reply for the request's
    Idempotency-Key in the same transaction as the view's effect, then commits, so a crash cannot keep one
    without the other.
    """
    doc = ApiDoc(summary, auth, body, query, response, status, paged, tag, raw_body, idempotent)
    dumper = _dumper(response, paged)

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if auth:
                require_user()
            check_csrf()
            if idempotent:
                replay = idempotency.replay_or_claim()
                if replay is not None:
                    return replay
            if body is not None:
                kwargs["payload"] = load(body(), read_json_object())
            if query is not None:
                kwargs["args"] = load(query(), request.args.to_dict())
            try:
                result = fn(**kwargs)
                if idempotent:
                    return _remember_and_commit(dumper(result), status)
            except Conflict:
                # The same key may have been in flight: once it committed, replay it rather than refuse.
                replay = idempotency.replay_after_conflict() if idempotent else None
                if replay is None:
                    raise
                return replay
            if isinstance(result, Response):
                return result
            if isinstance(result, Reply):
                return result.body, result.status
            return dumper(result), status

        view.api_doc = doc  # type: ignore[attr-defined]
        bp.add_url_rule(rule, fn.__name__, view, methods=methods)
        return view

    return decorate


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int


def paginate(session: Session, statement: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    items = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), page, per_page, total)


def project_rows(session: Session, model: Any, project_id: int, args: dict, *, newest_first: bool = False) -> Page:
    """A page of a project's rows (tasks, flags, exports, ...) in id order (or newest first), filtered by `status`
    and `task_id` when asked."""
    statement = select(model).where(model.project_id == project_id).order_by(
        model.id.desc() if newest_first else model.id)
    if "status" in args:
        statement = statement.where(model.status == args["status"])
    if "task_id" in args:
        statement = statement.where(model.task_id == args["task_id"])
    return paginate(session, statement, args["page"], args["per_page"])


@dataclass(frozen=True)
class Reply:
    """A body the view shaped itself (not by the route's response schema), with its status: 202 while computing."""

    body: Any
    status: int = 200


def _dumper(schema: type[Schema] | None, paged: bool) -> Callable[[Any], Any]:
    """How the route turns a view's result into its body; the schema is made once, not per request."""
    if schema is None:
        return lambda result: result
    if paged:
        many = schema(many=True)
        return lambda page: {"items": many.dump(page.items), "page": page.page, "per_page": page.per_page,
                             "total": page.total}
    return schema().dump


def _remember_and_commit(body: Any, status: int) -> Response:
    idempotency.remember(status, body)
    try:
        db_session().commit()
    except IntegrityError:
        # Most often the same key committed by a request running beside this one (the record's unique index):
        # the route then replays that request's reply; any other clash stays a 409.
        db_session().rollback()
        raise Conflict("Someone changed the same thing at the same moment; reload and try again.") from None
    idempotency.forget()
    return Response(OrjsonProvider.dumps_bytes(body), status=status, mimetype="application/json")


def no_content() -> Response:
    return Response(status=204)


class WithFields:
    """`obj` seen with extra attributes, for output schemas that add per-request fields (a role, a count)."""

    def __init__(self, obj: Any, **extra: Any) -> None:
        self._obj, self._extra = obj, extra

    def __getattr__(self, name: str) -> Any:
        extra = self.__dict__["_extra"]
        return extra[name] if name in extra else getattr(self.__dict__["_obj"], name)
