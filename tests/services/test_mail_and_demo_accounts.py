"""The outbox and its senders (including real SMTP to a server on this machine), and the
demo accounts."""

from __future__ import annotations

import socketserver
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import EmailStatus, Notification, OrgRole, Provider, ProviderStaff, Role, User
from app.services import accounts, demo, mail, notifications
from app.services.demo.accounts import DEMO_PASSWORD, DEMO_PEOPLE
from app.services.errors import DomainError
from tests.helpers import outbox, sign_in, visible_text


class _FailingSender:
    name = "failing"

    def send(self, email, from_address):
        raise ConnectionRefusedError("mail server down")


def test_an_email_is_queued_with_the_change_and_sent_once(app, make_citizen):
    user = make_citizen()
    notifications.notify(user, "Your booking", "It is confirmed.", link="/enquiries")
    db.session.commit()
    email = outbox(user.email)[0]
    assert email.status is EmailStatus.QUEUED and email.body_text.startswith(f"Hello {user.name}")
    assert "http://localhost/enquiries" in email.body_text or "/enquiries" in email.body_text
    sent = []

    class Recorder:
        name = "recorder"

        def send(self, email, from_address):
            sent.append((email.to_address, email.subject, from_address))

    report = mail.deliver_pending(Recorder())
    assert report.sent == [email.id]
    assert mail.deliver_pending(Recorder()).sent == []  # never twice
    assert sent == [(user.email, "Your booking", app.config["MAIL_FROM"])]
    assert db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalar_one().link == "/enquiries"


def test_nothing_is_sent_if_the_change_is_rolled_back(make_citizen):
    user = make_citizen()
    notifications.notify(user, "Never", "This change failed.")
    db.session.rollback()
    assert outbox(user.email) == []


def test_failed_sends_are_retried_then_given_up(app, make_citizen):
    import datetime as dt

    user = make_citizen()
    mail.queue(user.email, "Hello", "Body")
    db.session.commit()
    later = dt.datetime.now(dt.UTC)
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        report = mail.deliver_pending(_FailingSender(), now=later)
        later += dt.timedelta(hours=1)
        assert report.failed if attempt < mail.MAX_ATTEMPTS else report.gave_up
    email = outbox(user.email)[0]
    assert email.status is EmailStatus.FAILED and email.attempts == mail.MAX_ATTEMPTS
    assert "mail server down" in email.last_error


def test_notify_refuses_links_to_other_sites(make_citizen):
    with pytest.raises(ValueError):
        notifications.notify(make_citizen(), "x", "y", link="https://evil.example/")


def test_notify_each_writes_what_notify_writes_in_one_go(make_citizen):
    # Many people told at once (a booking's both sides) get the same notification and email
    # as one told alone; someone who cannot sign in gets the notification and no email.
    alone, first, unable = make_citizen(), make_citizen(), make_citizen()
    unable.active = False
    notifications.notify(alone, "Booking sent", "It is on its way.", "/bookings/x")
    notifications.notify_each(
        [
            notifications.Message(first, "Booking sent", "It is on its way.", "/bookings/x"),
            notifications.Message(notifications.Recipient(unable.id, unable.name, unable.email, False), "Booking sent", "Later.", None),
        ]
    )
    db.session.commit()

    def written(user):
        [notice] = db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalars()
        return notice.subject, notice.body, notice.link, notice.read_at, notice.created_at is not None

    assert written(first) == written(alone)
    assert written(unable) == ("Booking sent", "Later.", None, None, True)
    [theirs], [mine] = outbox(first.email), outbox(alone.email)
    assert (theirs.subject, theirs.status, theirs.attempts) == (mine.subject, EmailStatus.QUEUED, 0)
    assert theirs.body_text == mine.body_text.replace(alone.name, first.name)
    assert outbox(unable.email) == []
    assert mail.deliver_pending(mail.LogSender()).sent == sorted([theirs.id, mine.id])


