"""The application factory: wiring only, no I/O."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flask import Flask
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as RoutingValidationError

from app.config import PROJECT_ROOT, Config, config_from_env, engine_options
from app.database import MAX_ID
from app.extensions import csrf, db, limiter, migrate


class IdConverter(BaseConverter):
    """A positive database id that fits every database's integer column.

    Anything else (letters, zero, 99999999999999999999) does not match the route, so the
    visitor gets a styled 404 instead of a database error.
    """

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise RoutingValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class SlugConverter(BaseConverter):
    """Lower-case words joined by hyphens, as our slugs are; anything else is a 404."""

    regex = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def create_app(config: Config | dict | None = None) -> Flask:
    """Build the app. ``config`` is a Config object, or a dict of overrides applied on top
    of the configuration chosen by ``APP_ENV``."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=None,
        instance_relative_config=False,
    )
    _load_config(app, config)
    _init_proxy(app)
    _init_extensions(app)
    _init_services()
    _init_templating(app)
    _register_blueprints(app)
    _register_cli(app)
    _init_logging(app)
    return app


def _load_config(app: Flask, config: Config | dict | None) -> None:
    overrides: dict = {}
    if isinstance(config, Config):
        base = config
    else:
        base = config_from_env()
        overrides = dict(config or {})
    base.validate()
    app.config.from_mapping(base.as_dict())
    app.config.update(overrides)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config))
    app.instance_path = app.config["INSTANCE_PATH"]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)


def _init_proxy(app: Flask) -> None:
    """Behind PROXY_COUNT proxies, trust their X-Forwarded-For/-Proto/-Host headers (so
    per-address rate limits see each visitor's own address)."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _init_extensions(app: Flask) -> None:
    from app import database as _database_events
    from app import models  # noqa: F401  (every model registered before migrations run)
    from app.services.reports import spend_facts  # noqa: F401  (keeps spend facts beside every ledger entry)
    from app.services.search import outbox  # noqa: F401  (queues search index changes on every commit)

    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["slug"] = SlugConverter
    db.init_app(app)
    _database_events.init_request_locking(app)  # before any hook that may touch the database
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)

    from app.errors import init_error_handlers
    from app.security import init_login, init_request_guards, init_security_headers
    from app.services.mail import init_delivery_after_request

    init_request_guards(app)  # before CSRF, which reads the form: the body is bounded first
    csrf.init_app(app)
    limiter.init_app(app)
    init_login(app)
    init_security_headers(app)
    init_error_handlers(app)
    init_delivery_after_request(app)
    from app.services import search

    search.init_following(app)  # keeps this host's index current with the other hosts' changes


def _init_services() -> None:
    from app.services import payment_methods

    payment_methods.register()


def _init_templating(app: Flask) -> None:
    from app.templating import init_templating

    init_templating(app, app.template_folder)


# Each blueprint's package holds its ``bp`` and role guard; its view modules add their routes
# to it when they are imported. Registered in this order.
BLUEPRINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("app.public", ("routes", "market_position")),
    ("app.webhooks", ("routes",)),
    ("app.auth", ("routes",)),
    ("app.account", ("routes", "calendar")),
    ("app.enquiries", ("routes",)),
    ("app.citizen", ("routes", "audits", "payments", "reviews", "visits")),
    ("app.provider", ("routes", "bank_details", "bookings", "payments", "reviews", "visits")),
    (
        "app.commissioner",
        (
            "routes",
            "audits",
            "bank_details",
            "bookings",
            "budgets",
            "card_clearing",
            "cqc",
            "market",
            "needs_vocabulary",
            "payment_runs",
            "position",
            "reference_rates",
            "reviews",
            "visits",
        ),
    ),
    ("app.admin", ("routes",)),
    ("app.api", ("routes",)),
    ("app.openreferral", ("routes",)),
)


def _register_blueprints(app: Flask) -> None:
    """Import every view module (so each has added its routes), then register the blueprints."""
    for package, views in BLUEPRINTS:
        for view in views:
            importlib.import_module(f"{package}.{view}")
    for package, _ in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(package).bp)


def _register_cli(app: Flask) -> None:
    from app.cli import register_cli

    register_cli(app)


def _init_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
