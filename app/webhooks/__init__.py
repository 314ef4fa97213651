"""Webhooks from outside services (Stripe). CSRF-exempt here only: each request proves
itself with its own signature instead."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
