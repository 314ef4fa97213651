"""The application factory, configuration and the pieces every page relies on."""

from __future__ import annotations

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


def test_production_starts_with_a_strong_key_and_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 20 + "9f8e7d6c5b4a3f2e1d0c")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    monkeypatch.setenv("SMTP_HOST", "smtp.council.example")  # production sends real email
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


def test_wrong_method_is_a_styled_405(client):
    response = client.post("/accessibility")
    # CSRF protection runs first for POSTs without a token: either way, a styled page.
    assert response.status_code in (400, 405)
    assert b"govuk-template" in response.data


def test_styled_429_page(app):
    from werkzeug.exceptions import TooManyRequests

    @app.get("/limited-for-test")
    def limited():
        raise TooManyRequests()

    response = app.test_client().get("/limited-for-test")
    assert response.status_code == 429
    assert b"Too many attempts" in response.data
    assert b"govuk-template" in response.data


def test_production_config_class_validates_itself(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("SMTP_HOST", "smtp.council.example")
    ProductionConfig().validate()


def test_nul_characters_in_input_are_a_clear_400(client):
    response = client.get("/categories/home-care?page=1%00")
    assert response.status_code == 400
    assert b"There is a problem with your request" in response.data
