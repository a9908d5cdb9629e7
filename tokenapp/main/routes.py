"""The landing page and the values every template sees."""

from flask import current_app, jsonify, render_template
from flask_login import current_user

from ..services import catalog, ledger, readiness
from . import bp


@bp.app_context_processor
def inject_balance() -> dict:
    """The signed-in user's balance for the navbar badge."""
    if not current_user.is_authenticated:
        return {}
    view = ledger.balance_of(current_user.id)
    return {"token_balance": view, "low_balance": view.low}


@bp.get("/")
def index():
    """The landing page: what tokens are and what they buy."""
    return render_template("index.html", features=catalog.active_features()[:6], packages=catalog.active_packages())


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers: answers without touching the database."""
    return {"ok": True}


@bp.get("/readyz")
def readyz():
    """Readiness for load balancers: 200 when the database, Redis (if set) and the job queue answer, else 503."""
    report = readiness.check(current_app)
    return jsonify(report.as_dict()), 200 if report.ready else 503
