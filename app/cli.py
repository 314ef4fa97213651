"""Command-line tools: `flask demo load`, and one group per part of the product.

Commands call the same services as the web pages, show progress on long work, and are
safe to re-run after a crash.
"""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services import demo
from app.services.errors import DomainError

demo_cli = AppGroup("demo", help="Demo data for trying the marketplace out.")
search_cli = AppGroup("search", help="The search index: rebuild it, take in queued changes, check it.")


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


ledger_cli = AppGroup("ledger", help="The double-entry ledger of money.")


@ledger_cli.command("check")
def check_ledger() -> None:
    """Verify every ledger invariant; exit non-zero naming the first broken one. Warnings
    (money left in card clearing over a week) print as WARNING lines on stderr and do not
    change the exit code."""
    from app.services import ledger_check

    problems = ledger_check.check()
    for warning in ledger_check.warnings():
        click.echo(f"WARNING: {warning}", err=True)  # accounted for, but waiting too long: exit code stays 0
    if problems:
        raise click.ClickException(
            f"Ledger check failed: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    from app.formatting import format_pence
    from app.services import payment_runs

    click.echo(
        "Ledger check passed: every transaction balances, cached balances equal their entries, "
        "no budget is below zero, and holds match their accounts."
    )
    standing = payment_runs.standing()
    click.echo(
        f"Providers: owed {format_pence(standing.owed)}, disputed (held out of payment) {format_pence(standing.disputed)}, "
        f"in runs waiting for approval {format_pence(standing.in_prepared_runs)}, paid {format_pence(standing.paid)}."
    )


budgets_cli = AppGroup("budgets", help="Personal budgets.")


@budgets_cli.command("fund")
@click.option("--period-start", required=True, help="First day of the 4-week period, YYYY-MM-DD.")
def budgets_fund(period_start: str) -> None:
    """Credit every active budget for one 4-week period (re-running changes nothing)."""
    import datetime as dt

    from app.services import budgets
    from app.services.ledger import Actor
    from app.services.policy import current_policy

    try:
        day = dt.date.fromisoformat(period_start)
    except ValueError:
        raise click.BadParameter("Enter the date as YYYY-MM-DD, for example 2026-11-16", param_hint="--period-start") from None
    policy = current_policy()
    try:
        start, end = policy.require_period_start(day)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import PersonalBudget

    count = db.session.execute(select(func.count(PersonalBudget.id))).scalar_one()
    with click.progressbar(length=count, label=f"Funding budgets for {start} to {end}") as bar:
        run = budgets.fund_all(start, policy=policy, actor=Actor.system("budgets fund"), progress=bar.update)
    from app.formatting import format_pence

    click.echo(
        f"Funded {len(run.funded)} budgets, {format_pence(run.total_pence)} in all; "
        f"{run.already_funded} already funded for this period; {run.not_active} not active in it."
    )
    short = [r for r in run.funded if r.short_visits]
    for result in short:
        click.echo(f"  Budget {result.budget.public_id}: {len(result.short_visits)} booked visits not covered (both sides told)")


mail_cli = AppGroup("mail", help="The email outbox.")


@mail_cli.command("send")
@click.option("--limit", default=200, show_default=True, help="Send at most this many emails.")
def mail_send(limit: int) -> None:
    """Send queued emails that are due (run from cron every minute; safe to re-run)."""
    from app.formatting import pluralise
    from app.services import mail

    recovered = mail.recover_stuck()
    if recovered:
        click.echo(f"Put back {pluralise(recovered, 'email')} left half-sent by a stopped worker")
    report = mail.deliver_pending(limit=limit)
    click.echo(f"Sent {len(report.sent)}, will retry {len(report.failed)}, gave up on {len(report.gave_up)}")


accounts_cli = AppGroup("accounts", help="Council accounts.")


@accounts_cli.command("create-admin")
@click.option("--email", required=True, help="Their work email address.")
@click.option("--name", required=True, help="Their full name.")
def create_admin(email: str, name: str) -> None:
    """Create an admin (the first one, on a new installation). They are emailed a link to
    choose a password, and must set up two-step verification when they sign in."""
    from app.models import Role
    from app.services import accounts, mail
    from app.services.errors import ValidationError

    try:
        user = accounts.create_council_user(
            None,
            name=name,
            email=email,
            role=Role.ADMIN,
            set_password_link=lambda token: mail.link_for("auth.reset_password", token=token),
        )
    except ValidationError as exc:
        raise click.ClickException("; ".join(exc.errors.values())) from exc
    mail.deliver_pending()
    click.echo(f"Created admin {user.email}; emailed them a link to choose a password (valid for 72 hours).")


@accounts_cli.command("rotate-totp-key")
def rotate_totp_key() -> None:
    """Re-encrypt every two-step secret under TOTP_ENCRYPTION_KEY. Run it after putting a new
    key there and the old ones in TOTP_ENCRYPTION_KEYS_OLD; then the old keys can go."""
    from app.services import totp_encryption

    try:
        count = totp_encryption.rotate_all()
    except totp_encryption.SecretUnreadable as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Re-encrypted {count} two-step secret{'s' if count != 1 else ''} under TOTP_ENCRYPTION_KEY.")


payments_cli = AppGroup("payments", help="Card payments through Stripe.")


@payments_cli.command("retry")
def payments_retry() -> None:
    """Finish card payments left unfinished (a crash, or Stripe unreachable). Safe to re-run."""
    from app.services import card_payments

    if not card_payments.is_configured():
        raise click.ClickException("Card payments are not configured: set STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY.")
    with click.progressbar(length=0, label="Settling card bookings") as bar:
        count = card_payments.retry_unfinished(progress=bar.update)
    click.echo(f"Checked {count} card booking{'s' if count != 1 else ''}.")


@search_cli.command("rebuild")
def search_rebuild() -> None:
    """Rebuild the search index from the database (safe to re-run; searches carry on)."""
    from app.services import search

    with click.progressbar(length=1, label="Indexing listed services", show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, done, 1)
            bar.update(done - bar.pos)

        try:
            report = search.rebuild(progress=progress)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Indexed {report.documents:,} services in {report.seconds:.1f}s.")
    if report.pending_after:
        click.echo(f"{report.pending_after} changes made during the rebuild are still queued: run `flask search drain`.")


@search_cli.command("drain")
def search_drain() -> None:
    """Take queued changes into the search index now (normally automatic)."""
    from app.services import search

    report = search.drain(wait=60.0)
    if report.state == "missing":
        raise click.ClickException("There is no search index yet: run `flask search rebuild`.")
    if report.state == "busy":
        raise click.ClickException("Another process is writing the index: it will take the changes in.")
    if report.state == "unregistered":
        raise click.ClickException(
            "This index is not a live reader of the changes (built before readers existed, or unseen for a week): "
            "run `flask search rebuild`."
        )
    click.echo(f"Took in {report.entries} unread changes ({report.documents} services rewritten).")


@search_cli.command("status")
def search_status() -> None:
    """Say whether this host's search index is there and up to date, and list every host's index."""
    import json

    from app.services import search

    click.echo(json.dumps(search.index_status(current_app.config["SEARCH_INDEX_DIR"]), indent=2))


reports_cli = AppGroup("reports", help="The commissioners' market reports.")


@reports_cli.command("rebuild-spend")
def reports_rebuild_spend() -> None:
    """Write the spend facts the database is missing (after a restore). Safe to re-run."""
    from app.services import reports

    written = reports.rebuild_spend_facts()
    click.echo(f"Wrote {written} spend fact{'s' if written != 1 else ''}.")


payment_runs_cli = AppGroup("payment-runs", help="Paying providers for delivered care.")


@payment_runs_cli.command("prepare")
@click.option("--period-end", required=True, help="Last day of the payment period, YYYY-MM-DD.")
def payment_runs_prepare(period_end: str) -> None:
    """Prepare the payment run for a period (for a scheduler). A second person approves it.
    Re-running for the same period changes nothing."""
    from app.formatting import format_pence
    from app.services import payment_runs

    try:
        last_day = dt.date.fromisoformat(period_end)
    except ValueError:
        raise click.BadParameter("write the date as YYYY-MM-DD, like 2026-11-29", param_hint="--period-end") from None
    try:
        run = payment_runs.prepare(last_day, by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Payment run {run.id} for {run.starts_on.isoformat()} to {run.last_day.isoformat()}: {run.status.label.lower()}, "
        f"{run.visit_count} visits, {format_pence(run.net_pence)} to pay."
    )


audits_cli = AppGroup("audits", help="Proportionate audit of personal budgets.")


@audits_cli.command("sample")
@click.option("--year", required=True, type=int, help="The year to draw the sample for, like 2026.")
@click.option("--seed", type=int, default=None, help="Draw with this seed (to check a sample again); a new one is drawn otherwise.")
def audits_sample(year: int, seed: int | None) -> None:
    """Check every budget's balance for the year and draw its audit sample: a random share
    (the council's setting) plus every budget with a risk flag. Drawing a year again
    changes nothing and shows the sample drawn."""
    from app.services import audits

    try:
        sample = audits.draw(year, by=None, seed=seed)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    at_random = sum(1 for a in sample.audits if a.at_random)
    flagged = sum(1 for a in sample.audits if any(flag.code != audits.REQUESTED for flag in a.flags))
    asked = sum(1 for a in sample.audits if any(flag.code == audits.REQUESTED for flag in a.flags))
    checks = audits.checks_of(year)
    click.echo(
        f"Audit sample for {year}: {len(sample.audits)} of {sample.budgets_considered} budgets "
        f"({at_random} at random, {sample.share_percent}% with seed {sample.seed}; {flagged} with a risk flag; "
        f"{asked} finance checks asked for). "
        f"Balance checks: {len(checks)}, {sum(1 for c in checks if not c.balances)} that do not add up."
    )
    for picked in sample.audits:
        why = "; ".join([*(["drawn at random"] if picked.at_random else []), *(flag.reason for flag in picked.flags)])
        click.echo(f"  {picked.budget.public_id}: {why}")


reviews_cli = AppGroup("reviews", help="Reviews by the people who used a service.")


@reviews_cli.command("publish")
def reviews_publish() -> None:
    """Publish the reviews whose 7 days are up into search and the framework ranking (run it
    from cron every hour: running it twice, or two at once, counts each review once), then
    check every service's review totals against its reviews."""
    from app.services import reviews

    counted = reviews.publish_due()
    click.echo(f"Reviews published into search and ranking: {counted}.")
    wrong = reviews.totals_differ()
    for service_id, kept, found in wrong:
        click.echo(
            f"  service {service_id}: totals say {kept[0]} reviews adding up to {kept[1]}; "
            f"its reviews are {found[0]} adding up to {found[1]}"
        )
    if wrong:
        raise click.ClickException(f"{len(wrong)} services' review totals do not match their reviews")


bookings_cli = AppGroup("bookings", help="Bookings: requests the provider never answered.")


@bookings_cli.command("expire")
def bookings_expire() -> None:
    """Expire the booking requests no provider answered within the council's time: release
    their money and tell both sides (run it every hour; running it twice, or two at once,
    expires each request once)."""
    from app.services import bookings

    click.echo(f"Booking requests expired: {bookings.expire_unanswered()}.")


cqc_cli = AppGroup("cqc", help="CQC's own data: ratings, service user bands, deregistered locations.")


@cqc_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def cqc_import(file: str) -> None:
    """Import one of CQC's monthly files saved as CSV (the care directory with ratings, the
    care directory with filters, or deactivated locations): the ratings of the providers
    whose CQC location ids it has, with their history. Re-running the same file changes
    nothing; a file that is not one of CQC's is refused before anything changes."""
    from app.services import cqc

    with click.progressbar(length=1, label="Reading CQC's file", show_percent=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        try:
            summary = cqc.import_file(file, progress=progress)
        except cqc.WrongFile as exc:
            raise click.ClickException(f"{exc} Nothing was changed.") from exc
    for line in summary.lines():
        click.echo(line)


jobs_cli = AppGroup("jobs", help="The scheduled jobs the worker runs (see `flask worker`).")


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Jobs run at once (default JOBS_WORKER_THREADS, 4).")
def worker(threads: int | None) -> None:
    """Run every scheduled job on its schedule until stopped (Ctrl+C lets running jobs
    finish). Run one beside the web app; more are safe (each job runs on one at a time)."""
    from app.services import jobs
    from app.services.jobs import queue

    app = current_app._get_current_object()
    click.echo(f"Worker: {len(jobs.JOBS)} scheduled jobs, queue in {queue.storage_in_words(app)} (Ctrl+C to stop)")
    try:
        queue.run_worker(app, threads=threads or app.config["JOBS_WORKER_THREADS"])
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc


@jobs_cli.command("list")
def jobs_list() -> None:
    """Every scheduled job: when it runs, when next, and how its last run ended."""
    from app.formatting import format_datetime
    from app.services import jobs

    for status in jobs.statuses():
        last = status.last
        ended = f"last {last.outcome.label.lower()} {format_datetime(last.started_at)}: {last.summary}" if last else "never run"
        click.echo(
            f"{status.job.name:22} {status.job.schedule.words}; next {format_datetime(status.next_run)}; {ended}"
            + ("  [FAILING]" if status.failing else "")
        )


@jobs_cli.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run one job now, here (through its lease: if a worker is running it, this does nothing)."""
    from app.models import RunOutcome
    from app.services import jobs

    try:
        run = jobs.run(name, trigger="command")
    except DomainError:
        raise click.BadParameter(f"there is no job called {name!r}: `flask jobs list` names them", param_hint="NAME") from None
    click.echo(f"{name}: {run.outcome.label}. {run.summary}")
    if run.outcome is RunOutcome.FAILED:
        raise click.ClickException(run.error or "the job failed")


def register_cli(app: Flask) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(cqc_cli)
    app.cli.add_command(reviews_cli)
    app.cli.add_command(bookings_cli)
    app.cli.add_command(audits_cli)
    app.cli.add_command(payment_runs_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(budgets_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(accounts_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(reports_cli)
