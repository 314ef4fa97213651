"""Your visits in your calendar: a secret link that phone and desktop calendars subscribe
to, shown once when it is made; make a new one (the old one stops) or turn it off.
For citizens, representatives and provider staff: the people who have visits. (Every POST
carries its CSRF token: the app checks it before any view runs.)"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.account import bp
from app.models import Role
from app.security import role_required
from app.services import calendars, mail

FOLLOWS_VISITS = (Role.CITIZEN, Role.REPRESENTATIVE, Role.PROVIDER)


@bp.get("/account/calendar")
@role_required(*FOLLOWS_VISITS)
def calendar():
    return _page()


@bp.post("/account/calendar/new-link")
@role_required(*FOLLOWS_VISITS)
def new_calendar_link():
    made = calendars.new_feed(current_user, ip_address=get_remote_address())
    # Shown on this page and never again: only the secret's hash is kept.
    return _page(new_link=mail.link_for("public.calendar_feed", secret=made.secret))


@bp.post("/account/calendar/turn-off")
@role_required(*FOLLOWS_VISITS)
def turn_off_calendar():
    if calendars.turn_off(current_user, ip_address=get_remote_address()) is None:
        flash("You had no calendar link to turn off.")
    else:
        flash("Your calendar link is turned off. Calendars that use it will stop showing your visits.", "success")
    return redirect(url_for("account.calendar"))


def _page(new_link: str | None = None):
    return render_template(
        "account/calendar.html",
        feed=calendars.live_feed(current_user),
        new_link=new_link,
        # The same link for Apple's calendars, which open webcal:// links as subscriptions.
        webcal_link="webcal://" + new_link.split("://", 1)[1] if new_link else None,
        history_days=calendars.HISTORY.days,
        role=current_user.role.value,
    )
