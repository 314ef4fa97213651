"""Search quality on everyday queries: `python -m bench.search_quality`. Prints figures;
it asserts nothing (tests/services/test_search_everyday_queries.py holds the target).

Loads the demo market into a SQLite database and a search index in a temporary folder,
runs every query of tests/search_quality/everyday_queries.toml through ``search.search``
(words only: no postcode, no filter, best-match order) and prints, per query, the top 5
results with their types of support and whether each is relevant (its category is one of
the query's types); then:

* precision of the top 5: the relevant results among those shown in the top 5 (fewer
  than 5 when fewer matched), averaged over queries; a query that shows nothing counts
  0 (for the queries the demo market can meet, and for all of them);
* hit rate: the share of queries with at least one relevant result in the top 5, over
  the queries the demo market can meet (the target is 95%) and over all of them;
* the failing queries (meetable, no relevant result in the top 5), each with the words
  of it that no listing has (each found nothing searched alone).

Options: ``--failing`` prints only the failing queries' details; ``--no-history`` loads the
demo without its year of market history (3 s rather than 20 s, but a few listings differ
from the demo market people see, so the figures may too); ``--queries PATH`` reads
another file.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES_FILE = ROOT / "tests" / "search_quality" / "everyday_queries.toml"
TOP = 5
TARGET_HIT_RATE = 0.95
KINDS = ("type", "need", "who", "spelling")
_KEYS = {"q", "types", "kind", "meetable", "note"}
_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class EverydayQuery:
    q: str
    types: frozenset[str]  # the categories a good answer belongs to
    kind: str  # one of KINDS
    meetable: bool = True  # the demo market has a service that meets the need
    note: str = ""


def load_queries(path: Path = QUERIES_FILE, *, known_types: Iterable[str] | None = None) -> list[EverydayQuery]:
    """The queries of a file, checked: unknown keys, a repeated query, an unknown kind or
    (given ``known_types``) type, and a meetable query without types are refused."""
    with open(path, "rb") as f:
        rows = tomllib.load(f).get("query", [])
    known = set(known_types) if known_types is not None else None
    queries: list[EverydayQuery] = []
    seen: set[str] = set()
    problems: list[str] = []
    for n, row in enumerate(rows, 1):
        q = str(row.get("q", "")).strip()
        where = f"query {n} ({q!r})"
        if set(row) - _KEYS:
            problems.append(f"{where}: unknown keys {sorted(set(row) - _KEYS)}")
        if not q or q.lower() in seen:
            problems.append(f"{where}: empty or repeated")
        seen.add(q.lower())
        item = EverydayQuery(q, frozenset(row.get("types", [])), row.get("kind", ""), bool(row.get("meetable", True)), row.get("note", ""))
        if item.kind not in KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
        if item.meetable and not item.types:
            problems.append(f"{where}: a meetable query needs the types a good answer belongs to")
        if known is not None and item.types - known:
            problems.append(f"{where}: unknown types {sorted(item.types - known)}")
        queries.append(item)
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return queries


@dataclass(frozen=True)
class Shown:
    title: str
    category: str  # slug
    relevant: bool


@dataclass
class Outcome:
    query: EverydayQuery
    total: int  # how many services matched
    top: list[Shown]
    did_you_mean: str | None = None
    missing_words: tuple[str, ...] = ()  # words of the query no listing has (failing queries only)

    @property
    def relevant(self) -> int:
        return sum(s.relevant for s in self.top)

    @property
    def precision(self) -> float:
        """Relevant among those shown in the top 5; 0 when nothing is shown."""
        return self.relevant / len(self.top) if self.top else 0.0

    @property
    def hit(self) -> bool:
        return self.relevant > 0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass
class Report:
    outcomes: list[Outcome]
    listed: dict[str, int]  # listed services of each type of support in the market searched
    seconds: float = 0.0  # searching only
    notes: list[str] = field(default_factory=list)  # how the demo was loaded

    @property
    def meetable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.query.meetable]

    @property
    def failing(self) -> list[Outcome]:
        """Meetable queries with no relevant result in the top 5."""
        return [o for o in self.meetable if not o.hit]

    @property
    def precision(self) -> float:
        return _mean([o.precision for o in self.outcomes])

    @property
    def meetable_precision(self) -> float:
        return _mean([o.precision for o in self.meetable])

    @property
    def hit_rate(self) -> float:
        return _mean([float(o.hit) for o in self.outcomes])

    @property
    def meetable_hit_rate(self) -> float:
        return _mean([float(o.hit) for o in self.meetable])

    def summary(self) -> str:
        meetable, all_ = self.meetable, self.outcomes
        unmeetable = [o for o in all_ if not o.query.meetable]
        lines = [
            f"{len(all_)} everyday queries, {len(meetable)} of them for needs the demo market can meet.",
            f"Precision of the top {TOP} (a query showing nothing counts 0): "
            f"{self.meetable_precision:.1%} on meetable queries, {self.precision:.1%} on all.",
            f"Hit rate (a relevant service in the top {TOP}): {self.meetable_hit_rate:.1%} of meetable queries "
            f"({sum(o.hit for o in meetable)}/{len(meetable)}; target {TARGET_HIT_RATE:.0%}), "
            f"{self.hit_rate:.1%} of all ({sum(o.hit for o in all_)}/{len(all_)}).",
            f"Queries showing nothing at all: {sum(not o.top for o in all_)} ({sum(not o.top for o in meetable)} of them meetable).",
            f"Queries for needs the demo market cannot meet that still show services: "
            f"{sum(bool(o.top) for o in unmeetable)}/{len(unmeetable)}.",
            "Meetable hit rate by kind of query: "
            + ", ".join(
                f"{kind} {sum(o.hit for o in group)}/{len(group)}"
                for kind in KINDS
                if (group := [o for o in meetable if o.query.kind == kind])
            )
            + ".",
        ]
        return "\n".join(lines)

    def failures(self) -> str:
        if not self.failing:
            return "No failing queries."
        lines = [f"Failing queries ({len(self.failing)}): meetable, no relevant service in the top {TOP}:"]
        lines += [f"  {_failure_line(o)}" for o in self.failing]
        return "\n".join(lines)

    def details(self, outcomes: Iterable[Outcome] | None = None) -> str:
        return "\n".join(_outcome_text(o) for o in (self.outcomes if outcomes is None else outcomes))

    def text(self, *, failing_only: bool = False) -> str:
        parts = [self.details(self.failing if failing_only else None), "", self.failures(), "", self.summary()]
        return "\n".join([*self.notes, "", *parts] if self.notes else parts)


def _failure_line(o: Outcome) -> str:
    why = f"found {o.total}, none relevant in the top {TOP}" if o.top else "found nothing"
    if o.missing_words:
        why += f"; no listing has: {', '.join(o.missing_words)}"
    elif not o.top:
        why += "; each word is in some listing, but no listing has them all"
    if o.did_you_mean:
        why += f"; did you mean {o.did_you_mean!r}"
    return f"[{o.query.kind}] {o.query.q!r} (wants {', '.join(sorted(o.query.types))}): {why}"


def _outcome_text(o: Outcome) -> str:
    q = o.query
    flags = "" if q.meetable else " [not meetable]"
    wants = ", ".join(sorted(q.types)) or "no type of support listed here"
    lines = [f"{'HIT ' if o.hit else 'MISS'} {q.q!r}{flags}: {o.total} found, precision {o.precision:.0%}; wants {wants}"]
    lines += [f"       {'+' if s.relevant else '-'} {s.title} ({s.category})" for s in o.top]
    if not o.top and o.did_you_mean:
        lines.append(f"       (did you mean {o.did_you_mean!r})")
    return "\n".join(lines)


# Running the queries (in an app context with the demo market loaded) -----------------------


def evaluate(queries: list[EverydayQuery]) -> Report:
    """Every query through ``search.search``, in the current app context."""
    from app.services import search

    categories = search.category_choices()
    started = time.perf_counter()
    outcomes = []
    for query in queries:
        results = search.search(search.SearchParams(q=query.q), categories=categories)
        top = [Shown(item.title, item.category_slug, item.category_slug in query.types) for item in results.items[:TOP]]
        outcomes.append(Outcome(query, results.total, top, results.did_you_mean))
    seconds = time.perf_counter() - started
    found_nothing: dict[str, bool] = {}
    for o in outcomes:
        if o.query.meetable and not o.hit:
            o.missing_words = tuple(w for w in _words(o.query.q) if _finds_nothing(w, found_nothing, categories))
    listed = {slug: search.search(search.SearchParams(category=slug), categories=categories).total for slug, _ in categories}
    return Report(outcomes, listed, seconds)


def _words(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD_RE.findall(text):
        if word.lower() not in (w.lower() for w in out):
            out.append(word)
    return out


def _finds_nothing(word: str, cache: dict[str, bool], categories) -> bool:
    from app.services import search

    key = word.lower()
    if key not in cache:
        cache[key] = search.search(search.SearchParams(q=word), categories=categories).total == 0
    return cache[key]


@contextmanager
def demo_market(workdir: Path, *, history: bool = True) -> Iterator[object]:
    """An app over a new SQLite database in ``workdir`` with the demo market loaded and
    its search index built, in an app context for the ``with`` block."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services import demo, search

    workdir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'demo.sqlite3'}",
            "SEARCH_INDEX_DIR": str(workdir / "search-index"),
            "INSTANCE_PATH": str(workdir),
            "DEMO_MODE": True,
            "MAIL_BACKEND": "log",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        try:
            upgrade()
            demo.load(demo_mode=True, history=history)
            report = search.rebuild()
            if report.pending_after:
                search.drain(wait=60.0)
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def run(*, history: bool = True, queries_file: Path = QUERIES_FILE, workdir: Path | None = None) -> Report:
    """Load the demo market (in ``workdir``, or a temporary folder removed afterwards) and
    evaluate every query of ``queries_file`` against it."""
    from app.services.demo.service_templates import CATEGORY_SERVICES

    queries = load_queries(queries_file, known_types=CATEGORY_SERVICES)
    with tempfile.TemporaryDirectory(prefix="search-quality-") if workdir is None else nullcontext(workdir) as folder:
        started = time.perf_counter()
        with demo_market(Path(folder), history=history):
            loaded = time.perf_counter() - started
            report = evaluate(queries)
    report.notes.append(
        f"Demo market {'with' if history else 'without'} its year of history, loaded and indexed in {loaded:.1f} s "
        f"(SQLite); {len(queries)} queries searched in {report.seconds:.2f} s."
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--failing", action="store_true", help="print only the failing queries' results")
    parser.add_argument("--no-history", action="store_true", help="load the demo without its year of history (faster)")
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE, help="the queries file (TOML)")
    args = parser.parse_args(argv)
    report = run(history=not args.no_history, queries_file=args.queries)
    print(report.text(failing_only=args.failing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
