"""The README's token recipe, run as written (with curl) against a live server: it must end signed in with a
token (it used to lose the session's refreshed cookie and get 403 csrf_failed)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from annotator import demo

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_token_recipe_works_as_written(live_server, seeded, tmp_path):
    assert shutil.which("curl"), "curl is needed to run the README's recipe"
    text = README.read_text(encoding="utf-8")
    block = re.search(r"Scripts use a personal API token:\n\n```sh\n(.*?)```", text, re.S).group(1)
    script = block.replace("http://127.0.0.1:5000", live_server)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert f'"email":"{demo.OWNER.email}"' in done.stdout.replace(" ", "")  # the last call: GET /me with the token
