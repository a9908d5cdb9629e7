"""The `flask` commands of the contract."""

from datetime import timedelta

import pytest

from tokenapp.extensions import db
from tokenapp.models import AIFeature, TokenCharge, TokenPackage, User
from tokenapp.models._types import utcnow
from tokenapp.services import accounts, charges, ledger


def count(app, model) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()


def test_seed_is_idempotent(app, runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0
    assert "0 created, 0 updated, 26 unchanged" in first.output
    with app.app_context():
        db.session.execute(db.update(AIFeature).where(AIFeature.key == "cover_letter").values(cost=99))
        db.session.commit()
    second = runner.invoke(args=["seed"])
    assert "0 created, 1 updated, 25 unchanged" in second.output
    assert (count(app, AIFeature), count(app, TokenPackage)) == (20, 5)


def test_create_admin_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(args=["create-admin", "Root@Example.com"], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "admin ready: root@example.com" in result.output
    with app.app_context():
        user = accounts.authenticate("root@example.com", "s3cret-pass")
        assert user is not None and user.is_admin
        assert ledger.balance_of(user.id).balance == 10


def test_create_admin_promotes_an_existing_account(app, runner):
    with app.app_context():
        accounts.register("pat@example.com", "password123")
    result = runner.invoke(args=["create-admin", "pat@example.com", "--password", "new-password-1"])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.execute(db.select(User.is_admin).where(User.email == "pat@example.com")).scalar()
    assert count(app, User) == 1


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-admin", "a@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert "at least 8" in result.output


def test_grant_writes_an_adjustment(app, runner, audit):
    with app.app_context():
        uid = accounts.register("g@example.com", "password123").id
    result = runner.invoke(args=["tokens", "grant", "g@example.com", "50", "--reason", "support ticket 7"])
    assert result.exit_code == 0, result.output
    assert "balance is now 60" in result.output
    refused = runner.invoke(args=["tokens", "grant", "g@example.com", "-100", "--reason", "oops"])
    assert refused.exit_code != 0
    missing = runner.invoke(args=["tokens", "grant", "nobody@example.com", "5", "--reason", "x"])
    assert missing.exit_code != 0 and "no account" in missing.output
    no_reason = runner.invoke(args=["tokens", "grant", "g@example.com", "5"])
    assert no_reason.exit_code != 0
    with app.app_context():
        assert ledger.balance_of(uid).balance == 60
    audit()


def test_release_stale_charges(app, runner, audit):
    with app.app_context():
        uid = accounts.register("s@example.com", "password123").id
        fresh = charges.charge(uid, "networking_message")
        stale = charges.charge(uid, "follow_up_email")
        db.session.execute(
            db.update(TokenCharge)
            .where(TokenCharge.id == stale.charge_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    result = runner.invoke(args=["tokens", "release-stale-charges"])
    assert result.exit_code == 0
    assert "released 1 stale charge(s)" in result.output
    with app.app_context():
        statuses = dict(db.session.execute(db.select(TokenCharge.id, TokenCharge.status)).all())
    assert statuses == {fresh.charge_id: "held", stale.charge_id: "refunded"}
    audit()


@pytest.mark.tampers_ledger
def test_audit_command_finds_a_tampered_balance(app, runner):
    from tokenapp.models import TokenAccount

    with app.app_context():
        uid = accounts.register("t@example.com", "password123").id
    assert runner.invoke(args=["tokens", "audit"]).exit_code == 0
    with app.app_context():
        db.session.execute(db.update(TokenAccount).where(TokenAccount.user_id == uid).values(balance=11))
        db.session.commit()
    result = runner.invoke(args=["tokens", "audit"])
    assert result.exit_code == 1
    assert f"user {uid}: balance 11, ledger sum 10" in result.output
