"""the CQC ratings import: each import of one of CQC's monthly files (once per file, by its
SHA-256), every change of a provider's rating it made (from what to what, published on
which date), the locations CQC says it has deregistered, and the date CQC published each
provider's ratings

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 08:07:32

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

RATINGS = ("outstanding", "good", "requires_improvement", "inadequate")
QUESTIONS = ("overall", "safe", "effective", "caring", "responsive", "well_led")
FILES = ("ratings", "filters", "deactivated")
COUNTS = (
    "rows_read",
    "rows_skipped",
    "locations_matched",
    "providers_changed",
    "ratings_changed",
    "unknown_locations",
    "deregistered",
)


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade():
    op.create_table(
        "cqc_import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", _enum(FILES, "cqc_file"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.CheckConstraint("finished_at IS NULL OR finished_at >= started_at", name=op.f("ck_cqc_import_runs_finished_after_started")),
        sa.CheckConstraint("length(file_sha256) = 64", name=op.f("ck_cqc_import_runs_sha256_length")),
        sa.CheckConstraint(
            "rows_read >= 0 AND locations_matched >= 0 AND ratings_changed >= 0 AND providers_changed >= 0 "
            "AND unknown_locations >= 0 AND deregistered >= 0 AND rows_skipped >= 0",
            name=op.f("ck_cqc_import_runs_counts_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cqc_import_runs")),
    )
    op.create_index(op.f("ix_cqc_import_runs_finished_at"), "cqc_import_runs", ["finished_at"], unique=False)
    op.create_index(
        "uq_cqc_import_runs_file_finished",
        "cqc_import_runs",
        ["file_sha256"],
        unique=True,
        sqlite_where=sa.text("finished_at IS NOT NULL"),
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )

    op.create_table(
        "cqc_deregistrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("deregistered_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_cqc_deregistrations_provider_id_providers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["cqc_import_runs.id"], name=op.f("fk_cqc_deregistrations_run_id_cqc_import_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cqc_deregistrations")),
        sa.UniqueConstraint("location_id", name=op.f("uq_cqc_deregistrations_location_id")),
    )
    op.create_index(op.f("ix_cqc_deregistrations_provider_id"), "cqc_deregistrations", ["provider_id"], unique=False)

    op.create_table(
        "cqc_rating_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=20), nullable=False),
        sa.Column("question", _enum(QUESTIONS, "cqc_question"), nullable=False),
        sa.Column("from_rating", _enum(RATINGS, "cqc_from_rating"), nullable=True),
        sa.Column("to_rating", _enum(RATINGS, "cqc_to_rating"), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(from_rating IS NOT NULL OR to_rating IS NOT NULL) AND (from_rating IS NULL OR to_rating IS NULL OR from_rating <> to_rating)",
            name=op.f("ck_cqc_rating_changes_a_real_change"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_cqc_rating_changes_provider_id_providers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["run_id"], ["cqc_import_runs.id"], name=op.f("fk_cqc_rating_changes_run_id_cqc_import_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cqc_rating_changes")),
    )
    op.create_index(op.f("ix_cqc_rating_changes_provider_id"), "cqc_rating_changes", ["provider_id"], unique=False)
    op.create_index(op.f("ix_cqc_rating_changes_run_id"), "cqc_rating_changes", ["run_id"], unique=False)

    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cqc_rating_published_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_column("cqc_rating_published_on")

    op.drop_table("cqc_rating_changes")
    op.drop_table("cqc_deregistrations")
    op.drop_table("cqc_import_runs")
