"""Hostile values in every field of every form: never an error page.

Every page of the access matrix is opened as someone it is for; every form on it (POST and
GET) is sent again and again with one field at a time replaced by something hostile (very
long, NUL, control characters, a right-to-left override, huge and negative numbers, markup),
then with the field missing and with it repeated (a field repeated for several things gets
each hostile value in every copy at once besides in its first copy on its own: see
``_variations``). Whatever a form makes of it (an error message, a redirect, a 404 for
something that does not exist), the answer is never a 5xx.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from app.extensions import db
from tests.views.test_access_matrix import ALLOWED, MATRIX, OK, VISITORS, _signed_in_client, fresh_world, world  # noqa: F401  (the world fixture)

HOSTILE = (
    "x" * 10_000,
    "\x00",
    "nul\x00inside",
    "\x01\x07\x1b[31mred",
    "\u202eevil.exe",
    "99999999999999999999999",
    "2147483648",
    "-1",
    "1e309",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "   ",
    "\r\nSet-Cookie: x=y",
)
MISSING = object()
REPEATED = object()
# Forms whose sending ends the visitor's session or sends them away for good: tried last.
ENDS_SESSION = ("/sign-out", "/account/sessions")


@dataclass(frozen=True)
class Form:
    method: str
    action: str
    fields: dict[str, list[str]]  # name -> its values as the page would send them


def _forms(html: str, page_path: str) -> list[Form]:
    forms = []
    for form in BeautifulSoup(html, "html.parser").find_all("form"):
        action = urlsplit(form.get("action") or page_path)
        path = action.path + (f"?{action.query}" if action.query else "")
        fields: dict[str, list[str]] = {}
        for element in form.find_all(["input", "textarea", "select"]):
            name = element.get("name")
            if not name:
                continue
            kind = (element.get("type") or "").lower()
            if kind == "checkbox" and not element.has_attr("checked"):
                fields.setdefault(name, [])
                continue
            if kind == "radio":
                # The checked choice, or else the first: a form as a person would send it.
                if element.has_attr("checked") or not fields.get(name):
                    fields[name] = [element.get("value", "")]
                continue
            if element.name == "select":
                chosen = element.find("option", selected=True) or element.find("option")
                value = chosen.get("value", chosen.get_text()) if chosen else ""
            elif element.name == "textarea":
                value = element.get_text()
            else:
                value = element.get("value", "")
            fields.setdefault(name, []).append(value)
        forms.append(Form((form.get("method") or "get").upper(), path, fields))
    return forms


def _future_date() -> list[str]:
    day = dt.date.today() + dt.timedelta(days=10)
    return [str(day.day), str(day.month), str(day.year)]


# Answers that make a form valid apart from the field being tried, so a hostile value
# reaches the code behind the form's own checks, not only the checks.
BASELINES = {
    "citizen.book": lambda w: {"first_date": _future_date(), "start_time": ["10:00"], "units": ["1"], "schedule": ["one_off"]},
    "commissioner.new_budget": lambda w: {
        "citizen_email": [w.users["citizen B"].email],
        "amount": ["100"],
        "starts_on": _future_date(),
        "outcomes": ["Stay well at home"],
    },
    "provider.new_service": lambda w: {
        "title": ["Help at home"],
        "description": ["Help with washing and dressing."],
        "price": ["20"],
        "price_unit": ["hour"],
        "min_units": ["1"],
        "funding_routes": ["personal_budget"],
    },
}


def _pages():
    """(endpoint, path, a visitor the page is for) for every page of the matrix."""
    for endpoint, cases in sorted(MATRIX.items()):
        for case in cases:
            if case.method != "GET":
                continue
            visitor = next((v for v in VISITORS if case.expect[v] in (OK, ALLOWED)), None)
            if visitor is not None:
                yield pytest.param(endpoint, case.path, visitor, id=endpoint)


def _send(client, form: Form, data: dict):
    if form.method == "GET":
        return client.get(form.action.split("?")[0], query_string=data)
    return client.post(form.action, data=data)


def _groups(names) -> list[list[str]]:
    """Field names grouped where they differ only in numbers: the same field repeated for
    each of several things (the Market Position Statement's intention and text for each
    type of support, a row of opening hours for each day)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(re.sub(r"\d+", "#", name), []).append(name)
    return list(groups.values())


def _variations(form: Form, baseline: dict):
    """Every hostile value, then missing, then repeated, in each field. Of a field repeated
    for several things, the first copy gets each hostile value on its own and the copies
    get each all at once (every copy still gets every value; the copies are alike, so one
    at a time would only send the same request again); each copy is left out and repeated
    on its own."""
    fields = {**form.fields, **{k: v for k, v in baseline.items() if k in form.fields}}
    form = Form(form.method, form.action, fields)

    def changed(names, value):
        data = {k: list(v) for k, v in form.fields.items()}
        for name in names:
            if value is MISSING:
                data.pop(name)
            elif value is REPEATED:
                data[name] = [*data[name], *data[name]] or ["1", "2"]
            else:
                data[name] = [value]
        return data

    for group in _groups(name for name in form.fields if name != "csrf_token"):
        first, copies = group[0], group[1:]
        for value in (*HOSTILE, MISSING, REPEATED):
            yield first, value, changed([first], value)
        if copies:
            for value in HOSTILE:
                yield f"{first} and its {len(copies)} copies", value, changed(group, value)
            for name in copies:
                for value in (MISSING, REPEATED):
                    yield name, value, changed([name], value)


@pytest.mark.parametrize(("endpoint", "path", "visitor"), list(_pages()))
def test_no_hostile_value_in_any_field_of_a_form_is_an_error_page(app, world, endpoint, path, visitor):  # noqa: F811
    path = path.format(**world.ids)
    client = app.test_client() if visitor not in world.users else _signed_in_client(app, world.users[visitor])
    page = client.get(path)
    assert page.status_code < 500, path
    forms = sorted(_forms(page.get_data(as_text=True), path), key=lambda f: f.action.startswith(ENDS_SESSION))
    failures = []
    for form in forms:
        if form.action.startswith(("http://", "https://")) and not form.action.startswith("http://localhost"):
            continue
        baseline = BASELINES[endpoint](world) if endpoint in BASELINES and form.method == "POST" else {}
        for name, value, data in _variations(form, baseline):
            response = _send(client, form, data)
            if response.status_code >= 500:
                shown = "missing" if value is MISSING else "repeated" if value is REPEATED else repr(value[:40])
                failures.append(f"{form.method} {form.action} {name}={shown}: {response.status_code}")
            db.session.rollback()
    assert not failures, f"{endpoint} ({path}) as {visitor}:\n  " + "\n  ".join(failures[:20])
