"""Every state-changing request needs a valid CSRF token: each POST route in the access
matrix, sent by a visitor who is allowed to use it but without the token, is refused
with the "form expired" page and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, OutboundEmail
from tests.helpers import visible_text
from tests.views.test_access_matrix import ALLOWED, ANON, MATRIX, OK, REDIRECT, _signed_in_client, fresh_world, world  # noqa: F401

POST_CASES = [
    pytest.param(endpoint, case, id=endpoint) for endpoint, cases in sorted(MATRIX.items()) for case in cases if case.method == "POST"
]


def _allowed_visitor(case) -> str:
    for visitor, outcome in case.expect.items():
        if outcome in (OK, ALLOWED, REDIRECT) and visitor != ANON:
            return visitor
    return ANON


def _state() -> tuple[int, int]:
    return (
        db.session.execute(select(func.count(AuditEvent.id))).scalar_one(),
        db.session.execute(select(func.count(OutboundEmail.id))).scalar_one(),
    )


@pytest.mark.parametrize("endpoint, case", POST_CASES)
def test_post_without_a_csrf_token_is_refused(app, world, endpoint, case):  # noqa: F811
    visitor = _allowed_visitor(case)
    client = app.test_client() if visitor == ANON else _signed_in_client(app, world.users[visitor])
    before = _state()
    response = client.post(case.path.format(**world.ids), data={"reason": "x", "body": "x", "email": "a@b.test"})
    assert response.status_code == 400, f"{endpoint} accepted a POST without a CSRF token"
    assert "This form has expired" in visible_text(response)
    db.session.rollback()
    assert _state() == before


def test_a_forged_token_is_refused_too(app, world):  # noqa: F811
    client = _signed_in_client(app, world.users["citizen A"])
    response = client.post("/account/sessions/sign-out-others", data={"csrf_token": "forged"})
    assert response.status_code == 400


def test_csrf_protection_is_on_in_tests_as_in_production(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert POST_CASES, "there are POST routes to check"
