"""Spend tokens on a feature with no work behind it: charge, then consume the charge at once.

The /test-tokens page uses it in place of a feature run. Real feature runs
consume their charge the same way; this lets the gate, the badge and the
ledger be tried end to end without an AI call.
"""

from dataclasses import dataclass

from ..extensions import db
from ..models import TokenCharge
from ..models.ledger import ChargeStatus
from . import charges


@dataclass(frozen=True)
class InstantSpend:
    """The outcome shown in #feature-result."""

    charge_id: str
    feature_key: str
    cost: int
    balance: int
    repeated: bool


def spend(user_id: int, feature_key: str, idempotency_key: str | None) -> InstantSpend:
    """Charge the feature (once per key) and consume the charge at once."""
    result = charges.charge(user_id, feature_key, idempotency_key)
    status = db.session.execute(db.select(TokenCharge.status).where(TokenCharge.id == result.charge_id)).scalar()
    if status == ChargeStatus.HELD.value:
        charges.consume_charge(result.charge_id, user_id, feature_key)
    return InstantSpend(result.charge_id, feature_key, result.cost, result.balance, result.replayed)
