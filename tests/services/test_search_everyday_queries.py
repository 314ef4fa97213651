"""Search on everyday queries (issue 15, "Measured"): what people looking for care type
(tests/search_quality/everyday_queries.toml), run against the demo market, must find a
relevant service in the top 5 for at least 95% of the needs the demo market can meet.

The figures come from bench/search_quality.py (`python -m bench.search_quality` prints
every query's top 5); this module only holds the target. The demo market, with its year
of history as `make demo` loads it, is loaded once for the module into its own SQLite
database and index (about 15 s on SQLite; the module takes about 20 s).

SQLite only: what search finds depends on the index, not on the database, and loading
the demo's history into PostgreSQL would only make the module slower. This module does
not use the ``app`` fixture, so it runs once, not once per backend.
"""

from __future__ import annotations

import pytest

from app.services.demo.service_templates import CATEGORY_SERVICES
from bench import search_quality

MIN_QUERIES = 60


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> search_quality.Report:
    return search_quality.run(workdir=tmp_path_factory.mktemp("search-quality"))


def test_there_are_enough_everyday_queries_and_each_is_well_formed():
    queries = search_quality.load_queries(known_types=CATEGORY_SERVICES)  # raises on a malformed entry
    assert len(queries) >= MIN_QUERIES
    assert sum(q.meetable for q in queries) >= MIN_QUERIES


def test_every_meetable_query_wants_a_type_of_support_the_demo_market_lists(report):
    unlisted = [o.query.q for o in report.meetable if not any(report.listed.get(t) for t in o.query.types)]
    assert not unlisted, f"marked meetable, but the demo market lists nothing of the types they want: {unlisted}"


def test_everyday_queries_find_a_relevant_service_in_the_top_5(report):
    hit_rate, target = report.meetable_hit_rate, search_quality.TARGET_HIT_RATE
    assert hit_rate >= target, f"{report.summary()}\n\n{report.failures()}\n\n(`python -m bench.search_quality` prints every query's top 5)"
