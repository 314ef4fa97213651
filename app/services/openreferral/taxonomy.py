"""The two taxonomies the feed classifies services with, and their terms.

* Types of support: our categories (home care, day opportunities...), in the council's
  order. A term's id comes from the category's slug, so it survives a renamed category.
* CQC overall rating: the Care Quality Commission's four ratings. A service carries the
  term for its provider's current rating as an attribute.

Each term is written with both ``name`` (HSDS 3.0) and ``term`` (the UK profile's older
field), so readers of either find it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Category, CQCRating
from app.services import catalogue
from app.services.openreferral import ids
from app.services.openreferral.links import Links

TYPES_OF_SUPPORT = "types-of-support"
CQC_RATING = "cqc-overall-rating"


@dataclass(frozen=True)
class Term:
    """One term of one of our taxonomies: a category (``category_id``) or a CQC rating."""

    id: str
    taxonomy: str  # TYPES_OF_SUPPORT or CQC_RATING
    code: str
    name: str
    description: str
    category_id: int | None = None
    rating: CQCRating | None = None


def category_term(category: Category) -> Term:
    return Term(
        id=ids.taxonomy_term(category.slug),
        taxonomy=TYPES_OF_SUPPORT,
        code=category.slug,
        name=category.name,
        description=category.description or category.name,
        category_id=category.id,
    )


def rating_term(rating: CQCRating) -> Term:
    return Term(
        id=ids.taxonomy_term(f"{CQC_RATING}:{rating.value}"),
        taxonomy=CQC_RATING,
        code=rating.value,
        name=rating.label,
        description=f"Rated {rating.label} overall by the Care Quality Commission",
        rating=rating,
    )


def all_terms() -> list[Term]:
    """Every term: the types of support in the council's order, then the CQC ratings, best first."""
    return [category_term(c) for c in catalogue.categories()] + [rating_term(r) for r in CQCRating]


def term_by_id(term_id: str) -> Term | None:
    return next((term for term in all_terms() if term.id == term_id), None)


def taxonomies(service_name: str) -> list[dict]:
    """Both taxonomies as the profile's taxonomy objects (taxonomy.json: id, name, description)."""
    return [
        {
            "id": ids.taxonomy(TYPES_OF_SUPPORT),
            "name": "Types of support",
            "description": f"The kinds of care and support listed on {service_name}.",
            "version": "1",
        },
        {
            "id": ids.taxonomy(CQC_RATING),
            "name": "CQC overall rating",
            "description": "The Care Quality Commission's overall rating of a regulated care provider, from its last inspection.",
            "uri": "https://www.cqc.org.uk/",
            "version": "1",
        },
    ]


_TAXONOMY_NAMES = {TYPES_OF_SUPPORT: "Types of support", CQC_RATING: "CQC overall rating"}


def term_json(term: Term, links: Links) -> dict:
    """A term as the profile's taxonomy_term object (taxonomy_term.json)."""
    body = {
        "id": term.id,
        "name": term.name,
        "term": term.name,
        "code": term.code,
        "description": term.description,
        "taxonomy": _TAXONOMY_NAMES[term.taxonomy],
        "taxonomy_id": ids.taxonomy(term.taxonomy),
    }
    if term.category_id is not None:
        body["term_uri"] = links.category(term.code)
    return body
