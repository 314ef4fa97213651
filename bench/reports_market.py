"""A council's care market over a year, for the market reports benchmark
(bench/reports_bench.py): providers and services (bench/market.py), people who use care
paying in each of the four ways, their budgets funded every 4 weeks, a year of bookings and
visits with the ledger movements the real services make for them, card payments, booking
timelines, the anonymous search log and requests turned away.

Rows are planned in memory and written with PostgreSQL COPY, straight into the tables:
a benchmark fixture, not a way into the app. They follow the services' own rules so that
`flask ledger check` passes: every transaction balanced, one idempotency key each (the
services' own keys), each account's cached balance its entries' sum, funding per
4-week period (``fund:budget:<id>:period:<date>``, cause ``personal_budget``), a hold per
budget-paid visit (``hold:visit:<id>:1``, cause ``booking_visit``) placed when the booking
is made or when the visit's period is paid in, and settled once (``settle-hold:<hold>``:
captured, in part with the rest released, or released) when the visit is delivered,
cancelled or declined. Card visits are charged when delivered as
``card_payments.intents._post_capture`` leaves them (a CHARGE payment CAPTURED, card
account to clearing, clearing to the provider). Each period's funding covers the visits
that fall in it, so no budget goes below zero at any moment.

Left out: card authorisations of upcoming visits (upcoming card visits are booked with
nothing reserved), card refunds, payouts to providers, ISF moves, visits left short by a
budget, capacity cells and the audit trail of supply changes.

The market's parts, one module each: reports_market_calendar (periods and local times),
reports_market_catalogue (the published services), reports_market_people (people and staff),
reports_market_bookings (bookings, visits and their timelines), reports_market_ledger (the
ledger writer), reports_market_money (funding, holds and card charges),
reports_market_searches (the search log and requests turned away) and reports_market_copy
(writing it all with COPY). This module puts them together: ``generate``.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from app.extensions import db
from app.models import CouncilDistrict, Provider, User
from bench import market
from bench.reports_market_bookings import plan_bookings
from bench.reports_market_calendar import DAY, Calendar
from bench.reports_market_catalogue import read_catalogue
from bench.reports_market_copy import Tables, copy_all
from bench.reports_market_ledger import Books
from bench.reports_market_money import fund_budget, settle_booking
from bench.reports_market_people import people_and_staff
from bench.reports_market_searches import searches, turned_away


def generate(people: int, months: int, *, now: dt.datetime, seed: int = 11, progress=print) -> dict[str, int]:
    """Write the market; returns how many rows each table got."""
    rng = random.Random(seed)
    services = max(500, people // 4)
    districts = market.generate(services, seed=seed, progress=progress)["districts"]
    council = districts[:60]
    cal = Calendar.make(now, months)
    t = Tables()
    t.ids["users"] = db.session.execute(select(func.max(User.id))).scalar() or 0
    db.session.add_all(CouncilDistrict(outward_code=code) for code in council)
    db.session.flush()
    catalogue = read_catalogue()
    staff = people_and_staff(t, rng, people, council, cal, catalogue)
    persons = staff.pop("persons")
    for person in persons:
        plan_bookings(t, rng, person, catalogue, cal, months)
    progress(f"  planned {t.ids.get('bookings', 0):,} bookings and {t.ids.get('booking_visits', 0):,} visits")
    books = Books(t)
    books.account("council_funding", "council", "Council funding for personal budgets", cal.span_start - 30 * DAY)
    names = dict(db.session.execute(select(Provider.id, Provider.name)).all())
    for person in persons:
        fund_budget(t, books, rng, person, cal)
        for booking in person.bookings:
            settle_booking(t, books, booking, staff["by_provider"][booking.service[1]], cal, names[booking.service[1]])
    books.write_accounts()
    searches(t, rng, people * 50 * months // 12, council, districts, catalogue, cal)
    turned_away(t, rng, max(2000, people // 3), council, catalogue, cal)
    progress(f"  {t.count('ledger_entries'):,} ledger entries planned; writing with COPY")
    copy_all(t)
    return {table: len(rows) for table, rows in t.rows.items()}