def test_notify_each_refuses_links_to_other_sites_and_writes_nothing(make_citizen):
    user = make_citizen()
    with pytest.raises(ValueError):
        notifications.notify_each(
            [notifications.Message(user, "x", "y", "/fine"), notifications.Message(user, "x", "y", "https://evil.example/")]
        )
    db.session.commit()
    assert outbox(user.email) == []
    assert db.session.execute(select(Notification).where(Notification.user_id == user.id)).first() is None


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        data_mode, lines = False, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data_mode:
                if line in (b".\r\n", b".\n"):
                    self.server.messages.append(b"".join(lines).decode())
                    data_mode = False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-test\r\n250 OK\r\n")
            elif verb == b"DATA":
                data_mode = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_the_smtp_sender_delivers_through_a_real_smtp_conversation(app, make_citizen):
    server = socketserver.TCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        user = make_citizen()
        mail.queue(user.email, "Reset your password", "Open this link.")
        db.session.commit()
        sender = mail.SMTPSender("127.0.0.1", server.server_address[1], security="none", timeout=5)
        report = mail.deliver_pending(sender)
        assert len(report.sent) == 1
        assert f"To: {user.email}" in server.messages[0] and "Subject: Reset your password" in server.messages[0]
    finally:
        server.shutdown()
        server.server_close()


def test_the_outbox_is_visible_to_admins_in_development(client, make_admin, make_citizen):
    user = make_citizen()
    mail.queue(user.email, "Visible email", "Secret-looking body")
    db.session.commit()
    sign_in(client, make_admin())
    page = client.get("/admin/emails")
    assert "Visible email" in page.get_data(as_text=True)
    email = outbox(user.email)[0]
    assert "Secret-looking body" in client.get(f"/admin/emails/{email.id}").get_data(as_text=True)


def test_the_cli_sends_the_queue(runner, make_citizen):
    mail.queue(make_citizen().email, "From cron", "Body")
    db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0 and "Sent 1" in result.output


def test_demo_accounts_each_sign_in_with_the_demo_password(app, make_district):
    # A small market is enough: the loader finds a framework provider for provider@demo.test.
    report = demo.load(demo_mode=True, history=False)
    providers = db.session.execute(select(Provider)).scalars().all()
    # The people of the demo, and an owner for every provider but provider@demo.test's.
    assert len(DEMO_PEOPLE) == 7 and report.created["demo accounts"] == 7 + len(providers) - 1
    again = demo.load(demo_mode=True, history=False)
    assert set(again.created) <= {"visits today"}  # idempotent, but for keeping today's visits current
    for email, _name, role, _funding, _who in DEMO_PEOPLE:
        user = accounts.user_by_email(email)
        assert user.role is role
        client = app.test_client()
        sign_in(client, user, DEMO_PASSWORD)
    citizen = accounts.user_by_email("citizen@demo.test")
    rep = accounts.user_by_email("representative@demo.test")
    assert accounts.citizens_represented_by(rep) == [citizen]
    owner = accounts.user_by_email("provider@demo.test")
    staff = db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == owner.id)).scalar_one()
    assert staff.org_role is OrgRole.OWNER and any(m.is_approved for m in staff.provider.memberships)
    assert accounts.user_by_email("selffunder@demo.test").citizen_funding.value == "self_funder"
    # Every provider has an owner who signs in with the demo password, named on its page.
    for provider in providers:
        [member] = db.session.execute(select(ProviderStaff).where(ProviderStaff.provider_id == provider.id)).scalars().all()
        assert member.org_role is OrgRole.OWNER
    other = next(p for p in providers if p.id != staff.provider_id and p.status.value == "verified")
    other_owner = accounts.user_by_email(demo.owner_email(other))
    sign_in(app.test_client(), other_owner, DEMO_PASSWORD)
    assert f"sign in as {other_owner.email} with the demo password" in visible_text(app.test_client().get(f"/providers/{other.id}"))
    sign_in_page = visible_text(app.test_client().get("/sign-in"))
    for email, *_ in DEMO_PEOPLE:
        assert email in sign_in_page, email


def test_demo_accounts_are_refused_outside_demo_mode(app):
    with pytest.raises(DomainError):
        demo.load(demo_mode=False)
    assert db.session.execute(select(User).where(User.role == Role.ADMIN)).first() is None


def test_the_first_admin_is_created_from_the_command_line(runner):
    result = runner.invoke(args=["accounts", "create-admin", "--email", "Boss@Council.test", "--name", "Bo Boss"])
    assert result.exit_code == 0, result.output
    user = accounts.user_by_email("boss@council.test")
    assert user.role is Role.ADMIN and user.password_hash is None
    assert "/password/reset/" in outbox("boss@council.test")[0].body_text
    again = runner.invoke(args=["accounts", "create-admin", "--email", "boss@council.test", "--name", "Bo Boss"])
    assert again.exit_code != 0 and "already exists" in again.output
