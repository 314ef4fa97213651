"""A web worker is ready before its first request: the search index loaded and its caches
filled, templates compiled, and (in gunicorn) the collector told to leave them alone."""

from __future__ import annotations

import gc
import os
import runpy
import subprocess
import sys
import time
import types
from pathlib import Path

from app.services import search
from app.warmup import compile_templates, warm_start_enabled, warm_worker
from bench.__main__ import free_port, gunicorn_env

ROOT = Path(__file__).resolve().parent.parent


def loaded_snapshot(app):
    engines = app.extensions.get("search_engines", {})
    found = engines.get(app.config["SEARCH_INDEX_DIR"])
    return found._snapshot if found is not None else None


def test_a_warmed_worker_has_the_index_in_memory_before_anyone_searches(app, make_service):
    make_service(title="Morning visits")
    make_service(title="Evening visits")
    with app.app_context():
        search.rebuild()
    app.extensions.pop("search_engines", None)  # as a new worker starts: nothing loaded
    assert loaded_snapshot(app) is None

    figures = warm_worker(app, freeze=False)

    snapshot = loaded_snapshot(app)
    assert snapshot is not None and snapshot.count == 2
    assert figures["index_loaded"] is True and figures["documents"] == 2
    assert figures["templates"] > 100


def test_a_worker_starts_without_an_index_and_its_search_page_says_so(app, client):
    figures = warm_worker(app, freeze=False)
    assert figures["index_loaded"] is False
    assert client.get("/search?q=care").status_code == 503


def test_every_page_template_compiles(app):
    assert compile_templates(app) == len(app.jinja_env.list_templates(extensions=("html",)))


def test_warm_start_is_on_unless_turned_off():
    assert warm_start_enabled({})
    assert warm_start_enabled({"SEARCH_WARM_START": "1"})
    assert not warm_start_enabled({"SEARCH_WARM_START": "0"})
    assert not warm_start_enabled({"SEARCH_WARM_START": "off"})


def test_gunicorns_hook_warms_the_worker_then_freezes_what_is_loaded(app, monkeypatch):
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    worker = types.SimpleNamespace(wsgi=app)

    monkeypatch.setenv("SEARCH_WARM_START", "0")
    hooks["post_worker_init"](worker)
    assert frozen == []

    monkeypatch.setenv("SEARCH_WARM_START", "1")
    hooks["post_worker_init"](worker)
    assert frozen == [True]


def test_gunicorn_reads_the_config_and_each_worker_warms_before_serving(tmp_path):
    """`gunicorn wsgi:app` run from the project folder picks up gunicorn.conf.py by itself."""
    port = free_port()
    env = gunicorn_env(f"sqlite:///{tmp_path / 'app.sqlite3'}", str(tmp_path / "index"), base={"PATH": os.environ.get("PATH", "")})
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "info"]
    with log.open("w") as out:
        server = subprocess.Popen([*command, "--error-logfile", "-", "bench.wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.time() + 60
        while "ready:" not in log.read_text() and server.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        assert "ready:" in text, text[-3000:]
        assert "'templates':" in text and "'index_loaded': False" in text
    finally:
        server.terminate()
        server.wait(timeout=30)
