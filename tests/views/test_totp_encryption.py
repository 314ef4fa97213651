"""Two-step secrets are encrypted at rest with TOTP_ENCRYPTION_KEY, and the key can be rotated."""

from __future__ import annotations

import pyotp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from app.extensions import db
from app.services import totp_encryption, two_step
from tests.helpers import sign_in
from tests.test_migrations import _run_migration_step


def _stored(user) -> str:
    return db.session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user.id}).scalar_one()


def _turn_on(user) -> str:
    secret = two_step.new_secret()
    two_step.enable(user, secret, pyotp.TOTP(secret).now())
    return secret


def test_a_stored_secret_is_not_the_plain_secret_and_sign_in_still_works(app, make_citizen):
    user = make_citizen()
    secret = _turn_on(user)
    stored = _stored(user)
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token
    assert Fernet(app.config["TOTP_ENCRYPTION_KEY"]).decrypt(stored.encode()).decode() == secret
    client = app.test_client()
    response = sign_in(client, user)  # answers the two-step question with a code from the secret
    assert response.status_code == 302 and client.get("/account").status_code == 200


def test_rotation_re_encrypts_and_old_keys_decrypt_until_then(app, make_citizen, monkeypatch):
    users = [make_citizen() for _ in range(3)]
    secrets = [_turn_on(user) for user in users]
    old_key = app.config["TOTP_ENCRYPTION_KEY"]
    before = [_stored(user) for user in users]
    new_key = Fernet.generate_key().decode()

    monkeypatch.setitem(app.config, "TOTP_ENCRYPTION_KEY", new_key)
    monkeypatch.setitem(app.config, "TOTP_ENCRYPTION_KEYS_OLD", [])
    with pytest.raises(totp_encryption.SecretUnreadable):  # the new key alone cannot read them yet
        two_step.plain_secret(users[0])

    monkeypatch.setitem(app.config, "TOTP_ENCRYPTION_KEYS_OLD", [old_key])
    assert two_step.plain_secret(users[0]) == secrets[0]  # the old key still decrypts
    assert sign_in(app.test_client(), users[0]).status_code == 302

    result = app.test_cli_runner().invoke(args=["accounts", "rotate-totp-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 3 two-step secrets" in result.output
    after = [_stored(user) for user in users]
    assert all(a != b for a, b in zip(after, before, strict=True))
    assert [Fernet(new_key).decrypt(a.encode()).decode() for a in after] == secrets

    monkeypatch.setitem(app.config, "TOTP_ENCRYPTION_KEYS_OLD", [])  # the old key can go now
    assert sign_in(app.test_client(), users[1]).status_code == 302


def test_rotation_stops_on_a_secret_no_key_reads(app, make_citizen, monkeypatch):
    user = make_citizen()
    _turn_on(user)
    monkeypatch.setitem(app.config, "TOTP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    result = app.test_cli_runner().invoke(args=["accounts", "rotate-totp-key"])
    assert result.exit_code != 0 and "cannot be decrypted" in result.output


def test_the_migration_encrypts_secrets_kept_in_plain_text(app, make_citizen, monkeypatch):
    """Before 0026 the column held the base32 secret; the migration (no key set: the same
    development key as the app's default outside production) encrypts it, once."""
    monkeypatch.delenv("TOTP_ENCRYPTION_KEY", raising=False)
    monkeypatch.delenv("TOTP_ENCRYPTION_KEYS_OLD", raising=False)
    user = make_citizen()
    _turn_on(user)
    plain = "JBSWY3DPEHPK3PXP"
    db.session.execute(text("UPDATE users SET totp_secret = :s WHERE id = :id"), {"s": plain, "id": user.id})
    db.session.commit()
    _run_migration_step("0026_confirmed_email_changes_encrypted_two_", "_encrypt_plain_secrets")
    stored = _stored(user)
    assert stored != plain and two_step.plain_secret(user) == plain
    _run_migration_step("0026_confirmed_email_changes_encrypted_two_", "_encrypt_plain_secrets")
    assert _stored(user) == stored


def test_the_migration_refuses_production_without_a_key(monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0026_confirmed_email_changes_encrypted_two_.py"
    spec = importlib.util.spec_from_file_location("m0026", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("TOTP_ENCRYPTION_KEY", raising=False)
    with pytest.raises(RuntimeError, match="needs TOTP_ENCRYPTION_KEY"):
        module._keys()
