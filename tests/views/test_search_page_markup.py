"""The search page's markup, pinned: for a few searches of the demo market (words near a
postcode with framework ranks, filters with counts, a later page, most of the words, a
corrected spelling, nothing found, an error) the page must be the same as the reference
saved under tests/data/search_pages/, whitespace aside. The page is rendered lean for
speed; this is what keeps the speed work from changing what people see.

The references were rendered from the templates before that work. After a deliberate
change to the page, write them again with
``SEARCH_MARKUP_WRITE=1 .venv/bin/python -m pytest tests/views/test_search_page_markup.py``
(and read the diff).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.services import demo, search

REFERENCES = Path(__file__).resolve().parent.parent / "data" / "search_pages"

PAGES = {
    "home-care-near": "/search?q=home+care&postcode=PE1+1AA&radius_miles=10",
    "filters-and-facets": "/search?q=care&funding=self_funder&day=monday&day=saturday&min_cqc_rating=good&supports=older_people",
    "framework-only-page-2": "/search?framework_only=true&sort=price&page=2",
    "category-near-by-distance": "/search?category=day-opportunities&postcode=PE2+1AA&radius_miles=15&sort=distance",
    "most-of-the-words": "/search?q=my+husband+is+lonely+and+cannot+get+in+the+bath+zeppelin",
    "corrected-spelling": "/search?q=demenita",
    "nothing-found": "/search?q=zeppelin+lessons&postcode=PE1+1AA&radius_miles=5",
    "nothing-found-broader": "/search?q=home+care&max_price=1&postcode=PE1+1AA&min_review_rating=4",
    "did-you-mean": "/search?q=dementai+care&postcode=PE3+1AA&radius_miles=3",
    "beyond-the-last-page": "/search?q=care&page=999",
    "errors": "/search?postcode=ZZ9+9ZZ&max_price=lots&page=0",
    "choice-errors": "/search?q=care&category=nope&min_cqc_rating=bad&supports=martians&funding=gold&day=funday&min_review_rating=9",
    "typed-characters-sorted": "/search?q=%22care%22+%26+%3Cb%3E+it%27s&postcode=pe1+1aa&radius_miles=2&max_price=12.50&sort=rating",
    "select-errors": "/search?q=care&sort=cheapest&postcode=PE1+1AA&radius_miles=7",
    "empty": "/search",
}


def normalised(html: str) -> str:
    """The page with insignificant whitespace removed (runs of whitespace are one space;
    none between tags) and the per-request nonce blanked."""
    html = re.sub(r'nonce="[^"]*"', 'nonce=""', html)
    html = re.sub(r"\s+", " ", html)
    return re.sub(r">\s+<", "><", html).strip()


@pytest.fixture
def demo_market(app):
    demo.load(demo_mode=True, history=False)
    search.rebuild()


def test_the_search_page_shows_what_it_showed_before_it_was_made_faster(client, demo_market, backend, tmp_path):
    write = os.environ.get("SEARCH_MARKUP_WRITE") == "1"
    changed = []
    for name, url in PAGES.items():
        response = client.get(url)
        assert response.status_code in (200, 404), (name, response.status_code)
        html = normalised(response.get_data(as_text=True))
        again = normalised(client.get(url).get_data(as_text=True))  # the filters come from those kept the first time
        assert again == html, name
        reference = REFERENCES / f"{name}.html"
        if write and backend == "sqlite":
            reference.write_text(html + "\n", encoding="utf-8")
            continue
        if html != reference.read_text(encoding="utf-8").strip():
            (tmp_path / f"{name}.html").write_text(html + "\n", encoding="utf-8")
            changed.append(name)
    assert not changed, f"the search page changed for {changed}: compare {tmp_path}/NAME.html with the reference"
