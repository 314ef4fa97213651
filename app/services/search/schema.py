"""What one document of the index holds: its words in six weighted fields and, stored
beside them as a tuple, the few facts that filters, facets, ordering and result cards
need. Also the index's name, which changes with the schema and the synonym list.
"""

from __future__ import annotations

from whoosh import fields as wfields

from app.models import CQCRating, FundingRoute, PeopleGroup
from app.services.search import synonyms
from app.services.search.analysis import analyzer

# 2: ratings as small codes, lots as ids only (their settings are read at search time); 3: reviews;
# 4: who a service supports (its groups' words, and a mask of them)
SCHEMA_VERSION = 4
# A changed schema or synonym list gives the index a new name: the old one then reads as
# missing and `flask search rebuild` builds the new one beside it.
INDEX_NAME = f"services_v{SCHEMA_VERSION}_{synonyms.fingerprint()}"
TEXT_FIELDS = ("title", "category", "provider", "description", "places", "supports")
# "supports": the words for the groups of people a listing says it supports (support_words.py).
FIELD_WEIGHTS = {"title": 8, "category": 6, "provider": 4, "description": 3, "places": 2, "supports": 5}


def build_schema() -> wfields.Schema:
    ana = analyzer()
    return wfields.Schema(
        # Every field is scorable: Whoosh then keeps a length column per field, which
        # spares it a file-system check per posting when it writes (40% of build time).
        sid=wfields.KEYWORD(stored=True, unique=True, scorable=True),
        title=wfields.TEXT(analyzer=ana, spelling=True),
        category=wfields.TEXT(analyzer=ana, spelling=True),
        provider=wfields.TEXT(analyzer=ana),
        description=wfields.TEXT(analyzer=ana, spelling=True),
        places=wfields.TEXT(analyzer=ana, phrase=False),
        supports=wfields.TEXT(analyzer=ana),
        attrs=wfields.STORED(),
    )


SCHEMA = build_schema()

# What each document stores, by position (a tuple keeps the index small and fast to load).
A_ID, A_PROVIDER_ID, A_PROVIDER, A_TITLE, A_CATEGORY, A_PRICE, A_UNIT, A_MIN_UNITS = range(8)
A_FUNDING, A_DAYS, A_RATINGS, A_REGULATED, A_BASE, A_RADIUS, A_AREAS, A_LOTS = range(8, 16)
A_REVIEWS = 16  # (sum of the ratings, count) of its published reviews
A_SUPPORTS = 17  # who it supports: a bit per PeopleGroup (SUPPORTS_BITS)
ATTR_COUNT = 18
FUNDING_BITS = {FundingRoute.PERSONAL_BUDGET: 1, FundingRoute.PREPAID_CARD: 2, FundingRoute.SELF_FUNDER: 4}
RATING_CODES = {None: 0, CQCRating.INADEQUATE: 1, CQCRating.REQUIRES_IMPROVEMENT: 2, CQCRating.GOOD: 3, CQCRating.OUTSTANDING: 4}
RATING_OF_CODE = {code: rating for rating, code in RATING_CODES.items()}
# A bit per group, in the enum's order (a new group goes at the end; reordering them means
# a new SCHEMA_VERSION).
SUPPORTS_BITS = {group: 1 << i for i, group in enumerate(PeopleGroup)}


def rating_of(code: int) -> CQCRating | None:
    """A rating from its code in the index."""
    return RATING_OF_CODE[code]


def supports_mask(groups) -> int:
    """The bits of the groups a service supports, as the index stores them."""
    mask = 0
    for group in groups:
        mask |= SUPPORTS_BITS[group]
    return mask


def groups_of(mask: int) -> tuple[PeopleGroup, ...]:
    """The groups in a stored mask, in the order people see them."""
    return tuple(group for group, bit in SUPPORTS_BITS.items() if mask & bit)
