"""Framework ranks and the best-match order, for one snapshot.

Every score comes from ``ranking.member_score`` (the rule's one statement) and every rank
from ``ranking.make_rank``; the index only keeps the scores and counts. A lot's name and
weights are read from the database for each search (they are not in the index, so a
change of weights rewrites nothing); its cheapest price per unit and average quality are
totals kept per segment less what was deleted; a result's rank is counted from the lot's
sorted scores, and its reasons are written only when shown. The public service page asks
``listed_service_rank`` rather than loading every member of the lot.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator, Mapping

from sqlalchemy import select

from app.extensions import db
from app.models import FrameworkLot, PriceUnit
from app.services import ranking
from app.services.search import bitsets
from app.services.search.engines import engine
from app.services.search.held import EDITED_SECONDS, held
from app.services.search.schema import A_ID, A_PRICE, A_RATINGS, A_REGULATED, A_REVIEWS, A_TITLE, A_UNIT, rating_of
from app.services.search.scoring import NO_QUALITY, LotState, order_key
from app.services.search.segment import shifted
from app.services.search.snapshot import Snapshot
from app.services.search.storage import SearchUnavailable


class Ranks:
    """Framework ranks and the best-match order, for one snapshot and one state of the
    lots' settings. Nothing here walks every document: lot facts are totals kept per
    segment less what was deleted since, and orders are kept per segment (for each state
    of a lot) and merged as a page is taken."""

    def __init__(self, snap: Snapshot, lots: Mapping[int, ranking.LotInfo]):
        self.snap = snap
        present: set[int] = set()
        for seg, _, _ in snap.leaves:
            present.update(seg.lot_docs)
        removed = snap.deleted_totals()
        states: dict[int, LotState] = {}
        for lot_id in sorted(present & set(lots)):
            cheapest: dict[str, int] = {}
            total = count = members = review_sum = review_count = 0
            for (seg, _, _), deleted in zip(snap.leaves, snap.deleted):
                for unit, docs in seg.lot_units.get(lot_id, {}).items():
                    for n in docs:  # the first live one is the cheapest
                        if n not in deleted:
                            price = seg.prices[n]
                            if unit not in cheapest or price < cheapest[unit]:
                                cheapest[unit] = price
                            break
                t, c = seg.lot_rated.get(lot_id, (0, 0))
                total, count, members = total + t, count + c, members + len(seg.lot_docs.get(lot_id, ()))
                rs, rc = seg.lot_reviews.get(lot_id, (0, 0))
                review_sum, review_count = review_sum + rs, review_count + rc
            gone = removed["lots"].get(lot_id, (0, 0, 0, 0, 0))
            total, count, members = total - gone[0], count - gone[1], members - gone[2]
            reviews = (review_sum - gone[3], review_count - gone[4])
            if members <= 0:
                continue
            states[lot_id] = LotState(lots[lot_id], cheapest, ranking.average_quality(total, count), count > 0, members, reviews)
        self.lots = states
        self.unknown = frozenset(present - set(states))
        total, count = (sum(seg.rated[i] for seg, _, _ in snap.leaves) for i in (0, 1))
        self.neutral = ranking.average_quality(total - removed["rated"][0], count - removed["rated"][1])
        self._deleted_scores: dict[int, list[int]] = {}
        self._framework: int | None = None

    def lot_of(self, n: int) -> LotState | None:
        return self.lots.get(self.snap.first_lot[n])

    def key(self, n: int) -> int:
        """Document ``n``'s place in the best-match order (smaller first)."""
        snap = self.snap
        quality, price, sid = snap.quality[n], snap.prices[n], snap.ids[n]
        lot = self.lots.get(snap.first_lot[n])
        if lot is not None:
            score, q, _ = lot.score(quality, price, snap.attrs[n])
            return order_key(0, score, q, price, sid)
        return order_key(1, 0, self.neutral if quality == NO_QUALITY else quality, price, sid)

    def walk(self) -> Iterator[int]:
        """Every document in best-match order, merged from the segments' runs."""
        runs = []
        for seg, offset, _ in self.snap.leaves:
            for lot_id in seg.lot_docs:
                lot = self.lots.get(lot_id)
                if lot is not None:
                    keys, docs, _ = seg.lot_run(lot)
                    runs.append(zip(keys, shifted(docs, offset)))
            unknown = self.unknown & seg.lot_docs.keys()
            keys, docs, unrated = seg.free_runs(frozenset(unknown))
            runs.append(zip(keys, shifted(docs, offset)))
            runs.append(zip(seg.unrated_keys(frozenset(unknown), self.neutral), shifted(unrated, offset)))
        return (n for _, n in heapq.merge(*runs))

    def framework(self) -> int:
        """Live documents ranked on a lot."""
        if self._framework is None:
            snap = self.snap
            bits = 0
            for seg, offset, _ in snap.leaves:
                for lot_id, docs in seg.lot_docs.items():
                    if lot_id in self.lots:
                        seg_bits = seg.bits(("lotbits", lot_id), lambda s, docs=docs: bitsets.from_positions(docs, s.size))
                        bits |= seg_bits << offset
            self._framework = bits & snap.live
        return self._framework

    def rank(self, n: int) -> ranking.ServiceRank | None:
        """Document ``n``'s rank on its lot, counted from the lot's scores in each segment."""
        lot = self.lot_of(n)
        if lot is None or not (self.snap.live >> n) & 1:
            return None
        snap = self.snap
        a = snap.attrs[n]
        score, quality, price = lot.score(snap.quality[n], snap.prices[n], a)
        higher = same = 0
        for seg, _, _ in snap.leaves:
            if lot.id in seg.lot_docs:
                scores = seg.lot_run(lot)[2]
                above = bisect.bisect_right(scores, score)
                higher += len(scores) - above
                same += above - bisect.bisect_left(scores, score)
        gone = self._gone_scores(lot)
        above = bisect.bisect_right(gone, score)
        higher -= len(gone) - above
        same -= above - bisect.bisect_left(gone, score)
        ratings = a[A_RATINGS]
        member = ranking.Member(
            service_id=a[A_ID],
            title=a[A_TITLE],
            price_pence=a[A_PRICE],
            price_unit=PriceUnit(a[A_UNIT]),
            overall=rating_of(ratings[0]),
            key_questions=tuple(rating_of(r) for r in ratings[1:]),
            cqc_regulated=a[A_REGULATED],
            review_sum=a[A_REVIEWS][0],
            review_count=a[A_REVIEWS][1],
        )
        return ranking.make_rank(
            lot.info,
            member,
            rank=higher + 1,
            of=lot.members,
            score=score,
            quality=quality,
            price=price,
            joint=same > 1,
            cheapest_pence=lot.cheapest.get(a[A_UNIT], a[A_PRICE]),
            average=lot.average,
            any_rated=lot.any_rated,
            lot_reviews=lot.reviews,
        )

    def _gone_scores(self, lot: LotState) -> list[int]:
        """The scores of the lot's deleted documents (old versions of edited services)."""
        if lot.id not in self._deleted_scores:
            scores = []
            for (seg, _, _), deleted in zip(self.snap.leaves, self.snap.deleted):
                for n in deleted:
                    if seg.first_lot[n] == lot.id:
                        scores.append(lot.score(seg.quality[n], seg.prices[n], seg.attrs[n])[0])
            self._deleted_scores[lot.id] = sorted(scores)
        return self._deleted_scores[lot.id]


