"""Buying token packs: Checkout Sessions, fulfilment, refunds and disputes.

Fulfilment never counts events. Each event (or the success page) only
records what Stripe's objects say about a purchase: paid or not, how much
was refunded, where a dispute stands. `_reconcile` then moves the ledger so
the tokens granted equal the tokens owed for that state. The same state
reached twice, or in another order, moves nothing the second time.

Every object handed in here was read from Stripe, never taken from an event
body. Before a purchase counts as paid, the amount and currency Stripe says
were paid must equal the purchase's price; otherwise the purchase is flagged
`amount_mismatch` for good, credits nothing, and an alert is logged.
"""

from typing import TYPE_CHECKING, cast

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..digits import id_or_none
from ..extensions import db
from ..models import DisputeStatus, PurchaseStatus, TokenPurchase, User
from ..models._types import utcnow
from . import catalog, ledger, stripe_api
from .errors import NotFound, PaymentsUnavailable, UnknownPackage

if TYPE_CHECKING:
    from stripe.params.checkout import SessionCreateParams

FROZEN_DISPUTE_STATES = {
    DisputeStatus.WARNING_NEEDS_RESPONSE,
    DisputeStatus.WARNING_UNDER_REVIEW,
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.LOST,
}
FINAL_DISPUTE_STATES = {DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.WARNING_CLOSED}
AMOUNT_MISMATCH = PurchaseStatus.AMOUNT_MISMATCH


def success_url() -> str:
    """Where Checkout sends a payer back, with Stripe's session placeholder."""
    return current_app.config["APP_BASE_URL"] + url_for("payments.success") + "?session_id={CHECKOUT_SESSION_ID}"


def start_checkout(user: User, package_key: str | None) -> tuple[int, str]:
    """Record a pending purchase and open a Checkout Session; return (purchase id, session url)."""
    package = catalog.package_by_key(package_key) if isinstance(package_key, str) else None
    if package is None:
        raise UnknownPackage(f"No token package called {package_key!r}.")
    if not package.stripe_price_id:
        raise PaymentsUnavailable("Payments are not set up yet (run `flask stripe-setup`).")
    with write_transaction():
        purchase = TokenPurchase(
            user_id=user.id,
            package_id=package.id,
            tokens=package.tokens,
            bonus_tokens=package.bonus_tokens,
            amount_cents=package.price_cents,
            currency=package.currency,
        )
        db.session.add(purchase)
        db.session.flush()
        purchase_id, email, customer = purchase.id, user.email, user.stripe_customer_id
    metadata = {"user_id": str(user.id), "package_key": package.key, "purchase_id": str(purchase_id)}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [{"price": package.stripe_price_id, "quantity": 1}],
        "client_reference_id": str(user.id),
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url(),
        "cancel_url": current_app.config["APP_BASE_URL"] + url_for("payments.cancel", purchase=purchase_id),
    }
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = email
    try:
        with stripe_api.errors("checkout.sessions.create"):
            session = stripe_api.client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"tokenapp-checkout-{purchase_id}"}
            )
    except Exception:
        _mark(purchase_id, status=PurchaseStatus.FAILED, failure_message="Could not start the checkout.")
        raise
    _mark(purchase_id, stripe_checkout_session_id=session.id)
    return purchase_id, cast(str, session.url)  # a hosted Checkout Session always has one


def _mark(purchase_id: int, **fields) -> None:
    with write_transaction():
        purchase = db.session.get(TokenPurchase, purchase_id)
        for name, value in fields.items():
            setattr(purchase, name, value)


def purchase_for_owner(user_id: int, purchase_id: int) -> TokenPurchase:
    """The user's own purchase, else NotFound (never another user's)."""
    if id_or_none(purchase_id) is None:
        raise NotFound("No such purchase.")
    purchase = db.session.execute(
        select(TokenPurchase).where(TokenPurchase.id == purchase_id, TokenPurchase.user_id == user_id)
    ).scalar()
    if purchase is None:
        raise NotFound("No such purchase.")
    return purchase


def _locked(tx: Session, stmt) -> TokenPurchase | None:
    """The row, locked and re-read: an object already in the session may be stale."""
    return tx.execute(stmt.with_for_update().execution_options(populate_existing=True)).scalar()


