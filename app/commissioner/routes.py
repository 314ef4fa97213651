from __future__ import annotations

import csv
import io
import json

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.commissioner.forms import (
    ApproveForm,
    AuditFilterForm,
    EditLotForm,
    FrameworkForm,
    LotForm,
    ReasonForm,
    SettingsForm,
    VerifyForm,
)
from app.database import utcnow
from app.forms import ConfirmForm, apply_errors
from app.models import ProviderStatus, Role, RunStatus
from app.models.frameworks import DEFAULT_PRICE_WEIGHT, DEFAULT_QUALITY_WEIGHT, DEFAULT_REVIEW_MINIMUM, DEFAULT_REVIEW_WEIGHT
from app.presenters import audit as audit_presenter
from app.presenters import ranking as ranking_presenter
from app.presenters.csv_export import safe_row
from app.services import (
    audit,
    audits,
    card_payments,
    council,
    cqc,
    delivery,
    frameworks,
    listings,
    payment_runs,
    reviews,
    team,
    verification,
)
from app.services.errors import Conflict, ValidationError
from app.services.pagination import clamp_page
from app.services.payment_runs import bank_accounts
from app.uk_time import uk_today


def _page() -> int:
    return clamp_page(request.args.get("page", type=int))


@bp.get("")
def dashboard():
    return render_template(
        "commissioner/dashboard.html",
        counts=verification.counts(),
        frameworks=frameworks.frameworks(),
        waiting=_payments_waiting(),
        quality=_quality_waiting(),
    )


