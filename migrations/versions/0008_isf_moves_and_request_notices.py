"""money hardening: ISF moves once per request; a booking request's notice sent once

* ``isf_moves``: each move of an Individual Service Fund, unique per request key, so a
  double-submitted or retried move changes nothing the second time.
* ``bookings.requested_notified_at``: when both sides were told about a new request (in
  the same unit of work as the notifications). Existing bookings were told already.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "isf_moves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("budget_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=80), nullable=False),
        sa.Column("from_provider_id", sa.Integer(), nullable=False),
        sa.Column("to_provider_id", sa.Integer(), nullable=False),
        sa.Column("moved_pence", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("moved_by_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("moved_pence >= 0", name=op.f("ck_isf_moves_moved_not_negative")),
        sa.CheckConstraint("from_provider_id <> to_provider_id", name=op.f("ck_isf_moves_to_another_provider")),
        sa.ForeignKeyConstraint(["budget_id"], ["personal_budgets.id"], name=op.f("fk_isf_moves_budget_id_personal_budgets")),
        sa.ForeignKeyConstraint(["from_provider_id"], ["providers.id"], name=op.f("fk_isf_moves_from_provider_id_providers")),
        sa.ForeignKeyConstraint(["to_provider_id"], ["providers.id"], name=op.f("fk_isf_moves_to_provider_id_providers")),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["ledger_transactions.id"], name=op.f("fk_isf_moves_transaction_id_ledger_transactions")
        ),
        sa.ForeignKeyConstraint(["moved_by_id"], ["users.id"], name=op.f("fk_isf_moves_moved_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_isf_moves")),
        sa.UniqueConstraint("request_key", name=op.f("uq_isf_moves_request_key")),
    )
    with op.batch_alter_table("isf_moves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_isf_moves_budget_id"), ["budget_id"], unique=False)

    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_notified_at", sa.DateTime(timezone=True), nullable=True))
    # Bookings made before this revision told both sides when they were made.
    op.execute("UPDATE bookings SET requested_notified_at = created_at")


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("requested_notified_at")
    with op.batch_alter_table("isf_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_isf_moves_budget_id"))
    op.drop_table("isf_moves")
