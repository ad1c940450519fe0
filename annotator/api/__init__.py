"""The JSON API under /api/v1: one module per resource."""
from __future__ import annotations

from flask import Blueprint, Flask

from annotator.api import (admin, auth, exports, imports, incentives, labelling, openapi, payments, projects, quality,
                           releases, reviews, tasks, wallet)
from annotator.api.errors import init_errors
from annotator.users.login import require_valid_credentials

RESOURCES = (auth.bp, projects.bp, tasks.bp, imports.bp, exports.bp, labelling.bp, reviews.bp, quality.bp, incentives.bp,
             releases.bp, wallet.bp, payments.bp, admin.bp, openapi.bp)


def init_api(app: Flask) -> None:
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    api.before_request(require_valid_credentials)
    for resource in RESOURCES:
        api.register_blueprint(resource)
    app.register_blueprint(api)
    app.register_blueprint(openapi.docs)  # GET /api/docs, the browsable page, beside /api/v1
    init_errors(app)
