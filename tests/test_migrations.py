"""The schema comes from migrations, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tokenapp.extensions import db

ROADMAP_TABLES = {
    "token_packages",
    "ai_features",
    "token_accounts",
    "token_transactions",
    "token_purchases",
    "referrals",
    "stripe_events",
}


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_roadmap_tables_exist_with_indexes_for_hot_queries(app):
    with app.app_context():
        inspector = inspect(db.engine)
        assert set(inspector.get_table_names()) >= ROADMAP_TABLES
        indexes = {
            (table, tuple(ix["column_names"]))
            for table in ("token_transactions", "token_charges")
            for ix in inspector.get_indexes(table)
        }
    assert ("token_transactions", ("user_id", "id")) in indexes
    assert ("token_charges", ("user_id", "status", "expires_at")) in indexes
    assert ("token_charges", ("status", "expires_at")) in indexes
