from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.admin.forms import CouncilUserForm, DeactivateForm, RoleForm
from app.forms import ConfirmForm, apply_errors
from app.models import EmailStatus, Role
from app.services import accounts, jobs, mail, two_step, user_sessions
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.pagination import clamp_page


def _page() -> int:
    return clamp_page(request.args.get("page", type=int))


@bp.get("")
def dashboard():
    return render_template("admin/dashboard.html")


@bp.get("/users")
def users():
    role_text = request.args.get("role", "")
    role = next((r for r in Role if r.value == role_text), None)
    q = (request.args.get("q") or "").strip()[:100]
    return render_template("admin/users.html", page=accounts.search_users(q or None, role, _page()), q=q, role=role, roles=list(Role))


@bp.get("/users/<id:user_id>")
def user(user_id: int):
    person = accounts.get_user(user_id)
    return render_template(
        "admin/user.html",
        person=person,
        sessions=user_sessions.active_for(person),
        staff=accounts.staff_membership(person),
        represented=accounts.citizens_represented_by(person),
        representatives=accounts.representatives_of(person) if person.role is Role.CITIZEN else [],
        two_step_required=two_step.is_required(person, current_app.config["DEMO_MODE"]),
        confirm=ConfirmForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_council_user():
    form = CouncilUserForm()
    if form.validate_on_submit():
        try:
            person = accounts.create_council_user(
                current_user,
                name=form.name.data,
                email=form.email.data,
                role=Role(form.role.data),
                set_password_link=lambda token: mail.link_for("auth.reset_password", token=token),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"{person.name}'s account has been created. We have emailed them a link to choose a password.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/new_user.html", form=form)


@bp.route("/users/<id:user_id>/role", methods=["GET", "POST"])
def change_role(user_id: int):
    person = accounts.get_user(user_id)
    if person.role not in accounts.COUNCIL_ROLES or person.id == current_user.id:
        raise NotFound("Role cannot be changed here")
    form = RoleForm(data={"role": person.role.value} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            accounts.change_role(current_user, person, Role(form.role.data))
        except Conflict as exc:
            apply_errors(form, ValidationError({"role": str(exc)}))
        else:
            flash(f"{person.name} is now {person.role.value}. They have been signed out.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/role.html", form=form, person=person)


@bp.route("/users/<id:user_id>/deactivate", methods=["GET", "POST"])
def deactivate(user_id: int):
    person = accounts.get_user(user_id)
    if person.id == current_user.id:
        raise NotFound("You cannot deactivate yourself")
    form = DeactivateForm()
    if form.validate_on_submit():
        try:
            accounts.set_active(current_user, person, False, form.reason.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"{person.name}'s account is deactivated and they have been signed out everywhere.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return render_template("admin/deactivate.html", form=form, person=person)


@bp.post("/users/<id:user_id>/reactivate")
def reactivate(user_id: int):
    person = accounts.get_user(user_id)
    accounts.set_active(current_user, person, True, "")
    flash(f"{person.name}'s account is active again.", "success")
    return redirect(url_for("admin.user", user_id=person.id))


# -- Email outbox -------------------------------------------------------------------------


@bp.get("/emails")
def emails():
    status_text = request.args.get("status", "")
    status = next((s for s in EmailStatus if s.value == status_text), None)
    return render_template(
        "admin/emails.html",
        page=mail.outbox(_page(), status),
        status=status,
        statuses=list(EmailStatus),
        backend=current_app.config["MAIL_BACKEND"],
        confirm=ConfirmForm(),
    )


@bp.get("/emails/<id:email_id>")
def email(email_id: int):
    item = mail.get_email(email_id)
    # In production the body may hold someone's sign-in link: only the log sender
    # (development and demo) shows it.
    return render_template("admin/email.html", email=item, show_body=current_app.config["MAIL_BACKEND"] == "log")


@bp.post("/emails/send")
def send_emails():
    mail.recover_stuck()
    report = mail.deliver_pending(limit=200)
    flash(
        f"Sent {len(report.sent)} email{'s' if len(report.sent) != 1 else ''}; "
        f"{len(report.failed)} will be retried; {len(report.gave_up)} failed for good.",
        "success",
    )
    return redirect(url_for("admin.emails"))


# -- Scheduled jobs ------------------------------------------------------------------------


@bp.get("/jobs")
def jobs_page():
    return render_template("admin/jobs.html", statuses=jobs.statuses())


@bp.post("/jobs/<name>/run")
def run_job(name: str):
    job = jobs.request_run(current_user, name)
    flash(f"“{job.label}” has been handed to the worker to run now: its result shows here once it has run.", "success")
    return redirect(url_for("admin.jobs_page"))
