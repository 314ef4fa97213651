"""Security headers, the per-request CSP nonce, and safe redirects."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, g, request, session


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
    """Only local paths: no scheme, no host, no protocol-relative '//evil.example'."""
    if not target:
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


def _contains_nul(multidict) -> bool:
    return any("\x00" in value for values in multidict.listvalues() for value in values)


def init_request_guards(app: Flask) -> None:
    """Reject input no person types: NUL characters (PostgreSQL cannot store them)."""

    @app.before_request
    def _reject_nul_characters():
        if _contains_nul(request.args) or (request.form and _contains_nul(request.form)):
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
