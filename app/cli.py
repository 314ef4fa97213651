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
    click.echo(f"Took in {report.entries} queued changes ({report.documents} services rewritten).")


@search_cli.command("status")
def search_status() -> None:
    """Say whether the search index is there and up to date."""
    import json

    from app.services import search

    click.echo(json.dumps(search.index_status(current_app.config["SEARCH_INDEX_DIR"]), indent=2))


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_cli)
    app.cli.add_command(search_cli)
