"""An offline stand-in for Stripe's API v1, hosted Checkout page and webhooks.

Point the official SDK at it (`stripe.StripeClient(key, base_addresses={"api": url})`)
to run payments with no network. State lives in memory; see control.py for
the /_standin/ test controls and paying.py for the test cards.
"""

from .server import create_standin_app, run, serve_in_thread

__all__ = ["create_standin_app", "run", "serve_in_thread"]
