"""The periodic jobs. Each is safe to run twice: it settles only what is still unsettled."""

import time

from flask import current_app

from ..features import runs, uploads
from ..services import charges, ledger

SWEEP_BATCH = 200
SWEEP_BUDGET_SECONDS = 30


def sweep_stale_charges() -> int:
    """Refund held charges past their time limit, in bounded batches; fail the runs they paid for; drop abandoned uploads."""
    released = 0
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    while time.monotonic() < deadline:
        batch = charges.release_stale_charges(limit=SWEEP_BATCH)
        released += batch
        if batch < SWEEP_BATCH:
            break
    failed = runs.fail_refunded()
    discarded = uploads.discard_abandoned(2 * current_app.config["CHARGE_TTL_SECONDS"])
    if released or failed or discarded:
        current_app.logger.info(
            "sweep: refunded %d stale charge(s), failed %d interrupted run(s), deleted %d abandoned upload(s)",
            released,
            failed,
            discarded,
        )
    return released


def recover_runs() -> int:
    """Queue again the runs whose worker stopped renewing its lease (killed, say)."""
    return len(runs.requeue_abandoned())


def expire_lots() -> int:
    """Expire the lots whose time has come (each account in its own short transaction); the tokens expired."""
    report = ledger.expire_lots()
    if report.tokens:
        current_app.logger.info("expiry: %d token(s) expired in %d account(s)", report.tokens, report.accounts)
    return report.tokens
