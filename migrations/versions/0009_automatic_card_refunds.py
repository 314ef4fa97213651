"""card refunds the marketplace makes itself (a visit paid twice by card)

An automatic refund has nobody who asked for it: ``requested_by_id`` may be empty, but
only when ``automatic`` is set.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("card_refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("automatic", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.alter_column("requested_by_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(op.f("ck_card_refunds_requested_by_someone"), "automatic OR requested_by_id IS NOT NULL")


def downgrade():
    op.execute("DELETE FROM payment_attempts WHERE refund_id IN (SELECT id FROM card_refunds WHERE automatic)")
    op.execute("DELETE FROM card_refunds WHERE automatic")
    with op.batch_alter_table("card_refunds", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_card_refunds_requested_by_someone"), type_="check")
        batch_op.alter_column("requested_by_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("automatic")
