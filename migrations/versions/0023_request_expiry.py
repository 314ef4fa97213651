"""booking requests expire: a council setting for how long a provider has to answer a
request (12 to 336 hours, 48 by default), and bookings may be expired (their
booking_status CHECK constraint is recreated on both databases, SQLite in batch mode)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

BOOKING_STATUSES = ["requested", "accepted", "declined", "cancelled", "completed"]


def _booking_status_check(statuses):
    with op.batch_alter_table("bookings", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_booking_status"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_bookings_booking_status"),
            "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")",
        )


def upgrade():
    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_expiry_hours", sa.SmallInteger(), server_default="48", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_council_settings_request_expiry_in_range"), "request_expiry_hours >= 12 AND request_expiry_hours <= 336"
        )
    _booking_status_check([*BOOKING_STATUSES, "expired"])


def downgrade():
    # Expired requests read as declined ones: their money was released the same way.
    op.execute("UPDATE bookings SET status = 'declined' WHERE status = 'expired'")
    _booking_status_check(BOOKING_STATUSES)
    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_council_settings_request_expiry_in_range"), type_="check")
        batch_op.drop_column("request_expiry_hours")
