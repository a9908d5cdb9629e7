"""The ledger service: every balance change and its row, one transaction each."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from support.database import history
from tokenapp.extensions import db
from tokenapp.models import TokenAccount, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.models.ledger import TransactionType
from tokenapp.services import accounts, charges, ledger
from tokenapp.services.errors import ChargeNotUsable, InsufficientTokens, InvalidAmount, UnknownFeature


def account(user_id) -> TokenAccount:
    db.session.expire_all()
    return db.session.get(TokenAccount, user_id)


def test_welcome_bonus_is_granted_once(uid, audit):
    ledger.open_account(uid)
    assert ledger.credit(uid, 10, TransactionType.BONUS, dedupe_key="welcome") is False
    assert history(uid) == [("bonus", 10, 10)]
    assert account(uid).lifetime_bonus == 10
    audit()


def test_welcome_bonus_follows_the_setting(app, database_urls, backend):
    from support.apps import make_app

    other = make_app(database_urls[backend], WELCOME_BONUS_TOKENS=0)
    with other.app_context():
        user_id = accounts.register("zero@example.com", "password123").id
        assert ledger.balance_of(user_id).balance == 0
        assert history(user_id) == []
        db.session.remove()
        db.engine.dispose()


def test_charge_consume_and_refund(uid, audit):
    result = charges.charge(uid, "job_match_detailed")
    assert (result.cost, result.balance) == (5, 5)
    charges.consume_charge(result.charge_id, uid, "job_match_detailed")
    with pytest.raises(ChargeNotUsable):
        charges.consume_charge(result.charge_id, uid, "job_match_detailed")
    assert charges.refund_charge(result.charge_id) is False
    assert account(uid).lifetime_spent == 5
    audit()


def test_refund_happens_exactly_once(uid, audit):
    result = charges.charge(uid, "resume_parsing")
    assert charges.refund_charge(result.charge_id, uid) is True
    assert charges.refund_charge(result.charge_id, uid) is False
    with pytest.raises(ChargeNotUsable):
        charges.consume_charge(result.charge_id, uid, "resume_parsing")
    assert history(uid) == [("bonus", 10, 10), ("spend", -8, 2), ("refund", 8, 10)]
    assert account(uid).lifetime_spent == 0
    audit()


def test_a_charge_is_usable_only_by_its_owner_for_its_feature(uid):
    other = accounts.register("other@example.com", "password123").id
    result = charges.charge(uid, "job_match_detailed")
    with pytest.raises(ChargeNotUsable):
        charges.consume_charge(result.charge_id, other, "job_match_detailed")
    with pytest.raises(ChargeNotUsable):
        charges.consume_charge(result.charge_id, uid, "salary_analysis")
    assert charges.refund_charge(result.charge_id, other) is False
    charges.consume_charge(result.charge_id, uid, "job_match_detailed")


def test_insufficient_charge_writes_nothing(uid, audit):
    charges.charge(uid, "resume_parsing")
    with pytest.raises(InsufficientTokens) as error:
        charges.charge(uid, "resume_parsing")
    assert (error.value.balance, error.value.cost) == (2, 8)
    assert len(history(uid)) == 2
    audit()


def test_unknown_or_inactive_feature_is_refused(uid):
    from tokenapp.models import AIFeature

    with pytest.raises(UnknownFeature):
        charges.charge(uid, "teleport")
    db.session.execute(db.update(AIFeature).where(AIFeature.key == "cover_letter").values(is_active=False))
    db.session.commit()
    with pytest.raises(UnknownFeature):
        charges.charge(uid, "cover_letter", idempotency_key="k1")
    assert ledger.balance_of(uid).balance == 10


def test_unlimited_accounts_record_zero_amount_spends(uid, audit):
    ledger.set_unlimited(uid, True)
    for _ in range(3):
        result = charges.charge(uid, "cover_letter")
        assert (result.cost, result.balance) == (0, 10)
    assert history(uid)[1:] == [("spend", 0, 10)] * 3
    spends = db.session.execute(
        select(func.count()).where(
            TokenTransaction.user_id == uid,
            TokenTransaction.type == "spend",
            TokenTransaction.feature_key == "cover_letter",
        )
    ).scalar()
    assert spends == 3
    assert charges.refund_charge(result.charge_id) is True
    assert ledger.balance_of(uid) == ledger.BalanceView(10, True)
    audit()


def test_stale_charges_are_refunded_once_released(app, uid, audit):
    result = charges.charge(uid, "cover_letter")
    assert ledger.balance_of(uid).balance == 0
    later = utcnow() + timedelta(seconds=app.config["CHARGE_TTL_SECONDS"] + 1)
    assert charges.release_stale_charges(uid, now=later) == 1
    assert ledger.balance_of(uid).balance == 10
    assert history(uid)[-1] == ("refund", 10, 10)
    with pytest.raises(ChargeNotUsable):
        charges.consume_charge(result.charge_id, uid, "cover_letter")
    audit()


def test_the_sweep_job_releases_expired_charges_and_a_balance_read_does_not(uid):
    from tokenapp.jobs import tasks
    from tokenapp.models import TokenCharge

    result = charges.charge(uid, "cover_letter")
    db.session.execute(
        db.update(TokenCharge)
        .where(TokenCharge.id == result.charge_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert ledger.balance_of(uid).balance == 0
    assert tasks.sweep_stale_charges() == 1
    assert ledger.balance_of(uid).balance == 10


def test_consumed_charges_are_never_released(uid):
    result = charges.charge(uid, "cover_letter")
    charges.consume_charge(result.charge_id, uid, "cover_letter")
    assert charges.release_stale_charges(uid, now=utcnow() + timedelta(days=1)) == 0
    assert ledger.balance_of(uid).balance == 0


@pytest.mark.parametrize("amount", [0, -5, 1.5, "10", True, None, float("nan"), float("inf"), 10**12])
def test_credit_rejects_bad_amounts(uid, amount):
    with pytest.raises(InvalidAmount):
        ledger.credit(uid, amount, TransactionType.BONUS)
    assert ledger.balance_of(uid).balance == 10


def test_adjustment_is_audited_and_cannot_go_negative(uid, audit):
    admin = accounts.register("boss@example.com", "password123").id
    assert ledger.adjust(uid, 25, reason="goodwill", actor_id=admin) == 35
    assert ledger.adjust(uid, -30, reason="correction") == 5
    with pytest.raises(InsufficientTokens):
        ledger.adjust(uid, -6, reason="too much")
    with pytest.raises(InvalidAmount):
        ledger.adjust(uid, 0, reason="nothing")
    with pytest.raises(InvalidAmount):
        ledger.adjust(uid, 5, reason="   ")
    last = (
        db.session.execute(
            select(TokenTransaction).where(TokenTransaction.user_id == uid).order_by(TokenTransaction.id)
        )
        .scalars()
        .all()
    )
    assert [(r.type, r.amount, r.note, r.actor_id) for r in last[1:]] == [
        ("adjustment", 25, "goodwill", admin),
        ("adjustment", -30, "correction", None),
    ]
    audit()


def test_purchase_credit_counts_towards_lifetime_purchased(uid):
    assert ledger.credit(uid, 600, TransactionType.PURCHASE, dedupe_key="purchase:1") is True
    assert ledger.credit(uid, 600, TransactionType.PURCHASE, dedupe_key="purchase:1") is False
    assert account(uid).lifetime_purchased == 600
    assert ledger.balance_of(uid).balance == 610


def test_the_database_refuses_a_negative_balance_even_past_the_service(uid):
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        db.session.execute(db.update(TokenAccount).where(TokenAccount.user_id == uid).values(balance=-1))
        db.session.flush()
    db.session.rollback()
    assert ledger.balance_of(uid).balance == 10


def take_back(uid, tokens, note="Refund of purchase"):
    from tokenapp.database import write_transaction

    with write_transaction() as tx:
        return ledger.take_back(tx, uid, tokens, note)


def test_taking_back_spent_tokens_leaves_visible_debt_that_blocks_spending(uid, audit):
    ledger.credit(uid, 100, TransactionType.PURCHASE, dedupe_key="purchase:1")
    charges.charge(uid, "cover_letter")
    charges.charge(uid, "cover_letter")
    assert ledger.balance_of(uid).balance == 90
    assert take_back(uid, 100) == 10
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 10)
    assert history(uid)[-1] == ("reversal", -90, 0)
    with pytest.raises(InsufficientTokens) as refusal:
        charges.charge(uid, "networking_message")
    assert "owes 10 tokens" in refusal.value.message and refusal.value.details["debt"] == 10
    audit()


def test_credits_repay_debt_first(uid, audit):
    take_back(uid, 25)
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 15)
    ledger.credit(uid, 12, TransactionType.PURCHASE)
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 3)
    ledger.credit(uid, 100, TransactionType.PURCHASE)
    assert ledger.balance_of(uid) == ledger.BalanceView(97, False, 0)
    assert history(uid)[-4:] == [
        ("purchase", 12, 12),
        ("reversal", -12, 0),
        ("purchase", 100, 100),
        ("reversal", -3, 97),
    ]
    assert charges.charge(uid, "networking_message").balance == 94
    audit()


def test_refund_of_a_held_charge_repays_debt(uid, audit):
    held = charges.charge(uid, "networking_message")
    take_back(uid, 10)
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 3)
    charges.refund_charge(held.charge_id)
    assert ledger.balance_of(uid) == ledger.BalanceView(0, False, 0)
    audit()


def test_give_back_restores_after_a_won_dispute(uid, audit):
    from tokenapp.database import write_transaction

    take_back(uid, 10)
    with write_transaction() as tx:
        ledger.give_back(tx, uid, 10, "Dispute won")
    assert ledger.balance_of(uid) == ledger.BalanceView(10, False, 0)
    audit()
