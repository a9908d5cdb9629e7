"""PostgreSQL: the hot charge as one stored function, `tokenapp_charge`

A deduct that the hot path can take (a new charge whose cost the account
covers and the first lot in consumption order holds) ran as BEGIN, four
statements and COMMIT: six round trips. Called in autocommit mode, this
function runs the same four statements in one, as one transaction: the held
charge, the account's conditional debit, the first lot's debit, and the
`spend` row. It never decides anything the Python path would decide
differently. It looks first, without a lock or a write, and returns a NULL
cost, having written nothing, for every case that path takes further: an
unknown feature, a taken idempotency key, an account that refuses (short, in
debt, a lot due to expire), a first lot that does not cover the cost. Only a
row that changes between that look and the writes makes it raise SQLSTATE
TK001, which rolls all of it back. Either way the caller then takes the
Python path (`tokenapp.services.ledger.writer`, whose `_SPEND`,
`_SPEND_ONE_LOT`, `consumption_order` and `record` these statements mirror;
tests/test_charge_function.py holds them to it).

SQLite has no stored functions: there the Python path is the only one.

Revision ID: 0009_charge_function
Revises: 0008_ledger_lots
Create Date: 2026-11-30 02:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_charge_function"
down_revision = "0008_ledger_lots"
branch_labels = None
depends_on = None

# The lot a spend draws first: `writer.consumption_order` and `writer.open_lots`, written out.
FIRST_LOT = """
SELECT o.id FROM token_lots AS o
WHERE o.user_id = owner AND o.remaining > 0 AND (o.expires_at IS NULL OR o.expires_at > moment)
ORDER BY CASE WHEN o.expires_at IS NULL THEN 1 ELSE 0 END, o.expires_at, CASE WHEN o.kind = 'bonus' THEN 0 ELSE 1 END, o.id
LIMIT 1
"""

CHARGE_FUNCTION = """
CREATE OR REPLACE FUNCTION tokenapp_charge(
    charge_id varchar, owner integer, feature varchar, request_key varchar,
    moment timestamptz, deadline timestamptz, recorded_at timestamptz,
    OUT cost integer, OUT balance integer, OUT unlimited boolean
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    price integer;
    lot bigint;
    cents bigint;
BEGIN
    -- A look first, without a lock or a write, for what sends a charge down the Python path: an unknown
    -- feature, a taken key, an account that refuses (short, in debt, a lot due to expire), a first lot
    -- that does not cover the cost. Only a change between this look and the writes below raises TK001.
    SELECT f.cost INTO price FROM ai_features AS f WHERE f.key = feature AND f.is_active IS true;
    IF NOT FOUND OR (request_key IS NOT NULL AND EXISTS (
        SELECT 1 FROM token_charges AS c WHERE c.user_id = owner AND c.idempotency_key = request_key
    )) THEN
        RETURN;
    END IF;
    SELECT a.is_unlimited INTO unlimited FROM token_accounts AS a
    WHERE a.user_id = owner AND a.debt = 0 AND (a.next_expiry_at IS NULL OR a.next_expiry_at > moment)
      AND (a.is_unlimited OR a.balance >= price);
    IF NOT FOUND OR NOT (unlimited OR price = 0 OR EXISTS (
        SELECT 1 FROM token_lots AS l WHERE l.id = ({first_lot}) AND l.remaining >= price
    )) THEN
        RETURN;
    END IF;

    INSERT INTO token_charges (id, user_id, feature_key, cost, amount, idempotency_key, status, created_at, expires_at)
    SELECT charge_id, owner, f.key, f.cost, f.cost, request_key, 'held', moment, deadline
    FROM ai_features AS f
    WHERE f.key = feature AND f.is_active IS true
    ON CONFLICT DO NOTHING
    RETURNING token_charges.cost INTO cost;
    IF cost IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'TK001', MESSAGE = 'tokenapp_charge: the idempotency key was just taken';
    END IF;

    UPDATE token_accounts AS a
    SET balance = a.balance - CASE WHEN a.is_unlimited THEN 0 ELSE tokenapp_charge.cost END,
        lifetime_spent = a.lifetime_spent + CASE WHEN a.is_unlimited THEN 0 ELSE tokenapp_charge.cost END,
        updated_at = moment
    WHERE a.user_id = owner
      AND a.debt = 0
      AND (a.next_expiry_at IS NULL OR a.next_expiry_at > moment)
      AND (a.is_unlimited OR a.balance >= tokenapp_charge.cost)
    RETURNING a.balance, a.is_unlimited INTO balance, unlimited;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'TK001', MESSAGE = 'tokenapp_charge: the account changed and refused';
    END IF;

    IF unlimited THEN
        UPDATE token_charges SET amount = 0 WHERE id = charge_id;
    ELSIF cost > 0 THEN
        UPDATE token_lots AS l
        SET remaining = l.remaining - tokenapp_charge.cost
        WHERE l.id = ({first_lot}) AND l.remaining >= tokenapp_charge.cost
        RETURNING l.id,
            l.cost_cents * (l.granted - (l.remaining + tokenapp_charge.cost)) / l.granted
            - l.cost_cents * (l.granted - l.remaining) / l.granted
        INTO lot, cents;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'TK001', MESSAGE = 'tokenapp_charge: the first lot changed';
        END IF;
    END IF;

    INSERT INTO token_transactions (
        user_id, type, amount, balance_after, counterparty, created_at,
        feature_key, charge_id, dedupe_key, note, actor_id, lot_id, cents, debt_change
    ) VALUES (
        owner, 'spend', CASE WHEN unlimited THEN 0 ELSE -cost END, balance, 'revenue', recorded_at,
        feature, charge_id, NULL, NULL, NULL, lot, COALESCE(cents, 0), 0
    );
END
$$
""".replace("{first_lot}", FIRST_LOT.strip())


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CHARGE_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS tokenapp_charge(varchar, integer, varchar, varchar, timestamptz, timestamptz, timestamptz)"
        )
