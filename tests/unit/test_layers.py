"""The house's seams: the domains, the jobs and the use cases load no web framework, and the runtime is the
pushed app's."""
from __future__ import annotations

import subprocess
import sys

import pytest

from annotator.app import create_app
from annotator.runtime import runtime
from tests.factories import FAST_ARGON2

FRAMEWORKS = ("flask", "werkzeug", "flask_login", "marshmallow")


@pytest.mark.parametrize("modules", [
    "tasks.models, incentives.ledger, incentives.providers",
    "tasks.jobs, incentives.jobs, annotator.jobs",
    "annotator.workflows.labelling, annotator.workflows.moderation, annotator.workflows.quality, "
    "annotator.workflows.datasets",
])
def test_importing_the_domains_jobs_and_use_cases_loads_no_web_framework(modules):
    code = f"import sys, {modules}; print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"importing {modules} loaded {done.stdout.strip()}"


def test_the_web_app_does_load_flask_so_the_check_above_can_fail():
    code = f"import sys, annotator.app; print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "flask" in done.stdout.split(",")


def test_the_current_runtime_is_that_of_the_innermost_pushed_app(tmp_path):
    apps = [create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / name),
                        "DATABASE_URL": f"sqlite:///{tmp_path / name}.db", **FAST_ARGON2}) for name in "ab"]
    with pytest.raises(RuntimeError, match="app context"):
        runtime()
    with apps[0].app_context():
        assert runtime() is runtime(apps[0])
        with apps[1].app_context():
            assert runtime() is runtime(apps[1])
            assert runtime().settings["DATABASE_URL"].endswith("b.db")
        assert runtime() is runtime(apps[0])
    with pytest.raises(RuntimeError):
        runtime()


def test_a_context_pushed_twice_leaves_no_runtime_behind_once_popped(app):
    context = app.app_context()
    with context:
        with context:
            assert runtime() is runtime(app)
        assert runtime() is runtime(app)
    with pytest.raises(RuntimeError):
        runtime()
