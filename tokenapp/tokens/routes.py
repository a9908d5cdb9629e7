"""Views for the balance badge, the TokenGate, first-run help and the token pages."""

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..htmx import is_htmx
from ..services import accounts, catalog, history, instant_spend, ledger, purchases
from ..services import gate as gates
from ..services.errors import InsufficientTokens
from . import bp


@bp.get("/tokens/badge")
@login_required
def badge():
    """The navbar badge and the low-balance slot, re-rendered after a change."""
    return render_template("tokens/_badge_refresh.html")


@bp.get("/tokens/gate/<feature_key>")
@login_required
def gate(feature_key: str):
    """The confirmation for one press of a gated button (a page without JavaScript)."""
    view = gates.open_gate(current_user.id, feature_key, for_run=request.args.get("for") == "run")
    template = "tokens/_gate_dialog.html" if is_htmx() else "tokens/gate_page.html"
    return render_template(template, gate=view)


@bp.post("/tokens/gate/<feature_key>/confirm")
@login_required
def confirm(feature_key: str):
    """Charge and run (on this page, the test run); the same key charges once."""
    key = gates.press_key(request.form)
    try:
        outcome = instant_spend.spend(current_user.id, feature_key, key)
    except InsufficientTokens as refusal:
        return _render_result(feature_key, refusal=refusal), 402
    return _render_result(feature_key, outcome=outcome)


def _render_result(feature_key: str, **context):
    context["feature"] = gates.feature(feature_key)
    if is_htmx():
        return render_template("tokens/_test_result.html", close_gate=True, **context)
    return render_template("tokens/test_result_page.html", **context)


@bp.post("/welcome/dismiss")
@login_required
def dismiss_welcome():
    """Close the welcome modal for good (stored on the account)."""
    accounts.dismiss_welcome(current_user.id)
    return ("", 200) if is_htmx() else redirect(request.referrer or url_for("main.index"))


@bp.get("/tokens/how-it-works")
def how_it_works():
    """What tokens are, what each feature costs, and how to earn them."""
    return render_template(
        "tokens/how_it_works.html", features=catalog.active_features(), packages=catalog.active_packages()
    )


@bp.get("/test-tokens")
@login_required
def test_tokens():
    """Try the gate on any feature and watch the ledger (the roadmap's Option A)."""
    rows, _more = history.transactions_page(current_user.id, 20)
    return render_template(
        "tokens/test_tokens.html", features=catalog.active_features(), rows=rows, names=catalog.feature_names()
    )


@bp.get("/features")
def features():
    """Every AI feature and its cost."""
    return render_template("tokens/features.html", features=catalog.active_features())


@bp.get("/dashboard/tokens")
@login_required
def dashboard():
    """Balance, history, purchases and most-used features."""
    rows, more = history.transactions_page(current_user.id, 25)
    return render_template(
        "tokens/dashboard.html",
        rows=rows,
        more=more,
        purchases=purchases.user_purchases(current_user.id),
        usage=history.feature_usage(current_user.id),
        names=catalog.feature_names(),
        holdings=ledger.holdings(current_user.id),
    )
