"""Jinja set-up: template loaders for GOV.UK Frontend, filters and globals."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request, url_for
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from app.formatting import (
    format_date,
    format_datetime,
    format_distance,
    format_pence,
    format_time,
    ordinal,
    pluralise,
)
from app.presenters.hours import hours_lines
from app.presenters.pagination import pagination_params
from app.presenters.text import paragraphs
from app.security import csp_nonce


def navigation_items() -> list[dict]:
    """The service navigation. Each audience blueprint adds its own links as it arrives."""
    path = request.path if request else ""
    items = [
        {"href": url_for("public.home"), "text": "Find care and support", "active": path == "/"},
    ]
    items.extend(_account_navigation(path))
    return items


# Links for each role after "Find care and support" (issue 4): (endpoint, text, path prefix
# that marks it active). Other parts of the product may add to these lists.
ROLE_NAVIGATION: dict[str, list[tuple[str, str, str]]] = {
    "citizen": [
        ("citizen.overview", "Your care", "/my-care"),
        ("citizen.my_bookings", "Bookings", "/bookings"),
        ("citizen.my_budgets", "Budget", "/budgets"),
        ("citizen.payments", "Card payments", "/payments"),
        ("enquiries.inbox", "Your enquiries", "/enquiries"),
    ],
    "representative": [
        ("citizen.overview", "Care you arrange", "/my-care"),
        ("account.people", "People you act for", "/account/people"),
        ("citizen.my_bookings", "Bookings", "/bookings"),
        ("citizen.my_budgets", "Budgets", "/budgets"),
        ("citizen.payments", "Card payments", "/payments"),
        ("enquiries.inbox", "Enquiries", "/enquiries"),
    ],
    "provider": [
        ("provider.dashboard", "Your organisation", "/provider/services"),
        ("provider.bookings_inbox", "Bookings", "/provider/bookings"),
    ],
    "commissioner": [
        ("commissioner.dashboard", "Commissioner tools", "/commissioner"),
        ("commissioner.budgets_list", "Budgets", "/commissioner/budgets"),
        ("commissioner.bookings_list", "Bookings", "/commissioner/bookings"),
        ("commissioner.card_spend", "Card spend", "/commissioner/card-spend"),
    ],
    "admin": [("admin.dashboard", "Admin", "/admin"), ("commissioner.dashboard", "Commissioner tools", "/commissioner")],
}


def _account_navigation(path: str) -> list[dict]:
    from flask_login import current_user

    from app.services import notifications

    if not current_user.is_authenticated:
        return [{"href": url_for("auth.sign_in"), "text": "Sign in", "active": path.startswith("/sign-in")}]
    items = [
        {"href": url_for(endpoint), "text": text, "active": path.startswith(prefix)}
        for endpoint, text, prefix in ROLE_NAVIGATION.get(current_user.role.value, [])
    ]
    unread = notifications.unread_count(current_user)
    items.append(
        {
            "href": url_for("account.notification_list"),
            "text": f"Notifications ({unread} unread)" if unread else "Notifications",
            "active": path.startswith("/notifications"),
        }
    )
    items.append(
        {
            "href": url_for("account.home"),
            "text": "Your account",
            "active": path == "/account" or (path.startswith("/account/") and not path.startswith("/account/people")),
        }
    )
    return items


class _CouncilForTemplates:
    """``council`` in templates: the council's settings (name, contact details), read
    once per request and only when a template uses them. Falls back to COUNCIL_NAME when
    the database cannot be read (an error page must still render)."""

    def _load(self):
        from flask import g

        if "council_settings" not in g:
            from app.services import council

            g.council_settings = council.current_or_configured()
        return g.council_settings

    def __getattr__(self, name):
        return getattr(self._load(), name)


def init_templating(app: Flask, template_folder: str) -> None:
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(template_folder),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.add_extension("jinja2.ext.do")
    WTFormsHelpers(app)

    app.jinja_env.filters.update(
        pence=format_pence,
        date=format_date,
        datetime=format_datetime,
        time=format_time,
        distance=format_distance,
        ordinal=ordinal,
        pluralise=pluralise,
        hours_lines=hours_lines,
        paragraphs=paragraphs,
    )
    app.jinja_env.globals.update(
        council=_CouncilForTemplates(),
        csp_nonce=csp_nonce,
        navigation_items=navigation_items,
        pagination_params=pagination_params,
        today=dt.date.today,
    )
