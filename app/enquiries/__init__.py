"""Enquiries, the citizen's side: ask a provider a question, read and answer replies.
Citizens and representatives only."""

from flask import Blueprint

from app.models import Role
from app.security import require_roles

bp = Blueprint("enquiries", __name__)
require_roles(bp, Role.CITIZEN, Role.REPRESENTATIVE)
