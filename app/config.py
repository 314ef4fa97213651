"""Configuration classes, read from the environment.

The embedded default (no environment at all) runs out of the box: a SQLite file and a
Whoosh index under ``instance/``. ``DATABASE_URL`` switches to PostgreSQL. ``APP_ENV``
chooses the class: ``development`` (default, demo mode), ``production`` or ``testing``.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Values that must never be accepted as a production secret key.
WEAK_SECRET_KEYS = {"", "dev", "changeme", "change-me", "secret", "development-only-not-secret"}
MIN_SECRET_KEY_LENGTH = 32

# DEVELOPMENT AND TESTS ONLY: the key that encrypts two-step (TOTP) secrets when
# TOTP_ENCRYPTION_KEY is not set. It is published here, so it protects nothing; production
# refuses it. Migration 0026 carries the same value (it cannot import the app).
DEV_TOTP_ENCRYPTION_KEY = "REVWRUxPUE1FTlQtT05MWS10b3RwLWtleS1wdWJsaWM="  # base64 of b"DEVELOPMENT-ONLY-totp-key-public"


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration is unsafe or incomplete."""


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def _bool(name: str, default: bool) -> bool:
    """An on/off setting. Anything but the usual words is a ConfigError, so a typo like
    DEMO_MODE=of cannot silently mean something else."""
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name}={value!r} is not on or off: use 1, true, yes or on, or 0, false, no or off.")


def _int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number setting, or a ConfigError naming the variable (never a bare ValueError)."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    text = value.strip()
    # ASCII digits only: int() would also take "１２" or "1_000".
    digits = text[1:] if text[:1] == "-" else text
    if not (digits.isascii() and digits.isdigit()):
        raise ConfigError(f"{name}={value!r} is not a whole number: set it to digits only, like {default}.")
    number = int(text)
    if number < minimum or (maximum is not None and number > maximum):
        limits = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        raise ConfigError(f"{name}={number} is out of range: it must be {limits}.")
    return number


