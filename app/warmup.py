"""Getting a web worker ready before it takes its first request (gunicorn.conf.py calls
``warm_worker`` from its ``post_worker_init`` hook).

* The search index is loaded and its caches filled (``search.warm_up``), so no visitor's
  search pays for loading it (1.3 s at 100,000 services).
* Every page template is compiled once.
* Then ``gc.freeze()`` moves everything alive, the loaded index and the compiled templates
  among it, out of the collector's sight: a full collection no longer walks hundreds of
  thousands of long-lived objects (100-200 ms in a worker at 100,000 services), so it stops
  showing up as a slow request. Frozen objects are still freed when nothing refers to
  them (a replaced index segment is); only cycles among them would be kept.

``SEARCH_WARM_START=0`` turns all of it off (the benchmark compares the two).
"""

from __future__ import annotations

import gc
import logging
import os
import time

from flask import Flask

from app.extensions import db
from app.services import search

log = logging.getLogger(__name__)


def warm_start_enabled(environ: dict | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get("SEARCH_WARM_START", "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def compile_templates(app: Flask) -> int:
    """Compile every page template into the environment's cache; how many."""
    names = app.jinja_env.list_templates(extensions=("html",))
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def warm_worker(app: Flask, *, freeze: bool = True) -> dict:
    """Load what every request needs, then (``freeze``) hide it from the collector."""
    started = time.perf_counter()
    report = None
    with app.app_context():
        try:
            report = search.warm_up()
        except Exception:  # the database is away, say: the worker still starts, and its pages say so
            log.exception("Search index not loaded at start")
        finally:
            db.session.remove()
    templates = compile_templates(app)
    if freeze:
        gc.collect()
        gc.freeze()
    figures = {
        "index_loaded": bool(report and report.loaded),
        "documents": report.documents if report else 0,
        "templates": templates,
        "frozen_objects": gc.get_freeze_count(),
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info("Worker %s ready: %s", os.getpid(), figures)
    return figures
