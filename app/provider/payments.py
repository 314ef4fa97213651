"""What the council paid the organisation (/provider/payments): every payment from a payment
run, and each one's remittance advice, visit by visit, on screen, as CSV and ready to print,
so no provider sends an invoice or chases one. Owners and managers only."""

from __future__ import annotations

from flask import Response, g, render_template

from app.models import OrgRole
from app.provider import bp
from app.services import payment_runs, team

NOT_A_MANAGER = "Only an owner or manager of your organisation can see its payments."


def _require_manager() -> None:
    """Staff members are sent back to the dashboard with a message, as for every other page
    only owners and managers may use (the blueprint turns NotAllowed into that)."""
    if g.staff.org_role.rank < OrgRole.MANAGER.rank:
        raise team.NotAllowed(NOT_A_MANAGER)


def _our_line(line_id: int):
    _require_manager()
    return payment_runs.line_for_provider(line_id, g.staff.provider_id)  # anyone else's: NotFound (404)


@bp.get("/payments")
def payments():
    _require_manager()
    provider = g.staff.provider
    return render_template("provider/payments.html", provider=provider, lines=payment_runs.paid_lines_for_provider(provider.id))


@bp.get("/payments/<id:line_id>")
def remittance(line_id: int):
    advice = payment_runs.remittance(_our_line(line_id))
    return render_template("provider/remittance.html", advice=advice, line=advice.line, run=advice.line.run)


@bp.get("/payments/<id:line_id>.csv")
def remittance_csv(line_id: int):
    advice = payment_runs.remittance(_our_line(line_id))
    name = f"remittance-{advice.line.reference.replace(' ', '-')}.csv"
    return Response(
        payment_runs.remittance_csv(advice), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
    )


@bp.get("/payments/<id:line_id>/print")
def remittance_print(line_id: int):
    advice = payment_runs.remittance(_our_line(line_id))
    return render_template("provider/remittance_print.html", advice=advice, line=advice.line, run=advice.line.run)