def find_for_session(tx: Session, session) -> TokenPurchase | None:
    """The purchase a Checkout Session pays for, locked in `tx`; matched by session id, then metadata."""
    purchase = _locked(tx, select(TokenPurchase).where(TokenPurchase.stripe_checkout_session_id == session["id"]))
    if purchase is None:
        purchase_id = id_or_none(stripe_api.field(stripe_api.field(session, "metadata", {}), "purchase_id"))
        if purchase_id is not None:
            purchase = _locked(
                tx,
                select(TokenPurchase).where(
                    TokenPurchase.id == purchase_id, TokenPurchase.stripe_checkout_session_id.is_(None)
                ),
            )
            if purchase is not None:
                purchase.stripe_checkout_session_id = session["id"]
    return purchase


def find_for_payment_intent(tx: Session, payment_intent_id: str | None, metadata=None) -> TokenPurchase | None:
    """The purchase a PaymentIntent pays for, locked in `tx`; by id, then by its metadata."""
    if not payment_intent_id:
        return None
    purchase = _locked(tx, select(TokenPurchase).where(TokenPurchase.stripe_payment_intent_id == payment_intent_id))
    purchase_id = id_or_none(stripe_api.field(metadata or {}, "purchase_id"))
    if purchase is None and purchase_id is not None:
        purchase = _locked(tx, select(TokenPurchase).where(TokenPurchase.id == purchase_id))
        if purchase is not None and purchase.stripe_payment_intent_id in (None, payment_intent_id):
            purchase.stripe_payment_intent_id = payment_intent_id
        else:
            purchase = None
    return purchase


def apply_session(tx: Session, session) -> TokenPurchase | None:
    """Record in `tx` what Stripe's Checkout Session says (paid, expired) and settle the tokens."""
    purchase = find_for_session(tx, session)
    if purchase is None:
        return None
    payment_intent = stripe_api.object_id(stripe_api.field(session, "payment_intent"))
    if payment_intent and purchase.stripe_payment_intent_id is None:
        purchase.stripe_payment_intent_id = payment_intent
    if stripe_api.field(session, "payment_status") == "paid":
        _record_paid(
            purchase, session["id"], stripe_api.field(session, "amount_total"), stripe_api.field(session, "currency")
        )
    elif stripe_api.field(session, "status") == "expired" and purchase.status == PurchaseStatus.PENDING:
        purchase.status = PurchaseStatus.EXPIRED
    _reconcile(tx, purchase)
    return purchase


def apply_payment_intent(tx: Session, intent) -> None:
    """Record in `tx` Stripe's PaymentIntent outcome: paid, or why the attempt failed."""
    purchase = find_for_payment_intent(tx, intent["id"], stripe_api.field(intent, "metadata"))
    if purchase is None:
        return
    if stripe_api.field(intent, "status") == "succeeded":
        _record_paid(
            purchase, intent["id"], stripe_api.field(intent, "amount_received"), stripe_api.field(intent, "currency")
        )
    elif purchase.status == PurchaseStatus.PENDING:
        error = stripe_api.field(intent, "last_payment_error", {})
        purchase.failure_message = str(stripe_api.field(error, "message", "The payment failed."))[:255]
    _reconcile(tx, purchase)


def record_async_failure(tx: Session, session) -> None:
    """Record in `tx` a delayed payment (bank debit) that did not go through."""
    purchase = find_for_session(tx, session)
    if purchase is not None and purchase.status == PurchaseStatus.PENDING:
        purchase.status = PurchaseStatus.FAILED
        purchase.failure_message = "The payment did not go through."


def apply_charge(tx: Session, charge, metadata=None) -> None:
    """Record in `tx` a Charge's cumulative refunds (and payment) and settle the tokens."""
    purchase = find_for_payment_intent(tx, stripe_api.object_id(stripe_api.field(charge, "payment_intent")), metadata)
    if purchase is None:
        return
    if stripe_api.field(charge, "status") == "succeeded" and stripe_api.field(charge, "paid", True):
        captured = stripe_api.field(charge, "amount_captured", stripe_api.field(charge, "amount"))
        _record_paid(purchase, charge["id"], captured, stripe_api.field(charge, "currency"))
    refunded = int(stripe_api.field(charge, "amount_refunded", 0))
    purchase.amount_refunded_cents = min(max(purchase.amount_refunded_cents, refunded), purchase.amount_cents)
    _reconcile(tx, purchase)


