"""Money figures read straight off the ledger: sums over rows and lots, nothing kept beside them.

Paid tokens carry their cost basis (`TokenLot.cost_cents` over `granted`) and
every ledger row the cents its paid tokens were worth, so:

- cash collected: the cents of the rows against Stripe (purchases, less the
  paid tokens taken back by refunds and disputes, plus those restored);
- revenue: the cents of paid tokens spent (net of refunds), and of paid
  tokens used to repay a debt;
- breakage: the cents of paid tokens that expired;
- liability: what the paid tokens still unused are worth;
- promotion tokens: bonus tokens spent, net of refunds (they cost nothing,
  so they are never revenue).

Each paid lot releases exactly its cost as it empties, so
opening + cash collected + adjustments + transfers = revenue + breakage +
liability, to the cent (`LedgerFigures.balanced`); the auditor checks it.
"""

from dataclasses import dataclass

from sqlalchemy import func, select, union_all

from ...extensions import db
from ...models import Counterparty, LotKind, LotSource, TokenDraw, TokenLot, TokenTransaction

_REVENUE_SIDES = (Counterparty.REVENUE.value, Counterparty.RECEIVABLE.value)


@dataclass(frozen=True)
class LedgerFigures:
    """The ledger's money, in cents, and the bonus tokens spent."""

    cash_collected_cents: int
    revenue_cents: int
    liability_cents: int
    breakage_cents: int
    promotion_tokens: int
    opening_cents: int = 0
    adjustments_cents: int = 0
    transfers_cents: int = 0

    @property
    def balanced(self) -> bool:
        """Whether every cent that came in is revenue, breakage or still owed in unused tokens."""
        came_in = self.opening_cents + self.cash_collected_cents + self.adjustments_cents + self.transfers_cents
        return came_in == self.revenue_cents + self.breakage_cents + self.liability_cents


def _cents_by_counterparty() -> dict[str, int]:
    rows = db.session.execute(
        select(TokenTransaction.counterparty, func.sum(TokenTransaction.cents)).group_by(TokenTransaction.counterparty)
    ).all()
    return {counterparty: int(total or 0) for counterparty, total in rows}


def _lot_totals() -> tuple[int, int]:
    """(liability: the unused paid tokens' value, opening: the cost of lots carried over by migration 0008)."""
    released = TokenLot.cost_cents * (TokenLot.granted - TokenLot.remaining) // TokenLot.granted
    liability, opening = db.session.execute(
        select(
            func.sum(TokenLot.cost_cents - released),
            func.sum(TokenLot.cost_cents).filter(TokenLot.source == LotSource.MIGRATION.value),
        ).where(TokenLot.kind == LotKind.PAID.value)
    ).one()
    return int(liability or 0), int(opening or 0)


def _promotion_tokens() -> int:
    """Bonus tokens spent net of refunds: spend and refund rows' parts in bonus lots."""
    rows = TokenTransaction
    spending = rows.counterparty == Counterparty.REVENUE.value
    single = select(rows.amount.label("tokens"), rows.lot_id.label("lot_id")).where(spending, rows.lot_id.is_not(None))
    several = (
        select(TokenDraw.tokens.label("tokens"), TokenDraw.lot_id.label("lot_id"))
        .join(rows, rows.id == TokenDraw.transaction_id)
        .where(spending)
    )
    parts = union_all(single, several).subquery()
    total = db.session.execute(
        select(func.sum(parts.c.tokens))
        .join(TokenLot, TokenLot.id == parts.c.lot_id)
        .where(TokenLot.kind == LotKind.BONUS.value)
    ).scalar()
    return -int(total or 0)


def figures() -> LedgerFigures:
    """The money figures, summed over the whole ledger."""
    cents = _cents_by_counterparty()
    liability, opening = _lot_totals()
    return LedgerFigures(
        cash_collected_cents=cents.get(Counterparty.STRIPE.value, 0),
        revenue_cents=-sum(cents.get(side, 0) for side in _REVENUE_SIDES),
        liability_cents=liability,
        breakage_cents=-cents.get(Counterparty.EXPIRY.value, 0),
        promotion_tokens=_promotion_tokens(),
        opening_cents=opening,
        adjustments_cents=cents.get(Counterparty.ADJUSTMENTS.value, 0),
        transfers_cents=cents.get(Counterparty.TRANSFERS.value, 0),
    )
