"""Buying tokens and the Unlimited plan: buy page, Checkout, return pages."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from . import routes  # noqa: E402,F401 - imported last: the routes register on `bp` above
