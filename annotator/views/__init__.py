"""Server-rendered page shells and operational endpoints."""
from __future__ import annotations

from flask import Flask

from annotator.views import health, media, pages


def init_views(app: Flask) -> None:
    app.register_blueprint(health.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(media.bp)
