"""Public pages: anyone may see them, signed in or not."""

from flask import Blueprint

bp = Blueprint("public", __name__)
