"""Views for buying: thin wrappers over the purchases and subscriptions services."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..digits import id_or_none, whole_number
from ..htmx import note_balance_changed
from ..models import PurchaseStatus
from ..ratelimits import limited
from ..services import catalog, checkout_return, purchases, subscriptions
from ..services.errors import DomainError, NotFound
from . import bp
from .forms import BuyPackageForm, CancelCheckoutForm, SubscribeForm


def _catalog_context() -> dict:
    return {
        "packages": catalog.active_packages(),
        "plan": catalog.active_plan(),
        "features": catalog.active_features(),
        "buy_form": BuyPackageForm(),
        "subscribe_form": SubscribeForm(),
    }


@bp.get("/pricing")
def pricing():
    """Token packs, the Unlimited plan and what each feature costs."""
    return render_template("payments/pricing.html", **_catalog_context())


@bp.get("/pricing-hybrid")
def pricing_hybrid():
    """The roadmap's old address for the pricing page."""
    return redirect(url_for("payments.pricing"), 301)


@bp.get("/tokens/buy")
@login_required
def buy():
    """Pick a token pack or the Unlimited plan."""
    history = purchases.user_purchases(current_user.id, limit=5)
    return render_template(
        "payments/buy.html", history=history, subscription=subscriptions.current(current_user.id), **_catalog_context()
    )


def _send_to_checkout(form, start):
    """303 to Stripe's page when the form is valid and `start()` opens a session; else back to buying."""
    if not form.validate_on_submit():
        flash("Choose what to buy.", "error")
        return redirect(url_for("payments.buy"))
    try:
        url = start()
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("payments.buy"))
    return redirect(url, 303)


@bp.post("/tokens/checkout")
@limited("checkout")
@login_required
def checkout():
    """Open a Checkout Session for a package and send the payer there (303)."""
    form = BuyPackageForm()
    return _send_to_checkout(form, lambda: purchases.start_checkout(current_user, form.package_key.data)[1])


@bp.post("/tokens/subscribe")
@limited("checkout")
@login_required
def subscribe():
    """Open a subscription Checkout Session for Unlimited (303)."""
    return _send_to_checkout(SubscribeForm(), lambda: subscriptions.start_checkout(current_user))


@bp.get("/tokens/success")
@limited("purchase_check", methods=("GET",))
@login_required
def success():
    """Back from Checkout: tokens added, still pending (polled), or failed."""
    outcome = checkout_return.confirm(current_user.id, request.args.get("session_id"))
    return render_template("payments/success.html", outcome=outcome)


@bp.get("/tokens/purchases/<int:purchase_id>/status")
@limited("purchase_check", methods=("GET",))
@login_required
def purchase_status(purchase_id: int):
    """The purchase's state as a fragment; the pending view polls it."""
    attempt = whole_number(request.args.get("attempt", ""), high=1000) or 0
    outcome = checkout_return.refresh(current_user.id, purchase_id)
    if outcome.kind == PurchaseStatus.PAID:
        note_balance_changed()  # the webhook may have credited it: the badge should look again
    return render_template("payments/_purchase_status.html", outcome=outcome, attempt=attempt + 1)


@bp.get("/tokens/cancel")
@login_required
def cancel():
    """Left Checkout without paying: nothing was charged; offers to close the checkout (writes nothing)."""
    purchase_id = id_or_none(request.args.get("purchase"))
    if request.args.get("purchase") is not None and purchase_id is None:
        raise NotFound("No such purchase.")
    purchase = checkout_return.cancellable(current_user.id, purchase_id)
    form = CancelCheckoutForm(purchase=str(purchase.id)) if purchase else None
    return render_template("payments/cancel.html", purchase=purchase, cancel_form=form)


@bp.post("/tokens/cancel")
@login_required
def cancel_checkout():
    """Close the purchase's Checkout Session so it can no longer be paid (303 back to the cancel page)."""
    form = CancelCheckoutForm()
    if not form.validate_on_submit():
        flash("That checkout could not be cancelled. Reload and try again.", "error")
        return redirect(url_for("payments.buy"))
    purchase_id = id_or_none(form.purchase.data)
    if purchase_id is None:
        raise NotFound("No such purchase.")
    checkout_return.cancel(current_user.id, purchase_id)
    flash("Checkout cancelled. It can no longer be paid.", "info")
    return redirect(url_for("payments.cancel"), 303)
