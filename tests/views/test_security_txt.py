"""/.well-known/security.txt (RFC 9116) names the council's security contact, set on the
commissioner's council settings page, else its contact email; not found with neither."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services import council
from tests.helpers import post_form, sign_in, visible_text

SETTINGS = "/commissioner/settings"
ABOUT = {"name": "Peterborough City Council", "districts": "PE1", "cancellation_notice_hours": "24"}
URL = "/.well-known/security.txt"


@pytest.fixture
def commissioner_client(client, make_commissioner, make_district):
    make_district("PE1")
    sign_in(client, make_commissioner())
    return client


def _fields(response) -> dict[str, str]:
    lines = response.get_data(as_text=True).splitlines()
    return dict(line.split(": ", 1) for line in lines if line and not line.startswith("#"))


def test_no_contact_at_all_is_not_found(client):
    assert client.get(URL).status_code == 404


def test_the_security_contact_set_by_a_commissioner_is_published(app, commissioner_client):
    response = post_form(
        commissioner_client, SETTINGS, {**ABOUT, "contact_email": "help@council.test", "security_contact": "Security@Council.TEST"}
    )
    assert response.status_code == 302
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "council.settings_changed")).scalars().all()[-1]
    assert event.after["security_contact"] == "security@council.test"
    assert 'value="security@council.test"' in commissioner_client.get(SETTINGS).get_data(as_text=True)

    anyone = app.test_client()
    txt = anyone.get(URL)
    assert txt.status_code == 200 and txt.headers["Content-Type"] == "text/plain; charset=utf-8"
    fields = _fields(txt)
    assert fields["Contact"] == "mailto:security@council.test"
    assert fields["Preferred-Languages"] == "en"
    assert fields["Canonical"] == app.config["PUBLIC_BASE_URL"] + URL
    expires = dt.datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    assert now < expires < now + dt.timedelta(days=365)  # RFC 9116: less than a year ahead

    post_form(
        commissioner_client,
        SETTINGS,
        {**ABOUT, "contact_email": "help@council.test", "security_contact": "https://council.test/report-a-vulnerability"},
    )
    assert _fields(anyone.get(URL))["Contact"] == "https://council.test/report-a-vulnerability"


def test_the_contact_email_stands_in_when_no_security_contact_is_given(app, commissioner_client):
    post_form(commissioner_client, SETTINGS, {**ABOUT, "contact_email": "help@council.test", "security_contact": ""})
    assert _fields(app.test_client().get(URL))["Contact"] == "mailto:help@council.test"


@pytest.mark.parametrize("bad", ["not an address", "http://council.test/security", "https://", "javascript:alert(1)", "a@b"])
def test_a_security_contact_that_is_neither_an_email_nor_https_is_refused(app, commissioner_client, bad):
    response = post_form(commissioner_client, SETTINGS, {**ABOUT, "security_contact": bad})
    assert response.status_code == 200
    assert "Enter the security contact as an email address" in visible_text(response)
    db.session.expire_all()
    assert council.current().security_contact == ""
