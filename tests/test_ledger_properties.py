"""A stateful property test: random credits, charges, refunds, purchases, transfers, grants and expiry.

A model of every lot runs beside the real ledger under a clock the test
moves (the ledger, the charges and the sweep read it): which lot each debit
draws (consumption order, never an expired lot, even before the sweep), what
each movement is worth at cost basis, the debt, and what each system account
and money figure should read. After every step:

- the lots: each of the users' lots (kind, granted, remaining, cost, expiry)
  is the model's, 0 <= remaining <= granted;
- per user: stored balance = sum of amounts = newest balance_after = tokens in
  the user's lots >= 0 (a lot past its expiry but not yet swept still counts
  there), and the balance the user is shown = tokens in unexpired lots;
- no row drew from a lot that had expired when the row was written, and no
  expiry row came early;
- the system accounts (sums of `debt_change - amount` by counterparty) are the
  model's, and all accounts sum to zero;
- `figures()` moved by what the model says (revenue = paid tokens spent at
  cost basis, breakage, liability, cash, adjustments, transfers, promotion);
- `audit.find_problems()` is empty.
"""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, union_all

import tokenapp.services.charges
import tokenapp.services.ledger
import tokenapp.services.ledger.writer
from tokenapp.catalog_data import FEATURES
from tokenapp.cli import tokens_cli
from tokenapp.database import write_transaction
from tokenapp.extensions import db
from tokenapp.models import Counterparty, LotKind, LotSource, TokenAccount, TokenDraw, TokenLot, TokenTransaction
from tokenapp.models.ledger import TransactionType
from tokenapp.services import accounts, audit, charges, ledger
from tokenapp.services.errors import ChargeNotUsable, InsufficientTokens, InvalidRecipient

COSTS = {key: cost for key, _name, _category, cost, _description in FEATURES}
USERS = 2
_emails = itertools.count()
_examples = itertools.count()
# Each example's clock starts this far after the last one's, beyond every lot it can have made,
# so the sweep at its start expires everything earlier examples left and nothing of theirs moves after.
EXAMPLE_SPAN = timedelta(days=400)
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
STEPS = [timedelta(minutes=5), timedelta(hours=6), timedelta(hours=23), timedelta(days=1), timedelta(days=3)]
CREDITS = {  # type -> (lot kind, lot source, counterparty), as ledger.CREDIT_DEFAULTS says
    TransactionType.PURCHASE: (LotKind.PAID, LotSource.PURCHASE, Counterparty.STRIPE),
    TransactionType.BONUS: (LotKind.BONUS, LotSource.WELCOME, Counterparty.PROMOTIONS),
    TransactionType.GIFT_IN: (LotKind.PAID, LotSource.GIFT, Counterparty.TRANSFERS),
    TransactionType.ADJUSTMENT: (LotKind.BONUS, LotSource.ADJUSTMENT, Counterparty.ADJUSTMENTS),
    TransactionType.REVERSAL: (LotKind.PAID, LotSource.PURCHASE, Counterparty.STRIPE),
}
MONEY = (
    "cash_collected_cents",
    "revenue_cents",
    "liability_cents",
    "breakage_cents",
    "promotion_tokens",
    "adjustments_cents",
    "transfers_cents",
)


class Clock:
    """The time the ledger, charges and sweep see while the machine runs."""

    now = EPOCH

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """A clock the test moves, read by every module the machine drives as `utcnow`."""
    moved = Clock()
    for module in (tokenapp.services.ledger, tokenapp.services.ledger.writer, tokenapp.services.charges):
        monkeypatch.setattr(module, "utcnow", moved)
    return moved


