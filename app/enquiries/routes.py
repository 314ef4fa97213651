from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.enquiries import bp
from app.enquiries.forms import NewEnquiryForm, ReplyForm
from app.forms import ConfirmForm, apply_errors
from app.services import accounts, enquiries
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.pagination import clamp_page


@bp.get("/enquiries")
def inbox():
    people = accounts.people_user_acts_for(current_user)
    person = request.args.get("person", type=int)
    page = enquiries.for_citizen_side(current_user, clamp_page(request.args.get("page", type=int)), citizen_id=person)
    return render_template("enquiries/inbox.html", page=page, people=people, person=person)


@bp.route("/services/<id:service_id>/ask", methods=["GET", "POST"])
def new(service_id: int):
    service = enquiries.enquirable_service(service_id)
    people = enquiries.citizen_choices_for(current_user)
    form = NewEnquiryForm()
    form.citizen.choices = [(str(p.id), p.name if p.id != current_user.id else f"{p.name} (me)") for p in people]
    if request.method == "GET" and len(people) == 1:
        form.citizen.data = str(people[0].id)
    if not people:
        return render_template("enquiries/nobody_to_ask_for.html", service=service)
    if form.validate_on_submit():
        citizen = next((p for p in people if str(p.id) == form.citizen.data), None)
        if citizen is None:
            raise NotFound("No such person")
        try:
            enquiry = enquiries.start(current_user, citizen, service, subject=form.subject.data, body=form.body.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash(f"Your enquiry has been sent to {service.provider.name}. We will tell you when they reply.", "success")
            return redirect(url_for("enquiries.thread", enquiry_id=enquiry.id))
    return render_template("enquiries/new.html", form=form, service=service, several=len(people) > 1)


@bp.get("/enquiries/<id:enquiry_id>")
def thread(enquiry_id: int):
    enquiry = enquiries.get_for_citizen_side(current_user, enquiry_id)
    enquiries.mark_read_by_citizen_side(enquiry)
    return render_template("enquiries/thread.html", enquiry=enquiry, form=ReplyForm(), close_form=ConfirmForm())


@bp.post("/enquiries/<id:enquiry_id>/reply")
def reply(enquiry_id: int):
    enquiry = enquiries.get_for_citizen_side(current_user, enquiry_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            enquiries.reply_as_citizen_side(current_user, enquiry, form.body.data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            flash("Your message has been sent.", "success")
            return redirect(url_for("enquiries.thread", enquiry_id=enquiry.id))
    return render_template("enquiries/thread.html", enquiry=enquiry, form=form, close_form=ConfirmForm())


@bp.post("/enquiries/<id:enquiry_id>/close")
def close(enquiry_id: int):
    enquiry = enquiries.get_for_citizen_side(current_user, enquiry_id)
    try:
        enquiries.close(current_user, enquiry)
    except Conflict as exc:
        flash(str(exc))
    else:
        flash("The enquiry is closed. If you write again, it will open again.", "success")
    return redirect(url_for("enquiries.thread", enquiry_id=enquiry.id))