def _base_url_problem(url: str, *, https_only: bool) -> str | None:
    """Why ``url`` cannot be the service's public address, or None."""
    if not url:
        return (
            "is not set: set it to the https:// address people use to reach the service, like "
            "https://care.example.gov.uk (every link in an email is built from it)"
        )
    parts = urlsplit(url)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        return (
            "must be " + ("an https:// address" if https_only else "an http:// or https:// address") + ", like https://care.example.gov.uk"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        return "must be just the address (scheme, host and optional path), like https://care.example.gov.uk"
    return None


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def engine_options(config) -> dict:
    """How the app talks to its database. On PostgreSQL a connection that cannot be made
    within DATABASE_CONNECT_TIMEOUT_SECONDS, a statement running longer than
    DATABASE_STATEMENT_TIMEOUT_SECONDS and a wait for a pooled connection longer than the
    connect timeout each fail, so a database that stops answering costs a page seconds (the
    styled error page, /health 503) rather than a worker for good."""
    options: dict = {"pool_pre_ping": True}
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        connect = int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"])
        statement_ms = int(config["DATABASE_STATEMENT_TIMEOUT_SECONDS"]) * 1000
        options["connect_args"] = {"connect_timeout": connect, "options": f"-c statement_timeout={statement_ms}"}
        options["pool_timeout"] = connect
    return options


MAIL_BACKENDS = ("log", "smtp")


class Config:
    """Settings shared by every environment. Environment variables are read when the
    object is created (not at import), so a test can set them and build a fresh config."""

    ENV_NAME = "base"
    SERVICE_NAME = "Care and Support Marketplace"
    PREFERRED_URL_SCHEME = "http"
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 4
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_HEADERS_ENABLED = True
    # Send Strict-Transport-Security (only meaningful behind HTTPS).
    HSTS_ENABLED = False
    TESTING = False
    DEFAULT_DEMO_MODE = True
    DEFAULT_SECRET_KEY = "development-only-not-secret"
    DEFAULT_TOTP_ENCRYPTION_KEY = DEV_TOTP_ENCRYPTION_KEY
    DEFAULT_MAIL_BACKEND = "log"
    DEFAULT_MAIL_REDACT = False
    # Emailed links may be plain http:// outside production (the local server).
    PUBLIC_BASE_URL_HTTPS_ONLY = False
    # Scheduled jobs run where they are asked for (tests), not by a worker.
    JOBS_IMMEDIATE = False

    def default_public_base_url(self) -> str:
        """Where emailed links point when PUBLIC_BASE_URL is not set (never the request's
        Host header, which anyone can forge)."""
        return f"http://127.0.0.1:{_int('PORT', 5000, minimum=1, maximum=65535)}"

    def __init__(self) -> None:
        env = os.environ
        instance_dir = Path(env.get("INSTANCE_PATH", INSTANCE_DIR))
        self.INSTANCE_PATH = str(instance_dir)
        self.COUNCIL_NAME = env.get("COUNCIL_NAME", "Peterborough City Council")
        self.SECRET_KEY = env.get("SECRET_KEY", self.DEFAULT_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env.get("DATABASE_URL", f"sqlite:///{instance_dir / 'marketplace.sqlite3'}"))
        self.DATABASE_CONNECT_TIMEOUT_SECONDS = _int("DATABASE_CONNECT_TIMEOUT_SECONDS", 3, minimum=1, maximum=60)
        self.DATABASE_STATEMENT_TIMEOUT_SECONDS = _int("DATABASE_STATEMENT_TIMEOUT_SECONDS", 30, minimum=0, maximum=3600)
        self.SEARCH_INDEX_DIR = env.get("SEARCH_INDEX_DIR", str(instance_dir / "search-index"))
        # How often (seconds) each host's index looks for changes made on other hosts; 0 is
        # off (the tests drain by hand).
        self.SEARCH_FOLLOW_SECONDS = _int("SEARCH_FOLLOW_SECONDS", 0 if self.TESTING else 1, maximum=3600)
        self.DEMO_MODE = _bool("DEMO_MODE", self.DEFAULT_DEMO_MODE)
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", not self.TESTING)
        # memory:// counts separately in each worker process; production refuses it unless
        # this says so (a single worker).
        self.RATELIMIT_ALLOW_MEMORY = _bool("RATELIMIT_ALLOW_MEMORY", False)
        # Personal budgets are funded in 4-week periods counted from this Monday (the
        # council's financial year start); `flask budgets fund --period-start` takes one.
        self.BUDGET_PERIOD_ANCHOR = env.get("BUDGET_PERIOD_ANCHOR", "2026-04-06")
        # Cancelling a visit is free until this many hours before it starts.
        self.CANCELLATION_NOTICE_HOURS = _int("CANCELLATION_NOTICE_HOURS", 24, maximum=168)
        # Card payments through Stripe. Without a secret and publishable key the card option
        # says it is not configured. STRIPE_API_BASE points the app at another Stripe API
        # (the offline demo and the tests use localstripe on 127.0.0.1).
        self.STRIPE_SECRET_KEY = env.get("STRIPE_SECRET_KEY", "")
        self.STRIPE_PUBLISHABLE_KEY = env.get("STRIPE_PUBLISHABLE_KEY", "")
        self.STRIPE_WEBHOOK_SECRET = env.get("STRIPE_WEBHOOK_SECRET", "")
        self.STRIPE_API_BASE = env.get("STRIPE_API_BASE", "").rstrip("/")

        # Accounts.
        # The address people reach the service at, for every link in an email
        # ("https://care.example.gov.uk"). Links are never built from the request's Host
        # header. Production requires it; elsewhere it defaults to the local server.
        self.PUBLIC_BASE_URL = (env.get("PUBLIC_BASE_URL", "").strip() or self.default_public_base_url()).rstrip("/")
        # A sign-in ends after this long without a request, and after this long in any case.
        self.SESSION_IDLE_MINUTES = _int("SESSION_IDLE_MINUTES", 120, minimum=1)
        self.SESSION_MAX_HOURS = _int("SESSION_MAX_HOURS", 24, minimum=1)
        self.PASSWORD_RESET_HOURS = _int("PASSWORD_RESET_HOURS", 1, minimum=1)
        self.INVITATION_DAYS = _int("INVITATION_DAYS", 14, minimum=1)
        # A new email address replaces the old one when the link sent to it is opened within this long.
        self.EMAIL_CHANGE_HOURS = _int("EMAIL_CHANGE_HOURS", 24, minimum=1, maximum=168)
        # Two-step secrets are encrypted at rest (Fernet) with TOTP_ENCRYPTION_KEY. To rotate:
        # set the new key there and the old ones, comma-separated, in TOTP_ENCRYPTION_KEYS_OLD
        # (they still decrypt), run `flask accounts rotate-totp-key`, then drop the old keys.
        self.TOTP_ENCRYPTION_KEY = env.get("TOTP_ENCRYPTION_KEY", "").strip() or self.DEFAULT_TOTP_ENCRYPTION_KEY
        self.TOTP_ENCRYPTION_KEYS_OLD = [k.strip() for k in env.get("TOTP_ENCRYPTION_KEYS_OLD", "").split(",") if k.strip()]
        # How many proxies in front of the app set X-Forwarded-For/-Proto (0: none). Needed
        # behind a load balancer so rate limits count each visitor's own address.
        self.PROXY_COUNT = _int("PROXY_COUNT", 0)
        # The largest request body anyone may send (Flask answers 413 beyond it, before
        # reading the rest): forms are a few kilobytes; a provider's visit file is the largest.
        self.MAX_CONTENT_LENGTH = _int("MAX_REQUEST_KB", 2048, minimum=64) * 1024
        self._read_mail(env)
        self._read_jobs(env, instance_dir)

    def _read_jobs(self, env, instance_dir: Path) -> None:
        # The scheduled jobs' queue (`flask worker`): Redis shared by every host when
        # JOBS_REDIS_URL is set (or the rate limits' store is Redis), else a SQLite file
        # under instance/ (one host).
        limiter_redis = self.RATELIMIT_STORAGE_URI if self.RATELIMIT_STORAGE_URI.startswith(("redis://", "rediss://")) else ""
        self.JOBS_REDIS_URL = env.get("JOBS_REDIS_URL", "").strip() or limiter_redis
        self.JOBS_QUEUE_FILE = env.get("JOBS_QUEUE_FILE", str(instance_dir / "jobs-queue.sqlite3"))
        # Jobs run at once in a worker: a long one (preparing a payment run) leaves the others free.
        self.JOBS_WORKER_THREADS = _int("JOBS_WORKER_THREADS", 4, minimum=1, maximum=32)

    def _read_mail(self, env) -> None:
        # Email: "log" writes emails to the log (and the admin outbox page shows them);
        # "smtp" sends them through SMTP_HOST.
        self.MAIL_BACKEND = env.get("MAIL_BACKEND", self.DEFAULT_MAIL_BACKEND).strip().lower()
        self.MAIL_FROM = env.get("MAIL_FROM", "Care and Support Marketplace <no-reply@marketplace.example>")
        self.SMTP_HOST = env.get("SMTP_HOST", "")
        self.SMTP_PORT = _int("SMTP_PORT", 587, minimum=1, maximum=65535)
        self.SMTP_USERNAME = env.get("SMTP_USERNAME", "")
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD", "")
        # "starttls" (port 587), "ssl" (port 465) or "none" (a relay on localhost only).
        self.SMTP_SECURITY = env.get("SMTP_SECURITY", "starttls").strip().lower()
        self.SMTP_TIMEOUT_SECONDS = _int("SMTP_TIMEOUT_SECONDS", 10, minimum=1)
        # Send what a request queued as soon as it has been handled; `flask mail send` (run
        # from cron) retries anything left. Turn off to leave all sending to cron.
        self.MAIL_DELIVER_AFTER_REQUEST = _bool("MAIL_DELIVER_AFTER_REQUEST", True)
        # Replace a sent email's body in the outbox (it may hold a sign-in link).
        self.MAIL_REDACT_AFTER_SEND = _bool("MAIL_REDACT_AFTER_SEND", self.DEFAULT_MAIL_REDACT)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in dir(self) if k.isupper()}

    def validate(self) -> None:
        """Fail fast on configuration that would be unsafe to run with. Every check is
        here, once; an environment adds only its own refusals (``_validate_environment``)."""
        _validate_stripe(self)
        _validate_totp_keys(self)
        self._validate_environment()
        if self.MAIL_BACKEND not in MAIL_BACKENDS:
            raise ConfigError(f"MAIL_BACKEND={self.MAIL_BACKEND!r} is not known: use one of {', '.join(MAIL_BACKENDS)}.")
        if self.MAIL_BACKEND == "smtp" and not self.SMTP_HOST:
            raise ConfigError("MAIL_BACKEND=smtp needs SMTP_HOST (and usually SMTP_USERNAME and SMTP_PASSWORD).")
        if self.SMTP_SECURITY not in ("starttls", "ssl", "none"):
            raise ConfigError("SMTP_SECURITY must be starttls, ssl or none.")
        problem = _base_url_problem(self.PUBLIC_BASE_URL, https_only=self.PUBLIC_BASE_URL_HTTPS_ONLY)
        if problem:
            name = f"PUBLIC_BASE_URL={self.PUBLIC_BASE_URL!r}" if self.PUBLIC_BASE_URL else "PUBLIC_BASE_URL"
            raise ConfigError(f"{name} {problem}.")
        try:
            dt.date.fromisoformat(self.BUDGET_PERIOD_ANCHOR)
        except (TypeError, ValueError):
            raise ConfigError(
                f"BUDGET_PERIOD_ANCHOR={self.BUDGET_PERIOD_ANCHOR!r} is not a date: write it as YYYY-MM-DD, like 2026-04-06."
            ) from None

    def _validate_environment(self) -> None:
        """What only this environment refuses (production: see ProductionConfig)."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    JOBS_IMMEDIATE = True

    def default_public_base_url(self) -> str:
        return "http://localhost"


class ProductionConfig(Config):
    ENV_NAME = "production"
    DEFAULT_DEMO_MODE = False
    DEFAULT_SECRET_KEY = ""
    DEFAULT_TOTP_ENCRYPTION_KEY = ""  # required: validate() says so
    PREFERRED_URL_SCHEME = "https"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = True
    DEFAULT_MAIL_BACKEND = "smtp"
    DEFAULT_MAIL_REDACT = True
    PUBLIC_BASE_URL_HTTPS_ONLY = True

    def default_public_base_url(self) -> str:
        return ""  # required: validate() says so

    def _validate_environment(self) -> None:
        key = self.SECRET_KEY or ""
        if key.strip().lower() in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY is missing or weak: set it to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        if self.TOTP_ENCRYPTION_KEY in ("", DEV_TOTP_ENCRYPTION_KEY):
            raise ConfigError(
                "TOTP_ENCRYPTION_KEY is missing (or is the published development key): set it to a key of its own, the "
                "output of `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`. "
                "It encrypts two-step secrets; keep it apart from the database backups."
            )
        if self.DEMO_MODE:
            raise ConfigError(
                "DEMO_MODE is on: production never runs in demo mode (the demo accounts share a published password "
                "and council accounts would not need two-step verification). Unset DEMO_MODE."
            )
        if self.RATELIMIT_ENABLED and self.RATELIMIT_STORAGE_URI.startswith("memory://") and not self.RATELIMIT_ALLOW_MEMORY:
            raise ConfigError(
                "RATELIMIT_STORAGE_URI is memory://, which counts separately in each worker process: set it to a "
                "shared store such as redis://127.0.0.1:6379/0, or set RATELIMIT_ALLOW_MEMORY=1 if you run a single worker."
            )


def _validate_stripe(config: Config) -> None:
    secret, publishable = config.STRIPE_SECRET_KEY, config.STRIPE_PUBLISHABLE_KEY
    if bool(secret) != bool(publishable):
        raise ConfigError("Set both STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY for card payments, or neither.")
    if secret and not secret.startswith(("sk_", "rk_")):
        raise ConfigError("STRIPE_SECRET_KEY must be a Stripe secret key (sk_test_... or sk_live_...).")
    if publishable and not publishable.startswith("pk_"):
        raise ConfigError("STRIPE_PUBLISHABLE_KEY must be a Stripe publishable key (pk_test_... or pk_live_...).")
    if secret and not config.STRIPE_WEBHOOK_SECRET:
        raise ConfigError("Set STRIPE_WEBHOOK_SECRET (whsec_...) so /webhooks/stripe can verify Stripe's signatures.")
    base = config.STRIPE_API_BASE
    if base and not base.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ConfigError("STRIPE_API_BASE must be https://, or http:// on this machine's loopback address.")


def _validate_totp_keys(config: Config) -> None:
    """Each key must be a Fernet key: 32 bytes in URL-safe base64 (44 characters)."""
    keys = [("TOTP_ENCRYPTION_KEY", config.TOTP_ENCRYPTION_KEY)] + [
        ("TOTP_ENCRYPTION_KEYS_OLD", k) for k in config.TOTP_ENCRYPTION_KEYS_OLD
    ]
    for name, key in keys:
        if not key:
            continue
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(
                f"{name} holds a value that is not a key: each must be 32 bytes in URL-safe base64, as "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` prints."
            )


def is_production(config) -> bool:
    """Whether a running app's ``config`` is production's. What must never happen there
    (demo data, the two-step waiver) checks this besides DEMO_MODE, which production
    refuses at start-up, in case the setting is changed afterwards."""
    return config.get("ENV_NAME") == ProductionConfig.ENV_NAME


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> Config:
    name = os.environ.get("APP_ENV", "development").strip().lower()
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"APP_ENV={name!r} is not known: use one of {', '.join(sorted(CONFIGS))}.") from None
