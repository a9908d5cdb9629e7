"""The token pages: badge, gate, first-run help, test page, dashboard."""

from flask import Blueprint

bp = Blueprint("tokens", __name__)

from . import routes  # noqa: E402,F401 - imported last: the routes register on `bp` above
