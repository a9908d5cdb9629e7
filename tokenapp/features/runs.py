"""Feature runs: a held charge buys exactly one run, which consumes it or refunds it.

The run row is the truth; the job queue only carries its id. `start` stores
the run and queues `execute(run_id)` (on RQ workers with REDIS_URL, else on a
thread pool in this process), so the request answers at once.

A job *claims* a queued run with one conditional UPDATE that gives it a fresh
claim token and a lease, renewed while the run works. Every later write of
that job is conditional on its token, so a job that lost its lease (its
worker killed, paused or cut off) can change nothing. Success consumes the
charge in the transaction that stores the output; failure refunds it in the
transaction that marks the run failed. The run row's unique `charge_id` means
one charge pays for one run only.

No run stays queued or running forever: the recovery job queues again a run
whose lease ran out (up to MAX_ATTEMPTS claims, then it fails and refunds),
and the stale-charge sweep fails the runs whose charge it refunded.
"""

import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..database import write_transaction
from ..extensions import db
from ..jobs import QueueUnavailable, enqueue
from ..jobs.context import current_job_id
from ..models import FeatureRun, Resume, RunStatus, TokenCharge
from ..models._types import utcnow
from ..models.ledger import ChargeStatus
from ..services import charges
from ..services.errors import ChargeNotUsable, DomainError, NotFound
from ..services.ledger import NO_SYNC
from . import runner, uploads
from .engine.errors import EngineError
from .providers.base import ProviderError

MAX_ATTEMPTS = 3
ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
RECOVERY_BATCH = 100
INTERRUPTED = "The run was interrupted and did not finish. Your tokens were refunded."
TOO_SLOW = "The run took longer than the charge's time limit, so its tokens were refunded."


def press(
    user_id: int, feature_key: str, idempotency_key: str, inputs: dict, upload: uploads.Upload | None = None
) -> FeatureRun:
    """One confirmed press of a feature's Generate button: charge once per key, then start the run it pays for.

    A repeated key finds the run its first press started. When the run cannot
    start, its stored upload is deleted and the charge refunded before the
    error goes on.
    """
    charge = charges.charge(user_id, feature_key, idempotency_key)
    if charge.replayed:
        started = run_for_charge(user_id, charge.charge_id)
        if started is not None:
            return started
    try:
        if upload is not None:
            inputs = {**inputs, **uploads.keep(user_id, upload.filename, upload.data)}
        return start(user_id, feature_key, charge.charge_id, inputs)
    except Exception:
        uploads.discard(inputs.get("upload_id"))
        charges.refund_charge(charge.charge_id, user_id, note="Run could not start")
        raise


def start(user_id: int, feature_key: str, charge_id: str, inputs: dict) -> FeatureRun:
    """Claim the user's held charge for a new run of its feature and queue the run."""
    with write_transaction():
        usable = db.session.execute(
            select(TokenCharge.id)
            .where(
                TokenCharge.id == charge_id,
                TokenCharge.user_id == user_id,
                TokenCharge.feature_key == feature_key,
                TokenCharge.status == ChargeStatus.HELD.value,
                TokenCharge.expires_at > utcnow(),
            )
            .with_for_update()
        ).scalar()
        if usable is None:
            raise ChargeNotUsable("This charge cannot pay for a run: it is used, expired, or not yours.")
        run = FeatureRun(
            id="run_" + secrets.token_hex(12),
            user_id=user_id,
            feature_key=feature_key,
            charge_id=charge_id,
            status=RunStatus.QUEUED,
            inputs=inputs,
            created_at=utcnow(),
            attempts=0,
            lease_expires_at=_queued_deadline(),
        )
        db.session.add(run)
        try:
            db.session.flush()
        except IntegrityError:
            raise ChargeNotUsable("This charge already paid for a run.") from None
        run_id = run.id
    _queue(run_id)
    return owned_run(user_id, run_id)


