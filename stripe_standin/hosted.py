"""The hosted Checkout page a person sees at `session.url`: GET shows it, POST pays."""

import re
import time

from flask import Blueprint, current_app, redirect, render_template_string, request

from .checkout import expire_if_due
from .page import STYLE, TEMPLATE
from .paying import CARDS, pay, session_email
from .util import format_amount

bp = Blueprint("stripe_standin_hosted", __name__)
HEADINGS = {"open": "Checkout", "complete": "Payment complete", "expired": "Session expired"}


@bp.get("/checkout/pay/<session_id>")
def show(session_id):
    """The payment form for an open session, or a note on its state."""
    state = current_app.extensions["stripe_standin"]
    with state.lock:
        session = find_session(state, session_id)
        if session is None:
            return "<!doctype html><title>Not found</title><p>No such checkout page.</p>", 404
        return render(state, session, status=410 if session["status"] == "expired" else 200)


@bp.post("/checkout/pay/<session_id>")
def submit(session_id):
    """Take the card: redirect to success_url on success, or show the page with an alert."""
    state = current_app.extensions["stripe_standin"]
    form = {key: request.form.get(key, "").strip() for key in ("email", "card_number", "exp")}
    with state.lock:
        session = find_session(state, session_id)
        if session is None:
            return "<!doctype html><title>Not found</title><p>No such checkout page.</p>", 404
        if session["status"] != "open":
            error = "This Checkout Session is no longer available."
            return render(state, session, error=error, status=409)
        email = session_email(state, session) or form["email"]
        error = input_error(form, email)
        if error:
            return render(state, session, error=error, form=form, status=400)
        error = pay(state, session, digits(form["card_number"]), email)
        if error:
            return render(state, session, error=error, form=form, status=402)
        if not session["success_url"]:
            return render(state, session)
        return redirect(fill(session["success_url"], session), 303)


def find_session(state, session_id: str) -> dict | None:
    """The Checkout Session behind this page, expired first if overdue."""
    session = state.find(session_id)
    if session is None or session.get("object") != "checkout.session":
        return None
    expire_if_due(state, session)
    return session


def digits(text: str) -> str:
    """A card number with its spaces (and dashes) taken out."""
    return re.sub(r"[\s-]", "", text)


def input_error(form: dict, email: str) -> str | None:
    """What is wrong with the typed details, worded as Checkout words it."""
    if not email or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return "Your email address is incomplete." if not email else "Your email is invalid."
    number = digits(form["card_number"])
    if not number:
        return "Your card number is incomplete."
    if number not in CARDS:
        return "Your card number is incorrect."
    return expiry_error(form["exp"])


def expiry_error(text: str) -> str | None:
    """An optional expiry date must be a real month, not in the past."""
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})\s*/?\s*(\d{2}|\d{4})", text)
    if not match or not 1 <= int(match[1]) <= 12:
        return "Your card's expiration date is incomplete."
    year = int(match[2]) + (2000 if len(match[2]) == 2 else 0)
    today = time.gmtime()
    if (year, int(match[1])) < (today.tm_year, today.tm_mon):
        return "Your card's expiration year is in the past."
    return None


def render(state, session: dict, error=None, form=None, status=200):
    """The page for the session in its current state."""
    form = form or {}
    email = session_email(state, session) or form.get("email")
    items = [
        {
            "description": item["description"],
            "quantity": item["quantity"],
            "amount": format_amount(item["amount_total"], item["currency"]),
            "interval": (item["price"]["recurring"] or {}).get("interval"),
        }
        for item in state.private[session["id"]]["line_items"]
    ]
    html = render_template_string(
        TEMPLATE,
        style=STYLE,
        session=session,
        heading=HEADINGS[session["status"]],
        items=items,
        total=format_amount(session["amount_total"], session["currency"]),
        error=error,
        ask_email=not session_email(state, session),
        email=email,
        card_number=form.get("card_number", ""),
        exp=form.get("exp", ""),
        **closed_note(session),
    )
    return html, status


def closed_note(session: dict) -> dict:
    """The message and link shown once the session is complete or expired."""
    if session["status"] == "complete":
        unpaid = session["payment_status"] == "unpaid"
        message = (
            "Your payment is processing; you will hear when it completes."
            if unpaid
            else "Thank you. Your payment is complete."
        )
        return {"message": message, "link": fill(session["success_url"], session), "link_text": "Continue"}
    return {
        "message": "This checkout session has expired. Nothing was charged.",
        "link": session["cancel_url"],
        "link_text": "Go back",
    }


def fill(url: str | None, session: dict) -> str | None:
    """A URL with {CHECKOUT_SESSION_ID} replaced."""
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None
