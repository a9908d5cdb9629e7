"""A stateful property test: random credit, charge, refund, grant and expiry.

A model of each balance runs beside the real ledger; after every step the
auditor checks balance = ledger sum = last balance_after >= 0 for everyone.
"""

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from tokenapp.catalog_data import FEATURES
from tokenapp.database import write_transaction
from tokenapp.extensions import db
from tokenapp.models._types import utcnow
from tokenapp.models.ledger import TransactionType
from tokenapp.services import accounts, audit, charges, ledger
from tokenapp.services.errors import ChargeNotUsable, InsufficientTokens

COSTS = {key: cost for key, _name, _category, cost, _description in FEATURES}
_emails = itertools.count()


def ledger_machine(app):
    """A state machine class bound to `app`."""

    class LedgerMachine(RuleBasedStateMachine):
        charges = Bundle("charges")

        def __init__(self):
            super().__init__()
            self.ctx = app.app_context()
            self.ctx.push()
            self.users = [accounts.register(f"p{next(_emails)}@example.com", "password123").id for _ in range(2)]
            self.model = {uid: 10 for uid in self.users}
            self.debt = {uid: 0 for uid in self.users}
            self.unlimited = {uid: False for uid in self.users}
            self.held = {}

        def teardown(self):
            db.session.remove()
            self.ctx.pop()

        @rule(who=st.integers(0, 1), amount=st.integers(1, 400),
              kind=st.sampled_from([TransactionType.PURCHASE, TransactionType.BONUS, TransactionType.GIFT_IN]))
        def credit(self, who, amount, kind):
            uid = self.users[who]
            assert ledger.credit(uid, amount, kind) is True
            self._add(uid, amount)

        def _add(self, uid, amount):
            repaid = min(self.model[uid] + amount, self.debt[uid])
            self.model[uid] += amount - repaid
            self.debt[uid] -= repaid

        @rule(who=st.integers(0, 1), tokens=st.integers(1, 300))
        def reverse_purchase(self, who, tokens):
            uid = self.users[who]
            with write_transaction() as tx:
                owed = ledger.take_back(tx, uid, tokens, "property test reversal")
            taken = min(self.model[uid], tokens)
            assert owed == tokens - taken
            self.model[uid] -= taken
            self.debt[uid] += owed

        @rule(target=charges, who=st.integers(0, 1), feature=st.sampled_from(sorted(COSTS)))
        def charge(self, who, feature):
            uid = self.users[who]
            cost = 0 if self.unlimited[uid] else COSTS[feature]
            try:
                result = charges.charge(uid, feature)
            except InsufficientTokens:
                assert self.model[uid] < cost or self.debt[uid] > 0
                return None
            assert self.model[uid] >= cost and self.debt[uid] == 0 and result.cost == cost
            self.model[uid] -= cost
            self.held[result.charge_id] = (uid, cost, feature)
            assert result.balance == self.model[uid]
            return result.charge_id

        @rule(charge_id=consumes(charges))
        def refund(self, charge_id):
            refunded = charges.refund_charge(charge_id) if charge_id else False
            assert refunded == (charge_id in self.held)
            if refunded:
                uid, cost, _feature = self.held.pop(charge_id)
                self._add(uid, cost)

        @rule(charge_id=consumes(charges))
        def consume(self, charge_id):
            if charge_id not in self.held:
                return
            uid, _cost, feature = self.held.pop(charge_id)
            charges.consume_charge(charge_id, uid, feature)
            try:
                charges.consume_charge(charge_id, uid, feature)
                raise AssertionError("a charge was consumed twice")
            except ChargeNotUsable:
                pass

        @rule(who=st.integers(0, 1), delta=st.integers(-300, 300).filter(bool))
        def grant(self, who, delta):
            uid = self.users[who]
            try:
                balance = ledger.adjust(uid, delta, reason="property test")
            except InsufficientTokens:
                assert self.model[uid] + delta < 0
                return
            if delta > 0:
                self._add(uid, delta)
            else:
                self.model[uid] += delta
            assert balance == self.model[uid]

        @rule(who=st.integers(0, 1), on=st.booleans())
        def unlimited_plan(self, who, on):
            ledger.set_unlimited(self.users[who], on)
            self.unlimited[self.users[who]] = on

        @rule()
        def time_passes(self):
            later = utcnow() + timedelta(seconds=app.config["CHARGE_TTL_SECONDS"] + 1)
            released = sum(charges.release_stale_charges(uid, now=later) for uid in self.users)
            assert released == len(self.held)
            for uid, cost, _feature in self.held.values():
                self._add(uid, cost)
            self.held.clear()

        @invariant()
        def ledger_adds_up(self):
            for uid in self.users:
                assert ledger.balance_of(uid) == ledger.BalanceView(self.model[uid], self.unlimited[uid], self.debt[uid])
            assert audit.find_problems() == []

    return LedgerMachine


def test_ledger_state_machine(app):
    run_state_machine_as_test(
        ledger_machine(app),
        settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
