"""Signing in and out, registering, forgotten passwords and invitations: open to anyone."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
