"""Payments in tests: the offline Stripe stand-in wired to a test app (the SDK talks to it over HTTP,
and its signed webhooks are posted to the app's real endpoint), checkout, and signed events."""

import json
import threading
import time

import httpx
from stripe._http_client import HTTPClient

from stripe_standin.webhooks import signature_header
from tokenapp.extensions import db
from tokenapp.models import TokenPurchase, TokenTransaction

from .web import csrf_token, user_id

# The SDK waits 0.5 s, then 1 s (with jitter), before its retries of a failed call (the app asks for 2):
# several seconds of sleep in each "Stripe is down" test. The tests keep the retries, with waits a tenth as long.
HTTPClient.INITIAL_DELAY = 0.05

OK_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
BROKE_CARD = "4000 0000 0000 9995"
DELAYED_CARD = "4000 0000 0000 0101"


class StripeStandin:
    """One test's hold on a served stand-in (`support.standin.StandinServer`): the webhook deliveries
    made to its app, what they answered, and a browser for the stand-in's pages."""

    def __init__(self, app, server):
        self.app = app
        self.server = server
        self.held: list[tuple[bytes, dict]] | None = None
        self.statuses: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        self.handle, self.url, self.browser = server.handle, server.url, server.browser

    def _deliver(self, url, body, headers):
        with self.lock:
            if self.held is not None:
                self.held.append((body, dict(headers)))
                return 200
        status = self.post_webhook(body, headers)
        with self.lock:
            self.statuses.append((json.loads(body)["type"], status))
        return status

    def post_webhook(self, body: bytes, headers: dict) -> int:
        """Post a delivery to the app's webhook endpoint as Stripe would."""
        return self.app.test_client().post("/api/stripe/webhooks", data=body, headers=headers).status_code

    def hold(self) -> None:
        """Keep deliveries back (answered 200 to the stand-in) until `held_events`."""
        self.wait()
        with self.lock:
            self.held = []

    def held_events(self) -> list[tuple[bytes, dict]]:
        """What was held back, in emission order; delivery resumes."""
        self.wait()
        with self.lock:
            held, self.held = self.held or [], None
        return held

    def wait(self) -> None:
        """Block until every webhook (and retry) has been delivered."""
        assert self.handle.state.dispatcher.wait_idle(20), "webhooks did not drain"

    def control(self, path: str, body: dict | None = None) -> dict:
        """POST to a /_standin control endpoint, like `stripe trigger`."""
        response = self.browser.post(f"/_standin/{path}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def pay(self, checkout_url: str, card: str = OK_CARD) -> httpx.Response:
        """Fill in the hosted checkout page as a person would."""
        assert self.browser.get(checkout_url).status_code == 200
        return self.browser.post(checkout_url, data={"card_number": card, "exp": "12 / 34", "cvc": "123"})

    def events(self, event_type: str | None = None) -> list[dict]:
        """Every event the stand-in emitted, oldest first."""
        events = self.browser.get("/_standin/events").json()
        events = events["data"] if isinstance(events, dict) else events
        events = sorted(events, key=lambda e: (e["created"], e["id"]))
        return [e for e in events if event_type is None or e["type"] == event_type]

    def close(self) -> None:
        """Let go of the stand-in: no delivery or retry reaches this test's app after this."""
        self.server.detach(self)


def app_path(url: str) -> str:
    """The path and query of an absolute app URL, for the test client."""
    parsed = httpx.URL(url)
    return parsed.raw_path.decode()


def start_checkout(client, package_key="pro") -> str:
    """Start a Checkout for a pack through the buy form; the hosted page's URL."""
    response = client.post("/tokens/checkout", data={"package_key": package_key, "csrf_token": csrf_token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def purchase(app, **filters) -> TokenPurchase:
    with app.app_context():
        row = db.session.execute(db.select(TokenPurchase).filter_by(**filters)).scalar_one()
        db.session.expunge(row)
        return row


def ledger_rows(app, email="ada@example.com"):
    """(type, amount) of the user's ledger rows, oldest first."""
    with app.app_context():
        return db.session.execute(
            db.select(TokenTransaction.type, TokenTransaction.amount)
            .where(TokenTransaction.user_id == user_id(app, email))
            .order_by(TokenTransaction.id)
        ).all()


def signed(app, event: dict, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, dict]:
    """An event's body and headers as Stripe would post them, signed with the app's webhook secret."""
    body = json.dumps(event).encode()
    header = signature_header(body, secret or app.config["STRIPE_WEBHOOK_SECRET"], timestamp or int(time.time()))
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}
