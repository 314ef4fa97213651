"""The Market Position Statement's own words: what the council intends, and what it wants
more or less of for each type of support. A commissioner edits one draft; publishing makes
it the version the public page shows (earlier versions are kept). The figures beside the
words are never stored here: the public page calculates them when it is read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Category, Intention, MarketPosition, MarketPositionSection, User
from app.services import audit
from app.services.errors import ValidationError

MAX_TEXT = 5000
DEFAULT_TITLE = "Market Position Statement"


@dataclass(frozen=True)
class SectionText:
    category_id: int
    intention: Intention | None
    text: str


def published() -> MarketPosition | None:
    """The newest published version, or None before anything is published."""
    return db.session.execute(
        select(MarketPosition).where(MarketPosition.published_at.is_not(None)).order_by(MarketPosition.published_at.desc()).limit(1)
    ).scalar_one_or_none()


def draft() -> MarketPosition | None:
    """The version being written, if one has been saved since the last publication."""
    return db.session.execute(
        select(MarketPosition).where(MarketPosition.published_at.is_(None)).order_by(MarketPosition.id.desc()).limit(1)
    ).scalar_one_or_none()


def working_copy() -> MarketPosition | None:
    """What the editor starts from: the draft, else the published version."""
    return draft() or published()


def _validate(title: str, introduction: str, intentions: str, sections: list[SectionText]) -> None:
    errors = {}
    if not title.strip():
        errors["title"] = "Enter a title"
    elif len(title) > 200:
        errors["title"] = "The title must be 200 characters or fewer"
    for name, text in (("introduction", introduction), ("intentions", intentions)):
        if len(text) > MAX_TEXT:
            errors[name] = f"This must be {MAX_TEXT:,} characters or fewer"
    for section in sections:
        if len(section.text) > MAX_TEXT:
            errors[f"section-{section.category_id}"] = f"This must be {MAX_TEXT:,} characters or fewer"
    if errors:
        raise ValidationError(errors)


def save_draft(actor: User, *, title: str, introduction: str, intentions: str, sections: list[SectionText]) -> MarketPosition:
    """Save the draft (made from the published version the first time). Nothing is public
    until it is published."""
    _validate(title, introduction, intentions, sections)
    known = set(db.session.execute(select(Category.id)).scalars())
    with write_transaction():
        position = draft()
        if position is None:
            position = MarketPosition(title=title.strip())
            db.session.add(position)
        position.title = title.strip()
        position.introduction = introduction.strip()
        position.intentions = intentions.strip()
        position.updated_by_id = actor.id
        position.updated_at = utcnow()
        by_category = {s.category_id: s for s in position.sections}
        for section in sections:
            if section.category_id not in known:
                continue
            row = by_category.get(section.category_id)
            if row is None:
                row = MarketPositionSection(category_id=section.category_id)
                position.sections.append(row)
            row.intention = section.intention
            row.text = section.text.strip()
        db.session.flush()
        audit.record(actor, "market_position.saved", "market_position", position.id, after={"title": position.title})
    return position


def publish(actor: User, *, now: dt.datetime | None = None) -> MarketPosition:
    """Publish the draft: from now on it is what the public page shows."""
    with write_transaction():
        position = draft()
        if position is None:
            raise ValidationError({"publish": "There is no draft to publish: save your changes first"})
        position.published_at = now or utcnow()
        position.published_by_id = actor.id
        audit.record(actor, "market_position.published", "market_position", position.id, after={"title": position.title})
    return position