def apply_dispute(tx: Session, dispute, metadata=None) -> None:
    """Freeze in `tx` the purchase's tokens while a dispute is open or lost; restore them when won."""
    purchase = find_for_payment_intent(tx, stripe_api.object_id(stripe_api.field(dispute, "payment_intent")), metadata)
    if purchase is None:
        return
    if purchase.dispute_status not in FINAL_DISPUTE_STATES:
        purchase.dispute_status = stripe_api.field(dispute, "status", DisputeStatus.NEEDS_RESPONSE)
    _reconcile(tx, purchase)


def _record_paid(purchase: TokenPurchase, source_id: str, amount, currency) -> None:
    """Mark the purchase paid if Stripe's amount and currency are its price; a mismatch is final."""
    if purchase.status == AMOUNT_MISMATCH:
        return
    if amount != purchase.amount_cents or str(currency).lower() != purchase.currency.lower():
        purchase.status = AMOUNT_MISMATCH
        purchase.payment_alert = (
            f"{source_id} paid {amount} {currency}; the price is {purchase.amount_cents} {purchase.currency}"
        )[:255]
        current_app.logger.error(
            "payment alert: amount mismatch (purchase %s, user %s, %s)",
            purchase.id,
            purchase.user_id,
            purchase.payment_alert,
        )
        return
    if purchase.status != PurchaseStatus.PAID:
        purchase.status = PurchaseStatus.PAID
        purchase.failure_message = None


def tokens_owed(purchase: TokenPurchase) -> int:
    """What the purchase is worth now: paid, less refunds in proportion, nothing while disputed."""
    if purchase.status != PurchaseStatus.PAID or purchase.dispute_status in FROZEN_DISPUTE_STATES:
        return 0
    kept = purchase.amount_cents - purchase.amount_refunded_cents
    return purchase.total_tokens * kept // purchase.amount_cents if purchase.amount_cents else purchase.total_tokens


def _reconcile(tx: Session, purchase: TokenPurchase) -> None:
    """Move the ledger in `tx` so the purchase's granted tokens equal what it is owed.

    The tokens granted carry their share of the price, so a lot's cost basis
    is exactly what was paid for it (see `value_cents`).
    """
    owed = tokens_owed(purchase)
    delta = owed - purchase.tokens_granted
    if delta == 0:
        return
    label = f"purchase #{purchase.id}"
    key = f"purchase:{purchase.id}"
    cents = value_cents(purchase, owed) - value_cents(purchase, purchase.tokens_granted)
    if purchase.completed_at is None and delta > 0:
        ledger.grant_purchase(
            tx, purchase.user_id, delta, dedupe_key=key, note=f"Token pack, {label}", cost_cents=cents
        )
        purchase.completed_at = utcnow()
    elif delta < 0:
        reason = "Disputed payment" if purchase.dispute_status else "Refund"
        ledger.take_back(tx, purchase.user_id, -delta, f"{reason}, {label}", purchase_key=key)
    else:
        ledger.give_back(tx, purchase.user_id, delta, f"Restored, {label}", cost_cents=cents)
    purchase.tokens_granted = owed


def value_cents(purchase: TokenPurchase, tokens: int) -> int:
    """What `tokens` of the purchase's tokens cost, in whole cents; all of them cost exactly the price."""
    return purchase.amount_cents * tokens // purchase.total_tokens if purchase.total_tokens else 0


def user_purchases(user_id: int, limit: int = 20) -> list[TokenPurchase]:
    """The user's purchases, newest first."""
    return list(
        db.session.execute(
            select(TokenPurchase)
            .where(TokenPurchase.user_id == user_id)
            .order_by(TokenPurchase.created_at.desc(), TokenPurchase.id.desc())
            .limit(limit)
        ).scalars()
    )
