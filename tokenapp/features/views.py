"""The feature pages' blueprint: a form per feature behind the TokenGate, its runs and their history.

Thin views over `runner` and `runs`; the only web module of `tokenapp.features`.
"""

import secrets

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from ..htmx import is_htmx
from ..ratelimits import limited
from ..services import gate as gates
from ..services.errors import DomainError
from . import runner, runs
from .forms import FLAGSHIP_PATHS
from .uploads import read_upload

bp = Blueprint("features", __name__)


def _page(feature_key: str):
    feature = gates.feature(feature_key)
    return render_template(
        "features/feature.html",
        feature=feature,
        fields=runner.fields_of(feature_key),
        page_key="page-" + secrets.token_urlsafe(16),
        resumes=runner.saved_resumes(current_user.id),
        history=runs.history(current_user.id, feature_key),
    )


@bp.get("/features/<feature_key>")
@login_required
def feature_page(feature_key: str):
    """A feature's form, its gated Generate button, and the user's past runs."""
    return _page(feature_key)


def _flagship(feature_key: str):
    def view():
        return _page(feature_key)

    view.__name__ = f"flagship_{feature_key}"
    view.__doc__ = f"The {feature_key} page at its own address."
    return login_required(view)


for _key, _path in FLAGSHIP_PATHS.items():
    bp.add_url_rule(_path, f"flagship_{_key}", _flagship(_key))


@bp.post("/features/<feature_key>/run")
@limited("deduct")
@login_required
def run(feature_key: str):
    """Check the inputs, then press: charge once per key and queue the run; answers with its progress."""
    key = gates.press_key(request.form)
    try:
        inputs = runner.clean_inputs(current_user.id, feature_key, request.form.to_dict())
        upload = read_upload(feature_key, request.files)
        started = runs.press(current_user.id, feature_key, key, inputs, upload)
    except DomainError as error:
        return _respond(feature_key, "features/_run_error.html", error=error), error.status
    return _respond(feature_key, "features/_run.html", run=started)


def _respond(feature_key: str, template: str, **context):
    context["feature"] = gates.feature(feature_key)
    if is_htmx():
        return render_template(template, close_gate=True, **context)
    return render_template("features/result_page.html", template=template, **context)


@bp.get("/features/runs/<run_id>")
@login_required
def run_status(run_id: str):
    """A run as a fragment (polled while it works) or, opened from history, as a page."""
    found = runs.owned_run(current_user.id, run_id)
    return _respond(found.feature_key, "features/_run.html", run=found)
