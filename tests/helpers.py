"""Helpers for asserting what a person sees on a page."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def visible_text(response_or_soup) -> str:
    soup = response_or_soup if isinstance(response_or_soup, BeautifulSoup) else page(response_or_soup)
    for tag in soup(["script", "style"]):
        tag.decompose()
    return squash(soup.get_text(" "))


def h1(response) -> str:
    return squash(page(response).find("h1").get_text(" "))


def title(response) -> str:
    return squash(page(response).title.get_text())


def summary_rows(response) -> dict[str, str]:
    """The GOV.UK summary lists on a page, as {key: value}."""
    rows = {}
    for row in page(response).select(".govuk-summary-list__row"):
        key = row.select_one(".govuk-summary-list__key")
        value = row.select_one(".govuk-summary-list__value")
        if key and value:
            rows[squash(key.get_text(" "))] = squash(value.get_text(" "))
    return rows


def links(response) -> dict[str, str]:
    return {squash(a.get_text(" ")): a.get("href") for a in page(response).find_all("a")}
