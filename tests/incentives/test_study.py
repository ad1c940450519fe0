"""incentives/STUDY.md is what its script gives from its seeds: the tables are measurements, not prose."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_study_reproduces_from_its_script():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "incentive_study.py"), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout
