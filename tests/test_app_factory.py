"""The application factory, configuration and the pieces every page relies on."""

from __future__ import annotations

import os

import pytest

from app import create_app
from app.config import ConfigError, ProductionConfig, normalise_database_url


def test_production_refuses_a_missing_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is missing or weak"):
        create_app()


@pytest.mark.parametrize("weak", ["dev", "changeme", "short-but-not-empty", "development-only-not-secret"])
def test_production_refuses_a_weak_secret_key(monkeypatch, weak):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", weak)
    with pytest.raises(ConfigError):
        create_app()


PRODUCTION_ENV = {
    "APP_ENV": "production",
    "SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3f2e1d0c",
    "SMTP_HOST": "smtp.council.example",  # production sends real email
    "PUBLIC_BASE_URL": "https://care.example.gov.uk",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
    "TOTP_ENCRYPTION_KEY": "dGVzdHMtb25seS1wcm9kdWN0aW9uLXRvdHAta2V5LTE=",
}


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """Everything production needs, set in the environment; tests take one thing away."""
    for name in ("DEMO_MODE", "RATELIMIT_ENABLED", "RATELIMIT_ALLOW_MEMORY", "MAIL_BACKEND", "SMTP_PORT", "CANCELLATION_NOTICE_HOURS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    yield monkeypatch
    monkeypatch.undo()
    create_app({"TESTING": True})  # the limiter is shared: put it back on memory:// for the next test


def test_production_starts_with_a_strong_key_and_secure_cookies(production_env):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["DEMO_MODE"] is False
    assert app.config["HSTS_ENABLED"] is True


def test_unknown_app_env_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("APP_ENV", "staging-typo")
    with pytest.raises(ConfigError, match="APP_ENV='staging-typo' is not known"):
        create_app()


def test_embedded_default_is_sqlite_under_instance(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SEARCH_INDEX_DIR", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/marketplace.sqlite3")
    assert app.config["SEARCH_INDEX_DIR"].endswith("instance/search-index")


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url_picks_psycopg(given, expected):
    assert normalise_database_url(given) == expected


def test_database_url_switches_the_app(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/somewhere")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/somewhere"


def test_extensions_and_blueprints_are_wired(app):
    assert {"sqlalchemy", "migrate", "csrf"} <= set(app.extensions)
    assert "public" in app.blueprints


def test_security_headers_on_every_page(client):
    response = client.get("/")
    headers = response.headers
    assert "script-src 'self' 'nonce-" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    # The nonce in the header is the one on the page's inline script.
    nonce = headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in response.data


def test_unexpected_error_shows_the_styled_500_page(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode-for-test")
    def explode():
        raise RuntimeError("boom")

    @app.get("/api/explode-for-test")
    def explode_api():
        raise RuntimeError("boom")

    client = app.test_client()
    response = client.get("/explode-for-test")
    assert response.status_code == 500
    assert b"Sorry, there is a problem with the service" in response.data
    assert b"boom" not in response.data

    response = client.get("/api/explode-for-test")
    assert response.status_code == 500
    assert response.is_json
    assert response.json["error"]["status"] == 500


def test_api_paths_answer_json_errors(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json
    assert response.json == {"error": {"status": 404, "title": "Not found"}}


def test_a_body_too_large_is_a_styled_413_read_no_further(client, app):
    """A 400 MB anonymous sign-in is refused after the first few megabytes, sent whole or
    chunked, with the styled page; nothing is read into memory beyond the limit."""
    from tests.helpers import h1

    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 2048 * 1024

    class Endless:
        """A body that would go on for 400 MB, counting what is read of it."""

        def __init__(self):
            self.read_bytes = 0

        def read(self, size=-1):
            size = 65536 if size is None or size < 0 else size
            if self.read_bytes >= 400 * 1024 * 1024:
                return b""
            self.read_bytes += size
            return b"x" * size

        def readline(self, size=-1):
            return self.read(size)

        def tell(self):
            return self.read_bytes

        def seek(self, *args):
            return self.read_bytes

    whole = client.post("/sign-in", data=b"email=" + b"x" * (limit + 1), content_type="application/x-www-form-urlencoded")
    stream = Endless()
    # gunicorn marks a chunked body as ending where the client says (wsgi.input_terminated).
    chunked = client.post(
        "/sign-in",
        input_stream=stream,
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    for response in (whole, chunked):
        assert response.status_code == 413 and h1(response) == "What you sent is too large"
        assert b"govuk-template" in response.data
    assert stream.read_bytes <= limit + 1024 * 1024  # the stream stopped at the limit


def test_wrong_method_is_a_styled_405(client):
    from tests.helpers import csrf_token, h1

    # With a valid CSRF token, so nothing but the method is wrong: a GET-only page.
    response = client.post("/accessibility", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 405
    assert h1(response) == "You cannot do that here"
    assert b"govuk-template" in response.data
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}


def test_styled_429_page(app):
    from werkzeug.exceptions import TooManyRequests

    @app.get("/limited-for-test")
    def limited():
        raise TooManyRequests()

    response = app.test_client().get("/limited-for-test")
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    assert b"govuk-template" in response.data


def test_production_config_class_validates_itself(production_env):
    ProductionConfig().validate()


def test_nul_characters_in_input_are_a_clear_400(client):
    response = client.get("/categories/home-care?page=1%00")
    assert response.status_code == 400
    assert b"There is a problem with your request" in response.data


def test_nul_characters_in_a_form_are_a_clear_400(client):
    from tests.helpers import csrf_token, h1

    # With a valid CSRF token, so the NUL character is all that is wrong.
    response = client.post("/sign-in", data={"csrf_token": csrf_token(client), "email": "a\x00@example.test", "password": "x"})
    assert response.status_code == 400
    assert h1(response) == "There is a problem with your request"


# -- Production refuses what is unsafe -------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "on"])
def test_production_refuses_demo_mode(production_env, value):
    production_env.setenv("DEMO_MODE", value)
    with pytest.raises(ConfigError, match="DEMO_MODE is on: production never runs in demo mode"):
        create_app()


def test_demo_data_and_two_step_waiver_are_refused_in_production_even_if_demo_mode_is_switched_on_later(production_env):
    from app.models import Role, User
    from app.services import demo, two_step

    app = create_app()
    app.config["DEMO_MODE"] = True  # as if something switched it on after start-up
    with app.app_context():
        with pytest.raises(demo.DemoRefused, match="never loaded in production"):
            demo.load(demo_mode=True, history=False)
        with pytest.raises(demo.DemoRefused):
            demo.accounts.load_accounts(demo.LoadReport())
        commissioner = User(email="c@council.example", name="C", role=Role.COMMISSIONER)
        assert two_step.is_required(commissioner, demo_mode=True)
        assert two_step.needs_setup(commissioner, demo_mode=True)


def test_two_step_is_waived_in_demo_mode_outside_production(app):
    from app.models import Role, User
    from app.services import two_step

    commissioner = User(email="c@council.example", name="C", role=Role.COMMISSIONER)
    assert not two_step.is_required(commissioner, demo_mode=True)
    assert two_step.is_required(commissioner, demo_mode=False)


def test_production_requires_an_https_public_base_url(production_env):
    production_env.delenv("PUBLIC_BASE_URL")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL is not set"):
        create_app()
    for bad in ("http://care.example.gov.uk", "care.example.gov.uk", "https://", "https://care.example.gov.uk/?next=x"):
        production_env.setenv("PUBLIC_BASE_URL", bad)
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL="):
            create_app()
    production_env.setenv("PUBLIC_BASE_URL", "https://council.example.gov.uk/care/")
    assert create_app().config["PUBLIC_BASE_URL"] == "https://council.example.gov.uk/care"


def test_emailed_links_use_the_public_base_url_with_its_path(production_env):
    from app.services import mail

    production_env.setenv("PUBLIC_BASE_URL", "https://council.example.gov.uk/care")
    app = create_app()
    with app.app_context():  # no request: the command line builds links too
        assert mail.link_for("auth.reset_password", token="abc") == "https://council.example.gov.uk/care/password/reset/abc"
        assert mail.public_url("/enquiries") == "https://council.example.gov.uk/care/enquiries"
        with pytest.raises(ValueError):
            mail.public_url("//evil.example/x")


def test_development_links_default_to_the_local_server(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "8000")
    assert create_app().config["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"


def test_production_refuses_per_worker_rate_limit_counts_unless_allowed(production_env):
    production_env.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError, match="counts separately in each worker process"):
        create_app()
    production_env.setenv("RATELIMIT_ALLOW_MEMORY", "1")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"
    production_env.delenv("RATELIMIT_ALLOW_MEMORY")
    production_env.setenv("RATELIMIT_ENABLED", "0")  # nothing is counted at all
    create_app()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("SMTP_PORT", "five-eight-seven", "SMTP_PORT='five-eight-seven' is not a whole number"),
        ("SMTP_PORT", "70000", "SMTP_PORT=70000 is out of range"),
        ("CANCELLATION_NOTICE_HOURS", "a day", "CANCELLATION_NOTICE_HOURS='a day' is not a whole number"),
        ("CANCELLATION_NOTICE_HOURS", "２４", "is not a whole number"),
        ("CANCELLATION_NOTICE_HOURS", "-1", "out of range"),
        ("SESSION_IDLE_MINUTES", "1.5", "SESSION_IDLE_MINUTES='1.5' is not a whole number"),
        ("SESSION_MAX_HOURS", "0", "SESSION_MAX_HOURS=0 is out of range"),
        ("PASSWORD_RESET_HOURS", "one", "PASSWORD_RESET_HOURS"),
        ("INVITATION_DAYS", "1_000", "INVITATION_DAYS"),
        ("PROXY_COUNT", "yes", "PROXY_COUNT"),
        ("SMTP_TIMEOUT_SECONDS", "ten", "SMTP_TIMEOUT_SECONDS"),
        ("DEMO_MODE", "maybe", "DEMO_MODE='maybe' is not on or off"),
        ("BUDGET_PERIOD_ANCHOR", "6 April 2026", "BUDGET_PERIOD_ANCHOR='6 April 2026' is not a date"),
        ("PUBLIC_BASE_URL", "care.example.gov.uk", "PUBLIC_BASE_URL='care.example.gov.uk' must be an http:// or https:// address"),
    ],
)
def test_a_bad_number_or_switch_in_the_environment_is_a_clear_config_error(monkeypatch, name, value, message):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


def _redis_or_skip(url: str):
    redis = pytest.importorskip("redis", reason="the redis client is in requirements.txt: pip install -r requirements.txt")
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(
            f"Redis is not reachable at {url}: start one with `redis-server --bind 127.0.0.1 --daemonize yes` "
            "(Debian: apt-get install redis-server) or `docker run -p 6379:6379 redis:7`"
        )
    return client


def test_production_counts_rate_limits_in_redis(production_env, app):
    """RATELIMIT_STORAGE_URI=redis://... works in production (the redis client is pinned),
    and failed sign-ins are counted there, so every worker sees the same counts. Redis
    database 15 is this test's own (14, 13... for the other pytest-xdist workers, so two
    runs at once never empty each other's): it is emptied before and after."""
    from tests.helpers import csrf_from

    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    url = PRODUCTION_ENV["RATELIMIT_STORAGE_URI"].rsplit("/", 1)[0] + f"/{15 - worker % 8}"
    production_env.setenv("RATELIMIT_STORAGE_URI", url)
    store = _redis_or_skip(url)
    store.flushdb()
    production_env.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    production = create_app({"SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"]})
    assert production.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    try:
        client = production.test_client()
        statuses = []
        for _ in range(11):
            page = client.get("/sign-in", base_url="https://localhost")  # Secure cookies: https only
            response = client.post(
                "/sign-in",
                base_url="https://localhost",
                headers={"Referer": "https://localhost/sign-in"},
                data={"csrf_token": csrf_from(page), "email": "nobody@example.test", "password": "wrong password"},
            )
            statuses.append(response.status_code)
        assert statuses == [200] * 10 + [429]
        assert any(b"email:nobody@example.test" in key for key in store.keys("LIMITS:*")), "the counts are in Redis"
    finally:
        store.flushdb()


def test_production_refuses_a_missing_or_published_totp_key(production_env):
    from app.config import DEV_TOTP_ENCRYPTION_KEY

    production_env.delenv("TOTP_ENCRYPTION_KEY")
    with pytest.raises(ConfigError, match="TOTP_ENCRYPTION_KEY is missing"):
        create_app()
    production_env.setenv("TOTP_ENCRYPTION_KEY", DEV_TOTP_ENCRYPTION_KEY)
    with pytest.raises(ConfigError, match="TOTP_ENCRYPTION_KEY is missing"):
        create_app()


@pytest.mark.parametrize("name", ["TOTP_ENCRYPTION_KEY", "TOTP_ENCRYPTION_KEYS_OLD"])
def test_a_totp_key_that_is_not_a_fernet_key_is_refused(monkeypatch, name):
    monkeypatch.setenv(name, "not-a-key")
    with pytest.raises(ConfigError, match=f"{name} holds a value that is not a key"):
        create_app({"TESTING": True})
