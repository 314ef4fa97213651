"""Two-step (TOTP) secrets encrypted at rest. A stolen database copy or backup must not
let anyone make a council officer's sign-in codes, so ``users.totp_secret`` holds a Fernet
token (AES-128-CBC with an HMAC-SHA256, from the ``cryptography`` package), never the base32
secret itself.

The key is ``TOTP_ENCRYPTION_KEY`` (production refuses to start without one of its own;
elsewhere a published development key stands in). Rotating it: set the new key in
``TOTP_ENCRYPTION_KEY`` and the old ones, comma-separated, in ``TOTP_ENCRYPTION_KEYS_OLD``
(secrets made under them still decrypt), run ``flask accounts rotate-totp-key`` (every
secret re-encrypted under the new key), then remove the old keys. Migration 0026 encrypted
the secrets kept in plain text before it, with the same Fernet format.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import User


class SecretUnreadable(RuntimeError):
    """A stored secret that none of the configured keys decrypts (a key taken away too soon)."""


def _keys(config=None) -> MultiFernet:
    config = config or current_app.config
    keys = [config["TOTP_ENCRYPTION_KEY"], *config.get("TOTP_ENCRYPTION_KEYS_OLD", [])]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode("ascii")).decode("ascii")


def decrypt(stored: str) -> str:
    try:
        return _keys().decrypt(stored.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "A two-step secret cannot be decrypted with TOTP_ENCRYPTION_KEY or TOTP_ENCRYPTION_KEYS_OLD: "
            "put back the key it was encrypted with (in TOTP_ENCRYPTION_KEYS_OLD) and run `flask accounts rotate-totp-key`."
        ) from None


def rotate_all(batch: int = 500) -> int:
    """Re-encrypt every stored secret under the current key (old keys decrypt). Commits
    per batch; returns how many were rewritten. Any secret no key reads stops it, before
    that batch is written, with SecretUnreadable."""
    keys = _keys()
    done = 0
    last_id = 0
    while True:
        rows = (
            db.session.execute(select(User).where(User.totp_secret.is_not(None), User.id > last_id).order_by(User.id).limit(batch))
            .scalars()
            .all()
        )
        if not rows:
            return done
        for user in rows:
            try:
                user.totp_secret = keys.rotate(user.totp_secret.encode("ascii")).decode("ascii")
            except InvalidToken:
                db.session.rollback()
                raise SecretUnreadable(f"The two-step secret of user {user.id} cannot be decrypted with any configured key.") from None
            done += 1
            last_id = user.id
        db.session.commit()
