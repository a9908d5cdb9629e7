"""Ledger v2: lots, consumption order, refunds to lots, expiry, double entry, transfers, money figures."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from support.database import history
from tokenapp.database import write_transaction
from tokenapp.extensions import db
from tokenapp.models import TokenAccount, TokenDraw, TokenLot, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.models.ledger import LotKind, LotSource, TransactionType
from tokenapp.services import accounts, audit, charges, ledger
from tokenapp.services.errors import InsufficientTokens, InvalidRecipient

DAY = timedelta(days=1)


class Clock:
    """A movable clock for the ledger: patches `utcnow` where the ledger and charges read it."""

    MODULES = ("tokenapp.services.ledger", "tokenapp.services.ledger.writer", "tokenapp.services.charges")

    def __init__(self, monkeypatch):
        self.now = utcnow()
        for module in self.MODULES:
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Every test here runs on the movable clock, set before its user signs up."""
    return Clock(monkeypatch)


def lots(user_id):
    """(source, kind, granted, remaining, cost_cents) of each lot, oldest first."""
    db.session.expire_all()
    return db.session.execute(
        select(TokenLot.source, TokenLot.kind, TokenLot.granted, TokenLot.remaining, TokenLot.cost_cents)
        .where(TokenLot.user_id == user_id)
        .order_by(TokenLot.id)
    ).all()


def buy(user_id, tokens, cents, key):
    with write_transaction() as tx:
        return ledger.grant_purchase(tx, user_id, tokens, dedupe_key=key, note="test pack", cost_cents=cents)


def balance(user_id):
    return ledger.balance_of(user_id).balance


def test_every_credit_is_a_lot_of_its_kind_with_its_expiry(ctx, uid, clock):
    buy(uid, 100, 1000, "purchase:1")
    ledger.adjust(uid, 5, reason="goodwill")
    assert lots(uid) == [
        ("welcome", "bonus", 10, 10, 0),
        ("purchase", "paid", 100, 100, 1000),
        ("adjustment", "bonus", 5, 5, 0),
    ]
    expiries = db.session.execute(
        select(TokenLot.kind, TokenLot.expires_at).where(TokenLot.user_id == uid).order_by(TokenLot.id)
    ).all()
    assert expiries[0].expires_at == clock.now + 90 * DAY and expiries[1].expires_at is None
    assert balance(uid) == 115


def test_paid_lots_expire_only_when_the_setting_says(ctx, uid, clock):
    ctx.config["PAID_TOKEN_EXPIRY_DAYS"] = 30
    ctx.config["BONUS_TOKEN_EXPIRY_DAYS"] = 0
    buy(uid, 100, 1000, "purchase:1")
    ledger.credit(uid, 3, TransactionType.BONUS, source=LotSource.DAILY_BONUS)
    expiries = (
        db.session.execute(select(TokenLot.expires_at).where(TokenLot.user_id == uid).order_by(TokenLot.id))
        .scalars()
        .all()
    )
    assert expiries[1:] == [clock.now + 30 * DAY, None]


def test_consumption_order_soonest_expiry_then_bonus_then_oldest(ctx, uid, clock):
    buy(uid, 20, 200, "purchase:1")  # paid, never expires
    clock.advance(10 * DAY)
    ledger.credit(uid, 8, TransactionType.BONUS, source=LotSource.REFERRAL)  # expires 10 days after the welcome lot
    ctx.config["PAID_TOKEN_EXPIRY_DAYS"] = 100
    buy(uid, 5, 50, "purchase:2")  # paid, expires 100 days from now: after both bonus lots
    charges.charge(uid, "networking_message")  # 3 tokens: from the welcome lot (soonest expiry)
    charges.charge(uid, "job_match_detailed")  # 5: 7 left in welcome -> 2 left
    charges.charge(uid, "cover_letter")  # 10: welcome's 2, then 8 from the referral lot (expires next)
    assert [lot.remaining for lot in lots(uid)] == [0, 20, 0, 5]
    charges.charge(uid, "job_match_detailed")  # then the expiring paid lot before the one that never expires
    assert [lot.remaining for lot in lots(uid)] == [0, 20, 0, 0]
    assert balance(uid) == 20


def test_bonus_before_paid_at_the_same_expiry_and_oldest_first(ctx, uid, clock):
    ctx.config["BONUS_TOKEN_EXPIRY_DAYS"] = 0
    buy(uid, 5, 50, "purchase:1")
    ledger.credit(uid, 5, TransactionType.BONUS, source=LotSource.DAILY_BONUS)
    ledger.credit(uid, 5, TransactionType.BONUS, source=LotSource.DAILY_BONUS)
    # welcome (expires) first; then the never-expiring lots: bonus before paid, the older bonus first
    charges.charge(uid, "cover_letter")
    charges.charge(uid, "networking_message")
    assert [lot.remaining for lot in lots(uid)] == [0, 5, 2, 5]


