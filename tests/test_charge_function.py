"""PostgreSQL's hot charge in one call (`tokenapp_charge`, migration 0009) against the Python path it stands for.

Two users are set up alike. One is charged through `writer.charge_in_one_call`, the other through the Python
path (`charges.charge` inside an open transaction, where the one call never runs). Their charge rows, accounts,
lots and ledger rows must come out the same. Every case the function hands back writes nothing, and the Python
path then gives the answer it always gave. A row that changes between the function's look and its writes is
provoked for real, with a second transaction holding the account's lock.
"""

import importlib
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from support.database import database_state
from support.settings import TEST_DATABASE_URL
from tokenapp.database import write_transaction
from tokenapp.extensions import db
from tokenapp.models import AIFeature, TokenAccount, TokenCharge, TokenLot, TokenTransaction
from tokenapp.models._types import utcnow
from tokenapp.models.ledger import Counterparty, TransactionType
from tokenapp.services import accounts, charges, ledger
from tokenapp.services.errors import InsufficientTokens
from tokenapp.services.ledger import writer

charge_function = importlib.import_module("tokenapp.migrations.versions.0009_charge_function")
CHARGE_FUNCTION_ARGUMENTS = "varchar, integer, varchar, varchar, timestamptz, timestamptz, timestamptz"
pytestmark = pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])

ATS = "ats_check"  # costs 4


def in_one_call(user_id, feature_key=ATS, key=None, charge_id=None, moment=None):
    """The one call, as `charges.charge` makes it; (cost, balance, unlimited) or None."""
    moment = moment or utcnow()
    db.session.remove()
    return writer.charge_in_one_call(
        db.session(),
        charge_id or f"chg_fn_{user_id}_{time.monotonic_ns()}",
        user_id,
        feature_key,
        key,
        moment=moment,
        deadline=moment + timedelta(minutes=10),
    )


def by_python(user_id, feature_key=ATS, key=None):
    """`charges.charge` with a transaction open around it: the one call steps aside."""
    db.session.remove()
    db.session.execute(text("SELECT 1"))
    assert db.session.connection().connection.dbapi_connection.pgconn.transaction_status != 0
    try:
        return charges.charge(user_id, feature_key, key)
    finally:
        db.session.remove()


def outcome(user_id):
    """What a user's charges did: their charges, account, lots and ledger rows, without ids and times."""
    db.session.remove()
    lot_ids = db.session.execute(select(TokenLot.id).where(TokenLot.user_id == user_id).order_by(TokenLot.id))
    lot_index = {lot_id: index for index, lot_id in enumerate(lot_ids.scalars())}
    charge_rows = db.session.execute(
        select(
            TokenCharge.feature_key,
            TokenCharge.cost,
            TokenCharge.amount,
            TokenCharge.status,
            TokenCharge.idempotency_key,
        )
        .where(TokenCharge.user_id == user_id)
        .order_by(TokenCharge.created_at)
    ).all()
    account = db.session.execute(
        select(
            TokenAccount.balance,
            TokenAccount.debt,
            TokenAccount.lifetime_spent,
            TokenAccount.lifetime_purchased,
            TokenAccount.lifetime_bonus,
            TokenAccount.is_unlimited,
            TokenAccount.next_expiry_at,
        ).where(TokenAccount.user_id == user_id)
    ).one()
    soonest = db.session.execute(select(func.min(TokenLot.expires_at)).where(TokenLot.user_id == user_id)).scalar()
    next_expiry = account.next_expiry_at and account.next_expiry_at - soonest  # the twins signed up apart
    lots = db.session.execute(
        select(TokenLot.kind, TokenLot.source, TokenLot.granted, TokenLot.remaining, TokenLot.cost_cents)
        .where(TokenLot.user_id == user_id)
        .order_by(TokenLot.id)
    ).all()
    rows = [
        (
            row.type,
            row.amount,
            row.balance_after,
            row.counterparty,
            row.feature_key,
            row.charge_id is not None,
            row.dedupe_key,
            row.note,
            row.actor_id,
            None if row.lot_id is None else lot_index[row.lot_id],
            row.cents,
            row.debt_change,
        )
        for row in db.session.execute(
            select(TokenTransaction).where(TokenTransaction.user_id == user_id).order_by(TokenTransaction.id)
        ).scalars()
    ]
    db.session.remove()
    return {"charges": charge_rows, "account": (*account[:-1], next_expiry), "lots": lots, "rows": rows}


