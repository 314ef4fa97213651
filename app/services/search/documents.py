"""Documents from the database: one per listed service (published, from a verified
provider), read in batches with the few small tables every document needs (its hours and
the groups of people it supports, one query each per batch), and which services an outbox
batch asks to rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, cast, distinct, func, literal_column, select
from sqlalchemy.engine import Connection

from app.models import (
    Category,
    FrameworkLot,
    FrameworkMembership,
    FundingRoute,
    MembershipStatus,
    OutboxEntity,
    PostcodeDistrict,
    Provider,
    ProviderArea,
    ProviderStatus,
    Service,
    ServiceHours,
    ServiceStatus,
    SupportedGroup,
)
from app.services.search.schema import FUNDING_BITS, RATING_CODES, SUPPORTS_BITS, groups_of
from app.services.search.support_words import support_text


@dataclass
class Reference:
    """The small tables every document needs, read once per batch of work."""

    categories: dict[int, tuple[str, str]]  # id -> (slug, name)
    towns: dict[str, str]  # district -> post town
    lots: dict[int, list[int]]  # category id -> its lots' ids, oldest first
    approved: set[tuple[int, int]]  # (provider id, lot id)

    @classmethod
    def load(cls, conn: Connection) -> Reference:
        categories = {
            r.id: (r.slug, r.name)
            for r in conn.execute(select(Category.__table__.c.id, Category.__table__.c.slug, Category.__table__.c.name))
        }
        towns = dict(conn.execute(select(PostcodeDistrict.__table__.c.outward_code, PostcodeDistrict.__table__.c.post_town)).all())
        lot_t = FrameworkLot.__table__
        lots: dict[int, list] = {}
        for r in conn.execute(select(lot_t.c.id, lot_t.c.category_id).order_by(lot_t.c.id)):
            lots.setdefault(r.category_id, []).append(r.id)
        m = FrameworkMembership.__table__
        approved = {
            (r.provider_id, r.lot_id)
            for r in conn.execute(select(m.c.provider_id, m.c.lot_id).where(m.c.status == MembershipStatus.APPROVED))
        }
        return cls(categories, towns, lots, approved)


def chunks(items: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _providers(conn: Connection, provider_ids: Iterable[int] | None) -> tuple[dict[int, object], dict[int, list[str]]]:
    p, a = Provider.__table__, ProviderArea.__table__
    columns = (
        p.c.id,
        p.c.name,
        p.c.town,
        p.c.base_district,
        p.c.service_radius_miles,
        p.c.cqc_location_id,
        p.c.cqc_overall,
        p.c.cqc_safe,
        p.c.cqc_effective,
        p.c.cqc_caring,
        p.c.cqc_responsive,
        p.c.cqc_well_led,
    )
    providers: dict[int, object] = {}
    areas: dict[int, list[str]] = {}
    base_query = select(*columns).where(p.c.status == ProviderStatus.VERIFIED)
    area_query = select(a.c.provider_id, a.c.outward_code).order_by(a.c.provider_id, a.c.outward_code)
    if provider_ids is None:
        providers = {r.id: r for r in conn.execute(base_query)}
        for pid, code in conn.execute(area_query):
            areas.setdefault(pid, []).append(code)
        return providers, areas
    ids = sorted(set(provider_ids))
    for chunk in chunks(ids):
        providers.update({r.id: r for r in conn.execute(base_query.where(p.c.id.in_(chunk)))})
        for pid, code in conn.execute(area_query.where(a.c.provider_id.in_(chunk))):
            areas.setdefault(pid, []).append(code)
    return providers, areas


def _day_masks(conn: Connection, service_ids: Sequence[int] | None) -> dict[int, int]:
    h = ServiceHours.__table__
    day_bit = literal_column("1").op("<<")(cast(h.c.weekday, Integer))
    query = select(h.c.service_id, func.sum(distinct(day_bit))).group_by(h.c.service_id)
    if service_ids is None:
        return dict(conn.execute(query).all())
    masks: dict[int, int] = {}
    for chunk in chunks(list(service_ids)):
        masks.update(conn.execute(query.where(h.c.service_id.in_(chunk))).all())
    return masks


def _supports_masks(conn: Connection, service_ids: Sequence[int] | None) -> dict[int, int]:
    """Each service's groups of people supported, as the bits the index stores."""
    g = SupportedGroup.__table__
    query = select(g.c.service_id, g.c.people_group)
    if service_ids is None:
        pairs = conn.execute(query).all()
    else:
        pairs = [pair for chunk in chunks(list(service_ids)) for pair in conn.execute(query.where(g.c.service_id.in_(chunk)))]
    masks: dict[int, int] = {}
    for service_id, group in pairs:
        masks[service_id] = masks.get(service_id, 0) | SUPPORTS_BITS[group]
    return masks


