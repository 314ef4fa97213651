"""Your account, for everyone signed in: details, password, two-step verification,
where you are signed in, notifications; representatives for citizens; the people a
representative acts for."""

from flask import Blueprint

from app.security import require_roles

bp = Blueprint("account", __name__)
require_roles(bp)  # signed in, any role
