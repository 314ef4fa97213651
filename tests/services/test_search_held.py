"""The small tables every search reads are held in memory (services/search/held.py): a
change made here shows at the next search, one made on another host within a second."""

from __future__ import annotations

from sqlalchemy import text, update

from app.database import write_transaction
from app.extensions import db
from app.models import Category, FrameworkLot
from app.services.search import held
from app.services.search.ranks import lot_settings
from app.services.search.reference import category_choices


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_change_committed_here_shows_at_once(app, make_lot):
    lot = make_lot("home-care", name="Home care")
    assert lot_settings()[lot.id].quality_weight == lot.quality_weight
    with write_transaction():
        changed = db.session.get(FrameworkLot, lot.id)
        changed.quality_weight, changed.price_weight = 55, 45
    assert lot_settings()[lot.id].quality_weight == 55
    with write_transaction():  # a bulk UPDATE too
        db.session.execute(update(Category).where(Category.slug == "home-care").values(name="Care at home"))
    assert dict(category_choices())["home-care"] == "Care at home"


def test_a_change_made_on_another_host_shows_within_a_second(app, make_lot, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(held.time, "monotonic", clock)
    lot = make_lot("home-care", name="Home care")
    assert lot_settings()[lot.id].price_weight == lot.price_weight
    assert dict(category_choices())["home-care"] == "Home care"
    # Another host's commit: no session event here knows of it.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE framework_lots SET price_weight = 10, quality_weight = 90 WHERE id = :id"), {"id": lot.id})
        conn.execute(text("UPDATE categories SET name = 'Care at home' WHERE slug = 'home-care'"))
    db.session.rollback()  # as a new request starts: a fresh read of the database
    assert dict(category_choices())["home-care"] == "Home care"
    clock.now += held.EDITED_SECONDS / 2
    assert lot_settings()[lot.id].price_weight == 40  # still held
    clock.now += held.EDITED_SECONDS
    assert lot_settings()[lot.id].price_weight == 10
    assert dict(category_choices())["home-care"] == "Care at home"


def test_a_rolled_back_change_clears_nothing_and_shows_nothing(app, make_lot):
    lot = make_lot("home-care", name="Home care")
    before = lot_settings()
    try:
        with write_transaction():
            changed = db.session.get(FrameworkLot, lot.id)
            changed.quality_weight, changed.price_weight = 1, 99
            db.session.flush()
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    assert lot_settings() == before
