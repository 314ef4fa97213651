from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user

from app.account import bp
from app.account.forms import (
    ChangePasswordForm,
    DetailsForm,
    InviteRepresentativeForm,
    TwoStepCodeForm,
    TwoStepOffForm,
    TwoStepSetupForm,
)
from app.extensions import limiter
from app.forms import ConfirmForm, apply_errors
from app.models import CitizenFunding, Role
from app.security import is_safe_redirect_target, role_required
from app.services import accounts, enquiries, invitations, mail, notifications, two_step, user_sessions
from app.services.errors import Conflict, ValidationError
from app.services.pagination import clamp_page

EMAIL_CHANGES_LIMIT = "5 per hour"


def _failed(response) -> bool:
    """Only wrong passwords and codes count towards the limit below."""
    return bool(g.get("attempt_failed"))


def _account_key() -> str:
    return f"account:{current_user.id}" if current_user.is_authenticated else f"address:{get_remote_address()}"


# Pages that check the password or a two-step code of someone already signed in (a stolen
# session must not be able to guess them): one limit for the account across all of them.
_secret_checks = limiter.shared_limit(
    "10 per 15 minutes", scope="account-secret-checks", key_func=_account_key, methods=["POST"], deduct_when=_failed
)


def _note_wrong_secret(exc: ValidationError, *fields: str) -> None:
    if any(field in exc.errors for field in fields):
        g.attempt_failed = True


@bp.get("/account")
def home():
    user = current_user
    return render_template(
        "account/home.html",
        user=user,
        two_step_required=two_step.is_required(user, current_app.config["DEMO_MODE"]),
        recovery_left=two_step.recovery_codes_left(user) if user.two_step_enabled else 0,
        session_count=len(user_sessions.active_for(user)),
        unread=notifications.unread_count(user),
        representatives=invitations.representations_of(user) if user.role is Role.CITIZEN else [],
        people=accounts.citizens_represented_by(user),
        enquiry_count=enquiries.unread_count_for_citizen_side(user) if user.role in (Role.CITIZEN, Role.REPRESENTATIVE) else 0,
        staff=accounts.staff_membership(user),
        pending_email=accounts.pending_email_change(user),
    )


def _email_change_sent(response) -> bool:
    return bool(g.get("email_change_sent"))


# Each request to change the email address emails the new address: a signed-in account (or
# a stolen session with the password) must not be able to send a stream of them to someone.
@bp.route("/account/details", methods=["GET", "POST"])
@_secret_checks
@limiter.limit(EMAIL_CHANGES_LIMIT, key_func=_account_key, methods=["POST"], deduct_when=_email_change_sent, scope="email-changes")
def details():
    user = current_user
    form = DetailsForm(obj=None if request.method == "POST" else user)
    if request.method == "GET":
        form.citizen_funding.data = user.citizen_funding.value if user.citizen_funding else "not_sure"
    if form.validate_on_submit():
        funding = None
        if user.role is Role.CITIZEN and form.citizen_funding.data in {f.value for f in CitizenFunding}:
            funding = CitizenFunding(form.citizen_funding.data)
        try:
            pending = accounts.update_details(
                user,
                name=form.name.data,
                email=form.email.data,
                citizen_funding=funding,
                current_password=form.current_password.data,
                confirm_link=lambda token: mail.link_for("auth.confirm_email", token=token),
                hours=current_app.config["EMAIL_CHANGE_HOURS"],
            )
        except ValidationError as exc:
            if exc.errors.get("current_password") == accounts.CURRENT_PASSWORD_WRONG:
                g.attempt_failed = True
            apply_errors(form, exc)
        else:
            if pending:
                g.email_change_sent = True
                return redirect(url_for("account.check_your_email"))
            flash("Your details have been saved.", "success")
            return redirect(url_for("account.home"))
    return render_template("account/details.html", form=form, is_citizen=user.role is Role.CITIZEN)


