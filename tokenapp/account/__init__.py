"""The signed-in person's own account: /account, where the password is changed."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from . import routes  # noqa: E402,F401 - imported last: the routes register on `bp` above