def twins(setup):
    """Two users with the same history: `setup(user_id)` run for each; their ids."""
    ids = []
    for name in ("fn", "py"):
        user_id = accounts.register(f"{name}@example.com", "password123").id
        setup(user_id)
        ids.append(user_id)
    return ids


def only_paid(tokens, cents):
    """A setup: the welcome bonus taken away by an admin, then `tokens` bought for `cents`."""

    def setup(user_id):
        ledger.adjust(user_id, -10, reason="test: no bonus")
        with write_transaction() as tx:
            ledger.grant_purchase(tx, user_id, tokens, dedupe_key="buy", note="pack", cost_cents=cents)

    return setup


def welcome_only(user_id):
    """A setup: nothing beyond the welcome bonus (one bonus lot of 10)."""


@pytest.mark.parametrize(
    "setup", [welcome_only, only_paid(7, 1000)], ids=["a bonus lot", "a paid lot with its cost basis"]
)
def test_a_covered_charge_writes_what_the_python_path_writes(ctx, backend, setup):
    fn_user, py_user = twins(setup)
    done = in_one_call(fn_user, key="k1")
    result = by_python(py_user, key="k1")
    assert done == (4, result.balance, False)
    assert outcome(fn_user) == outcome(py_user)
    rows = outcome(fn_user)["rows"]
    assert rows[-1][:4] == (TransactionType.SPEND.value, -4, rows[-1][2], Counterparty.REVENUE.value)
    if setup is not welcome_only:
        assert rows[-1][-2] == -(1000 * 4 // 7)  # the cents the spend released at the lot's cost basis


def test_an_unlimited_account_is_charged_nothing_as_by_the_python_path(ctx, backend):
    fn_user, py_user = twins(lambda user_id: ledger.set_unlimited(user_id, True))
    assert in_one_call(fn_user) == (4, 10, True)
    assert by_python(py_user).cost == 0
    assert outcome(fn_user) == outcome(py_user)
    assert outcome(fn_user)["charges"][0][1:3] == (4, 0)  # the price, and nothing held


def test_a_free_feature_is_recorded_as_by_the_python_path(ctx, backend):
    db.session.execute(update(AIFeature).where(AIFeature.key == ATS).values(cost=0))
    db.session.commit()
    fn_user, py_user = twins(welcome_only)
    assert in_one_call(fn_user) == (0, 10, False)
    assert by_python(py_user).balance == 10
    assert outcome(fn_user) == outcome(py_user)


def lots_of_two_and_a_hundred(user_id):
    """Welcome bonus spent down to 2, then 100 paid tokens: a charge of 4 needs two lots."""
    ledger.adjust(user_id, -8, reason="test: bonus down to 2")
    with write_transaction() as tx:
        ledger.grant_purchase(tx, user_id, 100, dedupe_key="buy", note="pack", cost_cents=900)


def in_debt(user_id):
    """An account owing 3 tokens from a refunded purchase."""
    with write_transaction() as tx:
        ledger.grant_purchase(tx, user_id, 5, dedupe_key="buy", note="pack", cost_cents=500)
    ledger.adjust(user_id, -10, reason="test: bonus gone")
    with write_transaction() as tx:
        writer.take_back(tx, user_id, 8, note="refunded")


def short(user_id):
    ledger.adjust(user_id, -7, reason="test: 3 left")


HANDED_BACK = {
    "the first lot does not cover it": (lots_of_two_and_a_hundred, ATS, None),
    "short of tokens": (short, ATS, None),
    "in debt": (in_debt, ATS, None),
    "an unknown feature": (welcome_only, "no_such_feature", None),
}


@pytest.mark.parametrize("case", list(HANDED_BACK))
def test_a_case_it_hands_back_writes_nothing_and_the_python_path_answers_as_ever(ctx, app, backend, case):
    setup, feature_key, key = HANDED_BACK[case]
    fn_user, py_user = twins(setup)
    before = database_state(app)
    assert in_one_call(fn_user, feature_key, key) is None
    assert database_state(app) == before
    assert answer(lambda: charges.charge(fn_user, feature_key, key)) == answer(
        lambda: by_python(py_user, feature_key, key)
    )
    assert outcome(fn_user) == outcome(py_user)


def answer(charge):
    """A charge's answer without its random id: (cost, balance), or the refusal's kind and message."""
    try:
        result = charge()
    except Exception as error:  # noqa: BLE001 - both paths must refuse alike
        return type(error).__name__, str(error)
    return result.cost, result.balance


def test_a_taken_key_and_a_lot_due_to_expire_are_handed_back(ctx, app, backend):
    user_id, expiring_user = twins(welcome_only)
    first = charges.charge(user_id, ATS, "same-key")
    before = database_state(app)
    assert in_one_call(user_id, key="same-key") is None
    assert database_state(app) == before
    assert charges.charge(user_id, ATS, "same-key").charge_id == first.charge_id
    later = utcnow() + timedelta(days=91)  # past the welcome lot's expiry, before any sweep
    assert in_one_call(expiring_user, moment=later) is None
    assert database_state(app) == before


def spending_8(user_id):
    """A change for `hold_the_account_while`: 8 tokens taken from the user in consumption order."""

    def spend(tx):
        writer.debit(tx, user_id, 8, TransactionType.ADJUSTMENT, Counterparty.ADJUSTMENTS, note="test: raced")

    return spend


def hold_the_account_while(app, user_id, change, call):
    """Hold `user_id`'s account lock in a transaction that makes `change(tx)`, start `call()` on another thread,
    wait until that call is blocked on the lock, then commit; `call()`'s answer."""
    answer = []
    with Session(db.engine) as holder:
        change(holder)
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()

        def charged():
            with app.app_context():
                try:
                    answer.append(call())
                except Exception as error:  # noqa: BLE001 - reported by the test below
                    answer.append(error)
                finally:
                    db.session.remove()

        thread = threading.Thread(target=charged)
        thread.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND :holder = ANY(pg_blocking_pids(pid))"
        )
        deadline = time.monotonic() + 10
        with db.engine.connect() as watcher:
            while watcher.execute(waiting, {"holder": holder_pid}).scalar_one() == 0:
                assert thread.is_alive(), f"the one call ended without waiting for the account's lock: {answer}"
                assert time.monotonic() < deadline, "the one call never waited for the account's lock"
                watcher.rollback()  # pg_stat_activity is read once per transaction
                time.sleep(0.02)
        holder.commit()
        thread.join(10)
    return answer[0]


