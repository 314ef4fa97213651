"""Jinja set-up: template loaders for GOV.UK Frontend, filters and globals."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request, url_for
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader

from app.presenters.formatting import (
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
from app.security import csp_nonce

UK_TZ_NAME = "Europe/London"


def navigation_items() -> list[dict]:
    """The service navigation. Each audience blueprint adds its own links as it arrives."""
    path = request.path if request else ""
    items = [
        {"href": url_for("public.home"), "text": "Find care and support", "active": path == "/"},
    ]
    return items


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
    )
    app.jinja_env.globals.update(
        csp_nonce=csp_nonce,
        navigation_items=navigation_items,
        pagination_params=pagination_params,
        today=dt.date.today,
    )
