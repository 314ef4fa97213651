"""Arranging care: booking services, and the bookings and budgets of the people a user
arranges care for (themselves if a citizen, or the citizens who invited them)."""

from flask import Blueprint

from app.models import Role
from app.security import require_roles

bp = Blueprint("citizen", __name__)
require_roles(bp, Role.CITIZEN, Role.REPRESENTATIVE)
