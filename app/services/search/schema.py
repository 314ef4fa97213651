"""What one document of the index holds: its words in five weighted fields and, stored
beside them as a tuple, the few facts that filters, facets, ordering and result cards
need. Also the index's name, which changes with the schema and the synonym list.
"""

from __future__ import annotations

from whoosh import fields as wfields

from app.models import CQCRating, FundingRoute
from app.services.search import synonyms
from app.services.search.analysis import analyzer

SCHEMA_VERSION = 3  # 2: ratings as small codes, lots as ids only (their settings are read at search time); 3: reviews
# A changed schema or synonym list gives the index a new name: the old one then reads as
# missing and `flask search rebuild` builds the new one beside it.
INDEX_NAME = f"services_v{SCHEMA_VERSION}_{synonyms.fingerprint()}"
TEXT_FIELDS = ("title", "category", "provider", "description", "places")
FIELD_WEIGHTS = {"title": 8, "category": 6, "provider": 4, "description": 3, "places": 2}


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
        attrs=wfields.STORED(),
    )


SCHEMA = build_schema()

# What each document stores, by position (a tuple keeps the index small and fast to load).
A_ID, A_PROVIDER_ID, A_PROVIDER, A_TITLE, A_CATEGORY, A_PRICE, A_UNIT, A_MIN_UNITS = range(8)
A_FUNDING, A_DAYS, A_RATINGS, A_REGULATED, A_BASE, A_RADIUS, A_AREAS, A_LOTS = range(8, 16)
A_REVIEWS = 16  # (sum of the ratings, count) of its published reviews
ATTR_COUNT = 17
FUNDING_BITS = {FundingRoute.PERSONAL_BUDGET: 1, FundingRoute.PREPAID_CARD: 2, FundingRoute.SELF_FUNDER: 4}
RATING_CODES = {None: 0, CQCRating.INADEQUATE: 1, CQCRating.REQUIRES_IMPROVEMENT: 2, CQCRating.GOOD: 3, CQCRating.OUTSTANDING: 4}
RATING_OF_CODE = {code: rating for rating, code in RATING_CODES.items()}


def rating_of(code: int) -> CQCRating | None:
    """A rating from its code in the index."""
    return RATING_OF_CODE[code]
