"""Following the log: one thread per host's index folder that keeps the index current with
changes made on other hosts, whether or not anyone searches here.

Every worker process starts a follower at its first request (``SEARCH_FOLLOW_SECONDS``,
1 by default; 0 turns it off, as the tests do). Only the one holding the folder's
``follow.lock`` (an ``flock``, freed by the kernel if its process dies) polls; the others
wait to take over. Each poll is one query of two index probes (anything unread? still a
live reader?); it drains when there is something to read, rebuilds an index that is no
longer a live reader, and drains anyway every minute so an idle index still says it is
alive (readers.HEARTBEAT).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time

from flask import Flask

from app.extensions import db
from app.services.search.pending import needs_reading
from app.services.search.storage import index_exists
from app.services.search.threads import OneEach
from app.services.search.writer import catch_up_or_rebuild

log = logging.getLogger(__package__)

FOLLOW_LOCK = "follow.lock"
TAKE_OVER_SECONDS = 5.0
FORCE_DRAIN_SECONDS = 60.0

_followers = OneEach("search-follow")


def init_following(app: Flask) -> None:
    """Start this process's follower at its first request (after any fork)."""
    if not app.config.get("SEARCH_FOLLOW_SECONDS"):
        return

    @app.before_request
    def _follow_the_log() -> None:
        start_follower(app)


def start_follower(app: Flask) -> threading.Thread:
    index_dir = app.config["SEARCH_INDEX_DIR"]
    return _followers.start((os.getpid(), index_dir), _follow, app, index_dir)


def _follow(app: Flask, index_dir: str) -> None:
    interval = float(app.config["SEARCH_FOLLOW_SECONDS"])
    while True:
        fd = _take_follow_lock(index_dir)
        if fd is None:
            time.sleep(TAKE_OVER_SECONDS)
            continue
        try:
            _poll_forever(app, index_dir, interval)
        finally:
            os.close(fd)  # frees the lock for another worker


def _take_follow_lock(index_dir: str) -> int | None:
    try:
        os.makedirs(index_dir, exist_ok=True)
        fd = os.open(os.path.join(index_dir, FOLLOW_LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError as exc:
        os.close(fd)
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            log.exception("Could not take the search follower's lock")
        return None


def _poll_forever(app: Flask, index_dir: str, interval: float) -> None:
    forced_at = time.monotonic()
    while True:
        time.sleep(interval)
        with app.app_context():
            try:
                if not index_exists(index_dir):
                    continue
                due = time.monotonic() - forced_at >= FORCE_DRAIN_SECONDS
                if due or needs_reading(index_dir):
                    forced_at = time.monotonic() if due else forced_at
                    catch_up_or_rebuild(index_dir)
            except Exception:
                log.exception("Following the search log failed; trying again")
            finally:
                db.session.remove()
