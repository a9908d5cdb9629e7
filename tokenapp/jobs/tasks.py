"""The periodic jobs. Each is safe to run twice: it settles only what is still unsettled."""

import time

from flask import current_app

from ..services import charges, runs

SWEEP_BATCH = 200
SWEEP_BUDGET_SECONDS = 30


def sweep_stale_charges() -> int:
    """Refund held charges past their time limit, in bounded batches; fail the runs they paid for."""
    released = 0
    deadline = time.monotonic() + SWEEP_BUDGET_SECONDS
    while time.monotonic() < deadline:
        batch = charges.release_stale_charges(limit=SWEEP_BATCH)
        released += batch
        if batch < SWEEP_BATCH:
            break
    failed = runs.fail_refunded()
    if released or failed:
        current_app.logger.info("sweep: refunded %d stale charge(s), failed %d interrupted run(s)", released, failed)
    return released


def recover_runs() -> int:
    """Queue again the runs whose worker stopped renewing its lease (killed, say)."""
    return len(runs.requeue_abandoned())
