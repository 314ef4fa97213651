"""The search index's background threads (the follower, a drain): at most one live thread
per key in this process, started again only once the last has stopped."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable


class OneEach:
    def __init__(self, name: str):
        self.name = name
        self._threads: dict[Hashable, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, target: Callable[..., None], *args) -> threading.Thread:
        """The live thread for ``key``, or a new daemon thread running ``target(*args)``."""
        with self._lock:
            thread = self._threads.get(key)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(target=target, args=args, name=self.name, daemon=True)
                self._threads[key] = thread
                thread.start()
            return thread

    def get(self, key: Hashable) -> threading.Thread | None:
        """The thread last started for ``key``, if any (alive or not)."""
        return self._threads.get(key)
