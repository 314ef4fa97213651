"""Command-line tools: `flask demo load`, and one group per part of the product.

Commands call the same services as the web pages, show progress on long work, and are
safe to re-run after a crash.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services import demo
from app.services.errors import DomainError

demo_cli = AppGroup("demo", help="Demo data for trying the marketplace out.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo market (idempotent: re-running changes nothing)."""
    try:
        report = demo.load(demo_mode=current_app.config["DEMO_MODE"], progress=lambda m: click.echo(f"  {m}..."))
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    if report.changed:
        for kind, n in report.created.items():
            if n:
                click.echo(f"Created {n} {kind}")
    else:
        click.echo("Demo data already loaded: nothing changed.")


mail_cli = AppGroup("mail", help="The email outbox.")


@mail_cli.command("send")
@click.option("--limit", default=200, show_default=True, help="Send at most this many emails.")
def mail_send(limit: int) -> None:
    """Send queued emails that are due (run from cron every minute; safe to re-run)."""
    from app.services import mail

    recovered = mail.recover_stuck()
    if recovered:
        click.echo(f"Put back {recovered} email(s) left half-sent by a stopped worker")
    report = mail.deliver_pending(limit=limit)
    click.echo(f"Sent {len(report.sent)}, will retry {len(report.failed)}, gave up on {len(report.gave_up)}")


accounts_cli = AppGroup("accounts", help="Council accounts.")


@accounts_cli.command("create-admin")
@click.option("--email", required=True, help="Their work email address.")
@click.option("--name", required=True, help="Their full name.")
def create_admin(email: str, name: str) -> None:
    """Create an admin (the first one, on a new installation). They are emailed a link to
    choose a password, and must set up two-step verification when they sign in."""
    from flask import url_for

    from app.models import Role
    from app.services import accounts
    from app.services.errors import ValidationError

    base = current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
    try:
        user = accounts.create_council_user(
            None, name=name, email=email, role=Role.ADMIN,
            set_password_link=lambda token: base + url_for("auth.reset_password", token=token),
        )
    except ValidationError as exc:
        raise click.ClickException("; ".join(exc.errors.values())) from exc
    from app.services import mail

    mail.deliver_pending()
    click.echo(f"Created admin {user.email}; emailed them a link to choose a password (valid for 72 hours).")


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(accounts_cli)
