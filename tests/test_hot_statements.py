"""HotStatement: the charge's statements on the DBAPI cursor behave as `Connection.execute` would."""

from datetime import timedelta, timezone

import pytest
from sqlalchemy import bindparam, exc, insert, select, text

from support.settings import TEST_DATABASE_URL
from tokenapp.database import HotStatement
from tokenapp.extensions import db
from tokenapp.models import TokenCharge
from tokenapp.models._types import utcnow
from tokenapp.services import charges, ledger
from tokenapp.services.ledger import writer

_CHARGES = TokenCharge.__table__
_COLUMNS = ("id", "user_id", "feature_key", "cost", "amount", "status", "created_at", "expires_at")
_NEW_CHARGE = HotStatement(
    insert(_CHARGES)
    .values({name: bindparam(name, type_=_CHARGES.c[name].type) for name in _COLUMNS})
    .returning(_CHARGES.c.created_at)
)


def _charge_row(charge_id: str, user_id: int, moment) -> dict:
    return {
        "id": charge_id,
        "user_id": user_id,
        "feature_key": "cover_letter",
        "cost": 1,
        "amount": 1,
        "status": "held",
        "created_at": moment,
        "expires_at": moment + timedelta(minutes=10),
    }


def test_it_sends_the_sql_sqlalchemy_renders(ctx):
    connection = db.session.connection()
    for hot in (writer._HOT_SPEND, writer._HOT_SPEND_ONE_LOT, writer._INSERT_FULL_ROW, charges._INSERT_CHARGE):
        statement = hot.statement(connection.dialect)
        expected = str(statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True}))
        assert hot._compile(connection.dialect).sql == expected


def test_values_go_through_the_column_types_both_ways(uid):
    ledger.set_unlimited(uid, True)
    connection = db.session.connection()
    moment = utcnow().astimezone(timezone(timedelta(hours=5)))
    row = writer._HOT_SPEND.first(connection, {"account": uid, "cost": 3, "moment": moment})
    assert row == (10, True) and row[1] is True  # SQLite's 1 comes back a bool, as from execute
    (created,) = _NEW_CHARGE.first(connection, _charge_row("chg_hot", uid, moment)) or (None,)
    assert created == moment and created.tzinfo is not None  # stored as UTC by UTCDateTime, read back aware
    stored = db.session.execute(select(TokenCharge.created_at).where(TokenCharge.id == "chg_hot")).scalar_one()
    assert stored == moment
    db.session.rollback()


def test_a_driver_error_is_wrapped_and_the_transaction_rolls_back(uid):
    connection = db.session.connection()
    moment = utcnow()
    _NEW_CHARGE.first(connection, _charge_row("chg_twice", uid, moment))
    with pytest.raises(exc.IntegrityError):
        _NEW_CHARGE.first(connection, _charge_row("chg_twice", uid, moment))
    db.session.rollback()
    assert db.session.get(TokenCharge, "chg_twice") is None
    assert ledger.balance_of(uid).balance == 10


def test_a_missing_parameter_is_refused_before_anything_is_sent(uid):
    with pytest.raises(KeyError, match="cost"):
        writer._HOT_SPEND.first(db.session.connection(), {"account": uid, "moment": utcnow()})
    db.session.rollback()
    assert ledger.balance_of(uid).balance == 10


@pytest.mark.parametrize("backend", ["postgresql"] if TEST_DATABASE_URL else [])
def test_a_lost_connection_is_invalidated_and_the_next_charge_goes_through(uid):
    connection = db.session.connection()
    pid = connection.connection.dbapi_connection.info.backend_pid
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(exc.OperationalError) as lost:
        writer._HOT_SPEND.first(connection, {"account": uid, "cost": 1, "moment": utcnow()})
    assert lost.value.connection_invalidated and connection.invalidated
    db.session.rollback()
    result = charges.charge(uid, "cover_letter")
    assert result.cost > 0 and result.balance == ledger.balance_of(uid).balance == 10 - result.cost
