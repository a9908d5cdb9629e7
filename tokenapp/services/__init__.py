"""Use cases: plain functions that own their transactions and raise domain errors.

A function whose first parameter is `tx: Session` runs inside its caller's
write transaction (the session `database.write_transaction()` yields) and
never commits; every other service function opens its own. Services import
nothing from the web layer (tests/test_service_layering.py).

The AI features' use cases (a run and what it needs) live in
`tokenapp.features`, under the same rule; what a press costs and charges
(gate, charges, ledger) is a token concern and lives here.
"""
