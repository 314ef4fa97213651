"""Commissioner tools at /commissioner: verifying providers, the framework and its
weights, council settings, and the audit trail. Commissioners and admins."""

from flask import Blueprint

from app.models import Role
from app.security import require_roles

bp = Blueprint("commissioner", __name__, url_prefix="/commissioner")
require_roles(bp, Role.COMMISSIONER, Role.ADMIN)
