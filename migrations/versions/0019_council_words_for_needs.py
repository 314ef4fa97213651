"""the council's own words for needs: a word or phrase people search for, added by a
commissioner from the unmet demand report, leading to a need of the vocabulary or to a type
of support; one live entry per phrase (its stems), kept on record when taken out

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "council_need_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=80), nullable=False),
        sa.Column("words", sa.String(length=200), nullable=False),
        sa.Column("meaning", sa.String(length=120), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("length(trim(phrase)) BETWEEN 1 AND 80", name=op.f("ck_council_need_words_phrase_length")),
        sa.CheckConstraint("length(words) > 0", name=op.f("ck_council_need_words_has_words")),
        sa.CheckConstraint("(removed_at IS NULL) = (removed_by_id IS NULL)", name=op.f("ck_council_need_words_removed_with_by")),
        sa.ForeignKeyConstraint(["added_by_id"], ["users.id"], name=op.f("fk_council_need_words_added_by_id_users")),
        sa.ForeignKeyConstraint(["removed_by_id"], ["users.id"], name=op.f("fk_council_need_words_removed_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_need_words")),
    )
    op.create_index(
        "uq_council_need_words_live",
        "council_need_words",
        ["words"],
        unique=True,
        sqlite_where=sa.text("removed_at IS NULL"),
        postgresql_where=sa.text("removed_at IS NULL"),
    )


def downgrade():
    op.drop_index("uq_council_need_words_live", table_name="council_need_words")
    op.drop_table("council_need_words")
