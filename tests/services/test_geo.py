from __future__ import annotations

import pytest

from app.services.errors import ValidationError
from app.services.geo import MALFORMED_POSTCODE, UNKNOWN_POSTCODE, locate, miles_between, parse_postcode


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("PE1 1XX", "PE1 1XX"),
        ("pe11xx", "PE1 1XX"),
        ("  pe1   1xx ", "PE1 1XX"),
        ("SW1A 1AA", "SW1A 1AA"),
        ("PE29 6BX", "PE29 6BX"),
        ("M1 1AE", "M1 1AE"),
    ],
)
def test_postcodes_are_normalised(typed, expected):
    assert str(parse_postcode(typed)) == expected


@pytest.mark.parametrize(
    "typed", ["", "PE1", "PE1 1", "12345", "PE1 1XXX", "PE1 1CX", "not a postcode", "PE1 1X!", "💥", "A" * 10000, None]
)
def test_malformed_postcodes_get_the_govuk_message(typed):
    with pytest.raises(ValidationError) as raised:
        parse_postcode(typed)
    assert raised.value.errors == {"postcode": MALFORMED_POSTCODE}
    assert MALFORMED_POSTCODE == "Enter a full UK postcode, like PE1 1XX"


def test_unknown_district_is_reported(app, make_district):
    make_district("PE1")
    postcode, district = locate("pe1 1xx")
    assert district.outward_code == "PE1"
    with pytest.raises(ValidationError) as raised:
        locate("ZE2 9ZZ")
    assert raised.value.errors == {"postcode": UNKNOWN_POSTCODE}


def test_distance_in_miles():
    # London (51.5074, -0.1278) to Peterborough (52.5695, -0.2405) is about 73.5 miles.
    assert 72 < miles_between(51.5074, -0.1278, 52.5695, -0.2405) < 75
    assert miles_between(52.5, -0.2, 52.5, -0.2) == 0
