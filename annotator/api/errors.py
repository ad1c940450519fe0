"""DomainError -> HTTP status in ONE table, and the one problem+json body (the OpenAPI document's Problem)."""
from __future__ import annotations

import logging

from flask import Flask, Response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError

from annotator import errors as e
from annotator.web import OrjsonProvider

log = logging.getLogger(__name__)

STATUS: dict[type[e.DomainError], int] = {
    e.MalformedBody: 400,
    e.NotAuthenticated: 401,
    e.PermissionDenied: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.InvalidInput: 422,
    e.RateLimited: 429,
    e.ServiceUnavailable: 503,
}

PROBLEM_MIMETYPE = "application/problem+json"

# Codes for HTTP errors raised outside our domain (routing, werkzeug's body limits).
HTTP_CODES = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
              415: "unsupported_media_type", 429: "rate_limited"}


def status_for(error: e.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(status: int, code: str, title: str, detail: str, *, errors: dict | None = None,
            headers: dict | None = None, **extra: object) -> Response:
    body = {"type": f"urn:annotator:problem:{code}", "title": title, "status": status, "detail": detail,
            "code": code, **extra}
    if errors is not None:
        body["errors"] = errors
    response = Response(OrjsonProvider.dumps_bytes(body), status=status, mimetype=PROBLEM_MIMETYPE)
    response.headers.update(headers or {})
    return response


def _domain_error(error: e.DomainError) -> Response:
    status = status_for(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, e.RateLimited) else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    return problem(status, error.code, error.title, error.detail,
                   errors=getattr(error, "fields", None), headers=headers, **error.extra)


def _http_error(error: HTTPException) -> Response | HTTPException:
    if not request.path.startswith("/api/"):
        return error
    status = error.code or 500
    code = HTTP_CODES.get(status, "http_error")
    headers = {}
    if status == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    if status == 413:
        detail = "The request body is larger than this server accepts."
    else:
        detail = error.description or error.name
    return problem(status, code, error.name, detail, headers=headers)


def _integrity(error: IntegrityError) -> Response | Exception:
    # Domain code checks before it writes; a unique index refusing a row means a concurrent change won.
    if not request.path.startswith("/api/"):
        return _unexpected(error)
    log.warning("integrity conflict on %s %s: %s", request.method, request.path, error.orig)
    return problem(409, "conflict", "Conflict with the current state",
                   "Someone changed the same thing at the same moment; reload and try again.")


def _unexpected(error: Exception) -> Response | Exception:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if not request.path.startswith("/api/"):
        return InternalServerError(original_exception=error)
    return problem(500, "internal_error", "Internal Server Error",
                   "Something went wrong on our side; it has been logged.")


def init_errors(app: Flask) -> None:
    app.register_error_handler(e.DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IntegrityError, _integrity)
    app.register_error_handler(Exception, _unexpected)
