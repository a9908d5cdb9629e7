"""/api/features: run a feature with a charge from /api/tokens/deduct, and follow it."""

from flask import jsonify
from flask_login import current_user

from ..features import runner, runs
from . import bp, parsing


def _run_payload(run) -> dict:
    return {
        "run_id": run.id,
        "feature_key": run.feature_key,
        "status": run.status,
        "output": run.output,
        "error": run.error,
        "created_at": run.created_at.isoformat(),
    }


@bp.post("/features/<feature_key>/runs")
def start_run(feature_key: str):
    """Spend a held charge on one run of its feature; 202 while it works."""
    body = parsing.json_object()
    charge_id = body.get("charge_id")
    if not isinstance(charge_id, str) or not charge_id:
        raise parsing.BadRequest("charge_id is required: take one from POST /api/tokens/deduct.")
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        raise parsing.BadRequest("inputs must be a JSON object.")
    cleaned = runner.clean_inputs(current_user.id, feature_key, inputs)
    run = runs.start(current_user.id, feature_key, charge_id, cleaned)
    return jsonify(_run_payload(run)), 202


@bp.get("/features/runs/<run_id>")
def run_status(run_id: str):
    """One of the caller's runs: its status, and its output once done."""
    return jsonify(_run_payload(runs.owned_run(current_user.id, run_id)))
