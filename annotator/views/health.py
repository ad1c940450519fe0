"""GET /healthz: 200 when the database and the queue answer, 503 naming what is down."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from annotator.runtime import runtime

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _database() -> str:
    try:
        with runtime().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError:
        log.warning("health: database down", exc_info=True)
        return "down"


def _queue() -> str:
    try:
        runtime().redis.ping()
        return "ok"
    except (redis.RedisError, OSError):
        log.warning("health: queue down", exc_info=True)
        return "down"


@bp.get("/healthz")
def healthz():
    report = {"database": _database(), "queue": _queue()}
    status = 200 if all(v == "ok" for v in report.values()) else 503
    return current_app.json.response(report), status
