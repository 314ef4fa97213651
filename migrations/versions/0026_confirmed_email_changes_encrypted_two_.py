"""confirmed email changes, encrypted two-step secrets, security contact: an email-change
token (purpose email_change) carries the new address until its link is opened; two-step
secrets are kept as Fernet tokens (the column widened to hold them, the plain secrets
already there encrypted here); the council's security contact for /.well-known/security.txt

The key is TOTP_ENCRYPTION_KEY, read from the environment when the migration runs (this file
cannot import the app). Without one: with APP_ENV=production the upgrade stops and changes
nothing (set the key the app will run with, then run it again); anywhere else the published
development key stands in, the same one app/config.py uses outside production, so a later
`flask accounts rotate-totp-key` with a real key (and the development key in
TOTP_ENCRYPTION_KEYS_OLD) re-encrypts them.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 11:10:00

"""

import os
import re

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, MultiFernet

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

# DEVELOPMENT AND TESTS ONLY: the same published key as app/config.py's DEV_TOTP_ENCRYPTION_KEY.
DEV_TOTP_ENCRYPTION_KEY = "REVWRUxPUE1FTlQtT05MWS10b3RwLWtleS1wdWJsaWM="
PLAIN_SECRET = re.compile(r"[A-Z2-7]+=*")  # base32, as pyotp makes them; a Fernet token never matches

users = sa.table("users", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _keys() -> MultiFernet:
    key = os.environ.get("TOTP_ENCRYPTION_KEY", "").strip()
    if not key:
        if os.environ.get("APP_ENV", "").strip().lower() == "production":
            raise RuntimeError(
                "Migration 0026 encrypts two-step secrets and needs TOTP_ENCRYPTION_KEY (the key the app runs with): "
                "set it and run the upgrade again. Nothing was changed."
            )
        key = DEV_TOTP_ENCRYPTION_KEY
    old = [k.strip() for k in os.environ.get("TOTP_ENCRYPTION_KEYS_OLD", "").split(",") if k.strip()]
    return MultiFernet([Fernet(k) for k in [key, *old]])


def _rewrite_secrets(change) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None))).all()
    for user_id, secret in rows:
        new = change(secret)
        if new != secret:
            bind.execute(users.update().where(users.c.id == user_id).values(totp_secret=new))


def upgrade():
    keys = _keys()  # before any change: refuses in production without a key
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_email", sa.String(length=254), nullable=True))
        batch_op.drop_constraint(op.f("ck_account_tokens_token_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_account_tokens_token_purpose"), "purpose IN ('password_reset', 'email_change')")

    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("security_contact", sa.String(length=300), server_default="", nullable=False))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.VARCHAR(length=64), type_=sa.String(length=255), existing_nullable=True)

    _encrypt_plain_secrets(keys)


def _encrypt_plain_secrets(keys: MultiFernet | None = None) -> None:
    """Every two-step secret still in plain base32 becomes a Fernet token (run twice, it changes nothing)."""
    keys = keys or _keys()
    _rewrite_secrets(lambda secret: keys.encrypt(secret.encode("ascii")).decode("ascii") if PLAIN_SECRET.fullmatch(secret) else secret)


def downgrade():
    keys = _keys()
    _rewrite_secrets(lambda secret: secret if PLAIN_SECRET.fullmatch(secret) else keys.decrypt(secret.encode("ascii")).decode("ascii"))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret", existing_type=sa.String(length=255), type_=sa.VARCHAR(length=64), existing_nullable=True)

    with op.batch_alter_table("council_settings", schema=None) as batch_op:
        batch_op.drop_column("security_contact")

    op.execute("DELETE FROM account_tokens WHERE purpose = 'email_change'")
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_account_tokens_token_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_account_tokens_token_purpose"), "purpose IN ('password_reset')")
        batch_op.drop_column("new_email")
