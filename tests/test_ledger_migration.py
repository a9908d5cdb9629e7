"""Migration 0008 on a database filled by the 0007 schema: every kind of row carried over, the audit clean after.

It runs on SQLite and, when TEST_DATABASE_URL is set, on a PostgreSQL database of its own made beside that one.
"""

import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from tokenapp import MIGRATIONS_DIR, create_app
from tokenapp.extensions import db
from tokenapp.models import TokenLot, TokenTransaction, TransactionType
from tokenapp.services import audit, catalog, charges, ledger
from tokenapp.services.errors import InsufficientTokens

PG_URL = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", os.environ.get("TEST_DATABASE_URL", ""))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
START = datetime(2026, 11, 1, tzinfo=UTC)
# user: (is_unlimited, debt, [(type, amount, charge or None, note)], [(tokens, cents, refunded cents, granted)])
HISTORIES = {
    "ada": (
        False,
        0,
        [
            ("bonus", 10, None, "Welcome bonus"),
            ("purchase", 100, None, "Token pack"),
            ("spend", -10, "chg_used", None),
            ("spend", -8, "chg_held", None),
            ("spend", -5, "chg_failed", None),
            ("refund", 5, "chg_failed", "Run failed"),
            ("adjustment", 7, None, "goodwill"),
        ],
        [(100, 1000, 0, 100)],
    ),
    "bob": (
        False,
        30,
        [
            ("bonus", 10, None, "Welcome bonus"),
            ("purchase", 50, None, "Token pack"),
            ("spend", -40, "chg_bob", None),
            ("reversal", -20, None, "Refund, purchase; 30 already spent, now owed"),
        ],
        [(50, 500, 500, 0)],
    ),
    "cy": (
        True,
        0,
        [("bonus", 10, None, "Welcome bonus"), ("spend", 0, "chg_cy1", None), ("spend", 0, "chg_cy2", None)],
        [],
    ),
    "dee": (
        False,
        0,
        [
            ("bonus", 10, None, "Welcome bonus"),
            ("purchase", 30, None, "Token pack"),
            ("spend", -35, "chg_dee", None),
            ("reversal", -5, None, "Refund; 25 already spent, now owed"),
            ("purchase", 40, None, "Token pack"),
            ("reversal", -25, None, "Repaid 25 tokens owed"),
        ],
        [(30, 300, 300, 0), (40, 400, 0, 40)],
    ),
    "eve": (False, 0, [("bonus", 10, None, "Welcome bonus")], []),
}


@pytest.fixture(params=BACKENDS)
def old_database(request, tmp_path):
    """The URL of an empty database at revision 0007_uploads; dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = PG_URL.rsplit("/", 1)[1].split("?")[0] + "_mig0008"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _moment(conn, minutes: int):
    value = START + timedelta(minutes=minutes)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else value


def fill_old_schema(conn) -> dict[str, int]:
    """Users, accounts, purchases, charges and ledger rows as the 0007 code wrote them; the user ids."""
    ids = {}
    for n, (name, (unlimited, debt, history, purchases)) in enumerate(HISTORIES.items()):
        at = _moment(conn, n)
        ids[name] = conn.execute(
            text(
                "INSERT INTO users (email, password_hash, is_admin, referral_code, created_at) "
                "VALUES (:email, 'x', false, :code, :at) RETURNING id"
            ),
            {"email": f"{name}@example.com", "code": f"ref{name}", "at": at},
        ).scalar_one()
        for tokens, cents, refunded, granted in purchases:
            conn.execute(
                text(
                    "INSERT INTO token_purchases (user_id, tokens, bonus_tokens, amount_cents, amount_refunded_cents, "
                    "currency, status, created_at, tokens_granted) VALUES (:u, :t, 0, :c, :r, 'usd', 'paid', :at, :g)"
                ),
                {"u": ids[name], "t": tokens, "c": cents, "r": refunded, "at": at, "g": granted},
            )
        balance = 0
        for step, (kind, amount, charge_id, note) in enumerate(history):
            if charge_id and kind == "spend":
                status = {"chg_held": "held", "chg_failed": "refunded"}.get(charge_id, "consumed")
                conn.execute(
                    text(
                        "INSERT INTO token_charges (id, user_id, feature_key, cost, amount, status, created_at, expires_at)"
                        " VALUES (:id, :u, 'cover_letter', :cost, :cost, :status, :at, :until)"
                    ),
                    {
                        "id": charge_id,
                        "u": ids[name],
                        "cost": -amount,
                        "status": status,
                        "at": _moment(conn, step),
                        "until": _moment(conn, 10_000),
                    },
                )
            balance += amount
            conn.execute(
                text(
                    "INSERT INTO token_transactions (user_id, type, amount, balance_after, charge_id, note, created_at) "
                    "VALUES (:u, :type, :amount, :after, :charge, :note, :at)"
                ),
                {
                    "u": ids[name],
                    "type": kind,
                    "amount": amount,
                    "after": balance,
                    "charge": charge_id,
                    "note": note,
                    "at": _moment(conn, step),
                },
            )
        purchased = sum(amount for kind, amount, _c, _n in history if kind == "purchase")
        conn.execute(
            text(
                "INSERT INTO token_accounts (user_id, balance, lifetime_purchased, lifetime_spent, lifetime_bonus, "
                "is_unlimited, updated_at, debt) VALUES (:u, :b, :p, 0, 10, :unl, :at, :debt)"
            ),
            {"u": ids[name], "b": balance, "p": purchased, "unl": unlimited, "at": at, "debt": debt},
        )
    return ids


def old_invariant_problems(conn) -> list:
    """The 0007 auditor's check, in SQL: balance = sum of amounts = newest balance_after."""
    return conn.execute(
        text(
            "SELECT a.user_id FROM token_accounts a WHERE a.balance != "
            "(SELECT COALESCE(SUM(t.amount), 0) FROM token_transactions t WHERE t.user_id = a.user_id) OR a.balance != "
            "(SELECT t.balance_after FROM token_transactions t WHERE t.user_id = a.user_id ORDER BY t.id DESC LIMIT 1)"
        )
    ).all()


