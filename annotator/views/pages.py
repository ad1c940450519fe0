"""Page shells: Jinja renders the frame, one ES module per page does the rest through the API."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return render_template("home.html", page="home")


@bp.get("/login")
def login():
    return render_template("login.html", page="login")


@bp.get("/projects/<int:project_id>/label")
def label(project_id: int):
    """The labelling workspace; the page asks the API for the project, so an unknown one shows its 404 there."""
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return render_template("label.html", page="label", project_id=project_id)


@bp.get("/projects/<int:project_id>/quality")
def quality(project_id: int):
    """A project's agreement, per label, per annotator and per task (the API decides who may see them)."""
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return render_template("quality.html", page="quality", project_id=project_id)
