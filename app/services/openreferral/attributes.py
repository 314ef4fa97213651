"""How a service is classified: its type of support and, when its provider has one, its
current CQC overall rating, each as an attribute linking the service to a taxonomy term."""

from __future__ import annotations

from app.models import Service
from app.services.openreferral import ids, taxonomy
from app.services.openreferral.links import Links


def _attribute(service: Service, key: str, label: str, term: taxonomy.Term, links: Links) -> dict:
    """attribute.json: ``id`` is required; the term is nested in full (taxonomy_term.json)."""
    return {
        "id": ids.of("attribute", service.id, key),
        "link_id": ids.service(service.id),
        "link_entity": "service",
        "link_type": key,
        "label": label,
        "value": term.code,
        "taxonomy_term_id": term.id,
        "taxonomy_term": taxonomy.term_json(term, links),
    }


def attributes(service: Service, links: Links) -> list[dict]:
    found = [_attribute(service, taxonomy.TYPES_OF_SUPPORT, "Type of support", taxonomy.category_term(service.category), links)]
    rating = service.provider.cqc_overall
    if rating is not None:
        found.append(_attribute(service, taxonomy.CQC_RATING, "CQC overall rating", taxonomy.rating_term(rating), links))
    return found
