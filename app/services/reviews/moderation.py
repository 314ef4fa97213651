"""Moderation: a provider reports a review it believes breaks the published review policy;
a commissioner takes it down, for one of the policy's four reasons with a note, or keeps it.
Both are in the audit trail. A provider can never take a review down itself, and nothing
here takes a review down for being negative: the only reasons are the policy's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Provider, RemovalReason, ReportOutcome, Review, ReviewReport, User
from app.services import audit, notifications, provider_contact
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.reviews import counting
from app.services.reviews.writing import get_for_provider

MAX_NOTE = 1000


def _reason(value) -> RemovalReason:
    try:
        return RemovalReason(value)
    except ValueError:
        raise ValidationError({"reason": "Select which part of the review policy it breaks"}) from None


def _note(text: str | None, *, required: str | None = None) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({"note": required})
    if len(text) > MAX_NOTE:
        raise ValidationError({"note": f"The note must be {MAX_NOTE:,} characters or fewer"})
    return text


def open_report_of(review_id: int) -> ReviewReport | None:
    return db.session.execute(
        select(ReviewReport).where(ReviewReport.review_id == review_id, ReviewReport.decided_at.is_(None))
    ).scalar_one_or_none()


def report(review_id: int, *, provider: Provider, by: User, reason, note: str | None, now: dt.datetime | None = None) -> ReviewReport:
    """The provider asks the council to check a review against the policy."""
    now = now or utcnow()
    review = get_for_provider(review_id, provider)  # anyone else's: NotFound
    reason = _reason(reason)
    note = _note(note, required="Say what in the review breaks the policy")
    if review.removed_at is not None:
        raise Conflict("This review has been taken down already")
    with write_transaction():
        db.session.execute(select(Review.id).where(Review.id == review.id).with_for_update()).one()
        if open_report_of(review.id) is not None:
            raise Conflict("This review is reported already: the council will decide and tell you")
        filed = ReviewReport(review_id=review.id, reported_by_id=by.id, reason=reason, note=note, created_at=now)
        db.session.add(filed)
        db.session.flush()
        audit.record(by, "review.reported", "review", review.id, after={"reason": reason.value, "report": filed.id}, note=note, at=now)
    return filed


def open_reports() -> list[ReviewReport]:
    """Reports waiting for the council, oldest first."""
    return list(db.session.execute(select(ReviewReport).where(ReviewReport.decided_at.is_(None)).order_by(ReviewReport.id)).scalars())


def recent_decisions(limit: int = 20) -> list[ReviewReport]:
    return list(
        db.session.execute(
            select(ReviewReport).where(ReviewReport.decided_at.is_not(None)).order_by(ReviewReport.decided_at.desc()).limit(limit)
        ).scalars()
    )


def get_report(report_id: int) -> ReviewReport:
    found = db.session.get(ReviewReport, report_id)
    if found is None:
        raise NotFound("No such report")
    return found


def decide(report_id: int, *, remove: bool, reason=None, note: str | None, by: User, now: dt.datetime | None = None) -> ReviewReport:
    """A commissioner takes the reported review down (for one of the policy's reasons) or
    keeps it; once: a second decision on the same report is a Conflict."""
    now = now or utcnow()
    filed = get_report(report_id)
    reason = _reason(reason) if remove else None
    note = _note(note, required="Say why" + (" it breaks the policy" if remove else " it does not break the policy"))
    outcome = ReportOutcome.REMOVED if remove else ReportOutcome.KEPT
    with write_transaction():
        claimed = db.session.execute(
            update(ReviewReport)
            .where(ReviewReport.id == filed.id, ReviewReport.decided_at.is_(None))
            .values(decided_at=now, decided_by_id=by.id, outcome=outcome.value, decision_note=note)
        ).rowcount
        if claimed != 1:
            raise Conflict("This report has been decided already")
        review = db.session.get(Review, filed.review_id)
        if remove:
            _take_down(review, reason=reason, note=note, by=by, now=now)
        else:
            audit.record(by, "review.kept", "review", review.id, after={"report": filed.id}, note=note, at=now)
        _tell_provider(review, outcome, note)
    db.session.expire(filed)
    return filed


def _take_down(review: Review, *, reason: RemovalReason, note: str, by: User, now: dt.datetime) -> None:
    taken = db.session.execute(
        update(Review)
        .where(Review.id == review.id, Review.removed_at.is_(None))
        .values(removed_at=now, removed_by_id=by.id, removed_reason=reason, removed_note=note)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise Conflict("This review has been taken down already")
    counting.uncount(review.id)
    db.session.expire(review)
    before = {"published": True}
    audit.record(
        by, "review.removed", "review", review.id, before=before, after={"published": False, "reason": reason.value}, note=note, at=now
    )
    notifications.notify(
        review.author,
        f"Your review of {review.service.title} was taken down",
        f"The council took down your review of {review.service.title}: {reason.label.lower()}. {note} "
        "Reviews are never taken down for being negative: you can read the review policy on the marketplace.",
        link="/reviews-policy",
    )


def _tell_provider(review: Review, outcome: ReportOutcome, note: str) -> None:
    provider = review.provider
    provider_contact.tell(
        provider,
        provider_contact.leads(provider),
        subject=f"The council decided on the review you reported: {outcome.label.lower()}",
        body=f"{outcome.label} ({review.service.title}, {review.rating} out of 5). {note}",
        link="/provider/reviews",
    )


def reported_ids(provider_id: int) -> set[int]:
    """The provider's reviews waiting for the council's decision on a report."""
    return set(
        db.session.execute(
            select(ReviewReport.review_id)
            .join(Review, Review.id == ReviewReport.review_id)
            .where(Review.provider_id == provider_id, ReviewReport.decided_at.is_(None))
        ).scalars()
    )
