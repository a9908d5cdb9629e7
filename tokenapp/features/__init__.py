"""The AI feature pages: a form per feature behind the TokenGate, runs and their history."""

from flask import Blueprint

bp = Blueprint("features", __name__)

from . import routes  # noqa: E402,F401 - imported last: the routes register on `bp` above
