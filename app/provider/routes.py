from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.forms import ConfirmForm, apply_errors
from app.models import WEEKDAYS, OrgRole
from app.presenters import ranking as ranking_presenter
from app.provider import bp
from app.provider.forms import BankHolidayForm, ClosureForm, HoursForm, InviteForm, ListingForm, ProfileForm, ReplyForm, RoleForm
from app.services import catalogue, enquiries, invitations, listings, mail, provider_accounts, provider_contact, reviews, team
from app.services.errors import Conflict, DomainError, ValidationError
from app.services.pagination import clamp_page


def _provider():
    return g.staff.provider


def _may(action: str) -> bool:
    return team.may(g.staff, action)


def _deny_unless(action: str) -> None:
    team.require(g.staff, action)


@bp.errorhandler(team.NotAllowed)
def _not_allowed(error):
    flash(str(error))
    return redirect(url_for("provider.dashboard"))


@bp.get("")
def dashboard():
    if g.staff is None:
        return render_template("provider/no_organisation.html")
    provider = _provider()
    services = listings.services_of(provider)
    return render_template(
        "provider/dashboard.html",
        provider=provider,
        staff=g.staff,
        services=services,
        ranks=ranking_presenter.ranks_for(services),
        waiting=enquiries.waiting_count(provider),
        times=enquiries.response_times(provider),
        review_counts=reviews.provider_counts(provider.id),
        confirm=ConfirmForm(),
        may_edit=_may("edit_profile"),
    )


