from __future__ import annotations

import time

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from app.auth import bp
from app.auth.forms import (
    AcceptInvitationForm,
    ForgotPasswordForm,
    ProviderSignUpForm,
    RegisterForm,
    ResetPasswordForm,
    SignInForm,
    TwoStepForm,
)
from app.extensions import limiter
from app.forms import ConfirmForm, apply_errors
from app.models import CitizenFunding, InvitationKind
from app.security import home_url_for, is_safe_redirect_target
from app.services import accounts, demo, invitations, mail, provider_accounts, two_step
from app.services.errors import Conflict, ValidationError

TWO_STEP_SECONDS = 10 * 60  # how long the code page waits after the password


def _failed(response) -> bool:
    """Count only failed attempts towards the sign-in limits."""
    return bool(g.get("attempt_failed"))


def _posted_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _email_key() -> str:
    return "email:" + _posted_email()


def _account_at_address_key() -> str:
    return f"email-at:{get_remote_address()}:{_posted_email()}"


def _unlocked_here() -> bool:
    """The account's owner opened the link we emailed them, in this browser."""
    return bool(_posted_email()) and session.get("unlocked_email") == _posted_email()


def _account_paused(limit) -> None:
    """Sign-in to one account is paused by failures from many addresses: its owner (if it
    has one) is emailed a link to sign in anyway, and the 429 page says so."""
    accounts.send_unlock_link(_posted_email(), link=lambda token: mail.link_for("auth.unlock", token=token))
    g.paused_account = True


def _pending_user_key() -> str:
    pending = session.get("two_step") or {}
    return f"two-step:{pending.get('user_id', get_remote_address())}"


def _next_target() -> str | None:
    target = request.values.get("next")
    return target if is_safe_redirect_target(target) else None


def _client() -> tuple[str, str]:
    return get_remote_address() or "", request.headers.get("User-Agent", "")


def _finish_sign_in(user, next_target: str | None):
    """Password (and code, if needed) accepted: a fresh session for a fresh sign-in."""
    session.clear()
    ip, agent = _client()
    accounts.complete_sign_in(user, ip, agent)
    login_user(user)
    if two_step.needs_setup(user, current_app.config["DEMO_MODE"]):
        return redirect(url_for("account.two_step_setup"))
    return redirect(next_target or home_url_for(user))


# Failed sign-ins are limited so that nobody can lock a person out of their own account:
# guesses at one account from one address (the 10 that lock only that address out of it);
# guesses from one address at any accounts (a spray, but room for a busy office); and
# guesses at one account from everywhere (a spread attack), from which the owner is let out
# by an emailed link. Successful sign-ins never count.
@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("100 per 15 minutes", methods=["POST"], deduct_when=_failed, key_func=get_remote_address)
@limiter.limit("10 per 15 minutes", methods=["POST"], deduct_when=_failed, key_func=_account_at_address_key)
@limiter.limit(
    "50 per hour", methods=["POST"], deduct_when=_failed, key_func=_email_key, exempt_when=_unlocked_here, on_breach=_account_paused
)
def sign_in():
    if current_user.is_authenticated:
        return redirect(_next_target() or home_url_for(current_user))
    form = SignInForm()
    if form.validate_on_submit():
        ip, _ = _client()
        try:
            user = accounts.authenticate(form.email.data, form.password.data, ip)
        except accounts.SignInFailed as exc:
            g.attempt_failed = True
            apply_errors(form, ValidationError({"email": str(exc)}))
        except accounts.AccountDeactivated as exc:
            apply_errors(form, ValidationError({"email": str(exc)}))
        else:
            if user.two_step_enabled:
                session.clear()
                session["two_step"] = {"user_id": user.id, "started": int(time.time()), "next": _next_target()}
                return redirect(url_for("auth.two_step_code"))
            return _finish_sign_in(user, _next_target())
    elif request.method == "POST":
        g.attempt_failed = True
    demo_people = demo.sign_in_people() if current_app.config["DEMO_MODE"] else None
    return render_template("auth/sign_in.html", form=form, next=_next_target(), demo_people=demo_people, demo_password=demo.DEMO_PASSWORD)


