"""The demo council's Market Position Statement and reference rates: what a commissioner
would have written and set, so the public statement and the prices report read as they
would in a council that uses them. Written once: a commissioner's own edits are kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Category, Intention, MarketPosition, MarketPositionSection, PriceUnit, ReferenceRate, User
from app.services.demo.report import LoadReport

INTRODUCTION = (
    "This statement is for organisations that provide care and support in Peterborough, or are thinking of doing so. "
    "It sets out what people here need, what the council intends to commission, and where the market is short.\n\n"
    "The figures below are live: they come from the marketplace itself, where people search for, book and pay for "
    "their care, so they show where people looked for support and found none."
)
INTENTIONS = (
    "We want people to have real choice of good support close to home, bought with their personal budgets. "
    "We will keep paying providers every four weeks from the care they deliver, without invoices, and we will "
    "publish this statement's figures as they change.\n\n"
    "We want to hear from providers who can offer support in the rural districts around the city, at night and at "
    "weekends, and for people living with dementia."
)
SECTIONS = {
    "home-care": (Intention.MORE, "We need more home care in the rural districts (PE6, PE7, PE8 and PE9), at weekends and early mornings."),
    "dementia-support": (Intention.MORE, "Night sitting and specialist dementia day support are searched for often and rarely found."),
    "day-opportunities": (Intention.CHANGE, "We want day opportunities that are part of community life, not buildings-based only."),
    "short-breaks": (Intention.SAME, "Short breaks meet demand today; we want carers to be able to book them at short notice."),
    "supported-living": (
        Intention.LESS,
        "Fewer new supported living places; more support for people in their own tenancies.",
    ),
}
# Reference rates: the demo council's own figures, named as such.
RATES = (
    ("home-care", PriceUnit.HOUR, 2_853, "Homecare Association minimum price 2024-25"),
    ("personal-assistants", PriceUnit.HOUR, 1_650, "Council direct payment rate for personal assistants (demo figure)"),
    ("day-opportunities", PriceUnit.DAY, 6_200, "Fair Cost of Care median (demo figure)"),
)


def load_market_position(report: LoadReport) -> None:
    """The council's Market Position Statement and reference rates"""
    commissioner = db.session.execute(select(User).where(User.email == "commissioner@demo.test")).scalar_one_or_none()
    categories = {c.slug: c for c in db.session.execute(select(Category)).scalars()}
    if db.session.execute(select(MarketPosition.id).limit(1)).first() is None:
        published = utcnow() - dt.timedelta(days=45)
        position = MarketPosition(
            title="Peterborough care market position",
            introduction=INTRODUCTION,
            intentions=INTENTIONS,
            published_at=published,
            published_by_id=commissioner.id if commissioner else None,
            updated_at=published,
            updated_by_id=commissioner.id if commissioner else None,
        )
        for slug, (intention, text) in SECTIONS.items():
            if slug in categories:
                position.sections.append(MarketPositionSection(category_id=categories[slug].id, intention=intention, text=text))
        db.session.add(position)
        report.add("market position statement")
    if db.session.execute(select(ReferenceRate.id).limit(1)).first() is None:
        for slug, unit, pence, source in RATES:
            if slug in categories:
                db.session.add(ReferenceRate(category_id=categories[slug].id, price_unit=unit, rate_pence=pence, source=source))
                report.add("reference rates")
