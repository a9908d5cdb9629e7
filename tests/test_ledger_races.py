"""Real races on the ledger v2 paths: each job on its own connection, all released at once.

On PostgreSQL every outcome is a success or a clean refusal. On SQLite, one
writer at a time, a job may also give up waiting (OperationalError); in every
case nothing is lost and the auditor finds nothing wrong.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tokenapp.database import WRITE_OPTION, write_transaction
from tokenapp.extensions import db
from tokenapp.models import TokenLot, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.models.ledger import LotSource, TransactionType
from tokenapp.services import accounts, charges, ledger

WORKERS = 16


def together(app, count: int, job) -> list:
    """Run `job(i)` for i in range(count) in app contexts on WORKERS threads released at once; each outcome."""
    gate = threading.Event()

    def gated(i):
        gate.wait()
        with app.app_context():
            try:
                return job(i)
            except Exception as error:  # noqa: BLE001 - the test counts every outcome
                return type(error).__name__
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(gated, i) for i in range(count)]
        gate.set()
        return [future.result(timeout=120) for future in futures]


def new_user(app, email: str) -> int:
    with app.app_context():
        user_id = accounts.register(email, "password123").id
        db.session.remove()
    return user_id


def buy(app, user_id: int, tokens: int, cents: int, key: str) -> None:
    with app.app_context():
        with write_transaction() as tx:
            ledger.grant_purchase(tx, user_id, tokens, dedupe_key=key, note="test pack", cost_cents=cents)
        db.session.remove()


def read(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def lot_remaining(user_id: int) -> list[int]:
    return list(
        db.session.execute(
            select(TokenLot.remaining).where(TokenLot.user_id == user_id).order_by(TokenLot.id)
        ).scalars()
    )


def test_hundred_concurrent_spends_against_several_lots(app, backend, audit):
    uid = new_user(app, "many@example.com")  # a 10-token welcome lot
    for key, tokens in (("p1", 25), ("p2", 35), ("p3", 30)):
        buy(app, uid, tokens, tokens * 10, key)
    read(app, lambda: ledger.credit(uid, 20, TransactionType.BONUS, source=LotSource.REFERRAL))  # 120 in 5 lots

    outcomes = together(app, 100, lambda _i: charges.charge(uid, "networking_message").balance)  # 3 tokens each
    succeeded = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert set(outcomes) - set(succeeded) <= {"InsufficientTokens", "OperationalError"}
    if backend == "postgresql":
        assert len(succeeded) == 40
    assert sorted(succeeded) == list(range(120 - 3 * len(succeeded), 120, 3))
    assert sum(read(app, lambda: lot_remaining(uid))) == 120 - 3 * len(succeeded)
    audit()


@pytest.mark.parametrize("batch", [3, ledger.EXPIRY_BATCH])
def test_a_spend_racing_the_expiry_sweep_never_loses_paid_tokens(app, backend, audit, batch):
    """Sweeps of several accounts per transaction (batches of 3, or all 4 at once) race spends on them."""
    app.config["PAID_TOKEN_EXPIRY_DAYS"] = 30
    app.config["BONUS_TOKEN_EXPIRY_DAYS"] = 0
    users = [new_user(app, f"race{i}@example.com") for i in range(4)]
    for uid in users:
        buy(app, uid, 60, 600, f"paid-{uid}")  # one paid lot expiring in 30 days; welcome bonus never expires
    later = utcnow() + timedelta(days=31)

    def job(i):
        if i % 8 == 0:
            return ledger.expire_lots(later, batch=batch)
        return charges.charge(users[i % 4], "networking_message").balance

    outcomes = together(app, 64, job)
    failures = {outcome for outcome in outcomes if isinstance(outcome, str)}
    # once a sweep has expired a paid lot, only the 10 welcome tokens are left to spend
    assert failures <= ({"InsufficientTokens", "OperationalError"} if backend == "sqlite" else {"InsufficientTokens"})

    def paid_lot_history(uid):
        lot_id, remaining = db.session.execute(
            select(TokenLot.id, TokenLot.remaining).where(TokenLot.user_id == uid, TokenLot.kind == "paid")
        ).one()
        parts = db.session.execute(
            select(TokenTransaction.id, TokenTransaction.type, TokenTransaction.amount)
            .where(TokenTransaction.lot_id == lot_id)
            .order_by(TokenTransaction.id)
        ).all()
        return remaining, parts

    for uid in users:
        remaining, parts = read(app, lambda uid=uid: paid_lot_history(uid))
        expiries = [part for part in parts if part.type == "expiry"]
        assert len(expiries) == 1 and remaining == 0  # some sweep ran after 30 days: one row, nothing left
        before = -sum(part.amount for part in parts if part.type == "spend" and part.id < expiries[0].id)
        after = [part for part in parts if part.type == "spend" and part.id > expiries[0].id]
        assert expiries[0].amount == -(60 - before) and after == []  # it took only what the spends had left
    audit()


def test_fifty_concurrent_transfers_each_way_never_deadlock(app, backend, audit):
    alice, bob = new_user(app, "alice@example.com"), new_user(app, "bob@example.com")
    buy(app, alice, 100, 1000, "pa")
    buy(app, bob, 100, 2000, "pb")

    def job(i):
        sender, receiver = (alice, bob) if i % 2 else (bob, alice)
        return ledger.transfer(sender, receiver, 3)

    outcomes = together(app, 100, job)
    failures = {outcome for outcome in outcomes if isinstance(outcome, str)}
    assert failures <= ({"OperationalError"} if backend == "sqlite" else set())
    balances = read(app, lambda: (ledger.balance_of(alice).balance, ledger.balance_of(bob).balance))
    assert sum(balances) == 220
    money = read(app, ledger.figures)
    assert money.cash_collected_cents == 3000 and money.liability_cents == 3000 and money.transfers_cents == 0
    audit()


def test_a_refund_racing_spends_returns_its_tokens_once(app, backend, audit):
    uid = new_user(app, "refund@example.com")
    buy(app, uid, 40, 400, "p1")
    held = read(app, lambda: [charges.charge(uid, "networking_message").charge_id for _ in range(6)])

    def job(i):
        if i < 12:
            return charges.refund_charge(held[i % 6])
        return charges.charge(uid, "networking_message").balance

    outcomes = together(app, 40, job)
    refunds = outcomes[:12]
    assert refunds.count(True) == 6 or (backend == "sqlite" and refunds.count(True) <= 6)
    spent = [outcome for outcome in outcomes[12:] if isinstance(outcome, int)]
    assert read(app, lambda: ledger.balance_of(uid).balance) == 50 - 3 * (6 - refunds.count(True)) - 3 * len(spent)
    audit()


def test_the_sweep_locks_its_batch_in_user_id_order(app, backend, audit):
    """With the higher account locked by another transaction, a sweep of both waits holding the lower one.

    Transfers lock their two accounts lower user id first too, so a sweep and
    transfers (or two sweeps) wait for each other instead of deadlocking. On
    SQLite the other writer holds the whole database and the sweep waits for it.
    """
    app.config["PAID_TOKEN_EXPIRY_DAYS"] = 30
    low, high = new_user(app, "low@example.com"), new_user(app, "high@example.com")
    for uid in (low, high):
        buy(app, uid, 20, 200, f"paid-{uid}")
    later = utcnow() + timedelta(days=31)
    lock = "SELECT user_id FROM token_accounts WHERE user_id = :user FOR UPDATE"
    with app.app_context():
        holder = db.engine.connect().execution_options(**{WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
        holder.execute(text(lock if backend == "postgresql" else "SELECT 1"), {"user": high})
        sweeping = ThreadPoolExecutor(max_workers=1)
        sweep = sweeping.submit(read, app, lambda: ledger.expire_lots(later))
        try:
            if backend == "postgresql":
                assert _locked_by_someone(app, low, lock + " NOWAIT"), "the sweep did not lock the lower account first"
            else:
                time.sleep(0.5)
            assert not sweep.done()  # it waits for the higher account
        finally:
            holder.rollback()
            holder.close()
        assert sweep.result(timeout=60) == ledger.ExpiryReport(2, 40)
        sweeping.shutdown()
    audit()


def _locked_by_someone(app, user_id: int, lock_nowait: str, seconds: float = 20.0) -> bool:
    """Whether the account row becomes locked by another transaction within `seconds`."""
    deadline = time.monotonic() + seconds
    with app.app_context():
        while time.monotonic() < deadline:
            with db.engine.connect() as probe:
                try:
                    probe.execute(text(lock_nowait), {"user": user_id})
                except OperationalError:
                    return True
                finally:
                    probe.rollback()
            time.sleep(0.05)
    return False


def test_sweeps_and_transfers_each_way_in_parallel_never_deadlock(app, backend, audit):
    """Two-account transfers both ways and sweeps over the same accounts, all at once."""
    app.config["PAID_TOKEN_EXPIRY_DAYS"] = 30
    users = [new_user(app, f"mesh{i}@example.com") for i in range(4)]
    for uid in users:
        buy(app, uid, 100, 1000, f"paid-{uid}")
    later = utcnow() + timedelta(days=31)

    def job(i):
        if i % 6 == 0:
            return ledger.expire_lots(later, batch=(2, 4)[i % 2])
        sender, receiver = users[i % 4], users[(i + 1 + i // 4) % 4]
        return ledger.transfer(sender, receiver, 2) if sender != receiver else 0

    outcomes = together(app, 96, job)
    failures = {outcome for outcome in outcomes if isinstance(outcome, str)}
    # a transfer after a sweep has expired the paid lots finds no paid tokens; nothing else may fail
    assert failures <= ({"InsufficientTokens", "OperationalError"} if backend == "sqlite" else {"InsufficientTokens"})
    with app.app_context():
        left = db.session.execute(
            select(func.count()).where(TokenLot.user_id.in_(users), TokenLot.kind == "paid", TokenLot.remaining > 0)
        ).scalar_one()
        db.session.remove()
    assert left == 0  # every paid lot, the gifts of them too, expired on day 30
    audit()
