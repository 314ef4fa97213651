"""Email: an outbox table and pluggable senders.

* ``queue(to, subject, body)`` writes an email to the outbox in the current unit of work,
  so it is sent only if the change that caused it is committed.
* ``deliver_pending()`` sends what is due with the configured sender, claiming each row
  first so two workers never send the same email twice, and retrying failures with a
  growing delay (``MAX_ATTEMPTS`` in all).
* Senders: ``LogSender`` (development: writes the email to the log; the admin outbox page
  shows it) and ``SMTPSender`` (production). Tests may pass any object with ``send``.

The app sends what a request queued right after handling it (``MAIL_DELIVER_AFTER_REQUEST``)
and ``flask mail send`` (cron) picks up anything left over.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.models import EmailStatus, OutboundEmail
from app.services.errors import NotFound
from app.services.pagination import Page, paginate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
REDACTED = "[This email's text was removed from the outbox after it was sent, because it may contain a sign-in link.]"


class Sender(Protocol):
    name: str

    def send(self, email: OutboundEmail, from_address: str) -> None:
        """Send one email or raise an exception saying why not."""


class LogSender:
    """Development: writes each email to the log instead of sending it."""

    name = "log"

    def send(self, email: OutboundEmail, from_address: str) -> None:
        log.info("Email to %s: %s\n%s", email.to_address, email.subject, email.body_text)


class SMTPSender:
    """Production: sends through an SMTP server (STARTTLS, SSL or a local relay)."""

    name = "smtp"

    def __init__(self, host: str, port: int, username: str = "", password: str = "", security: str = "starttls", timeout: int = 10):
        self.host, self.port, self.username, self.password = host, port, username, password
        self.security, self.timeout = security, timeout

    def send(self, email: OutboundEmail, from_address: str) -> None:
        message = build_message(email, from_address)
        context = ssl.create_default_context()
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


def build_message(email: OutboundEmail, from_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox-{email.id}")
    message.set_content(email.body_text)
    return message


def sender_from_config(config) -> Sender:
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPSender(
            config["SMTP_HOST"],
            config["SMTP_PORT"],
            config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"],
            config["SMTP_SECURITY"],
            config["SMTP_TIMEOUT_SECONDS"],
        )
    return LogSender()


def public_url(path: str) -> str:
    """An absolute address for a local path, for links in emails: always on the
    configured PUBLIC_BASE_URL, never on the Host header of the request that caused the
    email (anyone can send a request with ``Host: evil.example``)."""
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(f"not a local path: {path!r}")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def link_for(endpoint: str, **values) -> str:
    """The emailed link to an endpoint (``link_for("auth.reset_password", token=t)``),
    built on PUBLIC_BASE_URL, in a request or not (the command line)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def queue(to_address: str, subject: str, body_text: str) -> OutboundEmail:
    """Put an email in the outbox (part of the current unit of work)."""
    email = OutboundEmail(to_address=to_address, subject=subject[:200], body_text=_signed(body_text))
    db.session.add(email)
    mark_queued()
    return email


def outbox_rows(emails: list[tuple[str, str, str]], *, now: dt.datetime | None = None) -> list[dict]:
    """The outbox rows for several emails at once, (to, subject, body) each: the address,
    the subject (cut to fit), the signed body, and the row's every other value (waiting to be
    sent, queued ``now``), so ``insert_together`` can write them (``queue`` writes one)."""
    now = now or utcnow()
    waiting = {"status": EmailStatus.QUEUED, "attempts": 0, "created_at": now, "next_attempt_at": now}
    return [{"to_address": to, "subject": subject[:200], "body_text": _signed(body)} | waiting for to, subject, body in emails]


def mark_queued() -> None:
    """Say that this unit of work put emails in the outbox (written as rows, not by ``queue``):
    once it commits, the outbox is sent."""
    db.session.info["mail_queued"] = True


def _signed(body_text: str) -> str:
    signature = f"\n\n--\n{current_app.config['SERVICE_NAME']}\nThis email was sent automatically. Replies are not read."
    return body_text.rstrip() + signature


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # will be retried
    gave_up: list[int] = field(default_factory=list)


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=2**attempts)  # 2, 4, 8, 16 minutes


def deliver_pending(sender: Sender | None = None, limit: int = 50, now: dt.datetime | None = None) -> DeliveryReport:
    """Send queued emails that are due, oldest first. Safe to run in several processes."""
    sender = sender or sender_from_config(current_app.config)
    from_address = current_app.config["MAIL_FROM"]
    redact = current_app.config.get("MAIL_REDACT_AFTER_SEND", False)
    now = now or utcnow()
    report = DeliveryReport()
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("deliver_pending() called with unsaved changes in the session")
    db.session.commit()
    due = list(
        db.session.execute(
            select(OutboundEmail.id)
            .where(OutboundEmail.status == EmailStatus.QUEUED, OutboundEmail.next_attempt_at <= now)
            .order_by(OutboundEmail.id)
            .limit(limit)
        ).scalars()
    )
    for email_id in due:
        # Claim the row: only one worker moves it from queued to sending.
        claimed = db.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.QUEUED)
            .values(status=EmailStatus.SENDING, attempts=OutboundEmail.attempts + 1)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        email = db.session.get(OutboundEmail, email_id)
        try:
            sender.send(email, from_address)
        except Exception as exc:  # any failure to send is recorded and retried
            log.warning("Could not send email %s: %s", email_id, exc)
            email.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = EmailStatus.FAILED
                report.gave_up.append(email_id)
            else:
                email.status = EmailStatus.QUEUED
                email.next_attempt_at = utcnow() + _retry_delay(email.attempts)
                report.failed.append(email_id)
        else:
            email.status = EmailStatus.SENT
            email.sent_at = utcnow()
            email.last_error = None
            if redact:
                email.body_text = REDACTED
            report.sent.append(email_id)
        db.session.commit()
    return report


def recover_stuck(older_than: dt.timedelta = dt.timedelta(minutes=15)) -> int:
    """Emails left 'sending' by a worker that died go back in the queue. Returns how many."""
    cutoff = utcnow() - older_than
    count = db.session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.next_attempt_at < cutoff)
        .values(status=EmailStatus.QUEUED)
    ).rowcount
    db.session.commit()
    return count


def outbox(page: int = 1, status: EmailStatus | None = None, per_page: int = 50) -> Page[OutboundEmail]:
    query = select(OutboundEmail)
    if status is not None:
        query = query.where(OutboundEmail.status == status)
    return paginate(query.order_by(OutboundEmail.id.desc()), page, per_page)


def get_email(email_id: int) -> OutboundEmail:
    email = db.session.get(OutboundEmail, email_id)
    if email is None:
        raise NotFound("No such email")
    return email


def init_delivery_after_request(app) -> None:
    """Send what a request queued once it has been handled (its changes are committed)."""

    @app.after_request
    def _deliver_queued_mail(response):
        if not db.session.info.pop("mail_queued", False) or not app.config["MAIL_DELIVER_AFTER_REQUEST"]:
            return response
        if db.session.new or db.session.dirty or db.session.deleted:
            db.session.rollback()  # a view that did not commit: nothing of it is sent
        try:
            deliver_pending(limit=20)
        except Exception:  # the outbox keeps the email; cron retries it
            log.exception("Delivering queued email after the request failed")
            db.session.rollback()
        return response
