"""Provider self-service at /provider: the organisation's profile, team, listings,
availability and enquiries. Provider staff only; each sees only their own organisation."""

from flask import Blueprint, abort, g, request
from flask_login import current_user

from app.models import Role
from app.security import require_roles
from app.services import accounts

bp = Blueprint("provider", __name__, url_prefix="/provider")
require_roles(bp, Role.PROVIDER)


@bp.before_request
def _load_membership():
    g.staff = accounts.staff_membership(current_user)
    # Someone removed from their team keeps their account, and sees only the dashboard
    # (which tells them so).
    if g.staff is None and request.endpoint != "provider.dashboard":
        abort(404)
