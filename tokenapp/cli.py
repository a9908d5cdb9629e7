"""`flask` commands; each prints what it did and exits non-zero on failure."""

import sys
from datetime import UTC, datetime

import click
import stripe
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .features import uploads
from .jobs import worker as job_worker
from .services import accounts, audit, catalog, charges, ledger, passwords, stripe_setup, webhooks
from .services.errors import DomainError

tokens_cli = AppGroup("tokens", help="Grant tokens, release stale charges, expire lots, audit the ledger.")


@click.command("seed")
@with_appcontext
def seed_command():
    """Load the token packages and AI features (idempotent)."""
    counts = catalog.seed()
    click.echo(
        f"catalog seeded: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged"
    )


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.password_option("--password", prompt="Admin password", help="Read from a prompt or stdin when not given.")
def create_admin_command(email: str, password: str):
    """Create an admin account, or make an existing account an admin."""
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    if passwords.is_common(password):
        raise click.ClickException("that password is on the list of common passwords; choose another")
    user = accounts.make_admin(email, password)
    click.echo(f"admin ready: {user.email} (id {user.id})")


@tokens_cli.command("grant")
@click.argument("email")
@click.argument("amount", type=int)
@click.option("--reason", required=True, help="Why; kept on the ledger row.")
def grant_command(email: str, amount: int, reason: str):
    """Add (or with a negative AMOUNT, remove) tokens, as an audited adjustment."""
    user = accounts.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with email {email}")
    try:
        balance = ledger.adjust(user.id, amount, reason=reason)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"adjusted {user.email} by {amount:+d}: balance is now {balance}")


@tokens_cli.command("release-stale-charges")
def release_stale_command():
    """Refund every charge that no run consumed within its time limit, and delete abandoned uploads."""
    released = 0
    while batch := charges.release_stale_charges():
        released += batch
    click.echo(f"released {released} stale charge(s)")
    abandoned = uploads.discard_abandoned(2 * current_app.config["CHARGE_TTL_SECONDS"])
    click.echo(f"deleted {abandoned} abandoned upload(s)")


@tokens_cli.command("expire")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Expire what is due at this moment (YYYY-MM-DDTHH:MM:SS, UTC) instead of now.",
)
def expire_command(as_of: datetime | None):
    """Expire every lot whose time has come: one expiry row per lot."""
    report = ledger.expire_lots(as_of.replace(tzinfo=UTC) if as_of else None)
    click.echo(f"expired {report.tokens} token(s) in {report.accounts} account(s)")


@tokens_cli.command("audit")
def audit_command():
    """Check every account, lot and row: balance = ledger sum = last balance_after = lots, sums to zero."""
    problems = audit.find_problems()
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"audit: {len(problems)} problem(s)")
    if problems:
        sys.exit(1)


@click.command("stripe-setup")
@with_appcontext
def stripe_setup_command():
    """Create or update Stripe products and prices for every package and the Unlimited plan."""
    try:
        results = stripe_setup.sync()
    except stripe.StripeError as error:
        raise click.ClickException(f"Stripe refused or could not be reached: {error}") from None
    click.echo(f"{'key':<12} {'amount':>9}  {'product':<28} {'price':<30} action")
    for row in results:
        click.echo(
            f"{row.key:<12} {row.amount_cents / 100:>9.2f}  {row.product_id:<28} {row.price_id:<30} {row.action}"
        )


@click.command("stripe-replay")
@click.argument("event_id")
@with_appcontext
def stripe_replay_command(event_id: str):
    """Process a stored Stripe event again (after a failure)."""
    try:
        webhooks.replay(event_id)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"replayed {event_id}: processed")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run a scheduler (safe on every worker: each period is claimed once).",
)
@with_appcontext
def worker_command(burst: bool, scheduler: bool):
    """Start one job worker taking jobs from Redis (REDIS_URL)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy, typed as Flask
    if not app.config["REDIS_URL"]:
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run inside the app process "
            "and there is nothing for a worker to do"
        )
    job_worker.run(app, burst=burst, with_scheduler=scheduler)


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    from .dev_server import serve_command, standin_command

    for command in (
        seed_command,
        create_admin_command,
        tokens_cli,
        stripe_setup_command,
        stripe_replay_command,
        serve_command,
        standin_command,
        worker_command,
    ):
        app.cli.add_command(command)