def test_0008_carries_every_kind_of_row_over(old_database):
    app = create_app({"SQLALCHEMY_DATABASE_URI": old_database})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0007_uploads")
        with db.engine.begin() as conn:
            ids = fill_old_schema(conn)
            assert old_invariant_problems(conn) == []
            rows_before = conn.execute(
                text("SELECT id, type, amount, balance_after FROM token_transactions ORDER BY id")
            ).all()
        upgrade(directory=MIGRATIONS_DIR)
        catalog.seed()
        try:
            assert audit.find_problems() == []
            lots = {
                name: db.session.execute(
                    select(TokenLot.kind, TokenLot.granted, TokenLot.cost_cents, TokenLot.expires_at, TokenLot.source)
                    .where(TokenLot.user_id == uid)
                    .order_by(TokenLot.id)
                ).all()
                for name, uid in ids.items()
            }
            assert lots == {
                "ada": [("paid", 99, 990, None, "migration")],
                "bob": [],
                "cy": [("bonus", 10, 0, None, "migration")],
                "dee": [("paid", 15, 150, None, "migration")],
                "eve": [("bonus", 10, 0, None, "migration")],
            }
            history = db.session.execute(
                select(
                    TokenTransaction.id, TokenTransaction.type, TokenTransaction.amount, TokenTransaction.balance_after
                ).order_by(TokenTransaction.id)
            ).all()
            assert history[: len(rows_before)] == rows_before
            assert [tuple(row[1:]) for row in history[len(rows_before) :]] == [("reversal", 0, 0)]  # bob's debt
            assert ledger.balance_of(ids["bob"]) == ledger.BalanceView(0, False, 30)
            assert ledger.balance_of(ids["cy"]) == ledger.BalanceView(10, True, 0)
            money = ledger.figures()
            assert money.opening_cents == 1140 and money.liability_cents == 1140 and money.balanced

            assert charges.refund_charge("chg_held") is True  # held across the upgrade: comes back, never expires
            assert charges.charge(ids["ada"], "cover_letter").balance == 97
            assert charges.charge(ids["cy"], "cover_letter").balance == 10
            with pytest.raises(InsufficientTokens):
                charges.charge(ids["bob"], "networking_message")
            ledger.credit(ids["bob"], 40, TransactionType.PURCHASE, dedupe_key="purchase:new")
            assert ledger.balance_of(ids["bob"]) == ledger.BalanceView(10, False, 0)
            assert audit.find_problems() == []
        finally:
            db.session.remove()
            db.engine.dispose()
