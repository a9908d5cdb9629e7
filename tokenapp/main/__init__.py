"""Public pages and what every page shares."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from . import routes  # noqa: E402,F401 - imported last: the routes register on `bp` above
