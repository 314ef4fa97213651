"""search: the index outbox (changes waiting for the search index) and the search log
(what people searched for, with no personal data)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:24:05.920667

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_logs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("words", sa.String(length=200), nullable=False),
        sa.Column("category_slug", sa.String(length=60), nullable=True),
        sa.Column("postcode_district", sa.String(length=4), nullable=True),
        sa.Column("radius_miles", sa.SmallInteger(), nullable=True),
        sa.Column("max_price_pence", sa.Integer(), nullable=True),
        sa.Column(
            "min_cqc_rating",
            sa.Enum(
                "outstanding",
                "good",
                "requires_improvement",
                "inadequate",
                name="search_min_cqc_rating",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "funding",
            sa.Enum(
                "personal_budget", "prepaid_card", "self_funder", name="search_funding_route", native_enum=False, create_constraint=True
            ),
            nullable=True,
        ),
        sa.Column("days", sa.String(length=60), nullable=False),
        sa.Column("framework_only", sa.Boolean(), nullable=False),
        sa.Column("sort", sa.String(length=20), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Enum("web", "api", name="search_channel", native_enum=False, create_constraint=True), nullable=False),
        sa.CheckConstraint(
            "radius_miles IS NULL OR (radius_miles >= 1 AND radius_miles <= 100)", name=op.f("ck_search_logs_radius_in_range")
        ),
        sa.CheckConstraint("result_count >= 0", name=op.f("ck_search_logs_result_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_logs")),
    )
    with op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_logs_postcode_district"), ["postcode_district"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_logs_searched_at"), ["searched_at"], unique=False)

    op.create_table(
        "search_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column(
            "entity",
            sa.Enum("service", "provider", "category", name="outbox_entity", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_outbox")),
    )


def downgrade():
    op.drop_table("search_outbox")
    with op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_logs_searched_at"))
        batch_op.drop_index(batch_op.f("ix_search_logs_postcode_district"))

    op.drop_table("search_logs")
