"""Reference rates: a council setting, validated with messages a person can act on, set
once per type of support and unit, and every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, PriceUnit, ReferenceRate
from app.services.errors import ValidationError
from app.services.reports import reference_rates


def test_setting_a_rate_then_changing_it_keeps_one_row_and_audits_both(app, category, make_commissioner):
    officer = make_commissioner()
    home = category("home-care")
    reference_rates.set_rate(officer, home, PriceUnit.HOUR, 2_853, "Homecare Association minimum 2024-25")
    reference_rates.set_rate(officer, home, "hour", 2_950, "  Fair Cost of Care   median 2025-26 ")

    rows = db.session.execute(select(ReferenceRate)).scalars().all()
    assert len(rows) == 1
    rate = reference_rates.rates()[(home.id, PriceUnit.HOUR)]
    assert (rate.rate_pence, rate.source, rate.updated_by_id) == (2_950, "Fair Cost of Care median 2025-26", officer.id)

    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "reference_rate.set").order_by(AuditEvent.id)).scalars().all()
    assert [e.after for e in events] == [
        {"rate_pence": 2_853, "source": "Homecare Association minimum 2024-25"},
        {"rate_pence": 2_950, "source": "Fair Cost of Care median 2025-26"},
    ]
    assert events[0].before is None
    assert events[1].before == {"rate_pence": 2_853, "source": "Homecare Association minimum 2024-25"}
    assert events[1].actor_id == officer.id and events[1].target_id == str(rate.id)


def test_setting_the_same_rate_again_records_nothing_new(app, category, make_commissioner):
    officer = make_commissioner()
    reference_rates.set_rate(officer, category("meals"), PriceUnit.ITEM, 650, "Council meals contract")
    reference_rates.set_rate(officer, category("meals"), PriceUnit.ITEM, 650, "Council meals contract")
    assert len(db.session.execute(select(AuditEvent).where(AuditEvent.action == "reference_rate.set")).scalars().all()) == 1


def test_rates_for_different_units_of_one_type_are_kept_apart(app, category, make_commissioner):
    officer = make_commissioner()
    home = category("home-care")
    reference_rates.set_rate(officer, home, PriceUnit.HOUR, 2_853, "Minimum price")
    reference_rates.set_rate(officer, home, PriceUnit.VISIT, 1_500, "Council rate")
    assert {key: rate.rate_pence for key, rate in reference_rates.rates().items()} == {
        (home.id, PriceUnit.HOUR): 2_853,
        (home.id, PriceUnit.VISIT): 1_500,
    }


@pytest.mark.parametrize(
    ("unit", "pence", "source", "errors"),
    [
        (None, None, "", {"price_unit", "rate_pence", "source"}),
        ("fortnight", 100, "x", {"price_unit"}),
        ("hour", 0, "x", {"rate_pence"}),
        ("hour", 500_001, "x", {"rate_pence"}),
        ("hour", 28.53, "x", {"rate_pence"}),
        ("hour", True, "x", {"rate_pence"}),
        ("hour", 100, "   ", {"source"}),
        ("hour", 100, "x" * 201, {"source"}),
    ],
)
def test_bad_input_is_refused_with_a_message_for_each_field(app, category, make_commissioner, unit, pence, source, errors):
    with pytest.raises(ValidationError) as caught:
        reference_rates.set_rate(make_commissioner(), category("home-care"), unit, pence, source)
    assert set(caught.value.errors) == errors
    assert all(message and message[0].isupper() for message in caught.value.errors.values())
    assert reference_rates.rates() == {}


def test_a_missing_type_of_support_is_refused(app, make_commissioner):
    with pytest.raises(ValidationError) as caught:
        reference_rates.set_rate(make_commissioner(), None, PriceUnit.HOUR, 2_000, "Source")
    assert caught.value.errors == {"category": "Choose a type of support"}
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "reference_rate.set")).first() is None