@bp.get("/sign-in/unlock/<token>")
def unlock(token: str):
    user = accounts.user_for_unlock_token(token)
    if user is None:
        return render_template("auth/link_not_valid.html"), 404
    session["unlocked_email"] = user.email
    flash("You can sign in from this browser now. Sign in with your email address and password as usual.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-in/two-step", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"], deduct_when=_failed, key_func=_pending_user_key)
def two_step_code():
    pending = session.get("two_step")
    if not pending or time.time() - pending.get("started", 0) > TWO_STEP_SECONDS:
        session.pop("two_step", None)
        flash("For your security, you need to enter your email address and password again.")
        return redirect(url_for("auth.sign_in"))
    user = accounts.get_user(pending["user_id"])
    form = TwoStepForm()
    if form.validate_on_submit():
        kind = two_step.verify(user, form.code.data)
        if kind is None:
            g.attempt_failed = True
            apply_errors(form, ValidationError({"code": two_step.CODE_WRONG}))
        else:
            response = _finish_sign_in(user, pending.get("next"))
            if kind == "recovery":
                left = two_step.recovery_codes_left(user)
                flash(f"You used a recovery code. You have {left} left. If you have lost your phone, set up two-step verification again.")
            return response
    elif request.method == "POST":
        g.attempt_failed = True
    return render_template("auth/two_step.html", form=form)


@bp.post("/sign-out")
def sign_out():
    form = ConfirmForm()
    if not form.validate_on_submit():  # pragma: no cover - CSRF errors are handled before this
        return redirect(url_for("public.home"))
    if current_user.is_authenticated:
        accounts.sign_out(current_user, current_user.get_id())
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], key_func=get_remote_address)
def register():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        funding = None if form.citizen_funding.data == "not_sure" else CitizenFunding(form.citizen_funding.data)
        try:
            user = accounts.register_citizen(
                name=form.name.data, email=form.email.data, password=form.password.data, citizen_funding=funding, ip_address=_client()[0]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            response = _finish_sign_in(user, None)
            flash("Your account has been created.", "success")
            return response
    return render_template("auth/register.html", form=form)


@bp.route("/register/provider", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], key_func=get_remote_address)
def register_provider():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = ProviderSignUpForm()
    if form.validate_on_submit():
        profile = provider_accounts.ProfileInput(
            name=form.name.data,
            legal_name=form.legal_name.data,
            description=form.description.data,
            email=form.email.data,
            phone=form.phone.data,
            base_postcode=form.base_postcode.data,
            cqc_provider_id=form.cqc_provider_id.data,
            cqc_location_id=form.cqc_location_id.data,
        )
        try:
            user, provider = provider_accounts.sign_up(
                your_name=form.your_name.data,
                your_email=form.your_email.data,
                password=form.password.data,
                profile=profile,
                ip_address=_client()[0],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            response = _finish_sign_in(user, url_for("provider.dashboard"))
            flash(f"{provider.name} has been signed up. The council will check your details before your listings appear.", "success")
            return response
    return render_template("auth/register_provider.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], key_func=get_remote_address)
@limiter.limit("3 per hour", methods=["POST"], key_func=_email_key)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            email = accounts.normalise_email(form.email.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            accounts.request_password_reset(
                email,
                lambda token: mail.link_for("auth.reset_password", token=token),
                hours=current_app.config["PASSWORD_RESET_HOURS"],
            )
            return render_template("auth/forgot_password_sent.html", email=email, hours=current_app.config["PASSWORD_RESET_HOURS"])
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=get_remote_address)
def reset_password(token: str):
    try:
        row = accounts.check_password_token(token)
    except accounts.InvalidToken:
        return render_template("auth/link_not_valid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except accounts.InvalidToken:
            return render_template("auth/link_not_valid.html"), 404
        else:
            logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.sign_in"))
    return render_template("auth/reset_password.html", form=form, email=row.user.email, new_account=row.user.password_hash is None)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link sent to a new email address. Opening it shows a button (mail scanners that
    follow links must not make the change); pressing it makes the change."""
    try:
        row = accounts.check_email_change_token(token)
    except accounts.InvalidToken:
        return render_template("auth/email_link_not_valid.html"), 404
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/confirm_email.html", form=form, new_email=row.new_email)
    mine = current_user.is_authenticated and current_user.id == row.user_id
    try:
        user, _ended = accounts.confirm_email_change(token, current_token=current_user.get_id() if mine else None)
    except accounts.InvalidToken:
        return render_template("auth/email_link_not_valid.html"), 404
    except accounts.EmailTaken as exc:
        return render_template("auth/email_not_changed.html", message=str(exc)), 409
    flash(f"Your email address is now {user.email}. We have told your old address.", "success")
    if mine:
        return redirect(url_for("account.home"))
    return redirect(url_for("auth.sign_in"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=get_remote_address)
def invitation(token: str):
    try:
        invite = invitations.open_invitation(token)
    except invitations.InvitationNotValid:
        return render_template("auth/invitation_not_valid.html"), 404
    account_exists = accounts.user_by_email(invite.email) is not None
    problem = invitations.why_cannot_accept(invite, current_user) if current_user.is_authenticated else invitations.claim_problem(invite)
    accept_form = ConfirmForm()
    new_account_form = AcceptInvitationForm()
    if request.method == "POST":
        if current_user.is_authenticated:
            if accept_form.validate_on_submit() and problem is None:
                try:
                    invitations.accept(token, current_user)
                except (Conflict, invitations.InvitationNotValid) as exc:
                    flash(str(exc))
                    return redirect(url_for("auth.invitation", token=token))
                return _after_accepting(invite)
        elif not account_exists and problem is None and new_account_form.validate_on_submit():
            try:
                user = invitations.accept_with_new_account(token, name=new_account_form.name.data, password=new_account_form.password.data)
            except ValidationError as exc:
                apply_errors(new_account_form, exc)
            except (Conflict, invitations.InvitationNotValid) as exc:
                flash(str(exc))
                return redirect(url_for("auth.invitation", token=token))
            else:
                _finish_sign_in(user, None)
                return _after_accepting(invite)
    return render_template(
        "auth/invitation.html",
        invite=invite,
        token=token,
        account_exists=account_exists,
        problem=problem,
        accept_form=accept_form,
        form=new_account_form,
        is_representative=invite.kind is InvitationKind.REPRESENTATIVE,
    )


def _after_accepting(invite):
    if invite.kind is InvitationKind.REPRESENTATIVE:
        flash(f"You can now act for {invite.citizen.name}.", "success")
        return redirect(url_for("account.people"))
    flash(f"You have joined {invite.provider.name}.", "success")
    return redirect(url_for("provider.dashboard"))