def test_a_spend_from_one_lot_names_it_and_a_spend_across_lots_draws(ctx, uid):
    buy(uid, 100, 1000, "purchase:1")
    single = charges.charge(uid, "networking_message")
    several = charges.charge(uid, "cover_letter")  # 7 welcome tokens left, then 3 paid
    spend_rows = {
        row.charge_id: row
        for row in db.session.execute(select(TokenTransaction).where(TokenTransaction.type == "spend")).scalars()
    }
    welcome, paid = [lot.id for lot in db.session.execute(select(TokenLot).order_by(TokenLot.id)).scalars()]
    assert spend_rows[single.charge_id].lot_id == welcome and spend_rows[single.charge_id].cents == 0
    assert spend_rows[several.charge_id].lot_id is None and spend_rows[several.charge_id].cents == -30
    draws = db.session.execute(
        select(TokenDraw.lot_id, TokenDraw.tokens, TokenDraw.cents)
        .where(TokenDraw.transaction_id == spend_rows[several.charge_id].id)
        .order_by(TokenDraw.lot_id)
    ).all()
    assert draws == [(welcome, -7, 0), (paid, -3, -30)]


def test_a_refund_returns_tokens_to_the_lots_they_came_from(ctx, uid, audit):
    buy(uid, 100, 1000, "purchase:1")
    charges.charge(uid, "networking_message")
    held = charges.charge(uid, "cover_letter")
    assert [lot.remaining for lot in lots(uid)] == [0, 97]
    assert charges.refund_charge(held.charge_id) is True
    assert [lot.remaining for lot in lots(uid)] == [7, 100]
    assert history(uid)[-1] == ("refund", 10, 107)
    audit()


def test_an_expired_lot_is_never_spent_even_before_the_sweep(ctx, uid, clock, audit):
    buy(uid, 4, 40, "purchase:1")
    clock.advance(91 * DAY)  # the welcome lot (10) is past its expiry; no sweep has run
    with pytest.raises(InsufficientTokens) as refused:
        charges.charge(uid, "job_match_detailed")  # 5 > the 4 paid tokens that are left
    assert refused.value.balance == 4
    assert charges.charge(uid, "networking_message").balance == 1
    assert [row[0] for row in history(uid)] == ["bonus", "purchase", "expiry", "spend"]
    assert history(uid)[2] == ("expiry", -10, 4)
    audit()


def test_a_balance_read_expires_what_is_due(ctx, uid, clock, audit):
    clock.advance(90 * DAY)
    assert balance(uid) == 0
    assert history(uid)[-1] == ("expiry", -10, 0)
    audit()


def test_a_refund_to_an_expired_lot_expires_at_once_and_only_once(ctx, uid, clock, audit):
    held = charges.charge(uid, "networking_message")  # 3 of the welcome lot's 10
    clock.advance(91 * DAY)
    assert ledger.expire_lots(clock.now) == ledger.ExpiryReport(1, 7)
    assert charges.refund_charge(held.charge_id) is True
    assert [row[:2] for row in history(uid)][-3:] == [("expiry", -7), ("refund", 3), ("expiry", -3)]
    assert balance(uid) == 0
    assert ledger.expire_lots(clock.now) == ledger.ExpiryReport(0, 0)
    assert len(history(uid)) == 5
    audit()


def test_the_sweep_writes_one_expiry_row_per_lot(ctx, uid, clock, audit):
    ledger.credit(uid, 4, TransactionType.BONUS, source=LotSource.REFERRAL)
    buy(uid, 6, 60, "purchase:1")
    other = accounts.register("other@example.com", "password123").id
    assert ledger.expire_lots(clock.now + 89 * DAY) == ledger.ExpiryReport(0, 0)
    assert ledger.expire_lots(clock.now + 90 * DAY) == ledger.ExpiryReport(2, 24)
    assert [row for row in history(uid) if row[0] == "expiry"] == [("expiry", -10, 10), ("expiry", -4, 6)]
    assert history(other)[-1] == ("expiry", -10, 0)
    audit()


def test_flask_tokens_expire_as_of(ctx, uid, audit):
    runner = ctx.test_cli_runner()
    assert runner.invoke(args=["tokens", "expire"]).output == "expired 0 token(s) in 0 account(s)\n"
    later = (utcnow() + 91 * DAY).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(args=["tokens", "expire", "--as-of", later])
    assert result.exit_code == 0 and result.output == "expired 10 token(s) in 1 account(s)\n"
    assert runner.invoke(args=["tokens", "expire", "--as-of", "tomorrow"]).exit_code != 0
    audit()