@dataclass
class Lot:
    """The model of one lot."""

    id: int
    user: int
    kind: LotKind
    source: LotSource
    granted: int
    remaining: int
    cost: int
    expires: datetime | None

    def released(self, remaining: int) -> int:
        return self.cost * (self.granted - remaining) // self.granted

    def move(self, tokens: int) -> int:
        """Add `tokens` (signed) to what remains; the cents that moved, signed the same way."""
        before = self.remaining
        self.remaining += tokens
        assert 0 <= self.remaining <= self.granted, f"model lot {self.id} out of range"
        return self.released(before) - self.released(self.remaining)

    def open_at(self, moment: datetime) -> bool:
        return self.remaining > 0 and (self.expires is None or self.expires > moment)

    def order(self) -> tuple:
        """consumption_order: soonest-expiring (never last), bonus before paid, oldest."""
        return (self.expires is None, self.expires or EPOCH, self.kind != LotKind.BONUS, self.id)


@dataclass
class Purchase:
    """A token pack bought through the model: its lot's dedupe key, price, tokens and tokens granted now."""

    user: int
    key: str
    cents: int
    tokens: int
    granted: int

    def value(self, tokens: int) -> int:
        return self.cents * tokens // self.tokens


def ledger_machine(app, clock):
    """A state machine class bound to `app` and `clock`."""

    class LedgerMachine(RuleBasedStateMachine):
        charges = Bundle("charges")

        def __init__(self):
            super().__init__()
            self.ctx = app.app_context()
            self.ctx.push()
            clock.now = EPOCH + next(_examples) * EXAMPLE_SPAN
            app.config.update(BONUS_TOKEN_EXPIRY_DAYS=1, PAID_TOKEN_EXPIRY_DAYS=0)
            ledger.expire_lots(clock.now)
            self.start = ledger.figures()
            self.lots: dict[int, Lot] = {}
            self.new_lots: list[Lot] = []
            self.provisional = itertools.count(10**15)
            self.money = dict.fromkeys(MONEY, 0)
            self.system = dict.fromkeys(Counterparty, 0)
            self.purchases: list[Purchase] = []
            self.bonus_days = itertools.count()
            self.users = [accounts.register(f"p{next(_emails)}@example.com", "password123").id for _ in range(USERS)]
            self.debt = {uid: 0 for uid in self.users}
            self.unlimited = {uid: False for uid in self.users}
            self.held = {}
            for uid in self.users:
                self._credit_model(uid, app.config["WELCOME_BONUS_TOKENS"], TransactionType.BONUS)
            self._adopt_new_lots()

        def teardown(self):
            db.session.remove()
            self.ctx.pop()

        # The model.

        def _open(self, uid, moment=None):
            moment = moment or clock.now
            return sorted((lot for lot in self.lots.values() if lot.user == uid and lot.open_at(moment)), key=Lot.order)

        def _shown(self, uid) -> int:
            """The balance the user sees: tokens in unexpired lots."""
            return sum(lot.remaining for lot in self._open(uid))

        def _stored(self, uid) -> int:
            return sum(lot.remaining for lot in self.lots.values() if lot.user == uid)

        def _paid(self, uid) -> int:
            return sum(lot.remaining for lot in self._open(uid) if lot.kind == LotKind.PAID)

        def _due(self, uid, moment=None) -> list[Lot]:
            moment = moment or clock.now
            return [
                lot
                for lot in self.lots.values()
                if lot.user == uid and lot.remaining and lot.expires is not None and lot.expires <= moment
            ]

        def _settle(self, uid, moment=None) -> int:
            """Expire the user's due lots, as locking the account does; the tokens expired."""
            expired = 0
            for lot in self._due(uid, moment):
                expired += lot.remaining
                self.system[Counterparty.EXPIRY] += lot.remaining
                self.money["breakage_cents"] -= lot.move(-lot.remaining)
            return expired

        def _draw(self, uid, tokens, kind=None, first=None) -> list[tuple[Lot, int, int]]:
            """Take `tokens` from open lots in consumption order (`first` first); (lot, tokens, cents) parts."""
            lots = [lot for lot in self._open(uid) if kind is None or lot.kind == kind]
            lots.sort(key=lambda lot: lot.id != first)
            parts, left = [], tokens
            for lot in lots:
                if not left:
                    break
                take = min(left, lot.remaining)
                parts.append((lot, take, lot.move(-take)))
                left -= take
            assert left == 0, "the model drew more than the open lots hold"
            return parts

        def _expiry(self, kind: LotKind):
            days = app.config["BONUS_TOKEN_EXPIRY_DAYS" if kind == LotKind.BONUS else "PAID_TOKEN_EXPIRY_DAYS"]
            return clock.now + timedelta(days=days) if days else None

        def _new_lot(self, uid, kind, source, tokens, cost, expires) -> Lot:
            lot = Lot(next(self.provisional), uid, kind, source, tokens, tokens, cost, expires)
            self.lots[lot.id] = lot
            self.new_lots.append(lot)
            return lot

        def _credit_model(self, uid, amount, tx_type, *, source=None, cost=0):
            """A credit: expire what is due, a new lot, its counterparty, then repay debt from the balance."""
            kind, default_source, counterparty = CREDITS[tx_type]
            self._settle(uid)
            self._new_lot(
                uid, kind, source or default_source, amount, cost if kind == LotKind.PAID else 0, self._expiry(kind)
            )
            self.system[counterparty] -= amount
            if counterparty == Counterparty.STRIPE:
                self.money["cash_collected_cents"] += cost
            self._repay(uid)

        def _repay(self, uid):
            repaid = min(self._shown(uid), self.debt[uid])
            if repaid:
                self.money["revenue_cents"] -= sum(cents for _lot, _tokens, cents in self._draw(uid, repaid))
                self.debt[uid] -= repaid

        def _adopt_new_lots(self):
            """Give the lots the model just made the ids the ledger gave them, checking each one's terms."""
            known = max((lot_id for lot_id in self.lots if lot_id < 10**15), default=0)
            made = (
                db.session.execute(
                    select(TokenLot).where(TokenLot.id > known, TokenLot.user_id.in_(self.users)).order_by(TokenLot.id)
                )
                .scalars()
                .all()
            )
            assert [
                (lot.user_id, lot.kind, lot.source, lot.granted, lot.cost_cents, lot.expires_at) for lot in made
            ] == [(lot.user, lot.kind, lot.source, lot.granted, lot.cost, lot.expires) for lot in self.new_lots]
            for real, lot in zip(made, self.new_lots, strict=True):
                del self.lots[lot.id]
                lot.id = real.id
                self.lots[lot.id] = lot
            self.new_lots.clear()
            db.session.commit()

        # The rules (the first seven are the original machine's).

        @rule(
            who=st.integers(0, USERS - 1),
            amount=st.integers(1, 400),
            kind=st.sampled_from([TransactionType.PURCHASE, TransactionType.BONUS, TransactionType.GIFT_IN]),
        )
        def credit(self, who, amount, kind):
            uid = self.users[who]
            assert ledger.credit(uid, amount, kind) is True
            self._credit_model(uid, amount, kind)
            self._adopt_new_lots()

        @rule(who=st.integers(0, USERS - 1), tokens=st.integers(1, 300))
        def reverse_purchase(self, who, tokens):
            uid = self.users[who]
            with write_transaction() as tx:
                owed = ledger.take_back(tx, uid, tokens, "property test reversal")
            assert owed == self._take_back(uid, tokens)

        def _take_back(self, uid, tokens, first=None) -> int:
            self._settle(uid)
            taken = min(self._shown(uid), tokens)
            self.money["cash_collected_cents"] += sum(cents for _lot, _t, cents in self._draw(uid, taken, first=first))
            self.system[Counterparty.STRIPE] += tokens
            self.debt[uid] += tokens - taken
            return tokens - taken

        @rule(target=charges, who=st.integers(0, USERS - 1), feature=st.sampled_from(sorted(COSTS)))
        def charge(self, who, feature):
            uid = self.users[who]
            cost = 0 if self.unlimited[uid] else COSTS[feature]
            try:
                result = charges.charge(uid, feature)
            except InsufficientTokens:
                assert self._shown(uid) < cost or self.debt[uid] > 0
                return None
            assert self._shown(uid) >= cost and self.debt[uid] == 0 and result.cost == cost
            if self._settle(uid):
                event("a spend expired a due lot before the sweep")
            parts = self._draw(uid, cost)
            self.money["revenue_cents"] -= sum(cents for _lot, _tokens, cents in parts)
            self.money["promotion_tokens"] += sum(t for lot, t, _cents in parts if lot.kind == LotKind.BONUS)
            self.system[Counterparty.REVENUE] += cost
            deadline = clock.now + timedelta(seconds=app.config["CHARGE_TTL_SECONDS"])
            self.held[result.charge_id] = (uid, cost, feature, [(lot, t) for lot, t, _c in parts], deadline)
            assert result.balance == self._shown(uid)
            return result.charge_id

        @rule(charge_id=consumes(charges))
        def refund(self, charge_id):
            refunded = charges.refund_charge(charge_id) if charge_id else False
            assert refunded == (charge_id in self.held)
            if refunded:
                self._refund_model(charge_id)

        def _refund_model(self, charge_id):
            """The charge's tokens back into the lots it drew, an expired one expiring again at once."""
            uid, cost, _feature, parts, _deadline = self.held.pop(charge_id)
            if any(not lot.open_at(clock.now) and lot.expires is not None for lot, _tokens in parts):
                event("a refund went back into an expired lot")
            for lot, tokens in parts:
                cents = lot.move(tokens)
                self.money["revenue_cents"] -= cents
                self.money["promotion_tokens"] -= tokens if lot.kind == LotKind.BONUS else 0
            self.system[Counterparty.REVENUE] -= cost
            self._settle(uid)
            self._repay(uid)

        @rule(charge_id=consumes(charges))
        def consume(self, charge_id):
            if charge_id not in self.held:
                return
            uid, _cost, feature, _parts, deadline = self.held[charge_id]
            if clock.now >= deadline:
                with pytest.raises(ChargeNotUsable):
                    charges.consume_charge(charge_id, uid, feature)
                return
            del self.held[charge_id]
            charges.consume_charge(charge_id, uid, feature)
            try:
                charges.consume_charge(charge_id, uid, feature)
                raise AssertionError("a charge was consumed twice")
            except ChargeNotUsable:
                pass

        @rule(who=st.integers(0, USERS - 1), delta=st.integers(-300, 300).filter(bool))
        def grant(self, who, delta):
            uid = self.users[who]
            try:
                balance = ledger.adjust(uid, delta, reason="property test")
            except InsufficientTokens:
                assert self._shown(uid) + delta < 0
                return
            if delta > 0:
                self._credit_model(uid, delta, TransactionType.ADJUSTMENT)
                self._adopt_new_lots()
            else:
                self._settle(uid)
                self.money["adjustments_cents"] += sum(cents for _lot, _t, cents in self._draw(uid, -delta))
                self.system[Counterparty.ADJUSTMENTS] -= delta
            assert balance == self._shown(uid)

        @rule(who=st.integers(0, USERS - 1), on=st.booleans())
        def unlimited_plan(self, who, on):
            ledger.set_unlimited(self.users[who], on)
            self.unlimited[self.users[who]] = on

        @rule()
        def time_passes(self):
            later = clock.now + timedelta(seconds=app.config["CHARGE_TTL_SECONDS"] + 1)
            released = sum(charges.release_stale_charges(uid, now=later) for uid in self.users)
            assert released == len(self.held)
            # In the order they were refunded: a refund repays debt from the lots as they stand.
            for charge_id in (
                db.session.execute(
                    select(TokenTransaction.charge_id)
                    .where(
                        TokenTransaction.type == TransactionType.REFUND, TokenTransaction.charge_id.in_(list(self.held))
                    )
                    .order_by(TokenTransaction.id)
                )
                .scalars()
                .all()
            ):
                self._refund_model(charge_id)
            assert not self.held

        # Time, expiry and the sweep.

        @rule(step=st.sampled_from(STEPS))
        def clock_moves(self, step):
            clock.now += step

        @rule(offset=st.sampled_from([-1, 0, 1]))
        def clock_reaches_next_expiry(self, offset, owner=None):
            """To a second either side of (or onto) the next moment a lot with tokens (of `owner`'s) expires."""
            upcoming = [
                lot.expires
                for lot in self.lots.values()
                if lot.remaining and lot.expires is not None and lot.expires > clock.now and owner in (None, lot.user)
            ]
            if upcoming:
                clock.now = max(clock.now, min(upcoming) + timedelta(seconds=offset))

        @rule(
            target=charges,
            who=st.integers(0, USERS - 1),
            feature=st.sampled_from(sorted(COSTS)),
            offset=st.sampled_from([0, 1]),
        )
        def charge_as_a_lot_expires(self, who, feature, offset):
            """A spend at (or a second after) the moment a lot expires, before any sweep or read has seen it."""
            self.clock_reaches_next_expiry(offset, owner=self.users[who])
            return self.charge(who, feature)

        @rule(bonus_days=st.sampled_from([0, 1, 2]), paid_days=st.sampled_from([0, 1, 3]))
        def expiry_settings_change(self, bonus_days, paid_days):
            app.config.update(BONUS_TOKEN_EXPIRY_DAYS=bonus_days, PAID_TOKEN_EXPIRY_DAYS=paid_days)

        @rule(
            lag=st.sampled_from([timedelta(0), timedelta(hours=12)]),
            batch=st.sampled_from([1, 500]),
            by_command=st.booleans(),
        )
        def sweep(self, lag, batch, by_command):
            """The expiry sweep, as of now or a while ago, by function (in batches) or by `flask tokens expire`."""
            as_of = clock.now - lag
            expired = sum(self._settle(uid, as_of) for uid in self.users)
            event("the sweep expired tokens" if expired else "the sweep found nothing")
            if by_command:
                result = app.test_cli_runner().invoke(
                    tokens_cli, ["expire", "--as-of", as_of.strftime("%Y-%m-%dT%H:%M:%S")]
                )
                assert result.exit_code == 0, result.output
                assert result.output.startswith(f"expired {expired} token(s)")
            else:
                report = ledger.expire_lots(as_of, batch=batch)
                assert report.tokens == expired
                assert report.accounts >= len([uid for uid in self.users if self._due(uid, as_of)])

        @rule(who=st.integers(0, USERS - 1))
        def balance_read(self, who):
            """Reading a balance expires what is due and shows only unexpired lots."""
            uid = self.users[who]
            self._settle(uid)
            assert ledger.balance_of(uid) == ledger.BalanceView(self._shown(uid), self.unlimited[uid], self.debt[uid])

        # Bonus grants, purchases and their refunds and disputes, transfers.

        @rule(
            who=st.integers(0, USERS - 1),
            tokens=st.integers(1, 50),
            source=st.sampled_from([LotSource.DAILY_BONUS, LotSource.REFERRAL]),
            repeat=st.booleans(),
        )
        def bonus_grant(self, who, tokens, source, repeat):
            """A daily or referral bonus: a bonus lot that expires, once per key."""
            uid = self.users[who]
            key = f"{source}:{next(self.bonus_days)}"
            assert ledger.credit(uid, tokens, TransactionType.BONUS, dedupe_key=key, source=source) is True
            self._credit_model(uid, tokens, TransactionType.BONUS, source=source)
            self._adopt_new_lots()
            if repeat:
                assert ledger.credit(uid, tokens, TransactionType.BONUS, dedupe_key=key, source=source) is False

        @rule(who=st.integers(0, USERS - 1), tokens=st.integers(1, 500), cents=st.integers(0, 9_999))
        def purchase(self, who, tokens, cents):
            uid = self.users[who]
            bought = Purchase(uid, f"purchase:{len(self.purchases)}", cents, tokens, tokens)
            with write_transaction() as tx:
                ledger.grant_purchase(tx, uid, tokens, dedupe_key=bought.key, note="property test", cost_cents=cents)
            self._credit_model(uid, tokens, TransactionType.PURCHASE, cost=cents)
            self._adopt_new_lots()
            self.purchases.append(bought)

        @rule(data=st.data(), kept=st.sampled_from([0, 1, 2, 3, 4]))
        def purchase_settles(self, data, kept):
            """A refund in part or in full, a dispute opened (kept 0) or won: the pack's tokens follow the money."""
            if not self.purchases:
                return
            bought = data.draw(st.sampled_from(self.purchases))
            owed = bought.tokens * kept // 4
            delta = owed - bought.granted
            if delta < 0:
                first = self._lot_of(bought)
                with write_transaction() as tx:
                    owing = ledger.take_back(tx, bought.user, -delta, "property test refund", purchase_key=bought.key)
                assert owing == self._take_back(bought.user, -delta, first=first)
                event("a purchase refund left debt" if owing else "a purchase refund")
            elif delta > 0:
                cents = bought.value(owed) - bought.value(bought.granted)
                with write_transaction() as tx:
                    ledger.give_back(tx, bought.user, delta, "property test restore", cost_cents=cents)
                self._credit_model(bought.user, delta, TransactionType.REVERSAL, cost=cents)
                self._adopt_new_lots()
            bought.granted = owed

        def _lot_of(self, bought: Purchase) -> int:
            return db.session.execute(
                select(TokenTransaction.lot_id).where(
                    TokenTransaction.user_id == bought.user, TokenTransaction.dedupe_key == bought.key
                )
            ).scalar_one()

        @rule(sender=st.integers(0, USERS - 1), receiver=st.integers(0, USERS - 1), tokens=st.integers(1, 300))
        def transfer(self, sender, receiver, tokens):
            """Only paid tokens move, each part keeping its cost and expiry in a lot of the receiver's."""
            giver, taker = self.users[sender], self.users[receiver]
            if giver == taker:
                with pytest.raises(InvalidRecipient):
                    ledger.transfer(giver, taker, tokens)
                return
            try:
                balance = ledger.transfer(giver, taker, tokens)
            except InsufficientTokens:
                assert self._paid(giver) < tokens or self.debt[giver] > 0
                return
            assert self._paid(giver) >= tokens and self.debt[giver] == 0
            event("a transfer moved tokens" + (" to a user in debt" if self.debt[taker] else ""))
            for uid in sorted((giver, taker)):
                self._settle(uid)
            for lot, taken, cents in self._draw(giver, tokens, kind=LotKind.PAID):
                self._new_lot(taker, LotKind.PAID, LotSource.GIFT, taken, -cents, lot.expires)
            self._adopt_new_lots()
            assert balance == self._shown(giver)
            self._repay(taker)

        # The checks.

        @invariant()
        def ledger_adds_up(self):
            for uid in self.users:
                if self._due(uid):
                    # Reading the balance would expire the due lots; the spend and sweep rules must meet them.
                    assert ledger.current_balance(uid) == self._stored(uid)
                else:
                    assert ledger.balance_of(uid) == ledger.BalanceView(
                        self._shown(uid), self.unlimited[uid], self.debt[uid]
                    )
            assert audit.find_problems() == []

        @invariant()
        def lots_are_the_models(self):
            real = {
                lot.id: (lot.user_id, lot.kind, lot.granted, lot.remaining, lot.cost_cents, lot.expires_at)
                for lot in db.session.execute(select(TokenLot).where(TokenLot.user_id.in_(self.users))).scalars()
            }
            assert real == {
                lot.id: (lot.user, lot.kind, lot.granted, lot.remaining, lot.cost, lot.expires)
                for lot in self.lots.values()
            }
            assert all(0 <= remaining <= granted for _u, _k, granted, remaining, _c, _e in real.values())

        @invariant()
        def balances_are_the_ledgers(self):
            rows, mine = TokenTransaction, TokenTransaction.user_id.in_(self.users)
            sums = dict(
                db.session.execute(select(rows.user_id, func.sum(rows.amount)).where(mine).group_by(rows.user_id)).all()
            )
            newest = select(func.max(rows.id)).where(mine).group_by(rows.user_id)
            last_after = dict(
                db.session.execute(select(rows.user_id, rows.balance_after).where(rows.id.in_(newest))).all()
            )
            held = dict(
                db.session.execute(
                    select(TokenLot.user_id, func.sum(TokenLot.remaining))
                    .where(TokenLot.user_id.in_(self.users))
                    .group_by(TokenLot.user_id)
                ).all()
            )
            for uid, balance, debt in db.session.execute(
                select(TokenAccount.user_id, TokenAccount.balance, TokenAccount.debt).where(
                    TokenAccount.user_id.in_(self.users)
                )
            ):
                assert balance == sums[uid] == last_after[uid] == held[uid] == self._stored(uid) >= 0
                assert debt == self.debt[uid]

        @invariant()
        def no_expired_lot_drawn(self):
            rows = TokenTransaction
            single = select(rows.id, rows.type, rows.amount, rows.created_at, rows.lot_id).where(
                rows.lot_id.is_not(None)
            )
            several = select(rows.id, rows.type, TokenDraw.tokens, rows.created_at, TokenDraw.lot_id).join(
                TokenDraw, TokenDraw.transaction_id == rows.id
            )
            parts = union_all(
                single.where(rows.user_id.in_(self.users)), several.where(rows.user_id.in_(self.users))
            ).subquery()
            for row_id, row_type, tokens, written, expires in db.session.execute(
                select(parts.c.id, parts.c.type, parts.c.amount, parts.c.created_at, TokenLot.expires_at).join(
                    TokenLot, TokenLot.id == parts.c.lot_id
                )
            ):
                if row_type == TransactionType.EXPIRY:
                    assert expires is not None and expires <= written, f"row {row_id} expired a lot early"
                elif tokens < 0:
                    assert expires is None or expires > written, f"row {row_id} drew a lot expired at {expires}"

        @invariant()
        def system_accounts_are_the_models(self):
            rows = TokenTransaction
            sums = dict(
                db.session.execute(
                    select(rows.counterparty, func.sum(rows.debt_change - rows.amount))
                    .where(rows.user_id.in_(self.users))
                    .group_by(rows.counterparty)
                ).all()
            )
            assert {Counterparty(side): int(total) for side, total in sums.items() if total} == {
                side: total for side, total in self.system.items() if total
            }
            wallets = sum(self._stored(uid) - self.debt[uid] for uid in self.users)
            assert wallets + sum(self.system.values()) == 0

        @invariant()
        def figures_are_the_models(self):
            now = ledger.figures()
            liability = sum(
                lot.cost - lot.released(lot.remaining) for lot in self.lots.values() if lot.kind == LotKind.PAID
            )
            assert {name: getattr(now, name) - getattr(self.start, name) for name in MONEY} == {
                **self.money,
                "liability_cents": liability,
            }
            assert now.balanced

    return LedgerMachine


def test_ledger_state_machine(app, clock):
    run_state_machine_as_test(
        ledger_machine(app, clock),
        settings=settings(
            max_examples=15, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
