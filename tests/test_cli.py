"""The annotator command line."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from annotator import cli, demo
from annotator.users.models import User
from annotator.web import runtime


def invoke(app, *args):
    return CliRunner().invoke(cli.main, list(args), obj=_script_info(app), catch_exceptions=False)


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_create_user_makes_an_admin(app):
    result = invoke(app, "create-user", "--email", "Root@Example.org", "--password", "a long password", "--admin")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = runtime().session_factory().scalar(select(User))
        assert user.email == "root@example.org" and user.is_admin and user.display_name == "Root"


def test_create_user_refuses_a_short_password_and_a_duplicate(app):
    short = invoke(app, "create-user", "--email", "a@example.org", "--password", "short")
    assert short.exit_code == 1 and "at least 10" in short.output
    invoke(app, "create-user", "--email", "a@example.org", "--password", "a long password")
    again = invoke(app, "create-user", "--email", "a@example.org", "--password", "a long password")
    assert again.exit_code == 1 and "already exists" in again.output


def test_demo_seeds_an_owner_and_three_annotators_once(app):
    first = invoke(app, "demo")
    assert first.exit_code == 0 and demo.OWNER.email in first.output
    invoke(app, "demo")
    with app.app_context():
        session = runtime().session_factory()
        assert session.scalar(select(func.count()).select_from(User)) == 4
    response = app.test_client().post("/api/v1/auth/login", json={"email": demo.OWNER.email, "password": demo.PASSWORD})
    assert response.status_code == 200


def test_db_upgrade_and_check(app, tmp_path):
    app.config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert invoke(app, "db", "upgrade").exit_code == 0
    assert (tmp_path / "fresh.db").exists()
    check = invoke(app, "db", "check")
    assert check.exit_code == 0 and "agree" in check.output
