"""Full-text search over published services. The only module that imports Whoosh."""

from __future__ import annotations

import os

from whoosh import index as whoosh_index

INDEX_NAME = "services"


def index_status(index_dir: str) -> dict:
    """Whether the search index exists and can be opened."""
    if not os.path.isdir(index_dir) or not whoosh_index.exists_in(index_dir, indexname=INDEX_NAME):
        return {"ok": False, "state": "missing", "detail": "Run `flask search rebuild` to build it."}
    try:
        ix = whoosh_index.open_dir(index_dir, indexname=INDEX_NAME)
        with ix.searcher() as searcher:
            documents = searcher.doc_count()
    except Exception as exc:  # a corrupt or unreadable index must show as such, not crash /health
        return {"ok": False, "state": "unreadable", "detail": exc.__class__.__name__}
    return {"ok": True, "state": "ready", "documents": documents}
