"""Page shells: Jinja renders the frame, one ES module per page does the rest through the API."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("pages", __name__)


def _page(template: str, page: str, **context):
    """A page for signed-in people (others go to sign in), in their language."""
    if not current_user.is_authenticated:
        return redirect(url_for("pages.login"))
    return render_template(template, page=page, lang=current_user.locale, **context)


@bp.get("/")
def home():
    return _page("home.html", "home")


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: point them at the icon (no 404 on every page)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/login")
def login():
    return render_template("login.html", page="login")


@bp.get("/signup")
def signup():
    return render_template("signup.html", page="signup")


@bp.get("/admin")
def admin():
    """Administrators' desk: deposits to confirm, payouts to decide, the ledger check (the API refuses others)."""
    return _page("admin.html", "admin")


@bp.get("/wallet")
def wallet():
    return _page("wallet.html", "wallet")


@bp.get("/projects/<int:project_id>/label")
def label(project_id: int):
    """The labelling workspace; the page asks the API for the project, so an unknown one shows its 404 there."""
    return _page("label.html", "label", project_id=project_id)


@bp.get("/projects/<int:project_id>/quality")
def quality(project_id: int):
    """A project's dashboard: progress, agreement per label and per annotator, tasks, exports (the API decides
    who may see them)."""
    return _page("quality.html", "quality", project_id=project_id)


@bp.get("/projects/<int:project_id>/incentives")
def incentives(project_id: int):
    """A project's reward mechanism: choose it, simulate crowds under every mechanism, replay its real answers."""
    return _page("incentives.html", "incentives", project_id=project_id)


@bp.get("/projects/new")
def new_project():
    return _page("project_form.html", "project_form", project_id=None)


@bp.get("/projects/<int:project_id>/settings")
def project_settings(project_id: int):
    return _page("project_form.html", "project_form", project_id=project_id)


@bp.get("/projects/<int:project_id>/import")
def project_import(project_id: int):
    """Drag-and-drop imports with a progress bar per job, the refused files with reasons, near-duplicates."""
    return _page("import.html", "import", project_id=project_id)


@bp.get("/projects/<int:project_id>/members")
def project_members(project_id: int):
    """Who is in a project: invite by e-mail with a role, change roles, remove, pending invitations, public or
    private."""
    return _page("members.html", "members", project_id=project_id)


@bp.get("/projects/<int:project_id>/tasks")
def project_tasks(project_id: int):
    """The task browser: filter a project's tasks and open one."""
    return _page("tasks.html", "tasks", project_id=project_id)


@bp.get("/projects/<int:project_id>/tasks/<int:task_id>")
def project_task(project_id: int, task_id: int):
    """One task: the item with every answer overlaid in its annotator's colour, the consensus, reviews, flags and
    the ledger lines it caused."""
    return _page("task.html", "task", project_id=project_id, task_id=task_id)


@bp.get("/projects/<int:project_id>/answers")
def my_answers(project_id: int):
    """Your answers in a project, newest first, each revisable while its task is open."""
    return _page("answers.html", "answers", project_id=project_id)


@bp.get("/projects/<int:project_id>/review")
def project_review(project_id: int):
    """Review (reviewers and up): the next item of the review queue with every answer side by side, a verdict
    per answer by keyboard, the open appeals to decide, and for owners and managers the queue and its reviewers
    in numbers."""
    return _page("review.html", "review", project_id=project_id)


@bp.get("/contributions")
def contributions():
    """Your contributions: every dataset release you hold a share in, the share, what it counted and what it paid."""
    return _page("contributions.html", "contributions")


@bp.get("/projects/<int:project_id>/releases")
def project_releases(project_id: int):
    """The owner's releases: make one from a completed export, each one's shares and card, its revenue recorded
    and split (the API refuses everyone but the owner)."""
    return _page("releases.html", "releases", project_id=project_id)
