"""Error pages in one place: styled HTML pages, JSON under /api/, /webhooks/ and /openreferral/."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.services.council import Council
from app.services.errors import Conflict, NotFound

log = logging.getLogger(__name__)

TEMPLATES = {
    400: "errors/400.html",
    403: "errors/404.html",  # we never reveal that something exists but is not yours
    404: "errors/404.html",
    405: "errors/405.html",
    413: "errors/413.html",
    429: "errors/429.html",
    500: "errors/500.html",
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/", "/openreferral/"))


def json_error(status: int, title: str, detail: str | None = None, **extra):
    body = {"error": {"status": status, "title": title}}
    if detail:
        body["error"]["detail"] = detail
    body["error"].update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def _render(status: int, **context):
    template = TEMPLATES.get(status, "errors/generic.html")
    return render_template(template, status=status, **context), status


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        if wants_json():
            return json_error(400, "Bad request", "The form has expired or is not valid. Reload and try again.")
        return render_template("errors/csrf.html", reason=error.description), 400

    @app.errorhandler(NotFound)
    def _domain_not_found(error: NotFound):
        if wants_json():
            return json_error(404, "Not found", str(error) or None)
        return _render(404)

    @app.errorhandler(Conflict)
    def _domain_conflict(error: Conflict):
        # An action that clashes with the current state ("already verified"): say why.
        if wants_json():
            return json_error(409, "Conflict", str(error) or None)
        return render_template("errors/conflict.html", message=str(error)), 409

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if status == 403:
            status = 404
        if wants_json():
            title = "Not found" if status == 404 else error.name
            response = json_error(status, title, error.description if status != 404 else None)
            if status == 429 and error.get_response().headers.get("Retry-After"):
                response.headers["Retry-After"] = error.get_response().headers["Retry-After"]
            return response
        response_status = status
        body, _ = _render(status, error=error, paused_account=g.get("paused_account", False))
        response = app.make_response((body, response_status))
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return _http_error(error)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if isinstance(error, SQLAlchemyError):
            # The database is failing: the page shows the council as configuration knows it
            # rather than asking the database again (a hanging one would cost its timeout twice).
            g.council_settings = Council.from_config(current_app.config)
        if wants_json():
            return json_error(500, "Internal server error", "Something went wrong. Try again later.")
        return _render(500, error=InternalServerError())
