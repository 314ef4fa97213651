"""Framework rank for provider pages, from the ranking service, and for a listing that is
not ranked, why not (in words its provider can act on)."""

from __future__ import annotations

from dataclasses import dataclass

from app.formatting import ordinal
from app.models import Service
from app.services import catalogue, frameworks, ranking
from app.services.ranking import ServiceRank

NOT_RANKED = "This listing is not ranked on a council framework lot"


def rank_for(service):
    """The service's ServiceRank on its framework lot, or None (not ranked)."""
    return ranking.service_rank(service.id)


def ranks_for(services) -> dict:
    """{service id: ServiceRank} for those of ``services`` ranked on a framework lot."""
    return ranking.service_ranks([s.id for s in services])


@dataclass(frozen=True)
class RankedLine:
    """One line of a lot's ranking, as commissioners read it."""

    rank: ServiceRank
    service: Service

    @property
    def place(self) -> str:
        return f"{'Joint ' if self.rank.joint else ''}{ordinal(self.rank.rank)}"


def lot_ranking(lot_id: int) -> list[RankedLine]:
    """The lot's ranking, best first, each line naming its service and provider."""
    ranks = ranking.lot_ranking(lot_id)
    services = catalogue.services_by_id(r.service_id for r in ranks)
    return [RankedLine(r, services[r.service_id]) for r in ranks if r.service_id in services]


def why_not_ranked(service, rank=None) -> str | None:
    """Why ``service`` has no rank (None when it has one)."""
    if rank is not None:
        return None
    return frameworks.why_not_ranked(service) or NOT_RANKED


def reasons_not_ranked(services, ranks: dict) -> dict[int, str]:
    """{service id: why it is not ranked} for those of ``services`` missing from ``ranks``."""
    return {s.id: why_not_ranked(s) for s in services if s.id not in ranks}