def test_an_account_that_changes_under_the_call_sends_it_back_with_nothing_written(ctx, app, backend):
    user_id = accounts.register("race@example.com", "password123").id
    db.session.remove()
    charge_id = "chg_raced_account"
    assert (
        hold_the_account_while(app, user_id, spending_8(user_id), lambda: in_one_call(user_id, charge_id=charge_id))
        is None
    )
    assert db.session.get(TokenCharge, charge_id) is None
    with pytest.raises(InsufficientTokens):
        charges.charge(user_id, ATS)
    assert ledger.balance_of(user_id).balance == 2


def test_a_first_lot_that_changes_under_the_call_sends_it_back_and_the_python_path_draws_two(ctx, app, backend):
    user_id = accounts.register("race@example.com", "password123").id
    with write_transaction() as tx:
        ledger.grant_purchase(tx, user_id, 100, dedupe_key="buy:race", note="pack", cost_cents=900)
    db.session.remove()
    assert hold_the_account_while(app, user_id, spending_8(user_id), lambda: in_one_call(user_id)) is None
    result = charges.charge(user_id, ATS)
    assert result.balance == 110 - 8 - 4
    assert [lot.remaining for lot in db.session.scalars(select(TokenLot).where(TokenLot.user_id == user_id))] == [0, 98]


def test_code_deployed_before_its_migration_charges_by_the_python_path(ctx, app, backend, caplog):
    """Without `tokenapp_charge` (the code out before `flask db upgrade`), charges still work, and the engine
    stops asking after one warning; the function is put back for the tests after."""
    user_id = accounts.register("early@example.com", "password123").id
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP FUNCTION tokenapp_charge({CHARGE_FUNCTION_ARGUMENTS})"))
    try:
        assert charges.charge(user_id, ATS).balance == 6
        assert charges.charge(user_id, ATS).balance == 2
        assert [record.message for record in caplog.records if "tokenapp_charge" in record.message] == [
            "tokenapp_charge is missing: run `flask db upgrade`; charges take the Python path"
        ]
        assert db.engine in writer._WITHOUT_THE_FUNCTION
    finally:
        writer._WITHOUT_THE_FUNCTION.discard(db.engine)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(charge_function.CHARGE_FUNCTION)
    assert in_one_call(user_id) is None  # short now: handed back, so the function is there and answering
    assert outcome(user_id)["rows"][-1][:3] == (TransactionType.SPEND.value, -4, 2)
