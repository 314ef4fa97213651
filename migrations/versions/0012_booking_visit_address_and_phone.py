"""where the visits take place, and a phone number for the provider

The provider of home care needs the address it is coming to and a way to reach the person
(or whoever booked for them). Both are given when booking and shown to the provider's team
once it has accepted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_address", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=32), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("visit_address")