def test_a_transfer_moves_paid_tokens_with_their_cost_basis(ctx, uid, audit):
    friend = accounts.register("friend@example.com", "password123").id
    buy(uid, 30, 300, "purchase:1")
    assert ledger.transfer(uid, friend, 12, note="thanks") == 28
    assert lots(friend)[-1] == ("gift", "paid", 12, 12, 120)
    assert history(uid)[-1] == ("gift_out", -12, 28) and history(friend)[-1] == ("gift_in", 12, 22)
    assert ledger.paid_balance(uid) == 18 and ledger.paid_balance(friend) == 12
    with pytest.raises(InsufficientTokens):
        ledger.transfer(uid, friend, 19)  # 28 tokens, but only 18 of them paid
    with pytest.raises(InvalidRecipient):
        ledger.transfer(uid, uid, 1)
    assert ledger.figures().transfers_cents == 0
    audit()


def test_a_reversal_takes_the_purchase_lot_first_and_records_debt_in_the_ledger(ctx, uid, audit):
    buy(uid, 20, 200, "purchase:1")
    charges.charge(uid, "cover_letter")  # 10 welcome tokens
    charges.charge(uid, "cover_letter")  # 10 paid tokens
    with write_transaction() as tx:
        owed = ledger.take_back(tx, uid, 20, "Refund, purchase #1", purchase_key="purchase:1")
    assert owed == 10
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 10)
    debt_rows = db.session.execute(
        select(
            TokenTransaction.type, TokenTransaction.amount, TokenTransaction.debt_change, TokenTransaction.counterparty
        )
        .where(TokenTransaction.user_id == uid)
        .order_by(TokenTransaction.id)
    ).all()
    assert debt_rows[-1] == ("reversal", -10, 10, "stripe")
    buy(uid, 15, 150, "purchase:2")
    assert ledger.balance_of(uid) == ledger.BalanceView(5, False, 0)
    assert history(uid)[-1] == ("reversal", -10, 5)
    audit()


def test_money_figures_come_straight_off_the_ledger(ctx, uid, clock, audit):
    ctx.config["PAID_TOKEN_EXPIRY_DAYS"] = 200
    buy(uid, 100, 1000, "purchase:1")  # 10 cents a token
    charges.charge(uid, "cover_letter")  # the 10 welcome tokens: promotion, not revenue
    charges.charge(uid, "resume_parsing")  # 8 paid: 80 cents of revenue
    money = ledger.figures()
    assert (
        money.cash_collected_cents,
        money.revenue_cents,
        money.liability_cents,
        money.breakage_cents,
        money.promotion_tokens,
    ) == (1000, 80, 920, 0, 10)
    clock.advance(201 * DAY)
    ledger.expire_lots(clock.now)
    money = ledger.figures()
    assert (money.revenue_cents, money.liability_cents, money.breakage_cents) == (80, 0, 920)
    assert money.balanced
    audit()


def test_odd_cost_bases_still_add_up_to_the_cent(ctx, uid, audit):
    buy(uid, 7, 1000, "purchase:1")  # 142.857… cents a token
    for _ in range(2):
        charges.charge(uid, "networking_message")
    charges.charge(uid, "job_match_detailed")  # 3 + 3 (10 welcome, 6 of them), then 4 + 1: welcome's 4, 1 paid
    money = ledger.figures()
    assert money.revenue_cents + money.liability_cents == 1000 and money.balanced
    audit()


@pytest.mark.tampers_ledger
def test_the_auditor_sees_a_lot_that_disagrees_with_its_rows(ctx, uid):
    db.session.execute(db.update(TokenLot).where(TokenLot.user_id == uid).values(remaining=9))
    db.session.commit()
    problems = audit.find_problems()
    assert any("lots hold 9" in problem for problem in problems)
    assert any(problem.startswith("lot ") for problem in problems)


def test_lot_kind_and_source_are_checked_by_the_database(ctx, uid):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(
            db.insert(TokenLot).values(
                user_id=uid,
                source="welcome",
                kind=LotKind.BONUS.value,
                granted=5,
                remaining=5,
                cost_cents=10,
                created_at=utcnow(),
            )
        )
        db.session.flush()
    db.session.rollback()


def expiry_rows(user_id):
    """(amount, balance_after, counterparty, lot_id, cents, note) of the user's expiry rows, oldest first."""
    return db.session.execute(
        select(
            TokenTransaction.amount,
            TokenTransaction.balance_after,
            TokenTransaction.counterparty,
            TokenTransaction.lot_id,
            TokenTransaction.cents,
            TokenTransaction.note,
        )
        .where(TokenTransaction.user_id == user_id, TokenTransaction.type == "expiry")
        .order_by(TokenTransaction.id)
    ).all()


