"""A small thread-safe least-recently-used cache, for what segments and snapshots work out
once and look up often (bitsets, lexicons, lot orders)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable


class LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make: Callable[[], object]):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)
        return value
