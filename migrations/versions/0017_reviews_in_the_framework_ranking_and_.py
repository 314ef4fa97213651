"""reviews in the framework ranking and search: per lot, the share of the quality score from
reviews (0% by default) and the minimum number of reviews a service's own are weighed with
(a Bayesian average); per service, the count and sum of its published reviews, which search
and ranking read; per review, when it entered those totals. Reviews already published are
counted here.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 07:26:14.255334

"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("framework_lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_weight", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("review_minimum", sa.SmallInteger(), server_default="10", nullable=False))
        batch_op.create_check_constraint(op.f("ck_framework_lots_review_weight_range"), "review_weight >= 0 AND review_weight <= 100")
        batch_op.create_check_constraint(op.f("ck_framework_lots_review_minimum_range"), "review_minimum >= 0 AND review_minimum <= 1000")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_reviews_to_count",
            ["publishes_at"],
            unique=False,
            postgresql_where=sa.text("counted_at IS NULL"),
            sqlite_where=sa.text("counted_at IS NULL"),
        )

    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("review_sum", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_services_review_totals"), "review_count >= 0 AND review_sum >= review_count AND review_sum <= 5 * review_count"
        )

    # Count the reviews published already (7 days old, or replied to) and not taken down.
    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there (app.database.UTCDateTime)
    bind.execute(
        sa.text("UPDATE reviews SET counted_at = :now WHERE removed_at IS NULL AND publishes_at <= :now").bindparams(
            sa.bindparam("now", now, type_=sa.DateTime(timezone=True))
        )
    )
    bind.execute(
        sa.text(
            "UPDATE services SET "
            "review_count = (SELECT count(*) FROM reviews r "
            "WHERE r.service_id = services.id AND r.counted_at IS NOT NULL AND r.removed_at IS NULL), "
            "review_sum = (SELECT coalesce(sum(r.rating), 0) FROM reviews r "
            "WHERE r.service_id = services.id AND r.counted_at IS NOT NULL AND r.removed_at IS NULL)"
        )
    )


def downgrade():
    with op.batch_alter_table("services", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_services_review_totals"), type_="check")
        batch_op.drop_column("review_sum")
        batch_op.drop_column("review_count")

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_reviews_to_count")
        batch_op.drop_column("counted_at")

    with op.batch_alter_table("framework_lots", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_framework_lots_review_minimum_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_framework_lots_review_weight_range"), type_="check")
        batch_op.drop_column("review_minimum")
        batch_op.drop_column("review_weight")
