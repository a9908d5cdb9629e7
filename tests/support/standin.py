"""One offline Stripe stand-in per test process, put back to a checkpoint for each test that uses it.

Building a stand-in, serving it and running `stripe_setup.sync()` against it (about fifteen SDK calls)
took a sixth of a second for each payment test. Here that happens once: the checkpoint is taken right
after the first sync, and each test gets the stand-in rewound to it (the same products and prices,
with the same ids), its webhooks delivered to that test's app only, and the rows the sync wrote
into the app's database (the catalogue's Stripe ids, the stored sync events) written into its own.

Between two tests the dispatcher is paused: the attempt under way is waited for, and every queued
attempt and retry is dropped, so nothing from one test can reach the next test's app.
"""

import threading
from dataclasses import dataclass, field

import httpx
from flask import Flask
from sqlalchemy import bindparam, select

from stripe_standin import create_standin_app, serve_in_thread
from tokenapp.extensions import db
from tokenapp.models import StripeEvent, SubscriptionPlan, TokenPackage
from tokenapp.services import stripe_setup

from .apps import SeededDatabase, make_app
from .payments import StripeStandin

RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)  # short, so that a test sees Stripe's retries within a second
CATALOGUE = [TokenPackage.__table__, SubscriptionPlan.__table__]


@dataclass
class SyncedRows:
    """What a sync left in the app's database: each item's Stripe ids, and the sync's events as stored."""

    ids: dict[str, list[dict]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)

    @classmethod
    def read(cls, app: Flask, event_ids: list[str]) -> "SyncedRows":
        """The rows as the sync and its webhooks left them in `app`'s database."""
        rows = cls()
        with app.app_context(), db.engine.connect() as connection:
            for table in CATALOGUE:
                found = connection.execute(
                    select(table.c.key, table.c.stripe_product_id, table.c.stripe_price_id).where(
                        table.c.stripe_price_id.is_not(None)
                    )
                )
                rows.ids[table.name] = [
                    {"item_key": key, "product_id": product, "price_id": price} for key, product, price in found
                ]
            events = StripeEvent.__table__
            rows.events = [
                dict(row._mapping) for row in connection.execute(events.select().where(events.c.id.in_(event_ids)))
            ]
        return rows

    def write(self, app: Flask) -> None:
        """Write the rows into `app`'s database (freshly seeded, so as the sync would have)."""
        with app.app_context(), db.engine.begin() as connection:
            for table in CATALOGUE:
                if self.ids.get(table.name):
                    update = (
                        table.update()
                        .where(table.c.key == bindparam("item_key"))
                        .values(stripe_product_id=bindparam("product_id"), stripe_price_id=bindparam("price_id"))
                    )
                    connection.execute(update, self.ids[table.name])
            if self.events:
                connection.execute(StripeEvent.__table__.insert(), self.events)


class StandinServer:
    """A stand-in served from a thread, lent to one test at a time (`attach`, then `detach`)."""

    def __init__(self, webhook_secret: str):
        self.current: StripeStandin | None = None
        self.checkpoint: tuple[bytes, list[dict], SyncedRows] | None = None
        standin = create_standin_app(None, webhook_secret, deliver=self._deliver, retry_delays=RETRY_DELAYS)
        self.handle = serve_in_thread(standin)
        self.state = standin.extensions["stripe_standin"]
        self.dispatcher = self.state.dispatcher
        self.url = self.handle.url
        self.browser = httpx.Client(base_url=self.url, trust_env=False, timeout=15)
        self._lending = threading.Lock()

    @classmethod
    def synced(cls, database: SeededDatabase) -> "StandinServer":
        """A stand-in synced once by an app on `database` (put back to its seeded state after), checkpointed."""
        app = make_app(database.url)
        database.reset_with(app)
        server = cls(app.config["STRIPE_WEBHOOK_SECRET"])
        standin = server.attach_and_sync(app)
        synced = SyncedRows.read(app, [event["id"] for event in server.state.all("event")])
        server.checkpoint = (server.state.checkpoint(), server.dispatcher.deliveries(), synced)
        server.detach(standin)
        database.reset_with(app)
        with app.app_context():
            db.engine.dispose()
        return server

    def attach(self, app: Flask) -> StripeStandin:
        """Lend the stand-in to `app`'s test: rewound to the checkpoint (if any), its webhooks to `app`."""
        assert self._lending.acquire(blocking=False), "the stand-in is already lent to another test"
        try:
            log = None
            if self.checkpoint is not None:
                state, log, synced = self.checkpoint
                self.state.restore(state)
                synced.write(app)
        except BaseException:
            self._lending.release()
            raise
        app.config["STRIPE_API_BASE"] = self.url
        self.browser.cookies.clear()
        self.dispatcher.secret = app.config["STRIPE_WEBHOOK_SECRET"]
        self.current = standin = StripeStandin(app, self)
        self.dispatcher.resume(log)
        return standin

    def attach_and_sync(self, app: Flask) -> StripeStandin:
        """`attach`, then a real `stripe_setup.sync()` by `app` against the stand-in, its webhooks delivered."""
        standin = self.attach(app)
        with app.app_context():
            stripe_setup.sync()
            db.session.remove()
        standin.wait()
        return standin

    def detach(self, standin: StripeStandin) -> None:
        """Take the stand-in back: the attempt under way finishes, queued attempts and retries are dropped."""
        assert self.current is standin, "detaching a test that does not hold the stand-in"
        self.dispatcher.pause()
        self.current = None
        self._lending.release()

    def _deliver(self, url, body: bytes, headers: dict) -> int:
        """Post a webhook to the app of the test holding the stand-in."""
        current = self.current
        if current is None:
            raise RuntimeError("a webhook was sent while no test held the stand-in")
        return current._deliver(url, body, headers)

    def close(self) -> None:
        """Stop serving and join the server's and the dispatcher's threads."""
        self.browser.close()
        self.handle.shutdown()
        assert not self.handle.thread.is_alive(), "the stand-in's server thread did not stop"
        assert not self.dispatcher.is_alive(), "the stand-in's webhook thread did not stop"
