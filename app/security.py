"""Security headers, the per-request CSP nonce, and safe redirects."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, g, request, session
from werkzeug.exceptions import RequestEntityTooLarge


def csp_nonce() -> str:
    """A random nonce for this response's Content-Security-Policy (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def stripe_sources(config) -> tuple[str, str, str]:
    """Extra (script, connect, frame) sources for Stripe.js when card payments are set up:
    Stripe's own hosts, or the Stripe-compatible API named by STRIPE_API_BASE (localstripe)."""
    if not (config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY")):
        return "", "", ""
    base = config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        return f" {origin}", f" {origin}", ""
    return " https://js.stripe.com", " https://api.stripe.com", " https://js.stripe.com https://hooks.stripe.com"


def content_security_policy(nonce: str, stripe: tuple[str, str, str] = ("", "", "")) -> str:
    script, connect, frame = stripe
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'{script}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{connect}",
            f"frame-src 'self'{frame}" if frame else "frame-src 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def is_safe_redirect_target(target: str | None) -> bool:
    """Only local paths: no scheme, no host, no protocol-relative '//evil.example', and no
    control characters (a line break in a Location header would end the header)."""
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") and "\\" not in target


def _contains_nul(multidict) -> bool:
    return any("\x00" in value for values in multidict.listvalues() for value in values)


def checks_its_own_input(view):
    """Mark a GET view that validates every query parameter it reads itself (the search
    page and API): a NUL character there gets that view's own error for the field, not
    the generic 400 page."""
    view.checks_its_own_input = True
    return view


def init_request_guards(app: Flask) -> None:
    """Reject input no person types: NUL characters (PostgreSQL cannot store them), and a
    body larger than MAX_CONTENT_LENGTH however it is sent."""

    @app.before_request
    def _bound_a_chunked_body():
        # With a Content-Length over the limit, Werkzeug refuses the body before reading it.
        # A chunked body has none: its stream stops at the limit without saying whether more
        # was sent, so one byte more is read, to tell a body over the limit from one at it.
        # (The Stripe webhook bounds its own body, smaller.)
        if request.content_length is not None or request.blueprint == "webhooks":
            return
        if request.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return
        limit = app.config["MAX_CONTENT_LENGTH"]
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise RequestEntityTooLarge()

    @app.before_request
    def _reject_nul_characters():
        view = app.view_functions.get(request.endpoint)
        own_args = getattr(view, "checks_its_own_input", False)
        if (not own_args and _contains_nul(request.args)) or (request.form and _contains_nul(request.form)):
            abort(400, description="Your request contained a character we cannot accept. Check what you typed and try again.")


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce(), stripe_sources(app.config)))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)")
        if app.config.get("HSTS_ENABLED"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # A response for a visitor with a session (signed in, or holding a CSRF token) may
        # hold personal data and must never be stored; anonymous pages must revalidate.
        if request.endpoint != "static" and "Cache-Control" not in headers:
            personal = session.modified or bool(dict(session))
            headers["Cache-Control"] = "no-store" if personal else "no-cache"
        return response


# -- Signing in and role guards ------------------------------------------------
#
# ``current_user`` (Flask-Login) works everywhere once ``init_login`` has run. Guards:
#
#     from app.security import require_roles, role_required
#     require_roles(bp, Role.PROVIDER)          # every view of a blueprint
#
#     @bp.get("/thing")
#     @role_required(Role.CITIZEN, Role.REPRESENTATIVE)
#     def thing(): ...
#
# Anonymous visitors are sent to sign in (and brought back afterwards); signed-in people
# of another role get the 404 page: we never reveal that a page exists for someone else.

from functools import wraps  # noqa: E402

from flask import current_app, redirect, url_for  # noqa: E402
from flask_login import current_user  # noqa: E402

# Where each role lands after signing in. Later parts of the product may point a role
# at a better page (for example the citizen's budget).
# Keys are role values ("citizen", "provider"...).
HOME_ENDPOINTS: dict[str, str] = {
    "citizen": "citizen.overview",
    "representative": "citizen.overview",
    "provider": "provider.dashboard",
    "commissioner": "commissioner.dashboard",
    "admin": "admin.dashboard",
}


def home_url_for(user) -> str:
    role = getattr(user, "role", None)
    return url_for(HOME_ENDPOINTS.get(getattr(role, "value", None), "account.home"))


def sign_in_url(next_path: str | None = None) -> str:
    if next_path and is_safe_redirect_target(next_path):
        return url_for("auth.sign_in", next=next_path)
    return url_for("auth.sign_in")


def _current_path() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def _deny(roles) -> None:
    if not current_user.is_authenticated:
        from app.extensions import login_manager

        return login_manager.unauthorized()
    if roles and current_user.role not in roles:
        abort(404)
    return None


def role_required(*roles):
    """View decorator: signed in, with one of ``roles`` (any role if none given)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            denied = _deny(roles)
            if denied is not None:
                return denied
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


login_required = role_required()


def require_roles(blueprint, *roles, exempt: tuple[str, ...] = ()) -> None:
    """Guard every view of ``blueprint``: signed in with one of ``roles``. ``exempt`` names
    endpoints (without the blueprint prefix) that anyone may reach."""

    @blueprint.before_request
    def _guard():
        if request.endpoint and request.endpoint.split(".", 1)[-1] in exempt:
            return None
        return _deny(roles)

    blueprint.required_roles = roles


def init_login(app: Flask) -> None:
    from app.extensions import login_manager
    from app.services import two_step, user_sessions

    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(token: str):
        config = current_app.config
        return user_sessions.load(
            token,
            idle=dt.timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            max_age=dt.timedelta(hours=config["SESSION_MAX_HOURS"]),
        )

    @login_manager.unauthorized_handler
    def _unauthorized():
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(sign_in_url(_current_path() if request.method == "GET" else None))

    def _fresh_request_globals():
        # Each request starts with an empty ``g``. In production every request has its own
        # app context anyway; in tests one app context is reused for many requests, and a
        # cached user (Flask-Login) or CSRF token (Flask-WTF) must not leak between them.
        g.__dict__.clear()

    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)

    # Endpoints a council user who must still set up two-step verification may reach.
    setup_endpoints = {"static", "auth.sign_out", "account.two_step_setup"}

    @app.before_request
    def _load_user_early_and_require_two_step():
        # Load the user before any view starts its own unit of work (the loader may write).
        if request.endpoint == "static":
            return None
        if current_user.is_authenticated and two_step.needs_setup(current_user, app.config["DEMO_MODE"]):
            if request.endpoint not in setup_endpoints:
                return redirect(url_for("account.two_step_setup"))
        return None


import datetime as dt  # noqa: E402
