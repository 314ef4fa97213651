"""Postcodes and distance.

We locate people and providers by postcode *district* (the outward code, "PE1"), whose
centroid we hold. A full postcode is asked for (people know theirs) but only its district
is ever stored or logged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import PostcodeDistrict
from app.services.errors import ValidationError

# Outward code: area (1-2 letters) + district (digit, then a digit or letter).
# Inward code: sector digit + unit (2 letters, never C I K M O V).
# The second half of a postcode (the inward code): a digit and two letters, never C, I, K, M, O or V.
INWARD_CODE = "[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE_RE = re.compile(rf"^([A-Z]{{1,2}}[0-9][A-Z0-9]?)({INWARD_CODE})$")
_OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")

MALFORMED_POSTCODE = "Enter a full UK postcode, like PE1 1XX"
UNKNOWN_POSTCODE = "We could not find that postcode"

EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True)
class Postcode:
    outward: str
    inward: str

    def __str__(self) -> str:
        return f"{self.outward} {self.inward}"


def parse_postcode(text: str | None) -> Postcode:
    """Normalise a full UK postcode ('pe1  1xx' -> PE1 1XX) or raise ValidationError."""
    cleaned = re.sub(r"\s+", "", (text or "")).upper()
    match = _POSTCODE_RE.match(cleaned)
    if not match:
        raise ValidationError({"postcode": MALFORMED_POSTCODE})
    return Postcode(match.group(1), match.group(2))


def is_outward_code(text: str) -> bool:
    return bool(_OUTWARD_RE.match(text or ""))


def district_for(postcode: Postcode) -> PostcodeDistrict:
    """The district of a well-formed postcode, or ValidationError if we do not know it."""
    district = db.session.get(PostcodeDistrict, postcode.outward)
    if district is None:
        raise ValidationError({"postcode": UNKNOWN_POSTCODE})
    return district


_POSTCODE_IN_TEXT_RE = re.compile(rf"\b([A-Z]{{1,2}}[0-9][A-Z0-9]?)\s*({INWARD_CODE})\b")


def district_in_text(text: str | None) -> str | None:
    """The known postcode district of the last full postcode written in ``text`` (an
    address), or None: only the district is ever kept."""
    matches = _POSTCODE_IN_TEXT_RE.findall((text or "").upper())
    for outward, _ in reversed(matches):
        if db.session.get(PostcodeDistrict, outward) is not None:
            return outward
    return None


def locate(text: str | None) -> tuple[Postcode, PostcodeDistrict]:
    """Parse and place a postcode typed by a person, with the GOV.UK-style messages."""
    postcode = parse_postcode(text)
    return postcode, district_for(postcode)


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def district_distances(origin: PostcodeDistrict) -> dict[str, float]:
    """Miles from ``origin`` to the centroid of every district we know."""
    rows = db.session.execute(select(PostcodeDistrict.outward_code, PostcodeDistrict.latitude, PostcodeDistrict.longitude)).all()
    return {code: miles_between(origin.latitude, origin.longitude, lat, lon) for code, lat, lon in rows}