def _queued_deadline():
    """A queued run not started by then is queued again: half its charge's lifetime."""
    return utcnow() + timedelta(seconds=max(current_app.config["CHARGE_TTL_SECONDS"] // 2, 1))


def _queue(run_id: str) -> None:
    try:
        job_id = enqueue(execute, run_id)
    except QueueUnavailable as error:
        current_app.logger.error(
            "run %s: could not be queued (%s); the recovery job will queue it again", run_id, error
        )
        return
    current_app.logger.info("run %s: queued as job %s", run_id, job_id)


def run_for_charge(user_id: int, charge_id: str) -> FeatureRun | None:
    """The run a charge paid for, if any (a retried press finds its first run)."""
    return db.session.execute(
        select(FeatureRun).where(FeatureRun.charge_id == charge_id, FeatureRun.user_id == user_id)
    ).scalar()


def owned_run(user_id: int, run_id: str) -> FeatureRun:
    """The user's own run, else NotFound."""
    run = db.session.execute(
        select(FeatureRun)
        .where(FeatureRun.id == run_id, FeatureRun.user_id == user_id)
        .execution_options(populate_existing=True)
    ).scalar()
    if run is None:
        raise NotFound("No such run.")
    return run


def history(user_id: int, feature_key: str, limit: int = 10) -> list[FeatureRun]:
    """The user's past runs of a feature, newest first."""
    return list(
        db.session.execute(
            select(FeatureRun)
            .where(FeatureRun.user_id == user_id, FeatureRun.feature_key == feature_key)
            .order_by(FeatureRun.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def execute(run_id: str) -> None:
    """The job: claim the run, produce its output and settle its charge; a no-op unless claimable."""
    claim = _claim(run_id)
    if claim is None:
        current_app.logger.info("run %s: job %s found nothing to do", run_id, current_job_id())
        return
    with _lease_kept(run_id, claim):
        try:
            run = db.session.get_one(FeatureRun, run_id)
            output, provider = runner.generate(run.feature_key, dict(run.inputs))
        except Exception as error:  # noqa: BLE001 - every failure refunds and is shown to the user
            current_app.logger.warning("run %s: job %s failed: %s", run_id, current_job_id(), type(error).__name__)
            _fail(run_id, claim, _shown_to_user(error))
        else:
            _succeed(run_id, claim, output, provider)


# Errors whose `message` is written for the user; any other error's text stays in the log.
USER_SAFE_ERRORS = (DomainError, EngineError, ProviderError)


def _shown_to_user(error: Exception) -> str:
    """The failure text a user sees: our own errors' messages, never an unexpected error's text."""
    if isinstance(error, USER_SAFE_ERRORS):
        return error.message
    return "The AI run failed."


def _claim(run_id: str) -> str | None:
    """Take a queued run whose charge can still pay; the claim token, or None."""
    token = secrets.token_hex(16)
    now = utcnow()
    payable = select(TokenCharge.id).where(TokenCharge.status == ChargeStatus.HELD.value, TokenCharge.expires_at > now)
    with write_transaction():
        claimed = cast(
            CursorResult,
            db.session.execute(
                update(FeatureRun)
                .where(
                    FeatureRun.id == run_id, FeatureRun.status == RunStatus.QUEUED, FeatureRun.charge_id.in_(payable)
                )
                .values(
                    status=RunStatus.RUNNING,
                    claim=token,
                    claimed_by=_worker_name(),
                    attempts=FeatureRun.attempts + 1,
                    lease_expires_at=now + timedelta(seconds=current_app.config["RUN_LEASE_SECONDS"]),
                ),
                execution_options=NO_SYNC,
            ),
        ).rowcount
    return token if claimed == 1 else None


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


@contextmanager
def _lease_kept(run_id: str, claim: str) -> Iterator[None]:
    """Renew the run's lease on a side thread while the block runs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    seconds = app.config["RUN_LEASE_SECONDS"]
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            with app.app_context():
                try:
                    held = _renew_lease(run_id, claim, seconds)
                except SQLAlchemyError as error:
                    app.logger.warning("run %s: lease not renewed: %s", run_id, type(error).__name__)
                    continue
                finally:
                    db.session.remove()
            if not held:
                app.logger.warning("run %s: lease lost; this attempt's result will be dropped", run_id)
                return

    renewer = threading.Thread(target=renew, name=f"lease-{run_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()


def _renew_lease(run_id: str, claim: str, seconds: int) -> bool:
    with write_transaction():
        return (
            cast(
                CursorResult,
                db.session.execute(
                    update(FeatureRun)
                    .where(FeatureRun.id == run_id, FeatureRun.claim == claim, FeatureRun.status == RunStatus.RUNNING)
                    .values(lease_expires_at=utcnow() + timedelta(seconds=seconds)),
                    execution_options=NO_SYNC,
                ),
            ).rowcount
            == 1
        )


def _settle(tx: Session, run_id: str, claim: str, **values) -> bool:
    """Finish the run in `tx` if this claim still holds it."""
    return (
        cast(
            CursorResult,
            tx.execute(
                update(FeatureRun)
                .where(FeatureRun.id == run_id, FeatureRun.claim == claim, FeatureRun.status == RunStatus.RUNNING)
                .values(finished_at=utcnow(), lease_expires_at=None, **values),
                execution_options=NO_SYNC,
            ),
        ).rowcount
        == 1
    )


def _succeed(run_id: str, claim: str, output: dict, provider: str) -> None:
    run = db.session.get_one(FeatureRun, run_id)
    try:
        with write_transaction() as tx:
            charges.consume_charge(run.charge_id, run.user_id, run.feature_key)  # the charge row first, as everywhere
            if not _settle(tx, run_id, claim, status=RunStatus.SUCCEEDED, output=output, provider=provider):
                raise _LostClaim
            _keep(tx, run, output)
    except _LostClaim:
        current_app.logger.warning("run %s: job %s lost its claim; result dropped", run_id, current_job_id())
    except ChargeNotUsable:
        current_app.logger.warning("run %s: charge %s no longer usable; failing the run", run_id, run.charge_id)
        _fail(run_id, claim, TOO_SLOW)
    else:
        current_app.logger.info("run %s: succeeded in job %s", run_id, current_job_id())


class _LostClaim(Exception):
    """This job's claim on the run was taken over: roll back and change nothing."""


def _keep(tx: Session, run: FeatureRun, output: dict) -> None:
    """What a successful run leaves behind in `tx` besides its output: a parsed resume is saved."""
    if run.feature_key == "resume_parsing":
        parsed = output["data"]["resume"]
        tx.add(Resume(user_id=run.user_id, filename=run.inputs["filename"], parsed=parsed, created_at=utcnow()))


def _fail(run_id: str, claim: str, message: str) -> None:
    """Refund the run's charge and mark the run failed, in one transaction, if this claim still holds it."""
    db.session.rollback()
    run = db.session.get_one(FeatureRun, run_id)
    if not message.endswith("refunded."):
        message = f"{message} Your tokens were refunded."
    try:
        with write_transaction() as tx:
            charges.refund_charge(run.charge_id, run.user_id, note=f"Refund: {run.feature_key} run failed")
            if not _settle(tx, run_id, claim, status=RunStatus.FAILED, error=message[:2000]):
                raise _LostClaim
    except _LostClaim:
        current_app.logger.warning("run %s: job %s lost its claim; failure dropped", run_id, current_job_id())


def requeue_abandoned(limit: int = RECOVERY_BATCH) -> list[str]:
    """Queue again the runs whose lease ran out; fail and refund those out of attempts. The ids queued."""
    now = utcnow()
    expired = db.session.execute(
        select(FeatureRun.id, FeatureRun.attempts)
        .where(FeatureRun.status.in_(ACTIVE), FeatureRun.lease_expires_at < now)
        .limit(limit)
    ).all()
    db.session.rollback()
    requeued = []
    for run_id, attempts in expired:
        if attempts >= MAX_ATTEMPTS:
            _give_up(run_id, now)
        elif _requeue(run_id, now):
            current_app.logger.warning("run %s: lease expired after attempt %d; queueing it again", run_id, attempts)
            _queue(run_id)
            requeued.append(run_id)
    return requeued


def _abandoned(run_id: str, now):
    return update(FeatureRun).where(
        FeatureRun.id == run_id, FeatureRun.status.in_(ACTIVE), FeatureRun.lease_expires_at < now
    )


def _requeue(run_id: str, now) -> bool:
    with write_transaction():
        return (
            cast(
                CursorResult,
                db.session.execute(
                    _abandoned(run_id, now).values(
                        status=RunStatus.QUEUED, claim=None, lease_expires_at=_queued_deadline()
                    ),
                    execution_options=NO_SYNC,
                ),
            ).rowcount
            == 1
        )


def _give_up(run_id: str, now) -> None:
    charge_id = db.session.execute(select(FeatureRun.charge_id).where(FeatureRun.id == run_id)).scalar_one()
    try:
        with write_transaction():
            charges.refund_charge(charge_id, note="Refund: run interrupted")  # the charge row first
            if (
                cast(
                    CursorResult,
                    db.session.execute(
                        _abandoned(run_id, now).values(
                            status=RunStatus.FAILED,
                            claim=None,
                            lease_expires_at=None,
                            finished_at=utcnow(),
                            error=INTERRUPTED,
                        ),
                        execution_options=NO_SYNC,
                    ),
                ).rowcount
                != 1
            ):
                raise _LostClaim
    except _LostClaim:
        return
    current_app.logger.error("run %s: gave up after %d attempts; refunded", run_id, MAX_ATTEMPTS)


def fail_refunded(limit: int = 500) -> int:
    """Mark failed the queued or running runs whose charge was refunded (the sweep's); how many."""
    refunded = select(TokenCharge.id).where(TokenCharge.status == ChargeStatus.REFUNDED.value)
    run_ids = (
        db.session.execute(
            select(FeatureRun.id).where(FeatureRun.status.in_(ACTIVE), FeatureRun.charge_id.in_(refunded)).limit(limit)
        )
        .scalars()
        .all()
    )
    if not run_ids:
        return 0
    with write_transaction():
        failed = cast(
            CursorResult,
            db.session.execute(
                update(FeatureRun)
                .where(FeatureRun.id.in_(run_ids), FeatureRun.status.in_(ACTIVE))
                .values(
                    status=RunStatus.FAILED, claim=None, lease_expires_at=None, finished_at=utcnow(), error=INTERRUPTED
                ),
                execution_options=NO_SYNC,
            ),
        ).rowcount
    for run_id in run_ids:
        current_app.logger.warning("run %s: its charge was refunded before it finished; marked failed", run_id)
    return failed
