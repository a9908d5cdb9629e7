"""CONTRACT §4 `#low-balance-alert`: shown exactly while a non-unlimited balance is below
LOW_BALANCE_THRESHOLD and the account has spent at least once; the JSON `low_balance` agrees."""

ALERT = b'id="low-balance-alert"'


def _owner(app) -> int:
    from tokenapp.services.accounts import find_by_email

    with app.app_context():
        return find_by_email("ada@example.com").id


def _low(api) -> bool:
    return api.get("/api/tokens/balance").get_json()["low_balance"]


def test_a_new_account_with_welcome_tokens_sees_no_alert(client, api):
    assert api.balance() == 10
    assert ALERT not in client.get("/").data
    assert _low(api) is False


def test_a_spend_that_leaves_the_balance_under_the_threshold_shows_the_alert(client, api):
    assert api.deduct("networking_message").status_code == 201
    page = client.get("/").data
    assert ALERT in page and b"Low balance: 7 tokens left." in page
    assert _low(api) is True


def test_spending_above_the_threshold_shows_no_alert(app, client, api):
    from tokenapp.services import ledger

    with app.app_context():
        ledger.adjust(_owner(app), 100, reason="test")
    assert api.deduct("networking_message").status_code == 201
    assert api.balance() == 107
    assert ALERT not in client.get("/").data and _low(api) is False


def test_a_refunded_spend_does_not_count_as_spending(app, client, api):
    from tokenapp.services import charges

    charge_id = api.deduct("networking_message").get_json()["charge_id"]
    assert _low(api) is True
    with app.app_context():
        assert charges.refund_charge(charge_id) is True
    assert api.balance() == 10
    assert ALERT not in client.get("/").data and _low(api) is False


def test_unlimited_never_shows_the_alert(app, client, api):
    from tokenapp.services import ledger

    api.deduct("networking_message")
    with app.app_context():
        ledger.set_unlimited(_owner(app), True)
    assert ALERT not in client.get("/").data and _low(api) is False
    api.deduct("networking_message")
    with app.app_context():
        ledger.adjust(_owner(app), -7, reason="test")
    assert api.balance() == 0
    assert ALERT not in client.get("/").data and _low(api) is False


def test_the_rule_is_one_function(app):
    from tokenapp.services import ledger

    with app.app_context():
        threshold = app.config["LOW_BALANCE_THRESHOLD"]
        assert ledger.is_low_balance(threshold - 1, unlimited=False, has_spent=True) is True
        assert ledger.is_low_balance(threshold, unlimited=False, has_spent=True) is False
        assert ledger.is_low_balance(0, unlimited=False, has_spent=False) is False
        assert ledger.is_low_balance(0, unlimited=True, has_spent=True) is False
        view = ledger.BalanceView(3, False, has_spent=True)
        assert view.low is True and ledger.BalanceView(3, False).low is False


def test_the_gate_upsells_when_the_run_would_leave_the_balance_low(app, api):
    from tokenapp.services import gate, ledger

    owner = _owner(app)
    with app.app_context():
        assert gate.open_gate(owner, "networking_message").upsell is True  # 10 - 3 < 20, spent by then
        ledger.adjust(owner, 100, reason="test")
        assert gate.open_gate(owner, "networking_message").upsell is False
        ledger.set_unlimited(owner, True)
        assert gate.open_gate(owner, "cover_letter").upsell is False
