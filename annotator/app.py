"""The composition root: create_app builds the Flask app from configuration and wires every piece."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from annotator import config as cfg
from annotator import queue, runtime, web
from annotator.api import init_api
from annotator.users.login import init_login
from annotator.views import init_views
from incentives import ledger

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def create_app(test_config: dict | None = None) -> Flask:
    instance = (test_config or {}).get("INSTANCE_PATH") or cfg.instance_path(os.environ)
    app = Flask("annotator", instance_path=instance, instance_relative_config=True,
                static_folder=str(FRONTEND / "static"), template_folder=str(FRONTEND / "templates"))
    app.config.from_mapping(cfg.DEFAULTS)
    app.config.update(cfg.from_environment(os.environ))
    app.config.update(test_config or {})
    cfg.finalise(app.config, app.instance_path, debug=app.debug)

    ledger.set_currency(app.config["ANNOTATOR_CURRENCY"])
    lifetime = runtime.build(app.config, app.instance_path)
    queue.install_after_commit(lifetime.session_factory)
    app.extensions[runtime.EXTENSION] = lifetime
    web.init_app(app)
    init_login(app)
    init_api(app)
    init_views(app)
    return app
