"""clearing settlements: a commissioner's decision on money an automatic card refund could
not return (repaid to the card holder outside Stripe, or kept as owed after all), with
their reason; one per refund

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 10:54:46

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clearing_settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("repaid_outside_stripe", "owed_after_all", name="clearing_settlement_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("amount_pence", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("settled_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(trim(reason)) > 0", name=op.f("ck_clearing_settlements_reason_not_blank")),
        sa.ForeignKeyConstraint(["refund_id"], ["card_refunds.id"], name=op.f("fk_clearing_settlements_refund_id_card_refunds")),
        sa.ForeignKeyConstraint(["settled_by_id"], ["users.id"], name=op.f("fk_clearing_settlements_settled_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_settlements")),
        sa.UniqueConstraint("refund_id", name=op.f("uq_clearing_settlements_refund_id")),
        sa.UniqueConstraint("request_key", name=op.f("uq_clearing_settlements_request_key")),
    )


def downgrade():
    op.drop_table("clearing_settlements")