@bp.post("/resubmit")
def resubmit():
    try:
        provider_accounts.resubmit(current_user, _provider())
    except Conflict as exc:
        flash(str(exc))
    else:
        flash("Thank you. The council will check your organisation again.", "success")
    return redirect(url_for("provider.dashboard"))


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    provider = _provider()
    _deny_unless("edit_profile")
    form = ProfileForm()
    form.areas.choices = [(d.outward_code, f"{d.outward_code} ({d.post_town})") for d in provider_accounts.districts()]
    cqc_editable = provider_accounts.cqc_ids_editable(provider)
    if request.method == "GET":
        data = provider_accounts.profile_input(provider)
        for name in ProfileForm.__dict__:
            if hasattr(data, name) and name in form._fields:
                form[name].data = getattr(data, name)
    if form.validate_on_submit():
        data = provider_accounts.ProfileInput(
            name=form.name.data,
            legal_name=form.legal_name.data,
            description=form.description.data,
            email=form.email.data,
            phone=form.phone.data,
            website=form.website.data,
            address_line1=form.address_line1.data,
            address_line2=form.address_line2.data,
            town=form.town.data,
            base_postcode=form.base_postcode.data,
            areas=form.areas.data or [],
            service_radius_miles=form.service_radius_miles.data,
            cqc_provider_id=form.cqc_provider_id.data if cqc_editable else provider.cqc_provider_id,
            cqc_location_id=form.cqc_location_id.data if cqc_editable else provider.cqc_location_id,
        )
        try:
            provider_accounts.update_profile(current_user, provider, data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("Your organisation's profile has been saved.", "success")
            return redirect(url_for("provider.dashboard"))
    return render_template("provider/profile.html", form=form, provider=provider, cqc_editable=cqc_editable)


# -- Team ------------------------------------------------------------------------------


@bp.get("/team")
def team_list():
    provider = _provider()
    return render_template(
        "provider/team.html",
        provider=provider,
        members=team.members(provider),
        pending=invitations.pending_for_provider(provider),
        may_manage=_may("manage_team"),
        is_owner=g.staff.org_role is OrgRole.OWNER,
    )


@bp.route("/team/invite", methods=["GET", "POST"])
def invite():
    provider = _provider()
    _deny_unless("manage_team")
    form = InviteForm()
    if g.staff.org_role is not OrgRole.OWNER:
        form.org_role.choices = [(OrgRole.STAFF.value, OrgRole.STAFF.label)]
    if form.validate_on_submit():
        try:
            invitations.invite_staff(
                current_user,
                provider,
                email=form.email.data,
                org_role=OrgRole(form.org_role.data),
                accept_link=lambda token: mail.link_for("auth.invitation", token=token),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except Conflict as exc:
            apply_errors(form, ValidationError({"org_role": str(exc)}))
        else:
            flash(f"We have emailed an invitation to {form.email.data.strip()}.", "success")
            return redirect(url_for("provider.team_list"))
    return render_template("provider/invite.html", form=form, provider=provider, roles=list(OrgRole))


@bp.route("/team/<id:member_id>/role", methods=["GET", "POST"])
def change_member_role(member_id: int):
    provider = _provider()
    _deny_unless("manage_team")
    member = team.get_member(provider, member_id)
    form = RoleForm(data={"org_role": member.org_role.value} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            team.change_role(current_user, provider, member_id, OrgRole(form.org_role.data))
        except Conflict as exc:
            apply_errors(form, ValidationError({"org_role": str(exc)}))
        else:
            flash(f"{member.user.name} is now {OrgRole(form.org_role.data).label.lower()}.", "success")
            return redirect(url_for("provider.team_list"))
    return render_template("provider/member_role.html", form=form, member=member, roles=list(OrgRole))


@bp.post("/team/<id:member_id>/remove")
def remove_member(member_id: int):
    provider = _provider()
    member = team.get_member(provider, member_id)
    name = member.user.name
    try:
        team.remove(current_user, provider, member_id)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash(f"{name} has been removed from your team and signed out.", "success")
    return redirect(url_for("provider.team_list"))


@bp.post("/team/invitations/<id:invitation_id>/cancel")
def cancel_invitation(invitation_id: int):
    try:
        invitations.cancel_staff_invitation(current_user, _provider(), invitation_id)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash("The invitation has been cancelled. Its link no longer works.", "success")
    return redirect(url_for("provider.team_list"))


# -- Listings --------------------------------------------------------------------------


def _listing_form(service=None) -> ListingForm:
    form = ListingForm()
    form.category_id.choices = [(0, "Select a kind of care or support")] + [(c.id, c.name) for c in catalogue.categories()]
    if request.method == "GET" and service is not None:
        data = listings.listing_input(service)
        for name in (
            "title",
            "category_id",
            "description",
            "price",
            "price_unit",
            "min_units",
            "funding_routes",
            "availability_note",
            "people_supported",
        ):
            form[name].data = getattr(data, name)
    elif request.method == "GET":
        form.min_units.data = 1
    return form


def _listing_input(form: ListingForm) -> listings.ListingInput:
    return listings.ListingInput(
        title=form.title.data or "",
        category_id=form.category_id.data or None,
        description=form.description.data or "",
        price=form.price.data or "",
        price_unit=form.price_unit.data or "",
        min_units=form.min_units.data if not form.min_units.errors else None,
        funding_routes=form.funding_routes.data or [],
        availability_note=form.availability_note.data,
        people_supported=form.people_supported.data or [],
    )


@bp.get("/services")
def services():
    provider = _provider()
    rows = listings.services_of(provider)
    ranks = ranking_presenter.ranks_for(rows)
    return render_template(
        "provider/services.html",
        provider=provider,
        services=rows,
        ranks=ranks,
        not_ranked=ranking_presenter.reasons_not_ranked(rows, ranks),
        may_edit=_may("edit_listings"),
    )


@bp.route("/services/new", methods=["GET", "POST"])
def new_service():
    provider = _provider()
    _deny_unless("edit_listings")
    form = _listing_form()
    # The service checks every rule, so all problems show at once (not just the form's).
    if request.method == "POST":
        form.validate()
        try:
            service = listings.create(current_user, provider, _listing_input(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("Your listing has been saved as a draft. Add its usual hours, preview it, then publish it.", "success")
            return redirect(url_for("provider.service", service_id=service.id))
    return render_template("provider/listing_form.html", form=form, service=None)


@bp.get("/services/<id:service_id>")
def service(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    today = dt.date.today()
    rank = ranking_presenter.rank_for(item)
    return render_template(
        "provider/service.html",
        service=item,
        provider=item.provider,
        problems=listings.publish_problems(item),
        rank=rank,
        not_ranked=ranking_presenter.why_not_ranked(item, rank),
        closures=listings.closures_for_service(item, today, today + dt.timedelta(days=366)),
        may_edit=_may("edit_listings"),
        confirm=ConfirmForm(),
    )


@bp.route("/services/<id:service_id>/edit", methods=["GET", "POST"])
def edit_service(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    _deny_unless("edit_listings")
    form = _listing_form(item)
    if request.method == "POST":
        form.validate()
        try:
            listings.update(current_user, item, _listing_input(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("Your changes have been saved.", "success")
            return redirect(url_for("provider.service", service_id=item.id))
    return render_template("provider/listing_form.html", form=form, service=item)


@bp.get("/services/<id:service_id>/preview")
def preview_service(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    return render_template(
        "provider/preview.html",
        service=item,
        provider=item.provider,
        framework=catalogue.framework_status(item.provider, item.category),
        reachable=provider_contact.can_be_reached(item.provider),
        unreachable_message=provider_contact.unreachable_message(item.provider),
        preview=True,
    )


@bp.post("/services/<id:service_id>/publish")
def publish_service(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    try:
        listings.publish(current_user, item)
    except ValidationError as exc:
        flash(exc.errors.get("publish", str(exc)))
    except DomainError as exc:
        flash(str(exc))
    else:
        if item.provider.status.value == "verified":
            flash(f"{item.title} is published. People can now find it.", "success")
        else:
            flash(f"{item.title} is published. People will see it once the council has verified your organisation.", "success")
    return redirect(url_for("provider.service", service_id=item.id))


@bp.post("/services/<id:service_id>/withdraw")
def withdraw_service(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    try:
        listings.withdraw(current_user, item)
    except DomainError as exc:
        flash(str(exc))
    else:
        flash(f"{item.title} has been withdrawn. People can no longer find it. You can publish it again at any time.", "success")
    return redirect(url_for("provider.service", service_id=item.id))


@bp.route("/services/<id:service_id>/hours", methods=["GET", "POST"])
def service_hours(service_id: int):
    item = listings.get_own_service(current_user, service_id)
    _deny_unless("edit_listings")
    form = HoursForm()
    if request.method == "GET":
        slots: dict[int, int] = {}
        for hours in item.hours:
            slot = slots.get(hours.weekday, 0)
            if slot > 1:
                continue
            slots[hours.weekday] = slot + 1
            form[f"day{hours.weekday}_{slot}_opens"].data = hours.opens_at.strftime("%H:%M")
            form[f"day{hours.weekday}_{slot}_closes"].data = hours.closes_at.strftime("%H:%M")
    if form.validate_on_submit():
        sessions = [
            listings.Session(day, slot, form[f"day{day}_{slot}_opens"].data or "", form[f"day{day}_{slot}_closes"].data or "")
            for day in range(7)
            for slot in (0, 1)
        ]
        try:
            listings.set_hours(current_user, item, sessions)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The usual hours have been saved.", "success")
            return redirect(url_for("provider.service", service_id=item.id))
    return render_template("provider/hours.html", form=form, service=item, weekdays=list(enumerate(WEEKDAYS)))


# -- Closures ----------------------------------------------------------------------------


@bp.route("/closures", methods=["GET", "POST"])
def closures():
    provider = _provider()
    form = ClosureForm()
    own = listings.services_of(provider)
    form.service_id.choices = [("all", "All our services")] + [(str(s.id), s.title) for s in own]
    if request.method == "POST":
        _deny_unless("edit_listings")
    if form.validate_on_submit():
        service_id = None if form.service_id.data in (None, "", "all") else int(form.service_id.data)
        try:
            listings.add_closure(
                current_user,
                provider,
                service_id=service_id,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                reason=form.reason.data,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("The closure has been added.", "success")
            return redirect(url_for("provider.closures"))
    today = dt.date.today()
    holidays_form = BankHolidayForm(formdata=None, data={"year": today.year + (1 if today.month >= 10 else 0)})
    return render_template(
        "provider/closures.html",
        form=form,
        holidays_form=holidays_form,
        rows=listings.closures_of(provider, from_date=today),
        may_edit=_may("edit_listings"),
    )


@bp.post("/closures/<id:closure_id>/remove")
def remove_closure(closure_id: int):
    listings.remove_closure(current_user, _provider(), closure_id)
    flash("The closure has been removed.", "success")
    return redirect(url_for("provider.closures"))


@bp.post("/closures/bank-holidays")
def add_bank_holidays():
    form = BankHolidayForm()
    if form.validate_on_submit():
        try:
            added = listings.add_bank_holidays(current_user, _provider(), form.year.data)
        except ValidationError as exc:
            flash(exc.errors.get("year", str(exc)))
        else:
            flash(
                f"Added {added} bank holiday{'s' if added != 1 else ''} in {form.year.data}."
                if added
                else f"Every bank holiday in {form.year.data} was already a closure.",
                "success",
            )
    else:
        flash(next(iter(form.errors.values()))[0] if form.errors else "Enter a year")
    return redirect(url_for("provider.closures"))


# -- Enquiries ----------------------------------------------------------------------------


@bp.get("/enquiries")
def enquiry_list():
    provider = _provider()
    waiting_only = request.args.get("show") == "waiting"
    page = enquiries.for_provider(provider, clamp_page(request.args.get("page", type=int)), waiting_only=waiting_only)
    return render_template(
        "provider/enquiries.html",
        page=page,
        waiting_only=waiting_only,
        times=enquiries.response_times(provider),
        waiting=enquiries.waiting_count(provider),
    )


@bp.get("/enquiries/<id:enquiry_id>")
def enquiry(enquiry_id: int):
    item = enquiries.get_for_provider(current_user, enquiry_id)
    enquiries.mark_read_by_provider(item)
    return render_template("provider/enquiry.html", enquiry=item, form=ReplyForm(), may_answer=_may("answer_enquiries"))


@bp.post("/enquiries/<id:enquiry_id>/reply")
def reply_enquiry(enquiry_id: int):
    item = enquiries.get_for_provider(current_user, enquiry_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            enquiries.reply_as_provider(current_user, item, form.body.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("Your reply has been sent.", "success")
            return redirect(url_for("provider.enquiry", enquiry_id=item.id))
    return render_template("provider/enquiry.html", enquiry=item, form=form, may_answer=_may("answer_enquiries"))


@bp.post("/enquiries/<id:enquiry_id>/close")
def close_enquiry(enquiry_id: int):
    item = enquiries.get_for_provider(current_user, enquiry_id)
    try:
        enquiries.close(current_user, item)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash("The enquiry is closed.", "success")
    return redirect(url_for("provider.enquiry", enquiry_id=item.id))
