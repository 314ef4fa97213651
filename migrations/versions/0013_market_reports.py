"""market reports: spend facts kept beside the ledger, requests turned away, reference
rates, the Market Position Statement, where each booking is, and the unspent threshold

Spend facts for money already in the ledger are written here, from the ledger itself (the
same attribution the app's after-flush hook makes); `flask ledger check` verifies them.
Bookings made before this revision are placed in their provider's own district.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:30:00

"""

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "market_positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=False),
        sa.Column("intentions", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(trim(title)) > 0", name=op.f("ck_market_positions_title_not_blank")),
        sa.ForeignKeyConstraint(["published_by_id"], ["users.id"], name=op.f("fk_market_positions_published_by_id_users")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_market_positions_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_positions")),
    )
    with op.batch_alter_table("market_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_positions_published_at"), ["published_at"], unique=False)

    op.create_table(
        "reference_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "price_unit",
            sa.Enum("hour", "visit", "day", "night", "week", "item", name="reference_rate_unit", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("rate_pence", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(trim(source)) > 0", name=op.f("ck_reference_rates_source_not_blank")),
        sa.CheckConstraint("rate_pence > 0 AND rate_pence <= 500000", name=op.f("ck_reference_rates_rate_in_range")),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], name=op.f("fk_reference_rates_category_id_categories")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_reference_rates_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_rates")),
        sa.UniqueConstraint("category_id", "price_unit", name=op.f("uq_reference_rates_category_id_price_unit")),
    )
    op.create_table(
        "market_position_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "intention",
            sa.Enum("more", "same", "less", "change", name="market_intention", native_enum=False, create_constraint=True),
            nullable=True,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], name=op.f("fk_market_position_sections_category_id_categories")),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["market_positions.id"],
            name=op.f("fk_market_position_sections_position_id_market_positions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_position_sections")),
        sa.UniqueConstraint("position_id", "category_id", name=op.f("uq_market_position_sections_position_id_category_id")),
    )
    op.create_table(
        "turned_away_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=4), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], name=op.f("fk_turned_away_requests_category_id_categories")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_turned_away_requests_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turned_away_requests")),
    )
    with op.batch_alter_table("turned_away_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_turned_away_requests_at"), ["at"], unique=False)

    op.create_table(
        "spend_facts",
        sa.Column("entry_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column(
            "way",
            sa.Enum(
                "managed", "isf", "direct_payment", "self_funded", name="spend_way_of_paying", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("district", sa.String(length=4), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_pence <> 0", name=op.f("ck_spend_facts_amount_not_zero")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_spend_facts_booking_id_bookings")),
        sa.ForeignKeyConstraint(["category_id"], ["categories.id"], name=op.f("fk_spend_facts_category_id_categories")),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"], name=op.f("fk_spend_facts_entry_id_ledger_entries")),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"], name=op.f("fk_spend_facts_provider_id_providers")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_spend_facts_service_id_services")),
        sa.ForeignKeyConstraint(["visit_id"], ["booking_visits.id"], name=op.f("fk_spend_facts_visit_id_booking_visits")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_spend_facts")),
    )
    with op.batch_alter_table("spend_facts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spend_facts_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index("ix_spend_facts_month_category", ["month", "category_id"], unique=False)
        batch_op.create_index("ix_spend_facts_month_provider", ["month", "provider_id"], unique=False)

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area_district", sa.String(length=4), nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_area_district"), ["area_district"], unique=False)

    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unspent_weeks_threshold", sa.SmallInteger(), server_default="8", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_council_settings_unspent_weeks_in_range"), "unspent_weeks_threshold >= 1 AND unspent_weeks_threshold <= 52"
        )

    op.execute("UPDATE bookings SET area_district = (SELECT base_district FROM providers WHERE providers.id = bookings.provider_id)")
    _backfill_spend_facts()


_EXISTING_SPEND = """
SELECT e.id, e.amount_pence, t.effective_at, v.id, b.id, b.provider_id, b.service_id, s.category_id,
       b.payment_method, b.area_district, pb.budget_type, pc.route
FROM ledger_entries e
JOIN ledger_transactions t ON t.id = e.transaction_id
JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'provider_payable'
LEFT JOIN card_refunds r ON t.cause_type = 'card_refund' AND r.id = t.cause_id
LEFT JOIN card_payments cp ON cp.id = r.card_payment_id
JOIN booking_visits v ON v.id = CASE WHEN t.cause_type = 'booking_visit' THEN t.cause_id ELSE cp.visit_id END
JOIN bookings b ON b.id = v.booking_id
JOIN services s ON s.id = b.service_id
LEFT JOIN personal_budgets pb ON pb.id = b.budget_id
LEFT JOIN booking_cards bc ON bc.booking_id = b.id
LEFT JOIN payment_cards pc ON pc.id = bc.card_id
WHERE t.cause_type IN ('booking_visit', 'card_refund')
"""


def _way(payment_method, budget_type, card_route):
    if payment_method == "budget":
        return "isf" if budget_type == "isf" else "managed"
    return "direct_payment" if card_route == "prepaid_card" else "self_funded"


def _backfill_spend_facts():
    bind = op.get_bind()
    uk = ZoneInfo("Europe/London")
    typed = {"effective_at": sa.DateTime(timezone=True), "month": sa.Date()}
    names = ("entry_id", "effective_at", "month", "provider_id", "category_id", "service_id", "booking_id", "visit_id", "way", "district")
    facts = sa.table("spend_facts", *(sa.column(name, typed.get(name)) for name in (*names, "amount_pence")))
    sqlite = bind.dialect.name == "sqlite"
    rows = []
    for (
        entry_id,
        amount,
        effective_at,
        visit_id,
        booking_id,
        provider_id,
        service_id,
        category_id,
        method,
        district,
        budget_type,
        route,
    ) in bind.execute(sa.text(_EXISTING_SPEND)):
        if isinstance(effective_at, str):  # SQLite hands back text
            effective_at = dt.datetime.fromisoformat(effective_at)
        if effective_at.tzinfo is None:
            effective_at = effective_at.replace(tzinfo=dt.UTC)
        rows.append(
            {
                "entry_id": entry_id,
                # Stored as the app stores it: naive UTC on SQLite, aware elsewhere.
                "effective_at": effective_at.replace(tzinfo=None) if sqlite else effective_at,
                "month": effective_at.astimezone(uk).date().replace(day=1),
                "provider_id": provider_id,
                "category_id": category_id,
                "service_id": service_id,
                "booking_id": booking_id,
                "visit_id": visit_id,
                "way": _way(method, budget_type, route),
                "district": district,
                "amount_pence": amount,
            }
        )
    if rows:
        op.bulk_insert(facts, rows)


def downgrade():
    with op.batch_alter_table("spend_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_spend_facts_month_provider")
        batch_op.drop_index("ix_spend_facts_month_category")
        batch_op.drop_index(batch_op.f("ix_spend_facts_booking_id"))

    op.drop_table("spend_facts")
    with op.batch_alter_table("turned_away_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_turned_away_requests_at"))

    op.drop_table("turned_away_requests")
    op.drop_table("market_position_sections")
    op.drop_table("reference_rates")
    with op.batch_alter_table("market_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_positions_published_at"))

    op.drop_table("market_positions")

    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_council_settings_unspent_weeks_in_range"), type_="check")
        batch_op.drop_column("unspent_weeks_threshold")

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_area_district"))
        batch_op.drop_column("area_district")
