"""Running the service at /admin: accounts (council users, roles, deactivation) and the
email outbox. Admins only."""

from flask import Blueprint

from app.models import Role
from app.security import require_roles

bp = Blueprint("admin", __name__, url_prefix="/admin")
require_roles(bp, Role.ADMIN)
