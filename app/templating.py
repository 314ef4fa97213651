"""Jinja set-up: template loaders for GOV.UK Frontend, filters and globals."""

from __future__ import annotations

import datetime as dt

from flask import Flask
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
from app.presenters import navigation
from app.presenters.charts import chart_for
from app.presenters.hours import hours_lines
from app.presenters.pagination import pagination_params
from app.presenters.reports import format_cell
from app.presenters.text import paragraphs
from app.security import csp_nonce


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
        report_value=format_cell,
    )
    app.jinja_env.globals.update(
        council=_CouncilForTemplates(),
        csp_nonce=csp_nonce,
        service_navigation=navigation.service_navigation,
        section_navigation=navigation.section_navigation,
        account_links=navigation.account_links,
        pagination_params=pagination_params,
        chart_for=chart_for,
        today=dt.date.today,
    )
