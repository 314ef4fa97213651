"""Pieces of a page rendered once and kept for the same inputs: a macro whose markup
depends only on its arguments (plain data: strings, numbers, lists, dictionaries) is
rendered once in each process for each distinct set of them and read back after that.
The last few thousand are kept per process, the least recently used dropped first."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from flask import current_app, get_template_attribute
from markupsafe import Markup

KEPT = 4000  # fragments of a few kilobytes each: about 10 MB at most per process


class _Kept:
    def __init__(self) -> None:
        self.fragments: OrderedDict[str, Markup] = OrderedDict()
        self.lock = threading.Lock()


def rendered(template: str, macro: str, *args) -> Markup:
    """``macro`` of ``template`` called with ``args``, rendered at most once per process
    for the same ``args`` (while kept)."""
    key = json.dumps([template, macro, args], sort_keys=True, ensure_ascii=False, default=str)
    kept: _Kept = current_app.extensions.setdefault("rendered_fragments", _Kept())
    with kept.lock:
        html = kept.fragments.get(key)
        if html is not None:
            kept.fragments.move_to_end(key)
            return html
    html = Markup(get_template_attribute(template, macro)(*args))
    with kept.lock:
        kept.fragments[key] = html
        if len(kept.fragments) > KEPT:
            kept.fragments.popitem(last=False)
    return html