def _service_query():
    s, p = Service.__table__, Provider.__table__
    return (
        select(
            s.c.id,
            s.c.provider_id,
            s.c.category_id,
            s.c.title,
            s.c.description,
            s.c.availability_note,
            s.c.price_pence,
            s.c.price_unit,
            s.c.min_units,
            s.c.accepts_personal_budget,
            s.c.accepts_prepaid_card,
            s.c.accepts_self_funder,
            s.c.review_sum,
            s.c.review_count,
        )
        .join(p, p.c.id == s.c.provider_id)
        .where(s.c.status == ServiceStatus.PUBLISHED, p.c.status == ProviderStatus.VERIFIED)
    )


def _document(row, provider, areas: list[str], days: int, supports: int, ref: Reference) -> dict:
    slug, category_name = ref.categories[row.category_id]
    lots = tuple(lot for lot in ref.lots.get(row.category_id, ()) if (row.provider_id, lot) in ref.approved)
    funding = (
        (FUNDING_BITS[FundingRoute.PERSONAL_BUDGET] if row.accepts_personal_budget else 0)
        | (FUNDING_BITS[FundingRoute.PREPAID_CARD] if row.accepts_prepaid_card else 0)
        | (FUNDING_BITS[FundingRoute.SELF_FUNDER] if row.accepts_self_funder else 0)
    )
    ratings = tuple(
        RATING_CODES[r]
        for r in (
            provider.cqc_overall,
            provider.cqc_safe,
            provider.cqc_effective,
            provider.cqc_caring,
            provider.cqc_responsive,
            provider.cqc_well_led,
        )
    )
    # Place words: the base district and the towns served (a postcode search covers the
    # listed districts themselves, so their codes need no postings).
    places: list[str] = [provider.base_district] if provider.base_district else []
    for word in [provider.town] + [ref.towns.get(code) for code in [provider.base_district, *areas]]:
        if word and word not in places:
            places.append(word)
    attrs = (
        row.id,
        row.provider_id,
        provider.name,
        row.title,
        slug,
        row.price_pence,
        row.price_unit.value,
        row.min_units,
        funding,
        days,
        ratings,
        bool(provider.cqc_location_id),
        provider.base_district,
        provider.service_radius_miles,
        tuple(areas),
        lots,
        (row.review_sum, row.review_count),
        supports,
    )
    description = row.description + ("\n" + row.availability_note if row.availability_note else "")
    return {
        "sid": str(row.id),
        "title": row.title,
        "category": category_name,
        "provider": provider.name,
        "description": description,
        "places": " ".join(places),
        "supports": support_text(groups_of(supports)),
        "attrs": attrs,
    }


def listed_documents(conn: Connection, service_ids: Sequence[int] | None, ref: Reference) -> Iterator[tuple[int, dict]]:
    """(service id, document) for every listed service among ``service_ids`` (all when
    None), in provider order."""
    query = _service_query()
    s = Service.__table__
    if service_ids is None:
        days, supports = _day_masks(conn, None), _supports_masks(conn, None)
        providers, areas = _providers(conn, None)
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(query.order_by(s.c.provider_id, s.c.id))
        for row in rows:
            provider = providers.get(row.provider_id)
            if provider is not None:
                yield row.id, _document(row, provider, areas.get(row.provider_id, []), days.get(row.id, 0), supports.get(row.id, 0), ref)
        return
    for chunk in chunks(sorted(service_ids)):
        rows = conn.execute(query.where(s.c.id.in_(chunk)).order_by(s.c.provider_id, s.c.id)).all()
        if not rows:
            continue
        days, supports = _day_masks(conn, [r.id for r in rows]), _supports_masks(conn, [r.id for r in rows])
        providers, areas = _providers(conn, {r.provider_id for r in rows})
        for row in rows:
            provider = providers.get(row.provider_id)
            if provider is not None:
                yield row.id, _document(row, provider, areas.get(row.provider_id, []), days.get(row.id, 0), supports.get(row.id, 0), ref)


def services_to_rewrite(conn: Connection, entries: Iterable[tuple[str, int]]) -> set[int]:
    """The services whose documents an outbox batch asks to rewrite."""
    s = Service.__table__
    service_ids: set[int] = set()
    by_kind: dict[str, set[int]] = {}
    for entity, entity_id in entries:
        by_kind.setdefault(OutboxEntity(entity).value, set()).add(entity_id)
    service_ids |= by_kind.get(OutboxEntity.SERVICE.value, set())
    for kind, column in ((OutboxEntity.PROVIDER.value, s.c.provider_id), (OutboxEntity.CATEGORY.value, s.c.category_id)):
        ids = sorted(by_kind.get(kind, ()))
        for chunk in chunks(ids):
            service_ids.update(conn.execute(select(s.c.id).where(column.in_(chunk))).scalars())
    return service_ids


def listed_count_on(conn: Connection) -> int:
    s, p = Service.__table__, Provider.__table__
    return conn.execute(
        select(func.count())
        .select_from(s.join(p, p.c.id == s.c.provider_id))
        .where(s.c.status == ServiceStatus.PUBLISHED, p.c.status == ProviderStatus.VERIFIED)
    ).scalar_one()
