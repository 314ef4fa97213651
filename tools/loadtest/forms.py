"""Reading a page's forms the way a browser does, so the load test posts what the page
offered: its CSRF token, hidden fields (a booking's request key, the expected total), the
radios and select options it showed. Standard library only: the load generator shares the
machine's cores with the server, so it should parse cheaply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    attrs: dict[str, str]
    # What the browser would send as it stands (a list where inputs share a name: a date's
    # day, month and year).
    values: dict[str, str | list[str]] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # radio, checkbox and select choices

    def data(self, **changes) -> dict:
        return {**self.values, **changes}


def _add(values: dict, name: str, value: str) -> None:
    if name not in values:
        values[name] = value
    elif isinstance(values[name], list):
        values[name].append(value)
    else:
        values[name] = [values[name], value]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), attrs=a))
            return
        if tag == "option" and self._select and self.forms:
            form = self.forms[-1]
            form.options[self._select].append(a.get("value", ""))
            if "selected" in a:
                form.values[self._select] = a.get("value", "")
            return
        if not self.forms or not a.get("name"):
            return
        form, name = self.forms[-1], a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                form.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.values[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                _add(form.values, name, a.get("value", ""))
        elif tag == "select":
            self._select = name
            form.options.setdefault(name, [])
        elif tag == "textarea":
            self._textarea = name
            form.values.setdefault(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1].values[self._textarea] += data


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_with(html: str, field_name: str = "", action_part: str = "") -> Form | None:
    """The first form that has ``field_name`` (and whose action contains ``action_part``)."""
    for form in forms(html):
        if field_name and field_name not in form.values and field_name not in form.options:
            continue
        if action_part and action_part not in form.action:
            continue
        return form
    return None


def links(html: str, pattern: str) -> list[str]:
    """Every href matching the regular expression ``pattern`` (in page order, no repeats)."""
    found = re.findall(r'href="(' + pattern + r')"', html)
    return list(dict.fromkeys(found))


_TAGS = re.compile(r"<[^>]+>")


def error_summary(html: str) -> str:
    """The text of the GOV.UK error summary (or of the first error message), or ""."""
    match = re.search(r"govuk-error-summary__list[^>]*>(.*?)</ul>", html, re.S) or re.search(
        r'class="govuk-error-message[^>]*>(.*?)</p>', html, re.S
    )
    if not match:
        return ""
    return " ".join(_TAGS.sub(" ", match.group(1)).replace("Error:", " ").split())


def notice(html: str) -> str:
    """The text of the notification banner (what a flash message says), or ""."""
    match = re.search(r'class="govuk-notification-banner__content">(.*?)</div>', html, re.S)
    return " ".join(_TAGS.sub(" ", match.group(1)).split()) if match else ""