def _payments_waiting() -> list[tuple[str, int, str]]:
    """What waits for the council before providers are paid: (what, how many, where)."""
    waiting_approval = [run for run in payment_runs.all_runs() if run.status is RunStatus.PREPARED]
    hours = int(delivery.UNRECORDED_AFTER.total_seconds() // 3600)
    return [
        ("Payment runs to approve", len(waiting_approval), url_for("commissioner.payment_runs")),
        ("Visit times outside the tolerance", len(delivery.open_exceptions()), url_for("commissioner.visits", _anchor="exceptions")),
        ("Disputed visits", len(delivery.open_disputes()), url_for("commissioner.visits", _anchor="disputes")),
        (
            f"Visits not recorded after {hours} hours",
            len(delivery.unrecorded_visits()),
            url_for("commissioner.visits", _anchor="unrecorded"),
        ),
        ("Bank details to confirm", len(bank_accounts.pending_confirmations()), url_for("commissioner.bank_details")),
        *_clearing_waiting(),
    ]


def _clearing_waiting() -> list[tuple[str, int, str]]:
    """Money decisions are commissioners' own: admins are not shown the card clearing page."""
    if current_user.role is not Role.COMMISSIONER:
        return []
    return [("Card money in clearing for over a day", len(card_payments.in_card_clearing().items), url_for("commissioner.card_clearing"))]


def _quality_waiting() -> list[tuple[str, int, str]]:
    sample = audits.sample_for(uk_today(utcnow()).year)
    return [
        ("Reviews reported by providers", len(reviews.open_reports()), url_for("commissioner.reported_reviews")),
        ("Budgets in this year's audit sample", len(sample.audits) if sample else 0, url_for("commissioner.audit_sample")),
    ]


# -- Providers ---------------------------------------------------------------------------


@bp.get("/providers")
def providers():
    status_text = request.args.get("status", "pending")
    status = None if status_text == "all" else next((s for s in ProviderStatus if s.value == status_text), ProviderStatus.PENDING)
    text = (request.args.get("q") or "").strip()[:100]
    page = verification.providers(status, text or None, _page())
    return render_template(
        "commissioner/providers.html",
        page=page,
        status=status,
        q=text,
        counts=verification.counts(),
        cqc_last=cqc.last_import(),
        cqc_deregistered=len(cqc.flagged_providers()),
    )


@bp.get("/providers/<id:provider_id>")
def provider(provider_id: int):
    item = verification.get_provider(provider_id)
    services = listings.services_of(item)
    history = audit.search(audit.AuditFilter(target_type="provider", target_id=str(item.id)), 1, 20)
    return render_template(
        "commissioner/provider.html",
        provider=item,
        services=services,
        members=team.members(item),
        history=history.items,
        cqc_history=cqc.rating_history(item),
        cqc_deregistration=cqc.deregistration_of(item),
        confirm=ConfirmForm(),
    )


@bp.route("/providers/<id:provider_id>/verify", methods=["GET", "POST"])
def verify(provider_id: int):
    item = verification.get_provider(provider_id)
    form = VerifyForm()
    if request.method == "GET":
        form.cqc_provider_id.data = item.cqc_provider_id
        form.cqc_location_id.data = item.cqc_location_id
        form.regulated.data = "yes" if item.cqc_location_id else None
    if form.validate_on_submit():
        try:
            verification.verify(
                current_user,
                item,
                regulated=form.regulated.data == "yes",
                cqc_provider_id=form.cqc_provider_id.data,
                cqc_location_id=form.cqc_location_id.data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("commissioner.provider", provider_id=item.id))
        else:
            flash(f"{item.name} is verified. Its published listings now appear on the marketplace.", "success")
            return redirect(url_for("commissioner.providers"))
    return render_template("commissioner/verify.html", form=form, provider=item, same_id=verification.same_location_id(item))


def _reason_page(provider_id: int, action: str):
    item = verification.get_provider(provider_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            getattr(verification, action)(current_user, item, form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("commissioner.provider", provider_id=item.id))
        else:
            flash(f"{item.name} has been {'rejected' if action == 'reject' else 'suspended'}. Its team has been told why.", "success")
            return redirect(url_for("commissioner.provider", provider_id=item.id))
    return render_template("commissioner/reason.html", form=form, provider=item, action=action)


@bp.route("/providers/<id:provider_id>/reject", methods=["GET", "POST"])
def reject(provider_id: int):
    return _reason_page(provider_id, "reject")


@bp.route("/providers/<id:provider_id>/suspend", methods=["GET", "POST"])
def suspend(provider_id: int):
    return _reason_page(provider_id, "suspend")


@bp.post("/providers/<id:provider_id>/reinstate")
def reinstate(provider_id: int):
    item = verification.get_provider(provider_id)
    try:
        verification.reinstate(current_user, item)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash(f"{item.name} has been reinstated.", "success")
    return redirect(url_for("commissioner.provider", provider_id=item.id))


# -- Framework --------------------------------------------------------------------------


@bp.get("/framework")
def framework():
    return render_template("commissioner/framework.html", frameworks=frameworks.frameworks())


@bp.route("/framework/new", methods=["GET", "POST"])
def new_framework():
    form = FrameworkForm()
    if form.validate_on_submit():
        try:
            item = frameworks.create_framework(
                current_user,
                name=form.name.data,
                description=form.description.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"{item.name} has been created. Add its lots next.", "success")
            return redirect(url_for("commissioner.framework"))
    return render_template("commissioner/framework_form.html", form=form)


@bp.route("/framework/<id:framework_id>/lots/new", methods=["GET", "POST"])
def new_lot(framework_id: int):
    item = frameworks.get_framework(framework_id)
    form = LotForm()
    form.category_id.choices = [(0, "Select a kind of care or support")] + [(c.id, c.name) for c in frameworks.categories_without_lot(item)]
    if request.method == "GET":
        form.quality_weight.data, form.price_weight.data = DEFAULT_QUALITY_WEIGHT, DEFAULT_PRICE_WEIGHT
        form.review_weight.data, form.review_minimum.data = DEFAULT_REVIEW_WEIGHT, DEFAULT_REVIEW_MINIMUM
    if form.validate_on_submit():
        try:
            lot = frameworks.create_lot(
                current_user,
                item,
                category_id=form.category_id.data or None,
                name=form.name.data,
                quality_weight=form.quality_weight.data,
                price_weight=form.price_weight.data,
                review_weight=form.review_weight.data,
                review_minimum=form.review_minimum.data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"The {lot.name} lot has been added.", "success")
            return redirect(url_for("commissioner.lot", lot_id=lot.id))
    return render_template("commissioner/lot_form.html", form=form, framework=item, lot=None)


@bp.get("/framework/lots/<id:lot_id>")
def lot(lot_id: int):
    item = frameworks.get_lot(lot_id)
    return render_template(
        "commissioner/lot.html",
        lot=item,
        memberships=frameworks.memberships(item),
        ranking=ranking_presenter.lot_ranking(item.id),
        confirm=ConfirmForm(),
    )


@bp.route("/framework/lots/<id:lot_id>/edit", methods=["GET", "POST"])
def edit_lot(lot_id: int):
    item = frameworks.get_lot(lot_id)
    form = EditLotForm(obj=item if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            frameworks.update_lot(
                current_user,
                item,
                name=form.name.data,
                quality_weight=form.quality_weight.data,
                price_weight=form.price_weight.data,
                review_weight=form.review_weight.data,
                review_minimum=form.review_minimum.data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"The {item.name} lot has been saved. Its ranking uses the new weights from now on.", "success")
            return redirect(url_for("commissioner.lot", lot_id=item.id))
    return render_template("commissioner/lot_form.html", form=form, framework=item.framework, lot=item)


@bp.route("/framework/lots/<id:lot_id>/approve", methods=["GET", "POST"])
def approve(lot_id: int):
    item = frameworks.get_lot(lot_id)
    form = ApproveForm()
    chosen = request.args.get("provider", type=int)
    candidates = frameworks.candidates(item)
    suspended = [m.provider for m in frameworks.memberships(item) if not m.is_approved]
    form.provider_id.choices = (
        [(0, "Select a provider")]
        + [(p.id, p.name) for p in candidates]
        + [(p.id, f"{p.name} (suspended: lift the suspension)") for p in suspended]
    )
    if request.method == "GET" and chosen:
        form.provider_id.data = chosen
    if form.validate_on_submit():
        try:
            membership = frameworks.approve(current_user, item, form.provider_id.data or None, form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            apply_errors(form, ValidationError({"provider_id": str(exc)}))
        else:
            flash(f"{membership.provider.name} is approved on {item.name}.", "success")
            return redirect(url_for("commissioner.lot", lot_id=item.id))
    return render_template("commissioner/approve.html", form=form, lot=item)


@bp.route("/framework/lots/<id:lot_id>/memberships/<id:membership_id>/suspend", methods=["GET", "POST"])
def suspend_membership(lot_id: int, membership_id: int):
    item = frameworks.get_lot(lot_id)
    membership = frameworks.get_membership(item, membership_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            frameworks.suspend(current_user, membership, form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("commissioner.lot", lot_id=item.id))
        else:
            flash(f"{membership.provider.name} is suspended on {item.name}.", "success")
            return redirect(url_for("commissioner.lot", lot_id=item.id))
    return render_template("commissioner/suspend_membership.html", form=form, lot=item, membership=membership)


# -- Council settings ---------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    current = council.current()
    form = SettingsForm()
    if request.method == "GET":
        form.name.data, form.contact_email.data, form.contact_phone.data = current.name, current.contact_email, current.contact_phone
        form.address.data, form.website.data, form.districts.data = current.address, current.website, ", ".join(current.districts)
        form.security_contact.data = current.security_contact
        form.cancellation_notice_hours.data = current.cancellation_notice_hours
        form.request_expiry_hours.data = current.request_expiry_hours
        form.show_payment_settings(current)
    if form.validate_on_submit():
        try:
            council.update(
                current_user,
                name=form.name.data,
                contact_email=form.contact_email.data,
                contact_phone=form.contact_phone.data,
                address=form.address.data,
                website=form.website.data,
                security_contact=form.security_contact.data,
                districts_text=form.districts.data,
                cancellation_notice_hours=form.cancellation_notice_hours.data,
                request_expiry_hours=form.request_expiry_hours.data if form.request_expiry_hours.raw_data else None,
                **form.payment_settings(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The council's settings have been saved.", "success")
            return redirect(url_for("commissioner.settings"))
    return render_template("commissioner/settings.html", form=form)


# -- Audit trail --------------------------------------------------------------------------


def _audit_filters() -> tuple[AuditFilterForm, audit.AuditFilter]:
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "Any action")] + [(a, audit.ACTIONS.get(a, a)) for a in audit.recorded_actions()]
    form.target_type.choices = [("", "Anything")] + [(t, t.replace("_", " ").capitalize()) for t in audit.target_types()]
    valid = form.validate() if request.args else True
    filters = audit.AuditFilter(
        action=form.action.data or None,
        actor=(form.actor.data or "").strip()[:100] or None,
        target_type=form.target_type.data or None,
        target_id=(form.target_id.data or "").strip()[:60] or None,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
    )
    return form, filters


@bp.get("/audit")
def audit_trail():
    form, filters = _audit_filters()
    page = audit.search(filters, _page())
    return render_template(
        "commissioner/audit.html", filter_form=form, page=page, actions=audit.ACTIONS, changes=audit_presenter.changes_by_event(page.items)
    )


@bp.get("/audit.csv")
def audit_csv():
    _, filters = _audit_filters()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "when (UTC)", "who", "action", "about", "record", "before", "after", "note", "address"])
    page_number = 1
    while True:
        page = audit.search(filters, page_number, 500)
        for e in page.items:
            # Every text column is guarded: the record and the address can hold what
            # someone typed (a burst of failed sign-ins records the email they tried).
            writer.writerow(
                safe_row(
                    [
                        e.id,
                        e.occurred_at.isoformat(),
                        e.actor_label,
                        e.action,
                        e.target_type,
                        e.target_id or "",
                        json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                        json.dumps(e.after, sort_keys=True) if e.after is not None else "",
                        e.note or "",
                        e.ip_address or "",
                    ]
                )
            )
        if not page.has_next or page_number >= 200:
            break
        page_number += 1
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})
