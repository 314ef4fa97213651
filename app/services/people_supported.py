"""Who a listing supports: the groups of people (older people, people living with dementia,
autistic people...) a provider says a listing is set up to support, and the same groups
read from what CQC registered the provider's location for.

CQC describes a location by "service user bands" (its registration's list: Older People,
Dementia, Learning disabilities or autistic spectrum disorder...) and "specialisms" (its
public API's names for them: Caring for adults over 65 yrs, Dementia, Learning
disabilities...). Its API gives both as lists of objects with a "name"; CQC's care
directory files as "Service user band - ..." columns. ``groups_from_cqc`` reads either
list into our groups, and ``add_from_cqc`` adds them to each of a provider's listings for
the CQC import: it only ever adds, so nothing a provider declared is lost.

CQC registers a location, not each listing, so what it says applies to all of the
provider's listings. It has no band for end of life care: that one only comes from the
provider.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.database import utcnow
from app.models import PeopleGroup, Provider, Service, SupportedGroup, User
from app.services import audit

G = PeopleGroup
AGES = frozenset({G.CHILDREN, G.YOUNGER_ADULTS, G.OLDER_PEOPLE})

# CQC's names, lower case with anything but letters and digits as one space.
CQC_NAMES: dict[str, frozenset[PeopleGroup]] = {
    # Service user bands, as registration and the care directory name them.
    "older people": frozenset({G.OLDER_PEOPLE}),
    "younger adults": frozenset({G.YOUNGER_ADULTS}),
    "children 0 18 years": frozenset({G.CHILDREN}),
    "whole population": AGES,
    "dementia": frozenset({G.DEMENTIA}),
    "learning disabilities or autistic spectrum disorder": frozenset({G.LEARNING_DISABILITIES, G.AUTISM}),
    "mental health": frozenset({G.MENTAL_HEALTH}),
    "people detained under the mental health act": frozenset({G.MENTAL_HEALTH}),
    "physical disability": frozenset({G.PHYSICAL_DISABILITIES}),
    "sensory impairment": frozenset({G.SENSORY_IMPAIRMENTS}),
    "people who misuse drugs and alcohol": frozenset({G.SUBSTANCE_MISUSE}),
    "people with an eating disorder": frozenset({G.EATING_DISORDERS}),
    # Specialisms, as CQC's API names them.
    "caring for adults over 65 yrs": frozenset({G.OLDER_PEOPLE}),
    "caring for adults under 65 yrs": frozenset({G.YOUNGER_ADULTS}),
    "caring for children": frozenset({G.CHILDREN}),
    "caring for children 0 18yrs": frozenset({G.CHILDREN}),
    "services for everyone": AGES,
    "learning disabilities": frozenset({G.LEARNING_DISABILITIES}),
    "autism": frozenset({G.AUTISM}),
    "mental health conditions": frozenset({G.MENTAL_HEALTH}),
    "caring for people whose rights are restricted under the mental health act": frozenset({G.MENTAL_HEALTH}),
    "physical disabilities": frozenset({G.PHYSICAL_DISABILITIES}),
    "sensory impairments": frozenset({G.SENSORY_IMPAIRMENTS}),
    "substance misuse problems": frozenset({G.SUBSTANCE_MISUSE}),
    "eating disorders": frozenset({G.EATING_DISORDERS}),
}
CQC_LISTS = ("serviceUserBands", "specialisms")
_NOT_A_LETTER = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class FromCqc:
    """What a CQC location says of the people it supports: our groups, in the order people
    see them, and any of CQC's names we do not know (for the import to report)."""

    groups: tuple[PeopleGroup, ...]
    unknown: tuple[str, ...]


def _names(location: Mapping) -> list[str]:
    names = []
    for key in CQC_LISTS:
        for entry in location.get(key) or ():
            name = entry.get("name") if isinstance(entry, Mapping) else entry
            if isinstance(name, str) and name.strip():
                names.append(name.strip())
    return names


def groups_from_cqc(location: Mapping) -> FromCqc:
    """The groups a CQC location (its public API's JSON) says it supports, from its
    ``serviceUserBands`` and ``specialisms``."""
    found: set[PeopleGroup] = set()
    unknown: list[str] = []
    for name in _names(location):
        groups = CQC_NAMES.get(_NOT_A_LETTER.sub(" ", name.lower()).strip())
        if groups is None:
            if name not in unknown:
                unknown.append(name)
        else:
            found |= groups
    return FromCqc(tuple(g for g in PeopleGroup if g in found), tuple(unknown))


def declare(service: Service, groups: Iterable[PeopleGroup], *, at: dt.datetime | None = None) -> bool:
    """Make a listing say it supports exactly ``groups`` (in the current unit of work; the
    caller commits). Whether anything changed; if it did, the listing counts as updated."""
    wanted = set(groups)
    kept = [row for row in service.supported_groups if row.people_group in wanted]
    have = {row.people_group for row in kept}
    added = [SupportedGroup(people_group=group) for group in PeopleGroup if group in wanted and group not in have]
    if not added and len(kept) == len(service.supported_groups):
        return False
    # The groups are rows of their own, so the listing's onupdate does not fire: its
    # "Last updated" must still move when who it supports changes.
    service.supported_groups = kept + added
    service.updated_at = at or utcnow()
    return True


def add_from_cqc(provider: Provider, location: Mapping, *, by: User | None = None) -> dict[int, tuple[PeopleGroup, ...]]:
    """Add the groups CQC says the provider's location supports to each of its listings
    that does not say so already, never taking any away; each listing changed is audited.
    In the current unit of work: the import commits, with the rest of what it changes.
    Returns the groups added, by listing id."""
    groups = groups_from_cqc(location).groups
    note = f"From CQC location {location.get('locationId') or provider.cqc_location_id or 'unknown'}"
    added: dict[int, tuple[PeopleGroup, ...]] = {}
    for service in provider.services.order_by(Service.id):
        before = service.people_supported
        new = tuple(g for g in groups if g not in before)
        if not new:
            continue
        declare(service, [*before, *new])
        audit.record(
            by,
            "service.supports_from_cqc",
            "service",
            service.id,
            before={"people_supported": before},
            after={"people_supported": service.people_supported},
            note=note,
        )
        added[service.id] = new
    return added
