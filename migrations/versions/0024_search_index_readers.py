"""search log read by several hosts: each outbox row records its inserting transaction
(PostgreSQL: pg_current_xact_id(), so readers follow transactions, not ids that become
visible out of order); search_index_readers holds each index's identity, host and how far
it has read, so rows are pruned only once every live index has read them

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-10 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "xact",
                sa.BigInteger(),
                nullable=True,
                server_default=sa.text("(pg_current_xact_id()::text::bigint)") if postgres else None,
            )
        )
        batch_op.create_index(batch_op.f("ix_search_outbox_xact"), ["xact"], unique=False)
    if postgres:
        # Rows queued before: every index reads them (an index built before this has no
        # identity and rebuilds in any case).
        op.execute("UPDATE search_outbox SET xact = 0 WHERE xact IS NULL")
    op.create_table(
        "search_index_readers",
        sa.Column("index_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("index_id", name=op.f("pk_search_index_readers")),
    )
    with op.batch_alter_table("search_index_readers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_index_readers_last_read_at"), ["last_read_at"], unique=False)


def downgrade():
    with op.batch_alter_table("search_index_readers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_index_readers_last_read_at"))
    op.drop_table("search_index_readers")
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_outbox_xact"))
        batch_op.drop_column("xact")
