"""a rejected provider no longer holds its CQC location id

The CQC location id was unique across every provider, so a sign-up the council rejected
kept the id for ever and the real provider could never use it. Now it is unique among the
providers still in play (pending, verified, suspended): a partial unique index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LIVE = sa.text("status <> 'rejected'")


def upgrade():
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_providers_cqc_location_id"), type_="unique")
    op.create_index(
        "uq_providers_cqc_location_id_live", "providers", ["cqc_location_id"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE
    )


def downgrade():
    # Fails if two providers (one of them rejected) share an id: clear one first.
    op.drop_index("uq_providers_cqc_location_id_live", table_name="providers")
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_providers_cqc_location_id"), ["cqc_location_id"])
