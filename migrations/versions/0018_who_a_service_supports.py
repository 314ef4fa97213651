"""who a service supports: the groups of people each listing is set up to support (CQC's
service user bands and specialisms in plain English: older people, dementia, autistic
people...), each once per listing; and the group a search asked for, in the search log.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 07:40:39.035366

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PEOPLE_GROUPS = (
    "older_people",
    "younger_adults",
    "children",
    "dementia",
    "learning_disabilities",
    "autism",
    "mental_health",
    "physical_disabilities",
    "sensory_impairments",
    "substance_misuse",
    "eating_disorders",
    "end_of_life",
)


def upgrade():
    op.create_table(
        "service_people_supported",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("people_group", sa.Enum(*PEOPLE_GROUPS, name="people_group", native_enum=False, create_constraint=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_people_supported_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_people_supported")),
        sa.UniqueConstraint("service_id", "people_group", name=op.f("uq_service_people_supported_service_id_people_group")),
    )
    with op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "supports",
                sa.Enum(*PEOPLE_GROUPS, name="search_people_group", native_enum=False, create_constraint=True),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_search_logs_search_people_group"), type_="check")
        batch_op.drop_column("supports")

    op.drop_table("service_people_supported")
