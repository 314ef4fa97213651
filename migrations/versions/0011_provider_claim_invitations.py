"""invitations the marketplace sends itself: claiming a provider nobody has signed up for

A booking request or enquiry for a provider with nobody on its team goes to the provider's
contact email with an invitation to claim the organisation as its owner. Nobody invited
them, so ``invitations.invited_by_id`` may be empty.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("invited_by_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Fails while a claim invitation (sent by the marketplace) exists: delete those first.
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("invited_by_id", existing_type=sa.Integer(), nullable=False)
