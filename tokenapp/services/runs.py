"""Feature runs: a held charge buys exactly one run, which consumes it or refunds it.

A run is queued in the request and executed on a small thread pool in the
same process, so the request answers at once and a slow AI call never ties up
a web worker. The run row's unique `charge_id` means one charge can pay for
one run only. Success consumes the charge in the same transaction that stores
the output; any failure refunds it. A process that dies mid-run leaves the
charge held, and the stale-charge sweep refunds it after its time limit.
"""

import secrets
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..database import write_transaction
from ..extensions import db
from ..models import FeatureRun, Resume, TokenCharge
from ..models._types import utcnow
from ..models.ledger import ChargeStatus
from . import ai_runner, charges
from .errors import ChargeNotUsable, NotFound

_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(app: Flask) -> ThreadPoolExecutor:
    """One pool per app in this process (created lazily, so after a gunicorn fork)."""
    pool = _POOLS.get(id(app))
    if pool is None:
        pool = _POOLS[id(app)] = ThreadPoolExecutor(app.config.get("FEATURE_RUN_THREADS", 4),
                                                     thread_name_prefix="feature-run")
    return pool


def start(user_id: int, feature_key: str, charge_id: str, inputs: dict) -> FeatureRun:
    """Claim the user's held charge for a new run of its feature and queue the run."""
    with write_transaction():
        usable = db.session.execute(select(TokenCharge.id).where(
            TokenCharge.id == charge_id, TokenCharge.user_id == user_id, TokenCharge.feature_key == feature_key,
            TokenCharge.status == ChargeStatus.HELD.value, TokenCharge.expires_at > utcnow(),
        ).with_for_update()).scalar()
        if usable is None:
            raise ChargeNotUsable("This charge cannot pay for a run: it is used, expired, or not yours.")
        run = FeatureRun(id="run_" + secrets.token_hex(12), user_id=user_id, feature_key=feature_key,
                         charge_id=charge_id, status="queued", inputs=inputs, created_at=utcnow())
        db.session.add(run)
        try:
            db.session.flush()
        except IntegrityError:
            raise ChargeNotUsable("This charge already paid for a run.") from None
        run_id = run.id
    app = current_app._get_current_object()
    _pool(app).submit(_execute, app, run_id)
    return owned_run(user_id, run_id)


def run_for_charge(user_id: int, charge_id: str) -> FeatureRun | None:
    """The run a charge paid for, if any (a retried press finds its first run)."""
    return db.session.execute(select(FeatureRun).where(
        FeatureRun.charge_id == charge_id, FeatureRun.user_id == user_id)).scalar()


def owned_run(user_id: int, run_id: str) -> FeatureRun:
    """The user's own run, else NotFound."""
    run = db.session.execute(select(FeatureRun).where(FeatureRun.id == run_id, FeatureRun.user_id == user_id)
                             .execution_options(populate_existing=True)).scalar()
    if run is None:
        raise NotFound("No such run.")
    if run.status in ("queued", "running") and _charge_status(run.charge_id) == ChargeStatus.REFUNDED.value:
        _mark(run.id, status="failed", finished_at=utcnow(),
              error="The run was interrupted and did not finish. Your tokens were refunded.")
        return owned_run(user_id, run_id)
    return run


def _charge_status(charge_id: str) -> str | None:
    return db.session.execute(select(TokenCharge.status).where(TokenCharge.id == charge_id)).scalar()


def history(user_id: int, feature_key: str, limit: int = 10) -> list[FeatureRun]:
    """The user's past runs of a feature, newest first."""
    return list(db.session.execute(
        select(FeatureRun).where(FeatureRun.user_id == user_id, FeatureRun.feature_key == feature_key)
        .order_by(FeatureRun.created_at.desc()).limit(limit)).scalars())


def _execute(app: Flask, run_id: str) -> None:
    with app.app_context():
        try:
            _mark(run_id, status="running")
            run = db.session.get(FeatureRun, run_id)
            output, provider = ai_runner.generate(run.feature_key, dict(run.inputs))
        except Exception as error:  # noqa: BLE001 - every failure refunds and is shown to the user
            _fail(run_id, error)
        else:
            _succeed(run_id, output, provider)
        finally:
            db.session.remove()


def _mark(run_id: str, **values) -> None:
    with write_transaction():
        db.session.execute(update(FeatureRun).where(FeatureRun.id == run_id).values(**values))


def _succeed(run_id: str, output: dict, provider: str) -> None:
    run = db.session.get(FeatureRun, run_id)
    try:
        with write_transaction():
            charges.consume_charge(run.charge_id, run.user_id, run.feature_key)
            _keep(run, output)
            db.session.execute(update(FeatureRun).where(FeatureRun.id == run_id).values(
                status="succeeded", output=output, provider=provider, finished_at=utcnow()))
    except ChargeNotUsable:
        _mark(run_id, status="failed", finished_at=utcnow(),
              error="The run took longer than the charge's time limit, so its tokens were refunded.")


def _keep(run: FeatureRun, output: dict) -> None:
    """What a successful run leaves behind besides its output: a parsed resume is saved."""
    if run.feature_key == "resume_parsing":
        parsed = output["data"]["resume"]
        db.session.add(Resume(user_id=run.user_id, filename=run.inputs["filename"], parsed=parsed, created_at=utcnow()))


def _fail(run_id: str, error: Exception) -> None:
    current_app.logger.warning("run %s failed: %s", run_id, type(error).__name__)
    db.session.rollback()
    run = db.session.get(FeatureRun, run_id)
    refunded = charges.refund_charge(run.charge_id, run.user_id, note=f"Refund: {run.feature_key} run failed")
    message = getattr(error, "message", None) or "The AI run failed."
    suffix = " Your tokens were refunded." if refunded else ""
    _mark(run_id, status="failed", finished_at=utcnow(), error=f"{message}{suffix}"[:2000])
