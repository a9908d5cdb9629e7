"""What the TokenGate dialog shows before a run: cost, balance, shortfall, upsell."""

import secrets
from dataclasses import dataclass, replace

from ..models import AIFeature, TokenPackage
from . import catalog, ledger
from .charges import IDEMPOTENCY_PATTERN
from .errors import MissingConfirmationKey, UnknownFeature


@dataclass(frozen=True)
class GateView:
    """One press of a gated button: what it costs, and whether it can go ahead."""

    feature: AIFeature
    balance: int
    debt: int
    unlimited: bool
    idempotency_key: str
    package: TokenPackage | None = None
    for_run: bool = False

    @property
    def cost(self) -> int:
        return 0 if self.unlimited else self.feature.cost

    @property
    def short(self) -> bool:
        return not self.unlimited and (self.debt > 0 or self.balance < self.feature.cost)

    @property
    def shortfall(self) -> int:
        return max(self.feature.cost - self.balance, 0) + self.debt

    @property
    def upsell(self) -> bool:
        """The run would leave the balance low (it will have spent by then)."""
        return ledger.is_low_balance(self.balance - self.cost, unlimited=self.unlimited, has_spent=True)


def feature(feature_key: str) -> AIFeature:
    """An active feature, or UnknownFeature."""
    found = next((f for f in catalog.active_features() if f.key == feature_key), None)
    if found is None:
        raise UnknownFeature(f"No feature called {feature_key!r}.")
    return found


def cheapest_covering(tokens: int) -> TokenPackage | None:
    """The cheapest pack worth at least `tokens`, else the biggest one."""
    packages = sorted(catalog.active_packages(), key=lambda p: p.price_cents)
    covering = [p for p in packages if p.total_tokens >= tokens]
    return covering[0] if covering else (packages[-1] if packages else None)


def open_gate(user_id: int, feature_key: str, **extra) -> GateView:
    """The dialog for one press, with a new idempotency key for its confirm."""
    chosen = feature(feature_key)
    view = ledger.balance_of(user_id)
    gate = GateView(chosen, view.balance, view.debt, view.is_unlimited, "gate-" + secrets.token_urlsafe(16), **extra)
    if gate.short:
        gate = replace(gate, package=cheapest_covering(gate.shortfall))
    return gate


def press_key(form) -> str:
    """The idempotency key a confirmed press carries; a missing or malformed one is MissingConfirmationKey (400)."""
    key = form.get("idempotency_key", "")
    if not IDEMPOTENCY_PATTERN.match(key):
        raise MissingConfirmationKey("This confirmation is missing its key; press the button again.")
    return key
