"""What people see of the CQC import: the service page says which date the CQC rating is
as of; commissioners see when ratings were last imported, the providers whose location CQC
has deregistered, and each provider's rating history."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import page, sign_in, summary_rows, visible_text

DATA = Path(__file__).resolve().parent.parent / "data"


def run_import(app, name: str) -> None:
    result = app.test_cli_runner().invoke(args=["cqc", "import", str(DATA / name)])
    assert result.exit_code == 0, result.output


def test_the_service_page_says_which_date_the_cqc_rating_is_as_of(app, client, make_provider, make_service):
    provider = make_provider(cqc_location_id="1-1000000001")
    listing = make_service(provider=provider)
    before = visible_text(client.get(f"/services/{listing.id}"))
    assert "CQC rating as of" not in before and "Inspected on 4 May 2026" in before

    run_import(app, "cqc_care_directory_sample.csv")
    text = visible_text(client.get(f"/services/{listing.id}"))
    assert "CQC rating as of 12 March 2026, from CQC's published data." in text
    assert "Inspected on" not in text  # the old inspection is not behind the new rating
    assert "Requires improvement" in text and "Inadequate" in text
    assert "CQC rating as of 12 March 2026" in visible_text(client.get(f"/providers/{provider.id}"))


def test_commissioners_see_when_ratings_were_last_imported_and_each_providers_rating_history(app, client, make_provider, make_commissioner):
    provider = make_provider(name="Riverside Home Care", cqc_location_id="1-1000000001")
    sign_in(client, make_commissioner())
    assert "CQC ratings have not been imported from CQC’s data yet." in visible_text(client.get("/commissioner/providers"))

    run_import(app, "cqc_care_directory_sample.csv")
    listed = visible_text(client.get("/commissioner/providers"))
    assert "CQC ratings last imported on" in listed
    overview = visible_text(client.get("/commissioner/providers/cqc"))
    assert "CQC ratings were last imported on" in overview and "cqc_care_directory_sample.csv (care directory with ratings)" in overview

    response = client.get(f"/commissioner/providers/{provider.id}")
    assert summary_rows(response)["CQC rating"] == "Requires improvement (as of 12 March 2026)"
    rows = [[cell.get_text(" ", strip=True) for cell in row.select("td")] for row in page(response).select("#cqc-history ~ table tbody tr")]
    assert rows == [
        ["Overall", "Good", "Requires improvement", "12 March 2026", rows[0][4]],
        ["Safe", "Good", "Inadequate", "12 March 2026", rows[1][4]],
        ["Well-led", "Good", "Requires improvement", "12 March 2026", rows[2][4]],
    ]


def test_commissioners_see_the_providers_whose_location_cqc_has_deregistered(app, client, make_provider, make_commissioner):
    provider = make_provider(name="Hazel Court", cqc_location_id="1-1000000005")
    run_import(app, "cqc_deactivated_locations_sample.csv")
    sign_in(client, make_commissioner())

    assert "CQC has deregistered the location of 1 provider: see which" in visible_text(client.get("/commissioner/providers"))
    overview = page(client.get("/commissioner/providers/cqc"))
    cells = [td.get_text(" ", strip=True) for td in overview.select("#deregistered ~ div table tbody tr td")]
    assert cells[:4] == ["Hazel Court", "Verified", "1-1000000005", "28 February 2026"]
    assert "CQC has deregistered location 1-1000000005 (registration ended 28 February 2026)" in visible_text(
        client.get(f"/commissioner/providers/{provider.id}")
    )
