"""``insert_together``: rows for several tables written at once (one statement on
PostgreSQL), exactly as written one table at a time, or refused whole."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.database import insert_together
from app.extensions import db
from app.models import EmailStatus, Notification, OutboundEmail
from app.services import mail

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)


def _notice(user, subject: str, link: str | None = None) -> dict:
    return {"user_id": user.id, "subject": subject, "body": "Body", "link": link, "created_at": NOW}


def test_rows_for_several_tables_are_written_as_given(app, make_citizen):
    first, second = make_citizen(), make_citizen()
    emails = mail.outbox_rows([(first.email, "Hello", "Text"), (second.email, "Hello again", "More")], now=NOW)
    insert_together([(Notification.__table__, [_notice(first, "One", "/a"), _notice(second, "Two")]), (OutboundEmail.__table__, emails)])
    db.session.commit()
    notices = db.session.execute(select(Notification).order_by(Notification.id)).scalars().all()
    assert [(n.user_id, n.subject, n.link, n.created_at, n.read_at) for n in notices] == [
        (first.id, "One", "/a", NOW, None),
        (second.id, "Two", None, NOW, None),
    ]
    sent = db.session.execute(select(OutboundEmail).order_by(OutboundEmail.id)).scalars().all()
    assert [(e.to_address, e.subject, e.status, e.attempts, e.next_attempt_at) for e in sent] == [
        (first.email, "Hello", EmailStatus.QUEUED, 0, NOW),
        (second.email, "Hello again", EmailStatus.QUEUED, 0, NOW),
    ]
    assert sent[0].body_text.startswith("Text\n\n--\n")


def test_a_table_with_no_rows_is_left_out(app, make_citizen):
    user = make_citizen()
    insert_together([(Notification.__table__, [_notice(user, "Only")]), (OutboundEmail.__table__, [])])
    insert_together([])
    db.session.commit()
    assert db.session.execute(select(Notification.subject)).scalars().all() == ["Only"]
    assert db.session.execute(select(OutboundEmail)).first() is None


@pytest.mark.parametrize(
    "rows, problem",
    [
        # A column with a default left out: one statement cannot give several tables theirs.
        ([{"subject": "No time", "body": "", "link": None}], "leave out created_at"),
        ([{"subject": "A", "body": "", "link": None, "created_at": NOW}, {"subject": "B", "body": "", "created_at": NOW}], "different"),
    ],
)
def test_rows_that_cannot_be_written_together_are_refused_and_nothing_is_written(app, make_citizen, rows, problem):
    user = make_citizen()
    rows = [{"user_id": user.id} | row for row in rows]
    with pytest.raises(ValueError, match=problem):
        insert_together(
            [(OutboundEmail.__table__, mail.outbox_rows([(user.email, "Hi", "Text")], now=NOW)), (Notification.__table__, rows)]
        )
    db.session.commit()
    assert db.session.execute(select(Notification)).first() is None
    assert db.session.execute(select(OutboundEmail)).first() is None


def test_text_comes_back_exactly_as_written(app, make_citizen):
    # PostgreSQL gets the rows as arrays: quotes, braces, commas, backslashes, the word NULL,
    # new lines and any script must not be read as array syntax, nor an empty link as NULL.
    user = make_citizen()
    awkward = "He said \"hi\", {a,b} \\ back\\slash NULL, 'q' é 漢\nnew line"
    rows = [_notice(user, awkward, None) | {"body": awkward}, _notice(user, "NULL", "/x") | {"body": ""}]
    insert_together([(Notification.__table__, rows)])
    db.session.commit()
    written = db.session.execute(select(Notification.subject, Notification.body, Notification.link).order_by(Notification.id)).all()
    assert [tuple(row) for row in written] == [(awkward, awkward, None), ("NULL", "", "/x")]
