"""Two-step verification: a time-based code from an authenticator app (TOTP, RFC 6238),
with single-use recovery codes for when the phone is lost.

Available to everyone; required for commissioners and admins outside demo mode.
A code is accepted within one 30-second step either side, and never twice.
"""

from __future__ import annotations

import re
import secrets

import pyotp
import segno
from flask import current_app
from sqlalchemy import select, update

from app.config import is_production
from app.database import utcnow
from app.extensions import db
from app.formatting import pluralise
from app.models import RecoveryCode, Role, User
from app.services import audit, mail, totp_encryption
from app.services.errors import Conflict, ValidationError
from app.services.passwords import verify_password
from app.services.tokens import token_hash

RECOVERY_CODE_COUNT = 10
REQUIRED_ROLES = (Role.COMMISSIONER, Role.ADMIN)
CODE_WRONG = "The code is not right. Check your authenticator app and enter the 6-digit code it shows now"
CODE_MISSING = "Enter the 6-digit code from your authenticator app"
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def is_required(user: User, demo_mode: bool) -> bool:
    """Council accounts must use two-step verification. Demo mode waives that, but never
    in production, whatever DEMO_MODE says (the production configuration refuses it too)."""
    waived = bool(demo_mode) and not is_production(current_app.config)
    return user.role in REQUIRED_ROLES and not waived


def needs_setup(user: User, demo_mode: bool) -> bool:
    return is_required(user, demo_mode) and not user.two_step_enabled


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """The setup QR code as an SVG data URI (allowed by our Content-Security-Policy)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, title="QR code for your authenticator app")


def format_secret(secret: str) -> str:
    """'JBSW Y3DP EHPK 3PXP' is easier to type than 'JBSWY3DPEHPK3PXP'."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


_TOTP_CODE = re.compile(r"[0-9]{6}")  # ASCII digits only: str.isdigit() is true for "１２３４５６" too
_RECOVERY_CODE = re.compile(f"[{_ALPHABET}]{{10}}")


def _clean_code(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now=None) -> int | None:
    """The 30-second step a 6-digit code belongs to (now, or one either side), or None.
    Only ASCII digits can match (compare_digest refuses other characters with a TypeError)."""
    if not _TOTP_CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    moment = now or utcnow()
    current = totp.timecode(moment)
    for offset in (0, -1, 1):
        step = current + offset
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enable(user: User, secret: str, code: str) -> list[str]:
    """Turn on two-step verification once the person proves their app shows the right
    code. Returns the recovery codes, shown to them once."""
    code = _clean_code(code)
    if not code:
        raise ValidationError({"code": CODE_MISSING})
    step = _matching_step(secret, code)
    if step is None:
        raise ValidationError({"code": CODE_WRONG})
    user.totp_secret = totp_encryption.encrypt(secret)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    audit.record(user, "account.two_step_enabled", "user", user.id)
    mail.queue(
        user.email,
        "Two-step verification is on",
        f"Hello {user.name},\n\nTwo-step verification is now on for your account. When you sign in you will be asked "
        "for a code from your authenticator app.\n\nIf you did not do this, contact the council straight away.",
    )
    db.session.commit()
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=token_hash(raw)))
    return codes


def verify(user: User, code: str) -> str | None:
    """Check a sign-in code: 'totp' or 'recovery' for which kind matched, None if wrong.
    A TOTP code is accepted once; a recovery code is used up."""
    if not user.two_step_enabled:
        return None
    cleaned = _clean_code(code)
    step = _matching_step(plain_secret(user), cleaned)
    if step is not None:
        # Conditional update: the same (or an older) code can never be accepted again,
        # even by two requests at once.
        accepted = db.session.execute(
            update(User)
            .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
            .values(totp_last_step=step)
        ).rowcount
        db.session.commit()
        db.session.refresh(user)
        return "totp" if accepted == 1 else None
    if _RECOVERY_CODE.fullmatch(cleaned):
        row = db.session.execute(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.code_hash == token_hash(cleaned), RecoveryCode.used_at.is_(None)
            )
        ).scalar_one_or_none()
        if row is not None:
            used = db.session.execute(
                update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None)).values(used_at=utcnow())
            ).rowcount
            if used == 1:
                left = recovery_codes_left(user)
                audit.record(user, "account.recovery_code_used", "user", user.id, note=f"{pluralise(left, 'recovery code')} left")
                db.session.commit()
                return "recovery"
            db.session.rollback()
    return None


def recovery_codes_left(user: User) -> int:
    return len(db.session.execute(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    if verify(user, code) is None:
        raise ValidationError({"code": CODE_WRONG})
    codes = _replace_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User, *, password: str, code: str, demo_mode: bool) -> None:
    if is_required(user, demo_mode):
        raise Conflict("Council accounts must keep two-step verification on.")
    errors = {}
    if not verify_password(user.password_hash, password):
        errors["password"] = "Your password is not right"
    if errors:
        raise ValidationError(errors)
    if verify(user, code) is None:
        raise ValidationError({"code": CODE_WRONG})
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(RecoveryCode.__table__.delete().where(RecoveryCode.user_id == user.id))
    audit.record(user, "account.two_step_disabled", "user", user.id)
    mail.queue(
        user.email,
        "Two-step verification is off",
        f"Hello {user.name},\n\nTwo-step verification has been turned off for your account.\n\n"
        "If you did not do this, reset your password and contact the council straight away.",
    )
    db.session.commit()


def plain_secret(user: User) -> str:
    """The base32 secret behind ``user``'s codes (kept encrypted: see totp_encryption)."""
    return totp_encryption.decrypt(user.totp_secret)


def current_code(secret: str) -> str:
    """The code an authenticator app shows now (for tests and the demo)."""
    return pyotp.TOTP(secret).now()
