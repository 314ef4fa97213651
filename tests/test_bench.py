"""`make bench` serves the app through gunicorn with production settings. If production
start-up checks tighten, the bench must still start: build its app exactly as a gunicorn
worker would, in a fresh process with the bench's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.__main__ import gunicorn_env

ROOT = Path(__file__).resolve().parent.parent


def test_the_bench_gunicorn_environment_builds_the_app(tmp_path):
    env = gunicorn_env(f"sqlite:///{tmp_path / 'bench.sqlite3'}", str(tmp_path / "index"), base={"PATH": os.environ.get("PATH", "")})
    script = "import bench.wsgi as w; print(w.app.config['ENV_NAME'], w.app.config['MAIL_BACKEND'])"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["production", "log"]