def ranks_for(snap: Snapshot, lots: Mapping[int, ranking.LotInfo]) -> Ranks:
    """The snapshot's ranks and order for the lots' current settings (kept by the snapshot)."""
    return snap.ranking(lots, Ranks)


def lot_settings() -> dict[int, ranking.LotInfo]:
    """Each framework lot's name, weights and review minimum, as they are now (a handful of
    rows, held in memory: see held.py)."""
    return held("lots", _lot_rows, seconds=EDITED_SECONDS, tables=frozenset({FrameworkLot.__tablename__})).get()


def _lot_rows() -> dict[int, ranking.LotInfo]:
    lot = FrameworkLot.__table__
    rows = db.session.execute(
        select(lot.c.id, lot.c.name, lot.c.quality_weight, lot.c.price_weight, lot.c.review_weight, lot.c.review_minimum)
    )
    return {r.id: ranking.LotInfo(r.id, r.name, r.quality_weight, r.price_weight, r.review_weight, r.review_minimum) for r in rows}


def listed_service_rank(service_id: int, *, index_dir: str | None = None) -> ranking.ServiceRank | None:
    """A listed service's framework rank for its public page, from this process's
    in-memory index (the lot's scores are kept there: nothing loads every member of the
    lot). Without a readable index, the ranking service works it out from the database."""
    try:
        snap = engine(index_dir).snapshot()
    except SearchUnavailable:
        return ranking.service_rank(service_id)
    n = snap.searcher.document_number(sid=str(service_id))
    if n is None:
        return None
    return ranks_for(snap, lot_settings()).rank(n)
