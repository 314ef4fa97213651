"""Reading what a phase did: Locust's CSV statistics and failures, gunicorn's access log
(every 5xx), and the business outcomes the locustfile counted."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def stats(prefix: Path) -> tuple[list[Row], Row | None]:
    """(a row per page, the aggregated row) from Locust's ``<prefix>_stats.csv``."""
    rows, total = [], None
    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return [], None
    with open(path, newline="", encoding="utf-8") as f:
        for line in csv.DictReader(f):
            row = Row(
                name=line["Name"] if line["Type"] in ("GET", "") else f"{line['Name']}",
                requests=int(line["Request Count"]),
                failures=int(line["Failure Count"]),
                rps=_number(line["Requests/s"]),
                p50=_number(line["50%"]),
                p95=_number(line["95%"]),
                p99=_number(line["99%"]),
            )
            if line["Name"] == "Aggregated":
                total = row
            else:
                rows.append(row)
    return rows, total


def failures(prefix: Path) -> list[tuple[str, str, int]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [(line["Name"], line["Error"], int(line["Occurrences"])) for line in csv.DictReader(f)]


def server_errors(access_log: Path) -> list[str]:
    """Every request gunicorn answered with a 5xx (lines of ACCESS_FORMAT)."""
    if not access_log.exists():
        return []
    return [line.strip() for line in access_log.read_text(encoding="utf-8", errors="replace").splitlines() if line[:1] == "5"]


def outcomes(path: Path) -> dict[str, int]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def table(rows: list[Row], total: Row | None) -> str:
    lines = [f"  {'page':<52} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"]
    for row in sorted(rows, key=lambda r: -r.requests):
        lines.append(
            f"  {row.name[:52]:<52} {row.requests:>8,} {row.failures:>6} {row.rps:>7.1f} {row.p50:>7.0f} {row.p95:>7.0f} {row.p99:>7.0f}"
        )
    if total is not None:
        lines.append(
            f"  {'all requests':<52} {total.requests:>8,} {total.failures:>6} {total.rps:>7.1f} "
            f"{total.p50:>7.0f} {total.p95:>7.0f} {total.p99:>7.0f}"
        )
    return "\n".join(lines)