def lot_ids(user_id):
    return list(
        db.session.execute(select(TokenLot.id).where(TokenLot.user_id == user_id).order_by(TokenLot.id)).scalars()
    )


@pytest.mark.parametrize("how", ["sweep in batches of 2", "sweep in one batch", "each account on its own"])
def test_the_batch_sweep_writes_exactly_what_expiring_each_account_alone_does(ctx, uid, clock, audit, how):
    """Several accounts, several due lots each of both kinds, one in debt with nothing left, one Unlimited, one
    with nothing due: the rows, cents, balance_after values and notes are the hand-computed ones either way."""
    from tokenapp.signals import balance_changed

    ctx.config["PAID_TOKEN_EXPIRY_DAYS"] = 30
    start = clock.now
    many, odd, owing, unlimited = uid, *(accounts.register(f"{name}@example.com", "password123").id for name in "bdu")
    buy(many, 20, 300, "purchase:1")  # paid, 15 cents a token, expires on day 30; the welcome lot on day 90
    ledger.credit(many, 4, TransactionType.BONUS, source=LotSource.REFERRAL)  # bonus, also day 90, after welcome
    charges.charge(many, "networking_message")  # 3 from the paid lot (soonest): 17 left, 45 cents released
    buy(odd, 7, 1000, "purchase:1")  # 142.857... cents a token
    charges.charge(odd, "networking_message")  # 3 from the paid lot: 4 left, 428 cents released
    buy(owing, 10, 100, "purchase:1")
    charges.charge(owing, "cover_letter")  # the paid lot's 10
    charges.charge(owing, "networking_message")  # 3 of the welcome lot's 10
    with write_transaction() as tx:
        assert ledger.take_back(tx, owing, 10, "Refund, purchase #1", purchase_key="purchase:1") == 3
    ledger.set_unlimited(unlimited, True)
    clock.advance(60 * DAY)
    later = accounts.register("later@example.com", "password123").id  # welcome lot due on day 150
    clock.advance(31 * DAY)
    heard = []

    def listen(_sender, **details):
        heard.append(details["user_id"])

    balance_changed.connect(listen)
    try:
        if how == "each account on its own":
            for user_id in (many, odd, owing, unlimited, later):
                ledger.balance_of(user_id)  # a read locks the account and expires what is due (`writer.expire_due`)
        else:
            report = ledger.expire_lots(clock.now, batch=2 if how == "sweep in batches of 2" else 200)
            assert report == ledger.ExpiryReport(4, 31 + 14 + 10)  # the account in debt was due too, by its cache
    finally:
        balance_changed.disconnect(listen)

    welcome, paid, referral = lot_ids(many)
    assert expiry_rows(many) == [
        (-17, 14, "expiry", paid, 45 - 300, "17 paid tokens expired"),
        (-10, 4, "expiry", welcome, 0, "10 bonus tokens expired"),
        (-4, 0, "expiry", referral, 0, "4 bonus tokens expired"),
    ]
    welcome, paid = lot_ids(odd)
    assert expiry_rows(odd) == [
        (-4, 10, "expiry", paid, 428 - 1000, "4 paid tokens expired"),
        (-10, 0, "expiry", welcome, 0, "10 bonus tokens expired"),
    ]
    [welcome] = lot_ids(unlimited)
    assert expiry_rows(unlimited) == [(-10, 0, "expiry", welcome, 0, "10 bonus tokens expired")]
    assert expiry_rows(owing) == [] and expiry_rows(later) == []
    assert sorted(heard) == sorted([many, odd, unlimited])  # once per account that lost tokens
    db.session.expire_all()
    shown = {user_id: ledger.balance_of(user_id) for user_id in (many, odd, owing, unlimited, later)}
    assert shown == {
        many: ledger.BalanceView(0, False),
        odd: ledger.BalanceView(0, False),
        owing: ledger.BalanceView(0, False, 3),
        unlimited: ledger.BalanceView(10 - 10, True),
        later: ledger.BalanceView(10, False),
    }
    next_expiry = dict(db.session.execute(select(TokenAccount.user_id, TokenAccount.next_expiry_at)).all())
    assert [next_expiry[user_id] for user_id in (many, odd, owing, unlimited)] == [None] * 4
    assert next_expiry[later] == start + 150 * DAY
    assert ledger.expire_lots(clock.now) == ledger.ExpiryReport(0, 0)
    money = ledger.figures()
    assert (money.breakage_cents, money.liability_cents) == (300 - 45 + 1000 - 428, 0) and money.balanced
    audit()
