"""Who a listing supports, read from CQC: a location's service user bands and specialisms
as CQC's public API gives them become our groups, and the CQC import adds them to the
provider's listings without taking away anything the provider said."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEvent, PeopleGroup, SearchOutboxEntry
from app.services import people_supported
from app.services.people_supported import groups_from_cqc

G = PeopleGroup

# A care home's location as CQC's public API answers GET /locations/{id} (the fields that
# matter here, and a few around them as they come).
CARE_HOME = {
    "locationId": "1-1000012345",
    "providerId": "1-101634368",
    "organisationType": "Location",
    "type": "Social Care Org",
    "name": "Nene Valley Care Home",
    "registrationStatus": "Registered",
    "numberOfBeds": 42,
    "postalCode": "PE2 6AB",
    "regulatedActivities": [{"name": "Accommodation for persons who require nursing or personal care", "code": "RA1"}],
    "gacServiceTypes": [{"name": "Nursing homes", "description": "Care home service with nursing"}],
    "specialisms": [
        {"name": "Caring for adults over 65 yrs"},
        {"name": "Dementia"},
        {"name": "Physical disabilities"},
        {"name": "Sensory impairments"},
    ],
    "serviceUserBands": [
        {"name": "Older People"},
        {"name": "Dementia"},
        {"name": "Learning disabilities or autistic spectrum disorder"},
        {"name": "Physical Disability"},
    ],
    "currentRatings": {"overall": {"rating": "Good"}},
}


def test_cqc_bands_and_specialisms_become_our_groups_in_the_order_people_see_them():
    found = groups_from_cqc(CARE_HOME)
    assert found.groups == (
        G.OLDER_PEOPLE,
        G.DEMENTIA,
        G.LEARNING_DISABILITIES,
        G.AUTISM,  # CQC's band is "learning disabilities or autistic spectrum disorder"
        G.PHYSICAL_DISABILITIES,
        G.SENSORY_IMPAIRMENTS,
    )
    assert found.unknown == ()


def test_every_cqc_name_is_read_whatever_its_case_and_punctuation():
    location = {
        "specialisms": [
            {"name": "Caring for adults under 65 yrs"},
            {"name": "Caring for children (0 - 18yrs)"},
            {"name": "Caring for people whose rights are restricted under the Mental Health Act"},
            {"name": "Substance misuse problems"},
            {"name": "Eating disorders"},
        ],
        # The care directory's "Service user band - ..." names, as plain strings.
        "serviceUserBands": ["People who misuse drugs and alcohol", "Children 0-18 years", "MENTAL HEALTH"],
    }
    assert groups_from_cqc(location).groups == (
        G.YOUNGER_ADULTS,
        G.CHILDREN,
        G.MENTAL_HEALTH,
        G.SUBSTANCE_MISUSE,
        G.EATING_DISORDERS,
    )
    assert groups_from_cqc({"serviceUserBands": [{"name": "Whole Population"}]}).groups == (
        G.OLDER_PEOPLE,
        G.YOUNGER_ADULTS,
        G.CHILDREN,
    )


def test_names_cqc_may_add_later_are_reported_not_guessed_and_bad_shapes_are_ignored():
    location = {
        "specialisms": [{"name": "Dementia"}, {"name": "Veterans"}, {"id": "3"}, {"name": ""}, None, 7],
        "serviceUserBands": None,
    }
    found = groups_from_cqc(location)
    assert found.groups == (G.DEMENTIA,) and found.unknown == ("Veterans",)
    assert groups_from_cqc({}).groups == ()


def test_the_import_adds_cqcs_groups_to_every_listing_and_never_takes_any_away(app, make_provider, make_service):
    provider = make_provider(cqc_location_id="1-1000012345")
    declared = make_service(provider=provider, title="End of life care at home")
    people_supported.declare(declared, [G.END_OF_LIFE, G.DEMENTIA])
    db.session.commit()
    plain = make_service(provider=provider, title="Day centre")
    other = make_service(title="Someone else's listing")
    db.session.execute(delete(SearchOutboxEntry))
    db.session.commit()

    added = people_supported.add_from_cqc(provider, CARE_HOME)
    db.session.commit()

    everything = [G.OLDER_PEOPLE, G.DEMENTIA, G.LEARNING_DISABILITIES, G.AUTISM, G.PHYSICAL_DISABILITIES, G.SENSORY_IMPAIRMENTS]
    assert plain.people_supported == everything
    assert declared.people_supported == [*everything, G.END_OF_LIFE]
    assert G.DEMENTIA not in added[declared.id] and added[plain.id] == tuple(everything)
    assert other.people_supported == []

    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "service.supports_from_cqc")).scalars().all()
    assert {e.target_id for e in events} == {str(declared.id), str(plain.id)}
    event = next(e for e in events if e.target_id == str(declared.id))
    assert event.before == {"people_supported": ["dementia", "end_of_life"]}
    assert "learning_disabilities" in event.after["people_supported"] and event.note == "From CQC location 1-1000012345"
    assert event.actor_id is None  # the import, not a person
    # The index hears of both listings changed, in the same transaction.
    queued = set(db.session.execute(select(SearchOutboxEntry.entity_id)).scalars())
    assert queued == {declared.id, plain.id}

    # Running the import again changes nothing and records nothing.
    assert people_supported.add_from_cqc(provider, CARE_HOME) == {}
    db.session.commit()
    assert len(db.session.execute(select(AuditEvent).where(AuditEvent.action == "service.supports_from_cqc")).scalars().all()) == 2


def test_declaring_moves_last_updated_only_when_something_changes(app, make_service):
    service = make_service()
    when = dt.datetime(2026, 6, 2, 9, 30, tzinfo=dt.UTC)
    assert people_supported.declare(service, [G.AUTISM, G.OLDER_PEOPLE], at=when)
    db.session.commit()
    assert service.people_supported == [G.OLDER_PEOPLE, G.AUTISM] and service.updated_at == when
    assert not people_supported.declare(service, [G.OLDER_PEOPLE, G.AUTISM])
    assert people_supported.declare(service, [G.AUTISM])
    db.session.commit()
    db.session.expire_all()
    assert service.people_supported == [G.AUTISM] and service.updated_at > when
