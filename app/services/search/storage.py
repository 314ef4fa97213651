"""The index on disk: where it lives, whether this schema's index is there, opening it,
the lock that lets one process at a time write it, and clearing out indexes of other
schemas or synonym lists.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from whoosh import index as windex

from app.services.errors import DomainError
from app.services.search.schema import INDEX_NAME, SCHEMA

LOCK_FILE = "drain.lock"


class SearchUnavailable(DomainError):
    """The index is missing or cannot be read: `flask search rebuild` builds it."""


def index_dir_from_config() -> str:
    return current_app.config["SEARCH_INDEX_DIR"]


_TOC_RE = re.compile(rf"^_{re.escape(INDEX_NAME)}_\d+\.toc$")


def index_exists(index_dir: str) -> bool:
    """Whether the current index (this schema and synonym list) has been built here."""
    try:
        return any(_TOC_RE.match(name) for name in os.listdir(index_dir))
    except OSError:
        return False


def open_index(index_dir: str):
    # Always with our own schema: Whoosh would otherwise unpickle the one saved in the
    # index, which names this package's analyser classes as they were when it was built.
    return windex.open_dir(index_dir, indexname=INDEX_NAME, schema=SCHEMA)


def create_index(index_dir: str):
    return windex.create_in(index_dir, SCHEMA, indexname=INDEX_NAME)


def toc_path(index_dir: str, generation: int) -> str:
    """The file that says what generation ``generation`` of the index is made of."""
    return os.path.join(index_dir, f"_{INDEX_NAME}_{generation}.toc")


@contextmanager
def index_lock(index_dir: str, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the one-writer lock of the index folder. Yields False if another process
    (or thread) holds it and it was not freed within ``wait`` seconds."""
    os.makedirs(index_dir, exist_ok=True)
    fd = os.open(os.path.join(index_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    acquired = False
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    break
                time.sleep(0.05)
        yield acquired
    finally:
        if acquired:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def remove_other_indexes(index_dir: str) -> None:
    """Delete the files of indexes built with an older schema or synonym list."""
    pattern = re.compile(r"^_?(services_v\d+_[0-9a-f]{8})_")
    for name in os.listdir(index_dir):
        match = pattern.match(name)
        if match and match.group(1) != INDEX_NAME:
            with contextlib.suppress(OSError):  # another process got there first
                os.remove(os.path.join(index_dir, name))