@bp.get("/account/email/check-your-email")
def check_your_email():
    pending = accounts.pending_email_change(current_user)
    if pending is None:
        return redirect(url_for("account.home"))
    return render_template("account/check_your_email.html", pending=pending, hours=current_app.config["EMAIL_CHANGE_HOURS"])


@bp.post("/account/email/cancel")
def cancel_email_change():
    if accounts.cancel_email_change(current_user):
        flash(f"The change of email address has been cancelled. Your email address is still {current_user.email}.", "success")
    return redirect(url_for("account.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@_secret_checks
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ended = accounts.change_password(
                current_user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
                current_token=current_user.get_id(),
            )
        except ValidationError as exc:
            _note_wrong_secret(exc, "current_password")
            apply_errors(form, exc)
        else:
            message = "Your password has been changed."
            if ended:
                message += f" You have been signed out on {ended} other device{'s' if ended != 1 else ''}."
            flash(message, "success")
            return redirect(url_for("account.home"))
    return render_template("account/change_password.html", form=form)


# -- Two-step verification -------------------------------------------------------------


def _pending_secret() -> str:
    """The secret being set up, derived from a nonce in the session (the secret itself
    never goes into the cookie)."""
    nonce = session.get("totp_setup_nonce")
    if not nonce:
        nonce = session["totp_setup_nonce"] = secrets.token_urlsafe(16)
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), f"totp:{current_user.id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


@bp.route("/account/two-step", methods=["GET", "POST"])
def two_step_setup():
    user = current_user
    demo = current_app.config["DEMO_MODE"]
    if user.two_step_enabled:
        return render_template(
            "account/two_step_status.html",
            required=two_step.is_required(user, demo),
            recovery_left=two_step.recovery_codes_left(user),
            codes_form=TwoStepCodeForm(),
        )
    form = TwoStepSetupForm()
    secret = _pending_secret()
    if form.validate_on_submit():
        try:
            codes = two_step.enable(user, secret, form.code.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            session.pop("totp_setup_nonce", None)
            return render_template("account/recovery_codes.html", codes=codes, first_time=True)
    uri = two_step.provisioning_uri(user, secret, current_app.config["SERVICE_NAME"])
    return render_template(
        "account/two_step_setup.html",
        form=form,
        qr_code=two_step.qr_code_svg(uri),
        secret=two_step.format_secret(secret),
        required=two_step.needs_setup(user, demo),
    )


@bp.post("/account/two-step/recovery-codes")
@_secret_checks
def recovery_codes():
    if not current_user.two_step_enabled:
        return redirect(url_for("account.two_step_setup"))
    form = TwoStepCodeForm()
    if form.validate_on_submit():
        try:
            codes = two_step.regenerate_recovery_codes(current_user, form.code.data)
        except ValidationError as exc:
            _note_wrong_secret(exc, "code")
            apply_errors(form, exc)
        else:
            return render_template("account/recovery_codes.html", codes=codes, first_time=False)
    return render_template(
        "account/two_step_status.html",
        required=two_step.is_required(current_user, current_app.config["DEMO_MODE"]),
        recovery_left=two_step.recovery_codes_left(current_user),
        codes_form=form,
        form=form,
    )


@bp.route("/account/two-step/turn-off", methods=["GET", "POST"])
@_secret_checks
def two_step_off():
    demo = current_app.config["DEMO_MODE"]
    if not current_user.two_step_enabled:
        return redirect(url_for("account.two_step_setup"))
    if two_step.is_required(current_user, demo):
        abort(404)
    form = TwoStepOffForm()
    if form.validate_on_submit():
        try:
            two_step.disable(current_user, password=form.password.data or "", code=form.code.data, demo_mode=demo)
        except ValidationError as exc:
            _note_wrong_secret(exc, "password", "code")
            apply_errors(form, exc)
        except Conflict as exc:
            flash(str(exc))
            return redirect(url_for("account.home"))
        else:
            flash("Two-step verification is off.", "success")
            return redirect(url_for("account.home"))
    return render_template("account/two_step_off.html", form=form)


# -- Where you are signed in -----------------------------------------------------------


@bp.get("/account/sessions")
def sessions():
    token = current_user.get_id()
    rows = user_sessions.active_for(current_user)
    return render_template(
        "account/sessions.html",
        rows=[(row, user_sessions.is_current(row, token)) for row in rows],
        confirm=ConfirmForm(),
    )


@bp.post("/account/sessions/sign-out-others")
def sign_out_others():
    count = accounts.sign_out_other_sessions(current_user, current_user.get_id())
    flash(
        f"You have been signed out on {count} other device{'s' if count != 1 else ''}."
        if count
        else "You were not signed in anywhere else.",
        "success",
    )
    return redirect(url_for("account.sessions"))


@bp.post("/account/sessions/sign-out-everywhere")
def sign_out_everywhere():
    accounts.sign_out_other_sessions(current_user, None)
    logout_user()
    session.clear()
    flash("You have been signed out everywhere, including here.", "success")
    return redirect(url_for("auth.sign_in"))


# -- Notifications ---------------------------------------------------------------------


@bp.get("/notifications")
def notification_list():
    page = notifications.for_user(current_user, clamp_page(request.args.get("page", type=int)))
    return render_template("account/notifications.html", page=page, unread=notifications.unread_count(current_user))


@bp.get("/notifications/<id:notification_id>")
def open_notification(notification_id: int):
    item = notifications.open_notification(current_user, notification_id)
    if item.link and is_safe_redirect_target(item.link):
        return redirect(item.link)
    return redirect(url_for("account.notification_list"))


@bp.post("/notifications/mark-all-read")
def mark_notifications_read():
    notifications.mark_all_read(current_user)
    flash("All notifications are marked as read.", "success")
    return redirect(url_for("account.notification_list"))


# -- Representatives (citizens) ----------------------------------------------------------


@bp.get("/account/representatives")
@role_required(Role.CITIZEN)
def representatives():
    return render_template(
        "account/representatives.html",
        rows=invitations.representations_of(current_user),
        pending=invitations.pending_for_citizen(current_user),
    )


@bp.route("/account/representatives/invite", methods=["GET", "POST"])
@role_required(Role.CITIZEN)
def invite_representative():
    form = InviteRepresentativeForm()
    if form.validate_on_submit():
        try:
            invitations.invite_representative(
                current_user,
                email=form.email.data,
                relationship=form.relationship.data,
                accept_link=lambda token: mail.link_for("auth.invitation", token=token),
                days=current_app.config["INVITATION_DAYS"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(
                f"We have emailed an invitation to {form.email.data.strip()}. "
                f"They can accept it within {current_app.config['INVITATION_DAYS']} days.",
                "success",
            )
            return redirect(url_for("account.representatives"))
    return render_template("account/invite_representative.html", form=form)


@bp.post("/account/representatives/<id:representation_id>/remove")
@role_required(Role.CITIZEN)
def remove_representative(representation_id: int):
    row = invitations.end_representation(current_user, representation_id)
    flash(f"{row.representative.name} can no longer act for you.", "success")
    return redirect(url_for("account.representatives"))


@bp.post("/account/representatives/invitations/<id:invitation_id>/cancel")
@role_required(Role.CITIZEN)
def cancel_representative_invitation(invitation_id: int):
    invitations.cancel_representative_invitation(current_user, invitation_id)
    flash("The invitation has been cancelled. Its link no longer works.", "success")
    return redirect(url_for("account.representatives"))


# -- The people a representative acts for ----------------------------------------------------


@bp.get("/account/people")
@role_required(Role.REPRESENTATIVE)
def people():
    return render_template("account/people.html", rows=invitations.representations_by(current_user))


@bp.post("/account/people/<id:representation_id>/stop")
@role_required(Role.REPRESENTATIVE)
def stop_representing(representation_id: int):
    row = invitations.end_representation(current_user, representation_id)
    flash(f"You no longer act for {row.citizen.name}.", "success")
    return redirect(url_for("account.people"))
