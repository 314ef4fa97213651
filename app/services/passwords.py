"""Password hashing and the password rules.

Hashing is argon2id with OWASP's first recommended setting (19 MiB of memory, two
iterations, one lane). Werkzeug's default scrypt cost is below OWASP's minimum, so we do
not use it. Hashes made with older settings are upgraded at the next sign-in.

The rules follow NCSC guidance: at least 8 characters, no composition rules, and not one
of the passwords most often used (the 30,000-password list that ships with zxcvbn, built
from leaked password sets; those shorter than 8 characters are refused anyway).
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 256  # long passphrases are welcome; megabytes of input are not

# OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)

TOO_SHORT = f"Your password must be at least {MIN_LENGTH} characters long"
TOO_LONG = f"Your password must be {MAX_LENGTH} characters or fewer"
TOO_COMMON = "This password is too common and easy to guess. Choose a different password, for example three random words"
SAME_AS_EMAIL = "Your password must not be your email address"
MISSING = "Enter a password"

# Words people use for this kind of service, refused as whole passwords.
SERVICE_WORDS = ("marketplace", "careandsupport", "peterborough", "carehome", "homecare", "personalbudget")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common-password list, loaded on first use (lower case, 8 characters or more)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415 (a large word list, loaded when first needed)

    words = {w.lower() for w in FREQUENCY_LISTS["passwords"] if len(w) >= MIN_LENGTH}
    for word in SERVICE_WORDS:
        words.update({word, word + "1", word + "123", word + "1234"})
    return frozenset(words)


def password_problem(password: str | None, *, email: str | None = None) -> str | None:
    """Why this password is not allowed, as a message for the person, or None if it is."""
    if not password:
        return MISSING
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.strip().lower()
    if lowered in common_passwords():
        return TOO_COMMON
    if email and lowered == email.strip().lower():
        return SAME_AS_EMAIL
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches. A missing or damaged hash never matches."""
    if not password_hash or not password or len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash("not a real password, used to keep timing even")


def spend_equal_time(password: str) -> None:
    """Do the work of checking a password when there is no account, so a sign-in for an
    unknown email takes as long as one with a wrong password."""
    verify_password(_dummy_hash(), password or "x")
