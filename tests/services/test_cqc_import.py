"""The CQC import as a commissioner running ``flask cqc import FILE`` would check it: a wrong
file refused before anything changes, ratings brought up to date with their history, a
second run that changes nothing, unknown locations reported and never guessed, deregistered
locations flagged, and search and ranking that follow at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    CQCDeregistration,
    CQCImportRun,
    CQCQuestion,
    CQCRating,
    CQCRatingChange,
    PeopleGroup,
    Provider,
    ProviderStatus,
)
from app.services import cqc, ranking, search
from app.services.cqc import values
from app.services.search import SearchParams, Sort

DATA = Path(__file__).resolve().parent.parent / "data"
RATINGS_FILE = DATA / "cqc_care_directory_sample.csv"
FILTERS_FILE = DATA / "cqc_directory_with_filters_sample.csv"
DEACTIVATED_FILE = DATA / "cqc_deactivated_locations_sample.csv"

R = CQCRating
RIVERSIDE, MEADOW, ORCHARD, WILLOW, HAZEL, ODD = (
    "1-1000000001",
    "1-1000000002",
    "1-1000000003",
    "1-1000000004",
    "1-1000000005",
    "1-1000000006",
)


def run_import(app, path: Path):
    return app.test_cli_runner().invoke(args=["cqc", "import", str(path)])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def ratings_of(provider: Provider) -> dict[str, CQCRating | None]:
    db.session.refresh(provider)
    return {q.value: getattr(provider, q.provider_field) for q in CQCQuestion}


def history(provider: Provider) -> list[tuple[str, CQCRating | None, CQCRating | None, dt.date | None]]:
    rows = db.session.scalars(select(CQCRatingChange).where(CQCRatingChange.provider_id == provider.id).order_by(CQCRatingChange.id))
    return [(r.question.value, r.from_rating, r.to_rating, r.published_on) for r in rows]


@pytest.fixture
def ours(make_provider):
    """Our providers with the sample files' location ids, all rated Good but Orchard
    (registered, not yet inspected)."""
    return {
        "riverside": make_provider(name="Riverside Home Care", cqc_location_id=RIVERSIDE),
        "meadow": make_provider(name="Meadow View", cqc_location_id=MEADOW),
        "orchard": make_provider(name="Orchard Support", cqc_location_id=ORCHARD, rating=None),
        "willow": make_provider(name="Willow Lodge", cqc_location_id=WILLOW),
        "hazel": make_provider(name="Hazel Court", cqc_location_id=HAZEL),
        "odd": make_provider(name="Odd Cell House", cqc_location_id=ODD),
    }


# A wrong file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "The file is empty"),
        (b"Name,Postcode,Rating\nSomewhere,PE1 1AA,Good\n", 'No "Location ID" column'),
        (b"Location ID,Location Name\n1-1000000001,Riverside\n", 'none of "Domain", "Dormant (Y/N)"'),
        (
            b"Location ID,Location Name,Location Post Code,Service / Population Group,Domain,Publication Date\n",
            'no "latest rating" column',
        ),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe binary spreadsheet", 'No "Location ID" column'),
    ],
    ids=["empty", "another file", "unknown CQC file", "a column missing", "a spreadsheet, not CSV"],
)
def test_a_file_that_is_not_cqcs_is_refused_before_anything_changes(app, ours, tmp_path, content, message):
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(content)
    events = count(AuditEvent)
    result = run_import(app, wrong)
    assert result.exit_code == 1
    assert message in result.output and "Nothing was changed." in result.output
    assert count(CQCImportRun) == 0 and count(CQCRatingChange) == 0 and count(AuditEvent) == events
    assert ratings_of(ours["riverside"])["overall"] is R.GOOD


# Ratings and their history --------------------------------------------------------------


def test_ratings_change_with_their_history_and_only_what_changed_is_written(app, ours):
    result = run_import(app, RATINGS_FILE)
    assert result.exit_code == 0, result.output
    riverside, meadow, orchard, willow, odd = (ours[k] for k in ("riverside", "meadow", "orchard", "willow", "odd"))

    assert ratings_of(riverside) == {
        "overall": R.REQUIRES_IMPROVEMENT,
        "safe": R.INADEQUATE,
        "effective": R.GOOD,
        "caring": R.GOOD,
        "responsive": R.GOOD,
        "well_led": R.REQUIRES_IMPROVEMENT,
    }
    published = dt.date(2026, 3, 12)
    assert history(riverside) == [
        ("overall", R.GOOD, R.REQUIRES_IMPROVEMENT, published),
        ("safe", R.GOOD, R.INADEQUATE, published),
        ("well_led", R.GOOD, R.REQUIRES_IMPROVEMENT, published),
    ]
    assert riverside.cqc_rating_published_on == published
    assert riverside.cqc_inspection_date is None  # the old inspection is not behind the new ratings

    # Unchanged ratings: no history, the date CQC published them noted, the inspection date kept.
    assert set(ratings_of(meadow).values()) == {R.GOOD} and history(meadow) == []
    assert meadow.cqc_rating_published_on == dt.date(2026, 2, 2) and meadow.cqc_inspection_date == dt.date(2026, 5, 4)

    # Rated for the first time; and a location CQC no longer rates as a whole.
    assert ratings_of(orchard)["overall"] is R.OUTSTANDING and len(history(orchard)) == 6
    assert ratings_of(willow)["overall"] is None and ratings_of(willow)["safe"] is R.GOOD  # its services' ratings are not the location's
    assert history(willow) == [("overall", R.GOOD, None, dt.date(2026, 3, 5))]

    # A cell the import cannot read is left out and reported, the rest of the row used.
    assert ratings_of(odd)["safe"] is R.GOOD and history(odd) == []
    assert 'row 47 (1-1000000006): Safe rating: "Grand" is not a CQC rating' in result.output

    assert "Rows read: 50" in result.output
    assert "Locations matched to our providers: 5" in result.output
    assert "Ratings changed: 10 (5 providers updated)" in result.output
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "provider.cqc_ratings_imported")).all()
    assert sorted(int(e.target_id) for e in events) == sorted(p.id for p in (riverside, meadow, orchard, willow, odd))
    said = next(e for e in events if e.target_id == str(riverside.id))
    assert said.after["cqc_overall"] == "requires_improvement" and said.before["cqc_overall"] == "good"
    assert said.actor_label == "System"


def test_a_second_run_of_the_same_file_changes_nothing(app, ours, tmp_path):
    run_import(app, RATINGS_FILE)
    changes, events = count(CQCRatingChange), count(AuditEvent)
    again = run_import(app, RATINGS_FILE)
    assert again.exit_code == 0
    assert "cqc_care_directory_sample.csv was already imported on" in again.output and "nothing changed" in again.output
    assert count(CQCImportRun) == 1 and count(CQCRatingChange) == changes and count(AuditEvent) == events

    # Another file saying the same (its bytes differ, so it is read): still nothing changes.
    copy = tmp_path / "next-month.csv"
    copy.write_bytes(RATINGS_FILE.read_bytes() + b"\r\n")
    third = run_import(app, copy)
    assert "Ratings changed: 0 (0 providers updated)" in third.output and "Nothing changed." in third.output
    assert count(CQCRatingChange) == changes
    assert count(AuditEvent) == events + 1  # only the import itself is recorded


def test_an_older_file_imported_after_a_newer_one_takes_nothing_back(app, ours, tmp_path):
    run_import(app, RATINGS_FILE)
    older = tmp_path / "last-year.csv"
    text = RATINGS_FILE.read_text(encoding="utf-8-sig").replace("Requires improvement,12/03/2026", "Good,12/03/2025")
    older.write_text(text.replace("Inadequate,12/03/2026", "Good,12/03/2025"), encoding="utf-8")
    result = run_import(app, older)
    assert "Passed over as older than the ratings we hold: 1 location" in result.output
    assert ratings_of(ours["riverside"])["overall"] is R.REQUIRES_IMPROVEMENT


def test_the_header_may_have_notes_above_it_and_dates_come_in_cqcs_ways(app, ours, tmp_path):
    noted = tmp_path / "with-notes.csv"
    body = RATINGS_FILE.read_text(encoding="utf-8-sig").replace("12/03/2026", "2026-03-12 00:00:00")
    noted.write_text("Latest ratings,,\nSource: CQC database as at 1 March 2026,,\n" + body, encoding="utf-8")
    assert run_import(app, noted).exit_code == 0
    db.session.refresh(ours["riverside"])
    assert ours["riverside"].cqc_rating_published_on == dt.date(2026, 3, 12)


@pytest.mark.parametrize(
    "text, day",
    [("31/01/2026", dt.date(2026, 1, 31)), ("2026-01-31", dt.date(2026, 1, 31)), ("31 January 2026", dt.date(2026, 1, 31))],
)
def test_cqc_dates_are_read_in_each_of_its_ways(text, day):
    assert values.date(text) == day


def test_cqc_rating_words_are_read_and_a_strange_one_refused():
    assert values.rating("Requires Improvement") is R.REQUIRES_IMPROVEMENT
    assert values.rating(" good ") is R.GOOD
    assert values.rating("Insufficient evidence to rate") is None
    with pytest.raises(values.UnreadableValue):
        values.rating("Grand")
    with pytest.raises(values.UnreadableValue):
        values.date("31/02/2026")


# Unknown and deregistered locations ------------------------------------------------------


def test_unknown_location_ids_are_reported_and_never_matched_by_name_or_address(app, ours, make_provider, tmp_path):
    lookalike = make_provider(name="Somewhere Else Care", base_postcode="LS1 1ZZ", cqc_location_id="1-1234567890")
    result = run_import(app, RATINGS_FILE)
    assert "Location ids no provider of ours has: 2 (left alone, not matched by name or address)" in result.output
    assert "1-1999999999, 1-1888888888" in result.output
    assert history(lookalike) == [] and ratings_of(lookalike)["overall"] is R.GOOD

    many = tmp_path / "many.csv"
    rows = [f"1-20000000{n:02d},Place {n},PE1 1AA,Overall,Overall,Good,01/02/2026" for n in range(25)]
    header = "Location ID,Location Name,Location Post Code,Service / Population Group,Domain,Latest Rating,Publication Date"
    many.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    listed = run_import(app, many).output
    assert "Location ids no provider of ours has: 25" in listed and "1-2000000019 and 5 more" in listed
    assert "1-2000000020" not in listed


def test_a_location_missing_from_the_ratings_file_is_not_taken_as_deregistered(app, ours):
    result = run_import(app, RATINGS_FILE)
    assert "Our providers' locations not in this file: 1 (not taken as deregistered" in result.output
    assert count(CQCDeregistration) == 0 and cqc.flagged_providers() == []


def test_a_location_cqc_has_deregistered_flags_its_provider_once_and_changes_nothing_else(app, ours, tmp_path):
    hazel = ours["hazel"]
    result = run_import(app, DEACTIVATED_FILE)
    assert result.exit_code == 0, result.output
    assert "Providers newly flagged as deregistered by CQC: 1" in result.output
    assert "1-1777777777" in result.output  # not ours: reported
    assert [(p.id, d.location_id, d.deregistered_on) for p, d in cqc.flagged_providers()] == [(hazel.id, HAZEL, dt.date(2026, 2, 28))]
    db.session.refresh(hazel)
    assert hazel.status is ProviderStatus.VERIFIED and hazel.cqc_overall is R.GOOD  # the council decides
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "provider.cqc_deregistered"))
    assert event.target_id == str(hazel.id) and event.after == {"cqc_location_id": HAZEL, "deregistered_on": "2026-02-28"}

    again = tmp_path / "next-month-deactivated.csv"
    again.write_bytes(DEACTIVATED_FILE.read_bytes() + b"\r\n")
    assert "Providers newly flagged as deregistered by CQC: 0" in run_import(app, again).output
    assert count(CQCDeregistration) == 1

    # A provider that gives its new registration's location id is no longer flagged.
    hazel.cqc_location_id = "1-1000000055"
    db.session.commit()
    assert cqc.flagged_providers() == [] and cqc.deregistration_of(hazel) is None


# Groups of people, from CQC's service user bands ------------------------------------------


def test_the_directory_with_filters_fills_who_listings_support_and_the_overall_rating(app, ours, make_service):
    listing = make_service(provider=ours["riverside"], title="Home care in Peterborough")
    result = run_import(app, FILTERS_FILE)
    assert result.exit_code == 0, result.output
    db.session.refresh(listing)
    assert set(listing.people_supported) >= {PeopleGroup.OLDER_PEOPLE, PeopleGroup.DEMENTIA}
    assert "Listings given groups of people from CQC's service user bands: 1" in result.output
    assert f"Marked dormant by CQC (registered, not providing care now): {ORCHARD}" in result.output
    ratings = ratings_of(ours["riverside"])
    assert ratings["overall"] is R.REQUIRES_IMPROVEMENT and ratings["safe"] is R.GOOD  # overall only in this file
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "service.supports_from_cqc")).target_id == str(listing.id)


# Search and ranking follow at once -------------------------------------------------------


@pytest.fixture
def index(app):
    search.rebuild()
    return app.config["SEARCH_INDEX_DIR"]


def test_ranking_and_search_follow_rating_changes_at_once(app, index, ours, make_service, make_lot, make_membership):
    lot = make_lot("home-care", 60, 40)
    riverside, meadow = ours["riverside"], ours["meadow"]
    make_membership(lot, riverside)
    make_membership(lot, meadow)
    river_care = make_service(provider=riverside, title="River care", price_pence=2000)
    meadow_care = make_service(provider=meadow, title="Meadow care", price_pence=2000)
    assert ranking.service_rank(river_care.id).rank == ranking.service_rank(meadow_care.id).rank == 1  # joint first

    assert run_import(app, RATINGS_FILE).exit_code == 0

    assert ranking.service_rank(meadow_care.id).rank == 1 and ranking.service_rank(river_care.id).rank == 2
    cards = {item.service_id: item.rank for item in search.search(SearchParams()).items}
    assert cards[river_care.id] == ranking.service_rank(river_care.id)
    assert cards[meadow_care.id] == ranking.service_rank(meadow_care.id)
    good_or_better = {item.service_id for item in search.search(SearchParams(min_cqc_rating=R.GOOD)).items}
    assert meadow_care.id in good_or_better and river_care.id not in good_or_better
    assert [item.title for item in search.search(SearchParams(sort=Sort.RATING)).items][:2] == ["Meadow care", "River care"]
