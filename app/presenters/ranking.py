"""Framework rank for provider pages, from the ranking service (issue 3) when present."""

from __future__ import annotations

import importlib


def _ranking():
    try:
        return importlib.import_module("app.services.ranking")
    except ModuleNotFoundError:
        return None


def rank_for(service):
    """The service's ServiceRank on its framework lot, or None (not on a lot, or no
    ranking service in this build)."""
    module = _ranking()
    return module.service_rank(service.id) if module else None


def ranks_for(services) -> dict:
    """{service id: ServiceRank} for those of ``services`` ranked on a framework lot."""
    module = _ranking()
    if module is None:
        return {}
    return module.service_ranks([s.id for s in services])


def lot_ranking(lot_id: int) -> list | None:
    module = _ranking()
    return module.lot_ranking(lot_id) if module else None


def available() -> bool:
    return _ranking() is not None
