"""gunicorn's settings for the marketplace, read by `gunicorn wsgi:app` from the folder it
runs in. Each worker gets ready before it takes a request (app/warmup.py): the search
index loaded, templates compiled, then the collector told to leave them alone."""

from app.warmup import warm_start_enabled, warm_worker


def post_worker_init(worker):
    if warm_start_enabled():
        warm_worker(worker.wsgi)
