"""Ranking from the database: each lot's members as they are now."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from app.extensions import db
from app.models import (
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
)
from app.services.ranking.ranks import ServiceRank, rank_lot
from app.services.ranking.rule import LotInfo, Member


def lot_info(lot: FrameworkLot) -> LotInfo:
    return LotInfo(lot.id, lot.name, lot.quality_weight, lot.price_weight, lot.review_weight, lot.review_minimum)


def _listed_members(*columns):
    """``columns`` of each listed service on each lot its provider is approved on for the
    service's type of support: the one rule of who a lot's members are."""
    return (
        select(*columns)
        .join(Provider, Provider.id == Service.provider_id)
        .join(FrameworkMembership, FrameworkMembership.provider_id == Provider.id)
        .join(FrameworkLot, FrameworkLot.id == FrameworkMembership.lot_id)
        .where(
            FrameworkMembership.status == MembershipStatus.APPROVED,
            Service.category_id == FrameworkLot.category_id,
            Service.status == ServiceStatus.PUBLISHED,
            Provider.status == ProviderStatus.VERIFIED,
        )
    )


def _members_query(lot_ids: Sequence[int]):
    return _listed_members(
        FrameworkMembership.lot_id,
        Service.id,
        Service.title,
        Service.price_pence,
        Service.price_unit,
        Provider.cqc_overall,
        Provider.cqc_safe,
        Provider.cqc_effective,
        Provider.cqc_caring,
        Provider.cqc_responsive,
        Provider.cqc_well_led,
        Provider.cqc_location_id,
        Service.review_count,
        Service.review_sum,
    ).where(FrameworkMembership.lot_id.in_(lot_ids))


def rank_lots(lots: Sequence[FrameworkLot]) -> dict[int, list[ServiceRank]]:
    """{lot id: its members' ranks, best first}, worked out from the database."""
    if not lots:
        return {}
    members: dict[int, list[Member]] = {lot.id: [] for lot in lots}
    for row in db.session.execute(_members_query([lot.id for lot in lots])):
        members[row[0]].append(
            Member(
                service_id=row[1],
                title=row[2],
                price_pence=row[3],
                price_unit=row[4],
                overall=row[5],
                key_questions=tuple(row[6:11]),
                cqc_regulated=bool(row[11]),
                review_count=row[12],
                review_sum=row[13],
            )
        )
    return {lot.id: rank_lot(lot_info(lot), members[lot.id]) for lot in lots}


def lot_ranking(lot_id: int) -> list[ServiceRank]:
    """Every member service of the lot, best first (empty for an unknown lot)."""
    lot = db.session.get(FrameworkLot, lot_id)
    if lot is None:
        return []
    return rank_lots([lot])[lot.id]


def service_ranks(service_ids: Iterable[int]) -> dict[int, ServiceRank]:
    """The rank of each listed framework service among ``service_ids``; others are left out.

    A service whose provider is approved on more than one lot for its category is ranked
    on the first of them (the oldest lot)."""
    ids = list(dict.fromkeys(service_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        _listed_members(Service.id, FrameworkLot.id).where(Service.id.in_(ids)).order_by(Service.id, FrameworkLot.id)
    ).all()
    first_lot: dict[int, int] = {}
    for service_id, lot_id in rows:
        first_lot.setdefault(service_id, lot_id)
    lots = db.session.execute(select(FrameworkLot).where(FrameworkLot.id.in_(set(first_lot.values())))).scalars().all()
    ranked = rank_lots(lots)
    result = {}
    for service_id, lot_id in first_lot.items():
        for rank in ranked.get(lot_id, []):
            if rank.service_id == service_id:
                result[service_id] = rank
                break
    return result


def service_rank(service_id: int) -> ServiceRank | None:
    """The service's rank on its framework lot, or None when it is not on the framework
    (or not listed publicly)."""
    return service_ranks([service_id]).get(service_id)
